"""RedisCoordinator: the locks, slots, token cache and presence of every worker, in Redis.

What lives where (every key starts with `tandem:` and expires by itself):

- `tandem:lock:<name>`: a string holding its owner (`host:pid:unique`), set if absent with an
  expiry, renewed while held, released only by its owner (a Lua compare-and-delete).
- `tandem:slots:<mailbox key>`: a sorted set of leases scored by when they expire (Redis's own
  clock, so hosts' clocks don't matter); taking one first drops the expired ones, so a lease
  of a killed worker frees itself within SLOT_LEASE. `hold_after` re-scores the lease instead
  of removing it.
- `tandem:slotq:<mailbox key>` and `tandem:slotw:<mailbox key>`: the callers waiting for a
  slot, in order of arrival, and each waiter's own lease (WAITER_LEASE, renewed each time it
  asks), so a killed worker's waiters leave the queue; `tandem:slotwake:<waiter>`: the list a
  release pushes to when it hands that waiter a slot.
- `tandem:cache:<sha-256>`: a Fernet token (TANDEM_CACHE_KEY) of the value and the key it
  was stored under, so an entry copied to another key does not decrypt as valid there;
  stored base32 so that no stored byte sequence can read as a JWT (`eyJ...`) by chance.
- `tandem:presence:<name>`: a hash of member -> `<expires at ms>|<json>`.
- `tandem:record:<name>`: a record every worker must read alike (what a keyed action did),
  sealed as the cache is; read from Redis only, never from a local copy, and refused
  (`CoordinationUnavailable`) while Redis is down.

Redis down: each call tries Redis again once its back-off (0.25 s, doubling to 2 s) has
passed. Meanwhile slots, the cache and presence carry on with a process-local
`LocalCoordinator` (logged and counted in `tandem_coordination_fallback_total`), and a lock
raises CoordinationUnavailable: without the shared lock another worker could write the same
item, so the action answers `upstream_unavailable` rather than risk a lost update.

The Lua scripts it runs, each atomic on the server, are in `lua.py`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import certifi
import redis
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from redis.backoff import NoBackoff
from redis.retry import Retry

from tandem_mailbox import metrics
from tandem_mailbox.coordination import (
    CoordinationUnavailable,
    Hold,
    Keeper,
    LockTimeout,
    Slot,
    SlotTimeout,
    owner_token,
)
from tandem_mailbox.coordination.lua import (
    ANNOUNCE,
    LOCK_EXTEND,
    LOCK_RELEASE,
    PRESENT,
    SLOT_LEAVE,
    SLOT_MOVE,
    SLOT_RELEASE,
    SLOT_TAKE,
)
from tandem_mailbox.coordination.memory import LocalCoordinator

if TYPE_CHECKING:
    from tandem_mailbox.config import Settings

log = logging.getLogger("tandem.coordination")

PREFIX = "tandem:"
SLOT_LEASE = 10.0  # a slot of a worker that stopped renewing (killed) is free after this
REDIS_TIMEOUT = 1.0  # seconds to connect to, or hear from, Redis before calling it down
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 2.0
POLL_FIRST, POLL_MAX = 0.005, 0.025  # waiting for a lock: Redis is asked this often
WAKE_POLL = 0.2  # a slot's waiter blocks this long on its wake-up list, then asks again
WAITER_LEASE = 2.0  # a waiter that stopped asking (its worker died) leaves the queue then


def redis_client(url: str, *, ca_bundle: Path | None, name: str) -> redis.Redis:
    """A client for `redis://` or `rediss://` (verified against the public roots and the CA).

    Short timeouts and one immediate retry (which reconnects after Redis restarted); the
    coordinator's own back-off stands between a Redis that is down and every request.
    """
    options: dict[str, Any] = {
        "socket_connect_timeout": REDIS_TIMEOUT,
        "socket_timeout": REDIS_TIMEOUT,
        "retry": Retry(NoBackoff(), 1),
        "client_name": name,
        "health_check_interval": 30,
    }
    if url.startswith("rediss://"):
        # The same trust as outbound HTTPS (backend/outbound.py): public roots plus the extra CA.
        pem = Path(certifi.where()).read_text()
        if ca_bundle is not None:
            pem += "\n" + ca_bundle.read_text()
        options.update(
            ssl_ca_data=pem, ssl_cert_reqs="required", ssl_min_version=ssl.TLSVersion.TLSv1_2
        )
    return redis.Redis.from_url(url, **options)


def _text(value: bytes | str | None) -> str | None:
    """A Redis answer as text (this client answers bytes: decode_responses is off)."""
    return value.decode() if isinstance(value, bytes) else value


def fernet(keys: tuple[str, ...]) -> MultiFernet:
    """The first key encrypts; every key decrypts (so a key can be rotated without a flush)."""
    return MultiFernet([Fernet(k.encode()) for k in keys])


class RedisCoordinator:
    """Locks, slots, cache and presence in Redis, with a process-local fallback for reads."""

    shared = True

    def __init__(
        self,
        client: redis.Redis,
        *,
        cipher: MultiFernet,
        clock: Callable[[], float] = time.monotonic,  # the back-off's; waits use real time
        lease: float = SLOT_LEASE,
        fallback: LocalCoordinator | None = None,
    ):
        self._redis = client
        self._cipher = cipher
        self._clock = clock
        self._lease = lease
        self._local = fallback or LocalCoordinator()
        self._keeper = Keeper("redis")
        self._state = threading.Lock()
        self._failures = 0
        self._down_until = 0.0
        self._slot_take = client.register_script(SLOT_TAKE)
        self._slot_move = client.register_script(SLOT_MOVE)
        self._slot_release = client.register_script(SLOT_RELEASE)
        self._slot_leave = client.register_script(SLOT_LEAVE)
        self._lock_release = client.register_script(LOCK_RELEASE)
        self._lock_extend = client.register_script(LOCK_EXTEND)
        self._announce = client.register_script(ANNOUNCE)
        self._present = client.register_script(PRESENT)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisCoordinator:
        """Built from TANDEM_REDIS_URL, TANDEM_CACHE_KEY and TANDEM_CA_BUNDLE."""
        assert settings.redis_url
        client = redis_client(
            settings.redis_url, ca_bundle=settings.ca_bundle, name=owner_token("tandem")
        )
        return cls(client, cipher=fernet(settings.cache_keys))

    # -- Redis, or not ----------------------------------------------------------------------
    def available(self) -> bool:
        """False while the back-off after a failure runs: calls go to the fallback at once."""
        with self._state:
            return self._clock() >= self._down_until

    def _failed(self, operation: str, error: Exception) -> None:
        with self._state:
            self._failures += 1
            first = self._failures == 1
            wait = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._failures - 1))
            self._down_until = self._clock() + wait
        if first:
            log.warning("Redis is unreachable (%s: %s); going on without it", operation, error)
        else:
            log.info("Redis still unreachable (%s); next try in %.2f s", operation, wait)

    def _worked(self) -> None:
        with self._state:
            if self._failures:
                log.warning("Redis is reachable again")
            self._failures = 0
            self._down_until = 0.0

    def _fallback(self, operation: str) -> None:
        metrics.COORDINATION_FALLBACK.labels(operation).inc()

    def ping(self) -> bool:
        """Whether Redis answers now (for health checks and the start-up log line)."""
        try:
            self._redis.ping()
        except redis.RedisError as error:
            self._failed("ping", error)
            return False
        self._worked()
        return True

    def holder(self, key: str) -> str | None:
        """Who holds the lock `key` now (host:pid:unique), or None."""
        return _text(self._redis.get(PREFIX + "lock:" + key))

    # -- locks ------------------------------------------------------------------------------
    @contextmanager
    def lock(self, key: str, *, ttl: float, wait: float) -> Iterator[Hold]:
        """Hold the lock `key` across every worker; CoordinationUnavailable without Redis.

        The renewal that finds the lock gone (expired and taken, Redis flushed or restarted
        without persistence) marks the hold lost, and `Hold.held()` asks Redis itself: the
        holder checks before anything it can't undo.
        """
        if not self.available():
            metrics.COORDINATION_FALLBACK.labels("lock_refused").inc()
            raise CoordinationUnavailable(key)
        name = PREFIX + "lock:" + key
        token = owner_token(uuid.uuid4().hex)
        ms = max(1, round(ttl * 1000))
        deadline = time.monotonic() + wait
        pause = POLL_FIRST
        while True:
            try:
                had = self._redis.set(name, token, nx=True, px=ms)
            except redis.RedisError as error:
                self._failed("lock", error)
                metrics.COORDINATION_FALLBACK.labels("lock_refused").inc()
                raise CoordinationUnavailable(key) from error
            self._worked()
            if had:
                break
            if time.monotonic() >= deadline:
                raise LockTimeout(key)
            pause = self._pause(pause, deadline)

        hold = Hold(key, token, ask=lambda: self._owns(name, token))
        # Named in logs by a hash: a lock's key holds an item id and a person's oid.
        label = hashlib.sha256(key.encode()).hexdigest()[:12]

        def renew() -> bool:
            try:
                kept = bool(self._lock_extend(keys=[name], args=[token, ms]))
            except redis.RedisError as error:
                log.info("could not renew the lock %s (%s); trying again", label, error)
                return True
            if not kept:
                hold.lost.set()
                log.warning("the lock %s was lost while held; its holder is told to stop", label)
            return kept

        handle = self._keeper.hold(renew, every=ttl / 3)
        try:
            yield hold
        finally:
            self._keeper.drop(handle)
            try:
                self._lock_release(keys=[name], args=[token])
            except redis.RedisError as error:
                # It expires by itself within its TTL.
                self._failed("unlock", error)

    def _owns(self, name: str, token: str) -> bool:
        """Whether Redis still holds `token` in the lock `name` (False when it can't say)."""
        try:
            value = self._redis.get(name)
        except redis.RedisError as error:
            self._failed("lock check", error)
            return False
        self._worked()
        return value is not None and _text(value) == token

    def _pause(self, pause: float, deadline: float) -> float:
        """Wait a little before asking again (jittered so waiters don't ask in step)."""
        jitter = random.uniform(0.5, 1.5)  # noqa: S311 - spreading polls, not a secret
        time.sleep(max(0.0, min(pause * jitter, deadline - time.monotonic())))
        return min(POLL_MAX, pause * 2)

    # -- slots ------------------------------------------------------------------------------
    @contextmanager
    def slot(self, key: str, *, limit: int, wait: float) -> Iterator[Slot]:
        """One of `limit` slots of `key` across every worker, first come first served.

        A caller that finds no slot joins the mailbox's queue and blocks on its own wake-up
        list; a release hands each freed slot to the longest waiter in the same script and
        wakes it (no polling while slots change hands). A waiter asks again every WAKE_POLL
        in case a lease expired (a killed worker's) rather than being released. Without Redis,
        the local gate.
        """
        deadline = time.monotonic() + wait
        keys = [PREFIX + part + key for part in ("slots:", "slotq:", "slotw:")]
        member = owner_token(uuid.uuid4().hex)
        wake = PREFIX + "slotwake:" + member
        lease_ms = max(1, round(self._lease * 1000))
        taken = 0
        if self.available():
            try:
                taken = self._wait_for_slot(key, keys, member, wake, [limit, lease_ms], deadline)
            except redis.RedisError as error:
                self._failed("slot", error)
        if not taken:
            self._fallback("slot")
            remaining = max(0.0, deadline - time.monotonic())
            with self._local.slot(key, limit=limit, wait=remaining) as local:
                yield local
            return

        def renew() -> bool:
            try:
                return bool(self._slot_move(keys=keys[:1], args=[member, lease_ms]))
            except redis.RedisError as error:
                log.info("could not renew a slot of %s (%s); trying again", key, error)
                return True

        held = Slot(key, taken)
        handle = self._keeper.hold(renew, every=self._lease / 3)
        try:
            yield held
        finally:
            self._keeper.drop(handle)
            try:
                if held.linger > 0:  # a lingering slot stays taken that long
                    self._slot_move(keys=keys[:1], args=[member, round(held.linger * 1000)])
                else:
                    self._slot_release(
                        keys=keys, args=[member, limit, lease_ms, PREFIX + "slotwake:"]
                    )
            except redis.RedisError as error:
                self._failed("slot release", error)  # the lease expires by itself

    def _wait_for_slot(
        self, key: str, keys: list[str], member: str, wake: str, terms: list[int], deadline: float
    ) -> int:
        """The slots taken once this caller holds one of `keys[0]` (`terms`: the limit and the
        lease in ms); SlotTimeout at `deadline`."""
        args: list[int | str] = [*terms, member, round(WAITER_LEASE * 1000)]
        taken = int(self._slot_take(keys=keys, args=args))
        self._worked()
        if taken:
            return taken  # never queued: no hand-over can have been pushed to `wake`
        while not taken:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                taken = int(self._slot_leave(keys=keys, args=[member]))
                if not taken:
                    raise SlotTimeout(key)
                break
            woken = self._redis.blpop([wake], timeout=max(0.001, min(WAKE_POLL, remaining)))
            if woken is not None:
                taken = int(woken[1])
            else:  # nobody released one: ask again (an expired lease frees a slot too)
                taken = int(self._slot_take(keys=keys, args=args))
        self._redis.delete(wake)  # a hand-over that raced with our own take
        return taken

    # -- the cache --------------------------------------------------------------------------
    def fetch(self, key: str) -> bytes | None:
        """The value under `key`: this process's copy, else Redis's (decrypted), else None."""
        value = self._local.fetch(key)
        if value is not None or not self.available():
            if value is None:
                self._fallback("cache")
            return value
        name = PREFIX + "cache:" + key
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(name)
                pipe.pttl(name)
                sealed, ttl_ms = pipe.execute()
        except redis.RedisError as error:
            self._failed("cache", error)
            self._fallback("cache")
            return None
        self._worked()
        if sealed is None or ttl_ms is None or ttl_ms <= 0:
            return None
        value = self._open(key, sealed)
        if value is not None:
            self._local.store(key, value, ttl=ttl_ms / 1000)
        return value

    def store(self, key: str, value: bytes, *, ttl: float) -> None:
        """Keep `value` here and, encrypted, in Redis for every worker, for `ttl` seconds."""
        self._local.store(key, value, ttl=ttl)
        if ttl <= 0:
            return
        if not self.available():
            self._fallback("cache")
            return
        try:
            self._redis.set(
                PREFIX + "cache:" + key, self._seal(key, value), px=max(1, round(ttl * 1000))
            )
        except redis.RedisError as error:
            self._failed("cache", error)
            self._fallback("cache")
            return
        self._worked()

    # -- records ----------------------------------------------------------------------------
    def recall(self, key: str) -> bytes | None:
        """The record under `key`, read from Redis (never a local copy), or None."""
        if not self.available():
            raise CoordinationUnavailable(key)
        try:
            sealed = self._redis.get(PREFIX + "record:" + key)
        except redis.RedisError as error:
            self._failed("record", error)
            raise CoordinationUnavailable(key) from error
        self._worked()
        if sealed is None:
            return None
        value = self._open(key, sealed)
        if value is None:  # sealed under a key nobody has now: as good as no record
            log.warning("a record in Redis did not open; treated as absent")
        return value

    def remember(self, key: str, value: bytes, *, ttl: float) -> None:
        """Keep `value`, encrypted, in Redis for every worker for `ttl` seconds."""
        if not self.available():
            raise CoordinationUnavailable(key)
        try:
            self._redis.set(
                PREFIX + "record:" + key, self._seal(key, value), px=max(1, round(ttl * 1000))
            )
        except redis.RedisError as error:
            self._failed("record", error)
            raise CoordinationUnavailable(key) from error
        self._worked()

    def forget(self, key: str) -> None:
        """Drop the record under `key` (it expires by itself if Redis can't be told)."""
        try:
            self._redis.delete(PREFIX + "record:" + key)
        except redis.RedisError as error:
            self._failed("record", error)
        else:
            self._worked()

    def _seal(self, key: str, value: bytes) -> bytes:
        token = self._cipher.encrypt(_bound(key) + value)
        return base64.b32encode(base64.urlsafe_b64decode(token))

    def _open(self, key: str, sealed: bytes | str) -> bytes | None:
        try:
            token = base64.urlsafe_b64encode(base64.b32decode(sealed))
            plain = self._cipher.decrypt(token)
        except (InvalidToken, binascii.Error, ValueError):
            log.warning("a cache entry in Redis did not decrypt (another TANDEM_CACHE_KEY?)")
            return None
        bound = _bound(key)
        if not plain.startswith(bound):
            log.warning("a cache entry in Redis was stored under another key; ignored")
            return None
        return plain[len(bound) :]

    # -- presence ---------------------------------------------------------------------------
    def announce(self, key: str, member: str, value: dict[str, Any], *, ttl: float) -> bool:
        """Say `member` is present at `key` for `ttl` seconds; True when it was already there."""
        if self.available():
            try:
                known = self._announce(
                    keys=[PREFIX + "presence:" + key],
                    args=[member, max(1, round(ttl * 1000)), json.dumps(value)],
                )
            except redis.RedisError as error:
                self._failed("presence", error)
            else:
                self._worked()
                return bool(known)
        self._fallback("presence")
        return self._local.announce(key, member, value, ttl=ttl)

    def leave(self, key: str, member: str) -> None:
        """`member` is no longer present at `key`."""
        self._local.leave(key, member)
        if self.available():
            try:
                self._redis.hdel(PREFIX + "presence:" + key, member)
            except redis.RedisError as error:
                self._failed("presence", error)
                self._fallback("presence")
            else:
                self._worked()

    def present(self, key: str) -> dict[str, dict[str, Any]]:
        """Who is present at `key` now, by member."""
        if self.available():
            try:
                flat = self._present(keys=[PREFIX + "presence:" + key])
            except redis.RedisError as error:
                self._failed("presence", error)
            else:
                self._worked()
                pairs = zip(flat[::2], flat[1::2], strict=True)
                return {m.decode(): json.loads(v) for m, v in pairs}
        self._fallback("presence")
        return self._local.present(key)


def _bound(key: str) -> bytes:
    """What ties a cache entry to its key inside the encryption."""
    return hashlib.sha256(key.encode()).hexdigest().encode() + b"\n"
