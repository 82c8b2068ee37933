"""Mailbox slots are first come, first served, bounded, and leak nothing: in one process
(LocalCoordinator) and across workers (RedisCoordinator, against a real redis-server).

Without the order a freed slot went to whoever asked first after the release: under load a
request could wait out its whole bound while later ones passed it (a write takes a slot three
times in a row, so it lost three times as often); the benchmark's tail showed it.
"""

from __future__ import annotations

import threading
import time

import pytest
from cryptography.fernet import Fernet

from tandem_mailbox.coordination import SlotTimeout
from tandem_mailbox.coordination.memory import LocalCoordinator
from tandem_mailbox.coordination.redis_store import RedisCoordinator, fernet, redis_client


def _until(condition, timeout: float = 5.0) -> None:
    """Poll `condition` until it holds (threads start in their own time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.001)


def test_a_freed_slot_goes_to_the_longest_waiter():
    gate = LocalCoordinator()
    order: list[int] = []

    def take(n: int) -> None:
        with gate.slot("mb", limit=1, wait=10):
            order.append(n)

    with gate.slot("mb", limit=1, wait=0):
        threads = []
        for n in range(12):  # each one queued before the next arrives
            thread = threading.Thread(target=take, args=(n,))
            thread.start()
            threads.append(thread)
            _until(lambda n=n: gate.waiting("mb") == n + 1)
    for thread in threads:
        thread.join(5)
    assert order == list(range(12))
    assert gate.in_use("mb") == 0 and gate.waiting("mb") == 0


def test_a_newcomer_does_not_pass_a_waiter():
    gate = LocalCoordinator()
    got: list[str] = []
    outer = gate.slot("mb", limit=1, wait=0)
    outer.__enter__()
    done = threading.Event()
    waiter = threading.Thread(target=lambda: _hold(gate, got, "waiter", done))
    waiter.start()
    _until(lambda: gate.waiting("mb") == 1)
    outer.__exit__(None, None, None)  # the slot is the waiter's now, even before it wakes
    # A newcomer arriving at this instant finds the slot taken, not free.
    with pytest.raises(SlotTimeout), gate.slot("mb", limit=1, wait=0):
        pass
    done.set()
    waiter.join(5)
    assert got == ["waiter"] and gate.in_use("mb") == 0


def _hold(gate, got: list[str], name: str, until: threading.Event | None = None) -> None:
    """Take a slot of "mb", note it in `got`, and keep it until `until` is set."""
    with gate.slot("mb", limit=1, wait=10):
        got.append(name)
        if until is not None:
            until.wait(10)


def test_a_waiter_that_gives_up_leaves_the_queue_and_holds_nothing():
    gate = LocalCoordinator()
    with gate.slot("mb", limit=1, wait=0):
        with pytest.raises(SlotTimeout), gate.slot("mb", limit=1, wait=0.05):
            pass
        assert gate.waiting("mb") == 0
    assert gate.in_use("mb") == 0
    with gate.slot("mb", limit=1, wait=0) as slot:
        assert slot.taken == 1


def test_never_more_than_the_limit_and_every_slot_comes_back():
    gate = LocalCoordinator()
    inside = 0
    most = 0
    count = threading.Lock()
    done: list[int] = []

    def work(n: int) -> None:
        nonlocal inside, most
        for _ in range(20):
            with gate.slot("mb", limit=4, wait=30) as slot:
                assert 1 <= slot.taken <= 4
                with count:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.0005)
                with count:
                    inside -= 1
        done.append(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(done) == 16
    assert most == 4
    assert gate.in_use("mb") == 0 and gate.waiting("mb") == 0


def test_a_lingering_slot_is_handed_on_when_its_time_is_up():
    gate = LocalCoordinator()
    with gate.slot("mb", limit=1, wait=0) as slot:
        slot.hold_after(0.1)  # our side timed out; Exchange may still be at work
    assert gate.in_use("mb") == 1
    with gate.slot("mb", limit=1, wait=5):
        assert gate.in_use("mb") == 1
    assert gate.in_use("mb") == 0


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
            _until(lambda n=n: raw.zcard("tandem:slotq:mb") == n + 1)
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
    _until(lambda: raw.zcard("tandem:slotq:mb") == 1)
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
        _until(lambda: raw.zcard("tandem:slotq:mb") == 8)
        time.sleep(1.0)  # the waiters' idle second, which is what is measured
        stats = raw.info("commandstats")
    for thread in threads:
        thread.join(10)
    asked = sum(v["calls"] for k, v in stats.items() if k.startswith("cmdstat_evalsha"))
    assert asked <= 8 * (1.0 / 0.2 + 3)  # polling every 5 to 25 ms would be 320 or more
