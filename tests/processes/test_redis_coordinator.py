"""RedisCoordinator against a real redis-server: locks, slots, the cache, presence, Redis down.

Two coordinators with their own connection pools stand for two workers here; the tests with
real gunicorn processes are in test_redis_deployment.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tandem_mailbox import metrics
from tandem_mailbox.coordination import CoordinationUnavailable, LockTimeout, SlotTimeout
from tandem_mailbox.coordination.redis_store import (
    BACKOFF_FIRST,
    REDIS_TIMEOUT,
    RedisCoordinator,
    fernet,
    redis_client,
)
from tests.support.clock import FakeClock
from tests.support.deployment import CACHE_KEY, RedisServer
from tests.support.polling import until


@pytest.fixture
def coordinators(redis_server: RedisServer) -> Callable[..., RedisCoordinator]:
    """Build coordinators on the test's Redis, each with its own pool (like two workers)."""

    def make(
        keys: tuple[str, ...] = (CACHE_KEY,), clock: Callable[[], float] = time.monotonic, **kw: Any
    ) -> RedisCoordinator:
        client = redis_client(redis_server.url, ca_bundle=None, name="test")
        return RedisCoordinator(client, cipher=fernet(keys), clock=clock, **kw)

    return make


def fallbacks(operation: str) -> float:
    """The fallback counter's value for one operation."""
    return metrics.COORDINATION_FALLBACK.labels(operation)._value.get()


# -- locks --------------------------------------------------------------------------------
def test_a_lock_is_held_by_one_worker_at_a_time(coordinators):
    one, two = coordinators(), coordinators()
    with one.lock("item:a", ttl=5, wait=0) as hold:
        assert one.holder("item:a") == hold.token
        with pytest.raises(LockTimeout), two.lock("item:a", ttl=5, wait=0.1):
            pass
        with two.lock("item:b", ttl=5, wait=0):  # other items are not in the way
            pass
    with two.lock("item:a", ttl=5, wait=0):
        pass


def test_a_waiting_worker_gets_the_lock_when_it_is_released(coordinators):
    one, two = coordinators(), coordinators()
    released = threading.Event()
    order: list[str] = []

    def hold() -> None:
        with one.lock("item:w", ttl=5, wait=0):
            order.append("one")
            released.wait(timeout=5)

    thread = threading.Thread(target=hold)
    thread.start()
    assert until(lambda: one.holder("item:w") is not None, 5)
    threading.Timer(0.2, released.set).start()
    with two.lock("item:w", ttl=5, wait=5):
        order.append("two")
    thread.join(timeout=5)
    assert order == ["one", "two"]


def test_only_the_owner_releases_a_lock(coordinators, redis_server: RedisServer):
    one, two = coordinators(), coordinators()
    raw = redis_server.client()
    with one.lock("item:o", ttl=5, wait=0) as hold:
        # A holder whose lock expired and was taken by another must not delete the new one.
        raw.set("tandem:lock:item:o", "someone-else", px=5000)
        assert one.holder("item:o") == "someone-else"
        assert hold.token != "someone-else"
        assert not hold.held()  # and it is told so
    assert raw.get("tandem:lock:item:o") == b"someone-else"
    with pytest.raises(LockTimeout), two.lock("item:o", ttl=5, wait=0):
        pass


def test_a_lock_is_renewed_while_a_slow_write_runs(coordinators, redis_server: RedisServer):
    one, two = coordinators(), coordinators()
    raw = redis_server.client()
    with one.lock("item:slow", ttl=0.3, wait=0) as hold:
        started = time.monotonic()
        while time.monotonic() - started < 1.0:  # more than three TTLs
            assert raw.get("tandem:lock:item:slow") == hold.token.encode()
            with pytest.raises(LockTimeout), two.lock("item:slow", ttl=0.3, wait=0):
                pass
            time.sleep(0.05)  # the write taking its time
    assert raw.get("tandem:lock:item:slow") is None


def test_a_lock_whose_holder_stopped_renewing_expires(coordinators, redis_server: RedisServer):
    two = coordinators()
    # What a killed worker leaves: its lock, with the expiry of its last renewal.
    redis_server.client().set("tandem:lock:item:dead", "host:1:gone", px=300)
    with pytest.raises(LockTimeout), two.lock("item:dead", ttl=5, wait=0):
        pass
    with two.lock("item:dead", ttl=5, wait=2):
        pass


