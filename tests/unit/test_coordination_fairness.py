"""Mailbox slots in one process (LocalCoordinator) are first come, first served, bounded,
and leak nothing; across workers (RedisCoordinator) in tests/processes.

Without the order a freed slot went to whoever asked first after the release: under load a
request could wait out its whole bound while later ones passed it (a write takes a slot three
times in a row, so it lost three times as often); the benchmark's tail showed it.
"""

from __future__ import annotations

import threading
import time

import pytest

from tandem_mailbox.coordination import SlotTimeout
from tandem_mailbox.coordination.memory import LocalCoordinator
from tests.support.polling import until


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
            assert until(lambda n=n: gate.waiting("mb") == n + 1)
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
    assert until(lambda: gate.waiting("mb") == 1)
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
