"""Property: whatever JSON a signed-in person posts, the answer is a defined one.

Any body to the context, action, folder and presence routes gives 200, a 4xx problem+json, or
a defined upstream code (502/503/504 upstream_unavailable) — never a 500 — and no request ever
reaches Graph on a path outside `/users/<one segment>/...` or `/me/...` (checked on the raw,
still percent-encoded, path the emulator received). Hypothesis runs derandomized (the root
conftest's profiles), so a run is repeatable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.servers import BackendHandle, EmulatorHandle, start_backend, start_emulator

ONE_SEGMENT = re.compile(r"/v1\.0/(me|users/[^/]+)(/.*)?")
UPSTREAM = {502, 503, 504}


@pytest.fixture(scope="module")
def world(cert_paths, http) -> Iterator[tuple[EmulatorHandle, BackendHandle, dict[str, Any]]]:
    """An emulator and a backend of this module's own (the properties write and send)."""
    handle = start_emulator(cert_paths, http)
    backend = start_backend(handle, cert_paths, http)
    support = handle.items("support@contoso.com")
    values = {
        "token": handle.sso("lee@contoso.com", lifetime=7200),
        "item": support[0]["id"],
        "other": handle.items("sales@contoso.com")[0]["id"],
    }
    yield handle, backend, values
    backend.server.stop()
    handle.server.stop()


def _strings(values: dict[str, Any]) -> st.SearchStrategy[str]:
    tricky = [
        values["item"],
        values["other"],
        values["item"] + "\n",
        values["item"].replace("-", "/"),
        "support@contoso.com",
        "support@contoso.com/messages",
        "a/b@contoso.com",
        "../me",
        "%2F..%2Fme",
        "me",
        "https://outlook.office.com/api",
        "https://evil.example/api",
        "Inbox/Escalations",
        "inbox",
        "Tandem: Lee Gu (lee@contoso.com)",
        "",
        "\u0000",
        "x" * 600,
    ]
    return st.one_of(st.sampled_from(tricky), st.text(max_size=40))


def _json(values: dict[str, Any]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        _strings(values),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.text(max_size=10), inner, max_size=4),
        ),
        max_leaves=12,
    )


def _bodies(values: dict[str, Any]) -> st.SearchStrategy[Any]:
    anything = _json(values)
    shared = st.fixed_dictionaries(
        {},
        optional={
            "targetMailbox": st.one_of(_strings(values), anything),
            "targetRestUrl": st.one_of(_strings(values), anything),
            "owner": st.one_of(_strings(values), anything),
            "delegatePermissions": st.one_of(st.integers(-2, 70), anything),
        },
    )
    field = st.one_of(_strings(values), anything, st.lists(_strings(values), max_size=30))
    shaped = st.fixed_dictionaries(
        {"itemId": st.one_of(_strings(values), anything)},
        optional={
            "itemType": st.one_of(st.sampled_from(["message", "appointment"]), anything),
            "shared": st.one_of(shared, anything),
            **{
                name: field
                for name in (
                    "etag",
                    "add",
                    "remove",
                    "flag",
                    "folder",
                    "comment",
                    "send",
                    "toRecipients",
                    "response",
                    "sendResponse",
                    "state",
                )
            },
        },
    )
    return st.one_of(shaped, anything)


ROUTES = [
    "/api/items/context",
    "/api/mailbox/folders",
    "/api/items/presence",
    *[
        f"/api/items/actions/{name}"
        for name in (
            "claim",
            "release",
            "categorize",
            "flag",
            "markRead",
            "move",
            "delete",
            "reply",
            "forward",
            "respond",
            "unknown",
        )
    ],
]


def test_any_body_gets_a_defined_answer_and_graph_sees_one_segment(world):
    emulator, backend, values = world

    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(route=st.sampled_from(ROUTES), body=_bodies(values))
    def check(route: str, body: Any) -> None:
        answer = backend.http.post(
            backend.url + route,
            json=body,
            headers={"Authorization": f"Bearer {values['token']}"},
        )
        status = answer.status_code
        assert status != 500 and status < 600, (route, body, answer.text)
        if status == 200:
            return
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        problem = answer.json()
        if status in UPSTREAM:
            assert problem["code"] == "upstream_unavailable", problem
        else:
            assert 400 <= status < 500 and problem["code"], problem

    check()
    paths = [r["rawPath"] for r in emulator.requests(1000)]
    assert paths, "the properties should have reached Graph at least once"
    outside = [p for p in paths if not ONE_SEGMENT.fullmatch(p)]
    assert outside == []
