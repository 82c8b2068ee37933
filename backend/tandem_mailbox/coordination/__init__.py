"""Locks, per-mailbox slots, the token cache and presence: what Tandem's workers share.

One interface, two implementations. `LocalCoordinator` (`memory.py`) keeps everything in this
process: one worker, no setup. `RedisCoordinator` (`redis_store.py`) keeps it in Redis, so that
every worker on every host sees the same per-item write locks, the same 4 Graph slots per
mailbox (Graph's limit is per app, across the whole deployment), one token cache and one
presence list; when Redis can't be reached it carries reads on with a `LocalCoordinator` of
its own and refuses locks (`CoordinationUnavailable`), because a write without the shared lock
could lose an update.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tandem_mailbox.config import Settings

log = logging.getLogger("tandem.coordination")

__all__ = [
    "CoordinationUnavailable",
    "Coordinator",
    "Hold",
    "Keeper",
    "LockTimeout",
    "Slot",
    "SlotTimeout",
    "build",
]


class LockTimeout(Exception):
    """The lock could not be had within the wait."""


class SlotTimeout(Exception):
    """No slot of the mailbox came free within the wait."""


class CoordinationUnavailable(Exception):
    """The shared store can't be reached, so a lock can't be promised to be the only one."""


@dataclass
class Hold:
    """A held lock: its owner token, and how its holder learns that it is no longer held.

    `lost` is set by the renewal that finds the lock gone (it expired and was taken, or the
    store was flushed or restarted); `held()` asks the store itself, now. A holder about to do
    something that can't be undone (send a reply) asks `held()` first: a fence, so that a
    second holder that got the lock meanwhile is the only one that acts.
    """

    key: str
    token: str
    lost: threading.Event = field(default_factory=threading.Event)
    ask: Callable[[], bool] = field(default=lambda: True, repr=False)

    def held(self) -> bool:
        """Whether the lock is still this holder's, as the store says now."""
        if self.lost.is_set():
            return False
        if not self.ask():
            self.lost.set()
            return False
        return True


@dataclass
class Slot:
    """A held slot; `linger` keeps it taken for a while after release (see `hold_after`)."""

    key: str
    taken: int = 1  # slots of the key taken, this one included, when it was had
    linger: float = field(default=0.0)

    def hold_after(self, seconds: float) -> None:
        """Keep the slot taken `seconds` after the request ends.

        After our side timed out, Exchange may still be working on the request and counting
        it against the mailbox: giving the slot to the next request at once would put a fifth
        request in flight there (429 MailboxConcurrency).
        """
        self.linger = max(self.linger, seconds)


class Coordinator(Protocol):
    """What the backend needs shared between requests (and, with Redis, between workers)."""

    shared: bool  # True when other processes see the same locks, slots and cache

    def ping(self) -> bool:
        """Whether the shared store answers now (always True in-process)."""
        ...

    def lock(self, key: str, *, ttl: float, wait: float) -> AbstractContextManager[Hold]:
        """Hold the lock named `key`; raise LockTimeout after `wait` seconds.

        The lock is renewed while it is held; `ttl` is how long it outlives a holder that
        stopped renewing (a killed worker). CoordinationUnavailable when it can't be promised.
        """
        ...

    def slot(self, key: str, *, limit: int, wait: float) -> AbstractContextManager[Slot]:
        """Hold one of `limit` slots of `key`; raise SlotTimeout after `wait` seconds."""
        ...

    def fetch(self, key: str) -> bytes | None:
        """The cached value stored under `key`, or None."""
        ...

    def recall(self, key: str) -> bytes | None:
        """The record kept under `key` (see `remember`), or None.

        CoordinationUnavailable when the shared store can't be asked: a record is never
        answered from a copy that another worker may have changed.
        """
        ...

    def remember(self, key: str, value: bytes, *, ttl: float) -> None:
        """Keep `value` under `key` for `ttl` seconds where every worker reads it (encrypted in
        Redis); CoordinationUnavailable when that can't be promised."""
        ...

    def forget(self, key: str) -> None:
        """Drop the record under `key`."""
        ...

    def store(self, key: str, value: bytes, *, ttl: float) -> None:
        """Cache `value` under `key` for `ttl` seconds (best effort)."""
        ...

    def announce(self, key: str, member: str, value: dict[str, Any], *, ttl: float) -> bool:
        """Say `member` is present at `key` for `ttl` seconds; True when it was already there."""
        ...

    def leave(self, key: str, member: str) -> None:
        """`member` is no longer present at `key`."""
        ...

    def present(self, key: str) -> dict[str, dict[str, Any]]:
        """Who is present at `key` now, by member."""
        ...


def owner_token(unique: str) -> str:
    """The value naming a lock's or lease's holder: host, process and a unique part.

    The host and pid are for the operator reading Redis (and the tests): which worker holds it.
    """
    return f"{_HOST}:{os.getpid()}:{unique}"


_HOST = os.uname().nodename[:64]


class Keeper:
    """Renews what this process holds (locks, slot leases) while it is held: one thread.

    Every hold has its own period (a third of its TTL); `renew` answers False when the hold
    was lost (it expired and someone else has it now), which ends the renewing. Forked
    processes (gunicorn's workers) start their own thread on first use.
    """

    def __init__(self, name: str, *, clock: Callable[[], float] = time.monotonic):
        self._name = name
        self._clock = clock
        self._changed = threading.Condition()
        self._holds: dict[int, tuple[float, float, Callable[[], bool]]] = {}
        self._next = 0
        self._pid = -1
        self._thread: threading.Thread | None = None
        self._wakes_at = 0.0  # when the thread will look next, unless notified earlier

    def hold(self, renew: Callable[[], bool], *, every: float) -> int:
        """Call `renew` every `every` seconds until `drop`; answers the hold's handle."""
        with self._changed:
            if self._pid != os.getpid() or self._thread is None:
                self._pid = os.getpid()
                self._holds.clear()
                self._thread = threading.Thread(
                    target=self._run, name=f"keeper-{self._name}", daemon=True
                )
                self._thread.start()
            self._next += 1
            due = self._clock() + every
            self._holds[self._next] = (every, due, renew)
            if due < self._wakes_at:  # otherwise the thread looks in time anyway: no wake-up
                self._changed.notify_all()
            return self._next

    def drop(self, handle: int) -> None:
        """Stop renewing this hold."""
        with self._changed:
            self._holds.pop(handle, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = self._clock()
                due = [(h, e, r) for h, (e, at, r) in self._holds.items() if at <= now]
                for handle, every, renew in due:
                    self._holds[handle] = (every, now + every, renew)
                if not due:
                    later = min((at for _, at, _ in self._holds.values()), default=now + 60)
                    self._wakes_at = max(now + 0.005, later)
                    self._changed.wait(timeout=self._wakes_at - now)
                    self._wakes_at = 0.0  # awake: the next hold is seen on this pass
                    continue
            for handle, _, renew in due:
                try:
                    kept = renew()
                except Exception:  # a renewal failing must not end the thread for the others
                    log.warning("renewing a hold failed; trying again", exc_info=True)
                    continue
                if not kept:
                    self.drop(handle)


def build(settings: Settings) -> Coordinator:
    """The coordinator the settings ask for: Redis with TANDEM_REDIS_URL, else in-process."""
    from tandem_mailbox.coordination.memory import LocalCoordinator

    if not settings.redis_url:
        return LocalCoordinator()
    from tandem_mailbox.coordination.redis_store import RedisCoordinator

    return RedisCoordinator.from_settings(settings)
