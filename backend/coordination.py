"""Locks and per-mailbox slots: the coordination Tandem's workers need, behind one interface.

`LocalCoordinator` keeps them in this process (one worker, no setup). A deployment with several
workers or hosts needs them shared (the per-item write lock and Graph's per-mailbox limit of 4
concurrent requests are per app, across every worker), which a Redis implementation of the same
interface provides.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol


class LockTimeout(Exception):
    """The lock could not be had within the wait."""


class SlotTimeout(Exception):
    """No slot of the mailbox came free within the wait."""


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

    def lock(self, key: str, *, ttl: float, wait: float) -> AbstractContextManager[str]:
        """Hold the lock named `key`; raise LockTimeout after `wait` seconds."""
        ...

    def slot(self, key: str, *, limit: int, wait: float) -> AbstractContextManager[Slot]:
        """Hold one of `limit` slots of `key`; raise SlotTimeout after `wait` seconds."""
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


class LocalCoordinator:
    """Locks and slots of this process (threads); nothing survives the process."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)
        self._locks: dict[str, tuple[str, float]] = {}  # key -> (owner token, expires at)
        self._slots: dict[str, int] = {}  # key -> slots taken
        self._presence: dict[str, dict[str, tuple[float, dict[str, Any]]]] = {}

    @contextmanager
    def lock(self, key: str, *, ttl: float, wait: float) -> Iterator[str]:
        """Hold the lock named `key` (expiring after `ttl` should its holder never release it)."""
        token = uuid.uuid4().hex
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
        try:
            yield token
        finally:
            with self._changed:
                if self._locks.get(key, ("", 0.0))[0] == token:  # only its owner releases it
                    del self._locks[key]
                self._changed.notify_all()

    @contextmanager
    def slot(self, key: str, *, limit: int, wait: float) -> Iterator[Slot]:
        """Hold one of `limit` slots of `key`, waiting at most `wait` seconds for one."""
        deadline = self._clock() + wait
        with self._changed:
            while self._slots.get(key, 0) >= limit:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise SlotTimeout(key)
                self._changed.wait(timeout=remaining)
            self._slots[key] = taken = self._slots.get(key, 0) + 1
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
        with self._changed:
            taken = self._slots.get(key, 0) - 1
            if taken > 0:
                self._slots[key] = taken
            else:
                self._slots.pop(key, None)
            self._changed.notify_all()

    def in_use(self, key: str) -> int:
        """How many slots of `key` are taken (for tests and metrics)."""
        with self._mutex:
            return self._slots.get(key, 0)

    def announce(self, key: str, member: str, value: dict[str, Any], *, ttl: float) -> bool:
        """Say `member` is present at `key` for `ttl` seconds; True when it was already there."""
        with self._mutex:
            if len(self._presence) > 10_000:  # forget items nobody has looked at for a while
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
