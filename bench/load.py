"""The load: people working on items through Tandem, and the same Graph calls made directly.

Each user is one person with an SSO token of their own (several users per person: every token
is a distinct on-behalf-of exchange), working on their own items of one mailbox over keep-alive
HTTPS connections (http.client: little of the load generator's own time is in each figure).

- `context`: POST /api/items/context; directly, GET the item with the backend's `$select`; and
  the same POST to the floor app (bench/floor.py), the cheapest honest backend of that request.
- `write`: markRead or markUnread, whichever changes the item; directly, its minimum of Graph
  calls: GET, then PATCH with If-Match (whose answer is the new state).

Direct calls keep to Graph's 4 requests in flight per mailbox as the backend does (a client
that did not would be answered 429 MailboxConcurrency), with a semaphore per mailbox.
"""

from __future__ import annotations

import http.client
import json
import math
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from tandem_mailbox.microsoft.graph import MAILBOX_CONCURRENCY, MESSAGE_SELECT

IDLE_REOPEN = 50.0  # seconds: gunicorn keeps an idle connection 65 s; reopen before that
REST_URL = "https://outlook.office.com/api"


class Failed(Exception):
    """A request answered something other than what the workload expects."""


class Connection:
    """One keep-alive HTTPS connection to localhost:<port>, reopened when idle too long."""

    def __init__(self, port: int, context: ssl.SSLContext):
        self._port = port
        self._context = context
        self._conn: http.client.HTTPSConnection | None = None
        self._used = 0.0

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Send one request; answers the status and the JSON body ({} when there is none)."""
        now = time.monotonic()
        if self._conn is None or now - self._used > IDLE_REOPEN:
            self.close()
            self._conn = http.client.HTTPSConnection(
                "localhost", self._port, context=self._context, timeout=60
            )
        sent = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        try:
            self._conn.request(method, path, body=payload, headers=sent)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        self._used = time.monotonic()
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, json.loads(data) if data else {}

    def close(self) -> None:
        """Close the connection (the next call opens another)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class User:
    """One person, with a token of their own, working on their own items of one mailbox."""

    upn: str
    mailbox: str
    own: bool  # the person's own mailbox: no shared properties, Graph's /me
    items: list[str]
    sso: str = ""
    graph: str = ""
    backend: Connection | None = None
    direct: Connection | None = None
    floor: Connection | None = None  # the read path's floor app (bench/floor.py)
    folders: dict[str, str] = field(default_factory=dict)  # ids the direct moves go to
    turn: int = 0
    state: dict[str, dict[str, Any]] = field(default_factory=dict)  # item -> etag, isRead

    def next_item(self) -> str:
        """The next of the user's items, round-robin."""
        self.turn += 1
        return self.items[self.turn % len(self.items)]

    def body(self, item: str) -> dict[str, Any]:
        """The item context the pane posts."""
        body: dict[str, Any] = {"itemId": item, "itemType": "message"}
        if not self.own:
            body["shared"] = {
                "targetMailbox": self.mailbox,
                "targetRestUrl": REST_URL,
                "owner": self.mailbox,
                "delegatePermissions": 63,
            }
        return body

    def graph_path(self, item: str) -> str:
        """The item's Graph path, as the backend calls it."""
        root = "/v1.0/me" if self.own else "/v1.0/users/" + quote(self.mailbox, safe="")
        return f"{root}/messages/{quote(item, safe='')}"


class Slots:
    """`limit` slots handed out first come, first served (threading's semaphore is not fair:
    a thread that releases and asks again at once can starve the ones waiting)."""

    def __init__(self, limit: int):
        self._lock = threading.Lock()
        self._free = limit
        self._waiting: deque[threading.Event] = deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the slot is handed over by __exit__

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


class Gate:
    """The direct client's discipline: at most 4 requests in flight per mailbox."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, Slots] = {}

    def slot(self, mailbox: str) -> Slots:
        """The mailbox's slots (hold one with `with`)."""
        with self._lock:
            if mailbox not in self._slots:
                self._slots[mailbox] = Slots(MAILBOX_CONCURRENCY)
            return self._slots[mailbox]


# -- the operations: each raises Failed on an unexpected answer ---------------------------------
def backend_context(user: User, gate: Gate) -> None:
    """POST /api/items/context for the user's next item."""
    assert user.backend is not None
    _context(user, user.backend, "context")


def floor_context(user: User, gate: Gate) -> None:
    """POST /api/items/context to the floor app, for the user's next item."""
    assert user.floor is not None
    _context(user, user.floor, "floor context")


def _context(user: User, target: Connection, name: str) -> None:
    status, body = target.call(
        "POST",
        "/api/items/context",
        user.body(user.next_item()),
        {"Authorization": f"Bearer {user.sso}"},
    )
    if status != 200:
        raise Failed(f"{name} {status} {body.get('code')}")


