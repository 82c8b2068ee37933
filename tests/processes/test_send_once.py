"""A reply goes out once with the item lock in a real Redis: a holder that lost its lock
stops before it sends."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from tests.support.api import shared_body
from tests.support.deployment import CACHE_KEY, RedisServer
from tests.support.servers import EmulatorHandle

SUPPORT = "support@contoso.com"


def _support_item(emulator: EmulatorHandle, n: int = 0) -> dict[str, Any]:
    return [i for i in emulator.items(SUPPORT) if i["createdBy"] == SUPPORT][n]


def _key() -> str:
    return str(uuid.uuid4())


def _reply(backend: Any, token: str, body: dict[str, Any], key: str | None, **fields: Any) -> Any:
    fields.setdefault("comment", "Sorted.")
    fields.setdefault("send", True)
    return backend.action(token, "reply", body, key=key, **fields)


def test_a_lost_lock_stops_its_holder_before_it_sends(
    make_backend,
    fresh_emulator: EmulatorHandle,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
):
    """The lock is lost mid-send (Redis flushed): the holder ends with `conflict`, unsent."""
    backend = make_backend(
        fresh_emulator, TANDEM_REDIS_URL=redis_server.url, TANDEM_CACHE_KEY=CACHE_KEY
    )
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    key = _key()
    fresh_emulator.fault(target="graph", method="POST", path="/createReply", delayMs=2000)
    answers: list[Any] = []
    first = threading.Thread(target=lambda: answers.append(_reply(backend, lee, body, key)))
    first.start()
    raw = redis_server.client()
    deadline = time.monotonic() + 10
    while not raw.keys("tandem:lock:send:*") and time.monotonic() < deadline:
        time.sleep(0.02)  # until the first attempt holds its send lock (then createReply waits)
    assert raw.keys("tandem:lock:send:*")
    raw.flushall()  # Redis restarted without persistence: every lock and record gone
    second = _reply(backend, lee, body, key)  # the same key again: nothing says it ran
    first.join(timeout=30)
    assert second.status_code == 200, second.text
    assert answers[0].status_code == 409, answers[0].text
    assert "stopped before changing or sending anything more" in answers[0].json()["detail"]
    assert len(fresh_emulator.deliveries()) == 1
    # What Tandem logged about it names the lock by a hash: no item id, no person's oid.
    said = [r.getMessage() for r in caplog.records if r.name.startswith("tandem")]
    assert said
    oid = next(p["oid"] for p in fresh_emulator.world()["people"] if p["upn"] == "lee@contoso.com")
    assert not any(body["itemId"] in line or oid in line for line in said)
