"""Mailbox slots across workers (RedisCoordinator, against a real redis-server) are first
come, first served, bounded, and leak nothing, as they are in one process (tests/unit)."""

from __future__ import annotations

import threading
import time

import pytest
from cryptography.fernet import Fernet

from tandem_mailbox.coordination import SlotTimeout
from tandem_mailbox.coordination.redis_store import RedisCoordinator, fernet, redis_client
from tests.support.polling import until


def _hold(gate, got: list[str], name: str, until: threading.Event | None = None) -> None:
    """Take a slot of "mb", note it in `got`, and keep it until `until` is set."""
    with gate.slot("mb", limit=1, wait=10):
        got.append(name)
        if until is not None:
            until.wait(10)


# -- across workers: Redis -------------------------------------------------------------------
@pytest.fixture
def workers(redis_server):
    """Two coordinators with their own pools on the test's redis-server, like two workers."""
    key = Fernet.generate_key().decode()

    def make() -> RedisCoordinator:
        client = redis_client(redis_server.url, ca_bundle=None, name="test")
        return RedisCoordinator(client, cipher=fernet((key,)))

    return make(), make()


def test_across_workers_a_freed_slot_goes_to_the_longest_waiter(workers, redis_server):
    raw = redis_server.client()
    order: list[int] = []

    def take(n: int) -> None:
        with workers[n % 2].slot("mb", limit=1, wait=10):
            order.append(n)

    with workers[0].slot("mb", limit=1, wait=0):
        threads = []
        for n in range(10):  # each one queued before the next arrives, alternating workers
            thread = threading.Thread(target=take, args=(n,))
            thread.start()
            threads.append(thread)
            assert until(lambda n=n: raw.zcard("tandem:slotq:mb") == n + 1)
    for thread in threads:
        thread.join(10)
    assert order == list(range(10))
    assert raw.keys("tandem:slot*") == []  # nothing left behind: leases, queue, wake-ups


def test_across_workers_a_newcomer_does_not_pass_a_waiter(workers, redis_server):
    raw = redis_server.client()
    one, two = workers
    got: list[str] = []
    outer = one.slot("mb", limit=1, wait=0)
    outer.__enter__()
    done = threading.Event()
    waiter = threading.Thread(target=lambda: _hold(two, got, "waiter", done))
    waiter.start()
    assert until(lambda: raw.zcard("tandem:slotq:mb") == 1)
    outer.__exit__(None, None, None)  # handed to the waiter in the release itself
    with pytest.raises(SlotTimeout), one.slot("mb", limit=1, wait=0):
        pass
    done.set()
    waiter.join(5)
    assert got == ["waiter"]
    assert raw.keys("tandem:slot*") == []


def test_a_waiter_that_gives_up_leaves_the_shared_queue(workers, redis_server):
    raw = redis_server.client()
    one, two = workers
    with one.slot("mb", limit=1, wait=0):
        started = time.monotonic()
        with pytest.raises(SlotTimeout), two.slot("mb", limit=1, wait=0.3):
            pass
        assert 0.3 <= time.monotonic() - started < 1.5
        assert raw.zcard("tandem:slotq:mb") == 0
    with two.slot("mb", limit=1, wait=0):
        pass
    assert raw.keys("tandem:slot*") == []


def test_a_dead_workers_waiter_does_not_block_the_queue(workers, redis_server):
    raw = redis_server.client()
    # What a worker killed while waiting leaves: its place in the queue and a waiter lease
    # that nobody renews (on Redis's clock).
    seconds, micros = raw.time()
    now_ms = seconds * 1000 + micros // 1000
    raw.zadd("tandem:slotq:mb", {"host:1:gone": now_ms * 1000})
    raw.zadd("tandem:slotw:mb", {"host:1:gone": now_ms + 400})
    started = time.monotonic()
    with workers[0].slot("mb", limit=1, wait=5):
        waited = time.monotonic() - started
    assert 0.3 <= waited < 2.0  # behind the ghost until its lease ran out, then first
    assert raw.keys("tandem:slot*") == []


def test_waiting_does_not_poll_redis(workers, redis_server):
    """Eight waiters blocked for a second ask Redis about every WAKE_POLL, not every few ms."""
    raw = redis_server.client()
    one, two = workers
    raw.config_resetstat()
    with one.slot("mb", limit=1, wait=0):
        threads = [
            threading.Thread(target=lambda w=w: _hold(w, [], "x"))
            for w in (one, two, one, two, one, two, one, two)
        ]
        for thread in threads:
            thread.start()
        assert until(lambda: raw.zcard("tandem:slotq:mb") == 8)
        time.sleep(1.0)  # the waiters' idle second, which is what is measured
        stats = raw.info("commandstats")
    for thread in threads:
        thread.join(10)
    asked = sum(v["calls"] for k, v in stats.items() if k.startswith("cmdstat_evalsha"))
    assert asked <= 8 * (1.0 / 0.2 + 3)  # polling every 5 to 25 ms would be 320 or more