def backend_write(user: User, gate: Gate) -> None:
    """markRead or markUnread, whichever changes the user's next item."""
    assert user.backend is not None
    item = user.next_item()
    known = user.state.get(item, {})
    action = "markUnread" if known.get("isRead") else "markRead"
    body = user.body(item)
    if known.get("etag"):
        body["etag"] = known["etag"]
    status, answer = user.backend.call(
        "POST", f"/api/items/actions/{action}", body, {"Authorization": f"Bearer {user.sso}"}
    )
    if status != 200:
        user.state.pop(item, None)  # read afresh next time
        raise Failed(f"{action} {status} {answer.get('code')}")
    if not answer["result"]["changed"]:
        user.state.pop(item, None)
        raise Failed(f"{action} changed nothing (the item was changed by someone else)")
    user.state[item] = {"etag": answer["item"]["etag"], "isRead": answer["item"]["isRead"]}


def _graph(user: User, gate: Gate, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    assert user.direct is not None
    headers = {"Authorization": f"Bearer {user.graph}", "Accept": "application/json"}
    headers.update(kwargs.pop("headers", {}))
    with gate.slot(user.mailbox):
        status, body = user.direct.call(method, path, kwargs.get("body"), headers)
    if status != 200:
        raise Failed(f"Graph {method} {status} {body.get('error', {}).get('code')}")
    return body


def direct_context(user: User, gate: Gate) -> None:
    """GET the user's next item from Graph, with the backend's $select."""
    item = user.next_item()
    query = urlencode({"$select": MESSAGE_SELECT})
    now = _graph(user, gate, "GET", f"{user.graph_path(item)}?{query}")
    user.state[item] = {"etag": now["@odata.etag"], "isRead": now["isRead"]}


def direct_write(user: User, gate: Gate) -> None:
    """markRead / markUnread's minimum (docs/performance.md): GET, PATCH with If-Match, whose
    answer is the item's new state."""
    item = user.next_item()
    path = user.graph_path(item)
    query = urlencode({"$select": MESSAGE_SELECT})
    current = _graph(user, gate, "GET", f"{path}?{query}")
    if item in user.state and user.state[item]["etag"] != current["@odata.etag"]:
        raise Failed("the item was changed by someone else")  # as the backend's etag check
    after = _graph(
        user,
        gate,
        "PATCH",
        path,
        body={"isRead": not current.get("isRead")},
        headers={"If-Match": current["@odata.etag"]},
    )
    user.state[item] = {"etag": after["@odata.etag"], "isRead": after["isRead"]}


Operation = Callable[[User, Gate], None]
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("context", "backend"): backend_context,
    ("write", "backend"): backend_write,
    ("context", "direct"): direct_context,
    ("write", "direct"): direct_write,
    ("context", "floor"): floor_context,
}


# -- running them --------------------------------------------------------------------------------
@dataclass
class Sample:
    """What a slice of load measured."""

    latencies: list[float] = field(default_factory=list)  # ms, of the requests that succeeded
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, other: Sample) -> None:
        """Pool another slice's figures into this one."""
        self.latencies += other.latencies
        self.errors.update(other.errors)
        self.seconds += other.seconds


def run(users: list[User], operation: Operation, gate: Gate, *, seconds: float) -> Sample:
    """Every user runs the operation back to back (closed loop) for `seconds`."""
    sample = Sample()
    lock = threading.Lock()
    started = time.perf_counter()
    stop_at = started + seconds

    def loop(user: User) -> None:
        mine: list[float] = []
        errors: Counter[str] = Counter()
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            try:
                operation(user, gate)
            except Failed as error:
                errors[str(error)] += 1
                continue
            except (OSError, http.client.HTTPException) as error:
                errors[type(error).__name__] += 1
                continue
            mine.append((time.perf_counter() - began) * 1000)
        with lock:
            sample.latencies += mine
            sample.errors.update(errors)

    threads = [threading.Thread(target=loop, args=(u,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)  # a request is bounded by the backend's budget
    sample.seconds = time.perf_counter() - started
    return sample


def once_each(users: list[User], operation: Operation, gate: Gate) -> Sample:
    """Every user runs the operation once, all at the same time (warms connections and caches)."""
    sample = Sample()
    lock = threading.Lock()

    def one(user: User) -> None:
        began = time.perf_counter()
        try:
            operation(user, gate)
        except (Failed, OSError, http.client.HTTPException) as error:
            with lock:
                sample.errors[str(error) or type(error).__name__] += 1
            return
        with lock:
            sample.latencies.append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=one, args=(u,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sample


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
