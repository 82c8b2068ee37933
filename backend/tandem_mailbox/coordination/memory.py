"""LocalCoordinator: locks, slots, a token cache and presence kept in this process (threads).

Right for one worker (and the demo); nothing survives the process and nothing is seen by
another. `RedisCoordinator` uses one as its fallback while Redis can't be reached.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tandem_mailbox.coordination import Hold, Keeper, LockTimeout, Slot, SlotTimeout, owner_token


@dataclass
class _Waiter:
    """One request waiting for a slot; `granted` once a freed slot was handed to it."""

    ready: threading.Condition
    granted: bool = False


class LocalCoordinator:
    """Locks and slots of this process (threads); nothing survives the process."""

    shared = False

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000):
        self._clock = clock
        self._max_entries = max_entries
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)
        self._locks: dict[str, tuple[str, float]] = {}  # key -> (owner token, expires at)
        self._slots: dict[str, int] = {}  # key -> slots taken
        self._waiting: dict[str, deque[_Waiter]] = {}  # key -> who waits for a slot, in order
        self._presence: dict[str, dict[str, tuple[float, dict[str, Any]]]] = {}
        self._cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._records: dict[str, tuple[float, bytes]] = {}
        self._keeper = Keeper("local", clock=clock)

    def ping(self) -> bool:
        """Always True: this process is its own store."""
        return True

    @contextmanager
    def lock(self, key: str, *, ttl: float, wait: float) -> Iterator[Hold]:
        """Hold the lock named `key`, renewed while held; it expires `ttl` after renewals stop."""
        token = owner_token(uuid.uuid4().hex)
        deadline = self._clock() + wait
        with self._changed:
            while True:
                now = self._clock()
                held = self._locks.get(key)
                if held is None or held[1] <= now:
                    self._locks[key] = (token, now + ttl)
                    break
                remaining = min(deadline, held[1]) - now
                if deadline <= now:
                    raise LockTimeout(key)
                self._changed.wait(timeout=max(0.001, remaining))
        hold = Hold(key, token, ask=lambda: self.holder(key) == token)

        def renew() -> bool:
            kept = self._extend(key, token, ttl)
            if not kept:
                hold.lost.set()
            return kept

        handle = self._keeper.hold(renew, every=ttl / 3)
        try:
            yield hold
        finally:
            self._keeper.drop(handle)
            with self._changed:
                if self._locks.get(key, ("", 0.0))[0] == token:  # only its owner releases it
                    del self._locks[key]
                self._changed.notify_all()

    def _extend(self, key: str, token: str, ttl: float) -> bool:
        with self._mutex:
            held = self._locks.get(key)
            if held is None or held[0] != token:
                return False
            self._locks[key] = (token, self._clock() + ttl)
            return True

    def holder(self, key: str) -> str | None:
        """Who holds the lock `key` now (host:pid:unique), or None."""
        with self._mutex:
            held = self._locks.get(key)
            return held[0] if held and held[1] > self._clock() else None

    @contextmanager
    def slot(self, key: str, *, limit: int, wait: float) -> Iterator[Slot]:
        """Hold one of `limit` slots of `key`, waiting at most `wait` seconds for one.

        First come, first served: a freed slot is handed to the longest waiter, never to a
        newcomer, so under contention no request waits out its whole bound while later ones
        pass it (a write takes a slot three times in a row and would otherwise lose each time).
        """
        deadline = self._clock() + wait
        with self._mutex:
            if not self._waiting.get(key) and self._slots.get(key, 0) < limit:
                self._slots[key] = taken = self._slots.get(key, 0) + 1
            else:
                queue = self._waiting.setdefault(key, deque())
                waiter = _Waiter(threading.Condition(self._mutex))
                queue.append(waiter)
                while not waiter.granted:
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        queue.remove(waiter)
                        if not queue:
                            del self._waiting[key]
                        raise SlotTimeout(key)
                    waiter.ready.wait(timeout=remaining)
                taken = self._slots.get(key, 0)  # `_free` dropped the queue if it emptied
        held = Slot(key, taken)
        try:
            yield held
        finally:
            if held.linger > 0:
                timer = threading.Timer(held.linger, self._free, args=(key,))
                timer.daemon = True
                timer.start()
            else:
                self._free(key)

    def _free(self, key: str) -> None:
        with self._mutex:
            queue = self._waiting.get(key)
            if queue:  # hand the slot over: the count stays, the longest waiter holds it now
                waiter = queue.popleft()
                if not queue:
                    del self._waiting[key]
                waiter.granted = True
                waiter.ready.notify()
                return
            taken = self._slots.get(key, 0) - 1
            if taken > 0:
                self._slots[key] = taken
            else:
                self._slots.pop(key, None)

    def in_use(self, key: str) -> int:
        """How many slots of `key` are taken (for tests and metrics)."""
        with self._mutex:
            return self._slots.get(key, 0)

    def waiting(self, key: str) -> int:
        """How many requests wait for a slot of `key` (for tests and metrics)."""
        with self._mutex:
            return len(self._waiting.get(key, ()))

    def fetch(self, key: str) -> bytes | None:
        """The value cached under `key` while it lasts, or None."""
        with self._mutex:
            entry = self._cache.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return entry[1]

    def store(self, key: str, value: bytes, *, ttl: float) -> None:
        """Cache `value` under `key` for `ttl` seconds; the oldest entries go past the bound."""
        with self._mutex:
            self._cache[key] = (self._clock() + ttl, value)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)

    def recall(self, key: str) -> bytes | None:
        """The record under `key` while it lasts, or None."""
        with self._mutex:
            entry = self._records.get(key)
            if entry is None or entry[0] <= self._clock():
                self._records.pop(key, None)
                return None
            return entry[1]

    def remember(self, key: str, value: bytes, *, ttl: float) -> None:
        """Keep `value` under `key` for `ttl` seconds (this process only: one worker)."""
        with self._mutex:
            now = self._clock()
            if len(self._records) >= self._max_entries:  # drop what expired, then the oldest
                for stale in [k for k, (at, _) in self._records.items() if at <= now]:
                    del self._records[stale]
                while len(self._records) >= self._max_entries:
                    del self._records[min(self._records, key=lambda k: self._records[k][0])]
            self._records[key] = (now + ttl, value)

    def forget(self, key: str) -> None:
        """Drop the record under `key`."""
        with self._mutex:
            self._records.pop(key, None)

    def announce(self, key: str, member: str, value: dict[str, Any], *, ttl: float) -> bool:
        """Say `member` is present at `key` for `ttl` seconds; True when it was already there."""
        with self._mutex:
            if len(self._presence) > self._max_entries:  # forget items nobody looked at lately
                for stale in list(self._presence):
                    self._live(stale)
            here = self._live(key)
            known = member in here
            here[member] = (self._clock() + ttl, dict(value))
            self._presence[key] = here
            return known

    def leave(self, key: str, member: str) -> None:
        """`member` is no longer present at `key`."""
        with self._mutex:
            self._live(key).pop(member, None)

    def present(self, key: str) -> dict[str, dict[str, Any]]:
        """Who is present at `key` now, by member."""
        with self._mutex:
            return {member: dict(value) for member, (_, value) in self._live(key).items()}

    def _live(self, key: str) -> dict[str, tuple[float, dict[str, Any]]]:
        """The unexpired presence at `key` (the caller holds the mutex)."""
        now = self._clock()
        here = {m: e for m, e in self._presence.get(key, {}).items() if e[0] > now}
        if here:
            self._presence[key] = here
        else:
            self._presence.pop(key, None)
        return here