# -- slots --------------------------------------------------------------------------------
def test_slots_are_shared_by_every_worker(coordinators):
    workers = [coordinators() for _ in range(4)]
    in_flight = 0
    most = 0
    guard = threading.Lock()
    errors: list[BaseException] = []

    def request(worker: RedisCoordinator) -> None:
        nonlocal in_flight, most
        try:
            with worker.slot("mailbox:x", limit=4, wait=10) as slot:
                assert 1 <= slot.taken <= 4
                with guard:
                    in_flight += 1
                    most = max(most, in_flight)
                time.sleep(0.02)  # a Graph request's duration
                with guard:
                    in_flight -= 1
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=request, args=(workers[i % 4],)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert most == 4


def test_no_slot_within_the_wait_is_a_slot_timeout(coordinators):
    one, two = coordinators(), coordinators()
    with one.slot("mailbox:full", limit=1, wait=0):
        started = time.monotonic()
        with pytest.raises(SlotTimeout), two.slot("mailbox:full", limit=1, wait=0.2):
            pass
        assert 0.2 <= time.monotonic() - started < 1.5


def test_hold_after_keeps_the_slot_taken(coordinators, redis_server: RedisServer):
    one, two = coordinators(), coordinators()
    with one.slot("mailbox:h", limit=1, wait=0) as slot:
        slot.hold_after(0.5)  # our side timed out; Exchange may still be at work
    released = time.monotonic()
    with pytest.raises(SlotTimeout), two.slot("mailbox:h", limit=1, wait=0.1):
        pass
    with two.slot("mailbox:h", limit=1, wait=3):
        assert time.monotonic() - released >= 0.45
    assert redis_server.client().zcard("tandem:slots:mailbox:h") == 0


