"""Property: whatever JSON a signed-in person posts, the answer is a defined one.

Any body to the context, action, folder and presence routes gives 200, a 4xx problem+json, or
a defined upstream code (502/503/504 upstream_unavailable) — never a 500 — and no request ever
reaches Graph on a path outside `/users/<one segment>/...` or `/me/...` (checked on the raw,
still percent-encoded, path the emulator received). Hypothesis runs derandomized, so a run is
repeatable.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem_mailbox.errors import InvalidRequest
from tandem_mailbox.mail import claim_category, fields
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

    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
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


# -- issue 15, defect 11: no category name that reads like a claim, or hides what it holds -----
# Look-alikes of the letters of "Tandem:" that NFKC does not fold, listed here on their own
# (not read from claims.py): Cyrillic, Greek and Armenian letters, small capitals, colon signs.
LOOKALIKES = {
    "t": "Tt\u0422\u0442\u03a4\u03c4\u1d1b",
    "a": "Aa\u0410\u0430\u0391\u03b1\u0251",
    "n": "Nn\u039d\u03b7\u0578",
    "d": "Dd\u0501\u13a0",
    "e": "Ee\u0415\u0435\u0395",
    "m": "Mm\u041c\u043c\u039c",
    ":": ":\u2236\u0589\ua789\u02d0",
}


@functools.cache
def _folding_to(letter: str) -> str:
    """Every character NFKC folds to `letter` (fullwidth, mathematical, circled ...)."""
    found = []
    for point in range(0x20, 0x30000):
        char = chr(point)
        if char != letter and unicodedata.normalize("NFKC", char).casefold() == letter:
            found.append(char)
    return "".join(found)


def _lookalike_prefix() -> st.SearchStrategy[str]:
    letters = [
        st.sampled_from(LOOKALIKES[c] + _folding_to(c) + _folding_to(c.upper())) for c in "tandem:"
    ]
    invisible = st.text(st.characters(categories=["Cf"]), max_size=1)
    return st.tuples(*[st.tuples(invisible, letter) for letter in letters]).map(
        lambda pairs: "".join(a + b for a, b in pairs)
    )


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(prefix=_lookalike_prefix(), rest=st.sampled_from([" Lee Gu (lee@contoso.com)", " x", ""]))
def test_no_name_that_reads_like_a_claim_can_be_added(prefix: str, rest: str):
    with pytest.raises(InvalidRequest) as refused:
        fields.categorize({"add": [prefix + rest]})
    assert refused.value.members["field"] == "add[0]"


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    before=st.text(max_size=10),
    hidden=st.characters(categories=["Cf", "Cc", "Zl", "Zp", "Co"]),
    after=st.text(max_size=10),
)
def test_no_name_with_an_invisible_or_bidi_character_can_be_added(
    before: str, hidden: str, after: str
):
    with pytest.raises(InvalidRequest):
        fields.categorize({"add": ["Urgent" + before + hidden + after]})


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(name=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 .&/-]{0,39}", fullmatch=True))
def test_plain_names_are_still_added(name: str):
    assert fields.categorize({"add": [name]})["add"] == [name.strip()]


def test_a_claim_shows_no_bidi_or_invisible_character_of_the_display_name():
    # A directory name holding U+202E would show the claim's upn reversed in Outlook.
    assert (
        claim_category.category_for("Lee\u202e Gu\u200b\u2066", "lee@contoso.com")
        == "Tandem: Lee Gu (lee@contoso.com)"
    )
