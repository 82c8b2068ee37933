"""Injected faults, the counters tests and the benchmark read, and the Graph request log."""

from __future__ import annotations

import collections
import threading
from typing import Any

# Keys of a fault that select requests (matched against the request) rather than shape answers.
MATCHERS = ("mailbox", "method", "path", "itemId", "person")
REQUEST_LOG_SIZE = 1000


class Faults:
    """Injected failures, consumed in order, by target ("token", "graph", "jwks")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[dict[str, Any]] = []

    def add(self, fault: dict[str, Any]) -> None:
        """Queue one fault; `times` -1 means until cleared."""
        with self._lock:
            self._items.append(dict(fault, times=int(fault.get("times", 1))))

    def clear(self) -> None:
        """Forget every fault."""
        with self._lock:
            self._items.clear()

    def list(self) -> list[dict[str, Any]]:
        """What is still queued."""
        with self._lock:
            return [dict(f) for f in self._items]

    def take(self, target: str, **context: str) -> dict[str, Any] | None:
        """The next fault for this target that matches the request, used up once.

        `method` matches exactly (case-insensitively); `mailbox`, `path`, `itemId` and
        `person` match as substrings (`itemId` of the request path, `person` of the upn the
        token speaks for), so a fault can name an item, or one person's tokens.
        """
        if "path" in context:
            context = dict(context, itemId=context["path"])
        with self._lock:
            for fault in self._items:
                if fault.get("target") != target or not _matches(fault, context):
                    continue
                if fault["times"] > 0:
                    fault["times"] -= 1
                    if fault["times"] == 0:
                        self._items.remove(fault)
                return dict(fault)
        return None


def _matches(fault: dict[str, Any], context: dict[str, str]) -> bool:
    for key, value in context.items():
        wanted = fault.get(key)
        if not wanted:
            continue
        if key == "method":
            if str(wanted).upper() != str(value).upper():
                return False
        elif str(wanted).lower() not in str(value).lower():
            return False
    return True


class Stats:
    """Counters the tests and the benchmark read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {
            "tokenRequests": 0,
            "tokenIssued": 0,
            "jwksFetches": 0,
            "openidConfigFetches": 0,
            "graphRequests": 0,
            "ssoTokensIssued": 0,
            "throttledByConcurrency": 0,
        }
        self.graph_by_mailbox: dict[str, int] = {}
        self.tokens_by_person: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}

    def bump(self, name: str, by: int = 1) -> None:
        """Count one event (or `by` of them)."""
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + by

    def token_request(self, upn: str) -> None:
        """Count an on-behalf-of request whose assertion names this person."""
        with self._lock:
            self.tokens_by_person[upn] = self.tokens_by_person.get(upn, 0) + 1

    def enter(self, mailbox: str) -> int:
        """A Graph request on this mailbox starts; answers how many are now in flight."""
        with self._lock:
            self.counts["graphRequests"] += 1
            self.graph_by_mailbox[mailbox] = self.graph_by_mailbox.get(mailbox, 0) + 1
            now = self.in_flight.get(mailbox, 0) + 1
            self.in_flight[mailbox] = now
            self.max_in_flight[mailbox] = max(self.max_in_flight.get(mailbox, 0), now)
            return now

    def leave(self, mailbox: str) -> None:
        """A Graph request on this mailbox ended."""
        with self._lock:
            self.in_flight[mailbox] -= 1

    def snapshot(self) -> dict[str, Any]:
        """Everything, as JSON."""
        with self._lock:
            return dict(
                self.counts,
                graphRequestsByMailbox=dict(self.graph_by_mailbox),
                tokenRequestsByPerson=dict(self.tokens_by_person),
                maxInFlightPerMailbox=dict(self.max_in_flight),
                maxInFlight=max(self.max_in_flight.values(), default=0),
            )


class RequestLog:
    """The last Graph requests answered, newest last (bounded, so a long demo stays small)."""

    def __init__(self, size: int = REQUEST_LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=size)

    def add(self, entry: dict[str, Any]) -> None:
        """Record one answered request."""
        with self._lock:
            self._entries.append(entry)

    def last(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` entries, oldest first."""
        with self._lock:
            entries = list(self._entries)
        return entries[-limit:] if limit > 0 else []