def test_a_lease_of_a_dead_worker_expires(coordinators, redis_server: RedisServer):
    two = coordinators()
    raw = redis_server.client()
    # What a killed worker leaves: its lease, scored by its expiry on Redis's clock.
    seconds, micros = raw.time()
    raw.zadd("tandem:slots:mailbox:d", {"host:1:gone": seconds * 1000 + micros // 1000 + 300})
    with pytest.raises(SlotTimeout), two.slot("mailbox:d", limit=1, wait=0):
        pass
    with two.slot("mailbox:d", limit=1, wait=2):
        pass


def test_a_held_lease_is_renewed(coordinators, redis_server: RedisServer):
    one, two = coordinators(lease=0.3), coordinators(lease=0.3)
    with one.slot("mailbox:r", limit=1, wait=0):
        time.sleep(1.0)  # a slow Graph request, longer than three leases
        with pytest.raises(SlotTimeout), two.slot("mailbox:r", limit=1, wait=0):
            pass
    assert redis_server.client().zcard("tandem:slots:mailbox:r") == 0


# -- the token cache ------------------------------------------------------------------------
def test_the_cache_is_shared_and_encrypted(coordinators, redis_server: RedisServer):
    one, two = coordinators(), coordinators()
    one.store("abc", b"eyJ0eXAi.the-graph-token", ttl=60)
    assert two.fetch("abc") == b"eyJ0eXAi.the-graph-token"
    raw = redis_server.client()
    stored = raw.get("tandem:cache:abc")
    assert b"the-graph-token" not in stored and b"eyJ" not in stored
    assert 0 < raw.pttl("tandem:cache:abc") <= 60_000
    assert two.fetch("missing") is None


def test_an_entry_copied_to_another_key_is_refused(coordinators, redis_server: RedisServer):
    one, two = coordinators(), coordinators()
    one.store("lee", b"lee's token", ttl=60)
    one.store("sam", b"sam's token", ttl=60)
    raw = redis_server.client()
    raw.set("tandem:cache:sam", raw.get("tandem:cache:lee"), px=60_000)
    assert two.fetch("sam") is None


def test_entries_of_another_key_are_misses_and_old_keys_still_decrypt(coordinators):
    old_key, new_key = CACHE_KEY, Fernet.generate_key().decode()
    coordinators((old_key,)).store("k", b"value", ttl=60)
    assert coordinators((Fernet.generate_key().decode(),)).fetch("k") is None
    assert coordinators((new_key, old_key)).fetch("k") == b"value"  # rotation


def test_cache_entries_expire_with_the_token(coordinators):
    one, two = coordinators(), coordinators()
    one.store("short", b"value", ttl=0.2)
    assert two.fetch("short") == b"value"
    fresh = coordinators()
    assert until(lambda: fresh.fetch("short") is None, 3)


# -- presence -------------------------------------------------------------------------------
def test_presence_is_shared_and_expires(coordinators):
    one, two = coordinators(), coordinators()
    value = {"upn": "lee@contoso.com", "name": "Lee | Gu", "state": "viewing", "since": 1.5}
    assert one.announce("presence:i", "lee", value, ttl=0.3) is False
    assert one.announce("presence:i", "lee", value, ttl=0.3) is True
    two.announce("presence:i", "sam", dict(value, upn="sam@contoso.com"), ttl=30)
    assert two.present("presence:i") == {"lee": value, "sam": dict(value, upn="sam@contoso.com")}
    assert until(lambda: set(two.present("presence:i")) == {"sam"}, 3)
    one.leave("presence:i", "sam")
    assert two.present("presence:i") == {}


# -- Redis down -----------------------------------------------------------------------------
def test_without_redis_reads_go_on_and_locks_are_refused(coordinators, redis_server: RedisServer):
    clock = FakeClock(1000.0)  # the back-off's clock, moved by the test
    worker = coordinators(clock=clock)
    worker.store("tok", b"token", ttl=60)
    redis_server.stop()
    before = {op: fallbacks(op) for op in ("slot", "cache", "presence", "lock_refused")}

    started = time.monotonic()
    with pytest.raises(CoordinationUnavailable), worker.lock("item:z", ttl=5, wait=5):
        pass
    assert time.monotonic() - started < 2 * REDIS_TIMEOUT + 1  # nothing hangs
    # During the back-off the calls don't even try Redis.
    started = time.monotonic()
    with worker.slot("mailbox:z", limit=4, wait=1) as slot:
        assert slot.taken == 1  # the process-local gate
    assert worker.fetch("tok") == b"token"  # this process's copy
    worker.announce("presence:z", "lee", {"state": "viewing"}, ttl=30)
    assert worker.present("presence:z") == {"lee": {"state": "viewing"}}
    with pytest.raises(CoordinationUnavailable), worker.lock("item:z", ttl=5, wait=5):
        pass
    assert time.monotonic() - started < 0.5
    assert fallbacks("slot") > before["slot"]
    assert fallbacks("cache") == before["cache"]  # a local hit needs no fallback
    assert fallbacks("presence") > before["presence"]
    assert fallbacks("lock_refused") >= before["lock_refused"] + 2

    redis_server.start()
    # Still backing off: refused without asking Redis.
    with pytest.raises(CoordinationUnavailable), worker.lock("item:z", ttl=5, wait=0):
        pass
    clock.now += BACKOFF_FIRST * 4  # past the (doubled) back-off
    with worker.lock("item:z", ttl=5, wait=0):
        pass
    assert worker.available()


def test_the_back_off_grows_and_is_bounded(coordinators, redis_server: RedisServer):
    clock = FakeClock(1000.0)  # the back-off's clock, moved by the test
    worker = coordinators(clock=clock)
    redis_server.stop()
    waits = []
    for _ in range(6):
        assert not worker.ping()
        start = clock.now
        while not worker.available():
            clock.now += 0.05
        waits.append(round(clock.now - start, 2))
    assert waits[0] == pytest.approx(BACKOFF_FIRST, abs=0.06)
    assert waits == sorted(waits)
    assert waits[-1] == pytest.approx(2.0, abs=0.06)


def test_rediss_with_the_ca_bundle(cert_paths, tmp_path):
    server = RedisServer(tmp_path, tls=cert_paths).start()
    try:
        trusted = RedisCoordinator(
            redis_client(server.url, ca_bundle=cert_paths.ca_cert, name="test"),
            cipher=fernet((CACHE_KEY,)),
        )
        assert trusted.ping()
        with trusted.lock("item:tls", ttl=5, wait=0):
            assert server.client().get("tandem:lock:item:tls") is not None
        # Without the CA the server's certificate is not trusted: no connection, no lock.
        untrusted = RedisCoordinator(
            redis_client(server.url, ca_bundle=None, name="test"), cipher=fernet((CACHE_KEY,))
        )
        assert not untrusted.ping()
        with pytest.raises(CoordinationUnavailable), untrusted.lock("item:tls", ttl=5, wait=0):
            pass
    finally:
        server.stop()
