"""The fault suite: Entra ID and Graph failing in every way seen, and nothing lost or doubled.

Bounded in count and time, loopback only. The emulator's write history and deliveries log are
the witnesses that no write and no send happened twice.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.api import shared_body
from tests.support.servers import EmulatorHandle

SUPPORT = "support@contoso.com"


def _items(emulator: EmulatorHandle, n: int) -> list[dict[str, Any]]:
    return [i for i in emulator.items(SUPPORT) if i["createdBy"] == SUPPORT][:n]


def _writes(emulator: EmulatorHandle, item_id: str) -> list[dict[str, Any]]:
    return [h for h in emulator.item(item_id)["history"] if h["by"] and h["operation"] != "create"]


# -- Entra ID ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", [{"status": 503}, {"delayMs": 2500}], ids=["down", "slow"])
def test_entra_failing_spares_people_with_cached_tokens(
    make_backend, fresh_emulator: EmulatorHandle, fault: dict[str, Any]
):
    backend = make_backend(fresh_emulator, TANDEM_HTTP_TIMEOUT="1")
    cached = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_items(fresh_emulator, 1)[0]["id"], SUPPORT)
    assert backend.context(cached, body).status_code == 200
    fresh_emulator.fault(target="token", times=-1, **fault)
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda _: backend.context(cached, body).status_code, range(20)))
    assert statuses == [200] * 20
    started = time.monotonic()
    newcomer = backend.context(fresh_emulator.sso("sam@contoso.com"), body)
    elapsed = time.monotonic() - started
    assert newcomer.status_code in (503, 504), newcomer.text
    assert newcomer.json()["code"] == "upstream_unavailable"
    assert elapsed < 4, f"{elapsed:.1f} s for a timeout of 1 s"


# -- Graph: throttling storms, bursts, resets, slowness --------------------------------------
def test_a_429_storm_delays_writes_but_writes_each_once(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso("lee@contoso.com")
    bodies = [shared_body(i["id"], SUPPORT) for i in _items(fresh_emulator, 8)]
    assert backend.context(token, bodies[0]).status_code == 200
    fresh_emulator.fault(target="graph", method="PATCH", status=429, retryAfter=1, times=12)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda b: backend.action(token, "flag", b, flag="flagged"), bodies))
    for body, answer in zip(bodies, answers, strict=True):
        writes = _writes(fresh_emulator, body["itemId"])
        if answer.status_code == 200:
            assert len(writes) == 1
        else:
            assert answer.status_code == 429 and answer.json()["retryAfter"] >= 1
            assert writes == []
    assert sum(a.status_code == 200 for a in answers) >= 4


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_a_503_burst_is_retried_for_reads_only(
    make_backend, fresh_emulator: EmulatorHandle, method: str
):
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_items(fresh_emulator, 1)[0]["id"], SUPPORT)
    assert backend.context(token, body).status_code == 200
    fresh_emulator.fault(target="graph", method=method, status=503, retryAfter=0, times=2)
    answer = backend.action(token, "flag", body, flag="flagged")
    if method == "GET":  # the read before the write is retried; the write goes through
        assert answer.status_code == 200, answer.text
        assert len(_writes(fresh_emulator, body["itemId"])) == 1
    else:  # a write that answered 503 may or may not have been done: never sent again
        assert answer.status_code == 503
        assert _writes(fresh_emulator, body["itemId"]) == []
        patches = [r for r in fresh_emulator.requests() if r["method"] == "PATCH"]
        assert len(patches) == 1


def test_a_503_after_the_write_is_not_a_second_write(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_items(fresh_emulator, 1)[0]["id"], SUPPORT)
    fresh_emulator.fault(target="graph", method="PATCH", status=503, after=True)
    answer = backend.action(token, "categorize", body, add=["Billing"])
    assert answer.status_code == 503
    assert len(_writes(fresh_emulator, body["itemId"])) == 1  # done once, by Exchange
    again = backend.action(token, "categorize", body, add=["Billing"])  # the person retries
    assert again.status_code == 200 and again.json()["result"]["changed"] is False
    assert len(_writes(fresh_emulator, body["itemId"])) == 1


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_connection_reset_on_a_read_is_retried(
    make_backend, fresh_emulator: EmulatorHandle, when: str
):
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_items(fresh_emulator, 1)[0]["id"], SUPPORT)
    assert backend.context(token, body).status_code == 200
    fresh_emulator.fault(target="graph", method="GET", reset=True, after=when == "after")
    assert backend.context(token, body).status_code == 200


def test_a_connection_reset_after_a_write_is_not_written_again(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_items(fresh_emulator, 1)[0]["id"], SUPPORT)
    fresh_emulator.fault(target="graph", method="PATCH", reset=True, after=True)
    answer = backend.action(token, "flag", body, flag="flagged")
    assert answer.status_code == 503
    assert answer.json()["code"] == "upstream_unavailable"
    assert len(_writes(fresh_emulator, body["itemId"])) == 1


@pytest.mark.parametrize(
    ("fault", "status", "delivered", "drafts"),
    [
        ({"reset": True, "after": True}, 200, 1, 0),  # sent, then cut: the draft is gone
        # Cut with no answer, the draft still there: Tandem can't know whether Exchange will
        # yet send it, so it says so (send_outcome_unknown) and sends nothing more.
        ({"reset": True}, 502, 0, 1),
        ({"delayMs": 2500}, 502, 1, 0),  # slower than the timeout: sent late, never twice
    ],
    ids=["reset after sending", "reset before sending", "slower than the timeout"],
)
def test_a_send_is_never_doubled(
    make_backend,
    fresh_emulator: EmulatorHandle,
    fault: dict[str, Any],
    status: int,
    delivered: int,
    drafts: int,
):
    backend = make_backend(fresh_emulator, TANDEM_HTTP_TIMEOUT="1")
    token = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_items(fresh_emulator, 1)[0]["id"], SUPPORT)
    fresh_emulator.fault(target="graph", method="POST", path="/send", **fault)
    answer = backend.action(token, "reply", body, comment="Done.", send=True)
    assert answer.status_code == status, answer.text
    if status == 502:
        assert answer.json()["code"] == "send_outcome_unknown"
    deadline = time.monotonic() + 5
    while len(fresh_emulator.deliveries()) < delivered and time.monotonic() < deadline:
        time.sleep(0.05)  # polling: a slow send finishes after our side gave up
    assert len(fresh_emulator.deliveries()) == delivered
    sends = [r for r in fresh_emulator.requests() if r["path"].endswith("/send")]
    assert len(sends) <= 1
    assert len(fresh_emulator.items(SUPPORT, "drafts")) == drafts


def test_a_write_slower_than_the_timeout_is_not_retried(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator, TANDEM_HTTP_TIMEOUT="1")
    token = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_items(fresh_emulator, 1)[0]["id"], SUPPORT)
    assert backend.context(token, body).status_code == 200
    fresh_emulator.fault(target="graph", method="PATCH", delayMs=2000)
    answer = backend.action(token, "flag", body, flag="flagged")
    assert answer.status_code == 504
    deadline = time.monotonic() + 5
    while not _writes(fresh_emulator, body["itemId"]) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling: Exchange finishes the write after we stopped waiting
    assert len(_writes(fresh_emulator, body["itemId"])) == 1


# -- keys rotating while people work ------------------------------------------------------------
def test_a_key_rotation_under_load_fails_nobody(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    body = shared_body(_items(fresh_emulator, 1)[0]["id"], SUPPORT)
    before_keys = [fresh_emulator.sso("lee@contoso.com") for _ in range(40)]
    assert backend.context(before_keys[0], body).status_code == 200
    fetches = fresh_emulator.stats()["jwksFetches"]
    fresh_emulator.http.post(
        f"{fresh_emulator.url}/_emulator/keys/rotate", json={}
    ).raise_for_status()
    after_keys = [fresh_emulator.sso("lee@contoso.com") for _ in range(40)]
    mixed = [t for pair in zip(before_keys, after_keys, strict=True) for t in pair]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda t: backend.context(t, body).status_code, mixed))
    assert statuses == [200] * 80
    assert fresh_emulator.stats()["jwksFetches"] - fetches == 1  # one refresh for the new key
