"""Reproductions of the defects found by attacking the backend (issue "Foundation", D1-D13).

Each test failed against the code before its fix. Timings are asserted only where the defect
was a wait, and with margins of several times the expected figure.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.api import shared_body
from tests.support.polling import until
from tests.support.servers import EmulatorHandle

PEOPLE = [
    "adele@contoso.com",
    "megan@contoso.com",
    "alex@contoso.com",
    "nestor@contoso.com",
    "lee@contoso.com",
    "pat@contoso.com",
    "joni@contoso.com",
]


def _own(emulator: EmulatorHandle, upn: str) -> dict[str, Any]:
    return {"itemId": emulator.items(upn)[0]["id"], "itemType": "message"}


def _mailbox_id(emulator: EmulatorHandle, address: str) -> str:
    return next(m["id"] for m in emulator.world()["mailboxes"] if m["address"] == address)


# -- D1: the per-mailbox gate is keyed by the mailbox, not by what the client called it -------
def test_seven_people_reading_their_own_mail_are_not_serialised(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    calls = [(fresh_emulator.sso(upn), _own(fresh_emulator, upn)) for upn in PEOPLE]
    for token, body in calls:  # warm: one exchange each, outside the timed part
        assert backend.context(token, body).status_code == 200
    fresh_emulator.fault(target="graph", delayMs=2000, times=-1)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=7) as pool:
        statuses = list(pool.map(lambda c: backend.context(*c).status_code, calls))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 7
    assert elapsed < 7, f"{elapsed:.1f} s: own mailboxes shared one gate (14 s when serialised)"


def _adele_by_two_names(emulator: EmulatorHandle, alias: str) -> list[tuple[str, Any]]:
    """Context calls on six of Adele's items by two names of her mailbox: hers through /me,
    then Nestor's (her delegate) by its address or its mailbox id."""
    adele, nestor = emulator.sso("adele@contoso.com"), emulator.sso("nestor@contoso.com")
    items = emulator.items("adele@contoso.com")[:6]
    target = (
        "adele@contoso.com" if alias == "address" else _mailbox_id(emulator, "adele@contoso.com")
    )
    calls: list[tuple[str, Any]] = [
        (adele, {"itemId": i["id"], "itemType": "message"}) for i in items
    ]
    return calls + [(nestor, shared_body(i["id"], target)) for i in items]


@pytest.mark.parametrize("alias", ["address", "mailbox id"])
def test_one_mailbox_by_me_and_by_name_shares_four_slots(
    make_backend, fresh_emulator: EmulatorHandle, alias: str
):
    backend = make_backend(fresh_emulator)
    calls = _adele_by_two_names(fresh_emulator, alias)
    for token, body in calls[:1] + calls[6:7]:
        assert backend.context(token, body).status_code == 200
    fresh_emulator.fault(target="graph", delayMs=300, times=-1)
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda c: backend.context(*c).status_code, calls))
    assert statuses == [200] * 12
    stats = fresh_emulator.stats()
    assert stats["maxInFlightPerMailbox"]["adele@contoso.com"] <= 4
    assert stats["throttledByConcurrency"] == 0


@pytest.mark.parametrize(
    ("known", "alias"),
    [("neither", "address"), ("neither", "mailbox id"), ("me", "address")],
)
def test_one_mailbox_by_a_name_not_known_yet_stays_within_four(
    make_backend, fresh_emulator: EmulatorHandle, known: str, alias: str
):
    """Before Graph showed which mailbox a name reaches, the name had 4 slots of its own:
    Adele's /me and Nestor's adele@ put up to 8 in flight on her mailbox (Exchange: 429)."""
    backend = make_backend(fresh_emulator)
    calls = _adele_by_two_names(fresh_emulator, alias)
    # The exchanges out of the way without showing Graph either name of Adele's mailbox: an
    # immutable id names no mailbox, so Exchange refusing it (no rights on sales@) makes no
    # claim refused, which would cost the person's claims their slots.
    sales = fresh_emulator.items("sales@contoso.com")[0]["immutableId"]
    for token in (calls[0][0], calls[-1][0]):  # Adele's, Nestor's
        assert backend.context(token, shared_body(sales, "sales@contoso.com")).status_code == 403
    if known == "me":
        assert backend.context(*calls[0]).status_code == 200
    else:
        assert "adele@contoso.com" not in fresh_emulator.stats()["graphRequestsByMailbox"]
    fresh_emulator.fault(target="graph", delayMs=300, times=-1)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda c: backend.context(*c), calls))
    assert [a.status_code for a in answers] == [200] * 12, [a.text for a in answers]
    stats = fresh_emulator.stats()
    assert stats["maxInFlightPerMailbox"]["adele@contoso.com"] <= 4
    assert stats["throttledByConcurrency"] == 0


# -- D2: one person's throttling by Entra ID is theirs alone -----------------------------------
def test_entra_throttling_one_person_does_not_lock_out_the_next(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    lee, pat = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("pat@contoso.com")
    support = shared_body(
        fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com"
    )
    sales = shared_body(fresh_emulator.items("sales@contoso.com")[0]["id"], "sales@contoso.com")
    fresh_emulator.fault(target="token", status=429, retryAfter=7, times=1)
    first = backend.context(lee, support)
    assert first.status_code == 429
    assert first.json()["retryAfter"] == 7  # Entra's Retry-After, not a default
    before = fresh_emulator.stats()["tokenRequests"]
    assert backend.context(pat, sales).status_code == 200  # reached Entra, and succeeded
    assert fresh_emulator.stats()["tokenRequests"] == before + 1
    again = backend.context(lee, support)  # Lee is remembered, Entra is not asked again
    assert again.status_code == 429
    assert 1 <= again.json()["retryAfter"] <= 7
    assert fresh_emulator.stats()["tokenRequests"] == before + 1


# -- D3: a wait for a mailbox slot is bounded, and so is a request's whole life ---------------
def test_a_queue_on_a_slow_mailbox_ends_within_its_bound(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator, TANDEM_HTTP_TIMEOUT="1")
    token = fresh_emulator.sso("lee@contoso.com")
    bodies = [
        shared_body(i["id"], "support@contoso.com")
        for i in fresh_emulator.items("support@contoso.com")[:10]
    ]
    assert backend.context(token, bodies[0]).status_code == 200
    fresh_emulator.fault(target="graph", delayMs=1500, times=-1)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda b: backend.context(token, b), bodies))
    elapsed = time.monotonic() - started
    codes = {a.json()["code"] for a in answers}
    assert codes <= {"upstream_unavailable", "throttled"}, codes
    for answer in answers:
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) >= 1
    assert elapsed < 8, f"{elapsed:.1f} s"
    stats = fresh_emulator.stats()
    assert stats["maxInFlightPerMailbox"]["support@contoso.com"] <= 4
    assert stats["throttledByConcurrency"] == 0


# -- D5: odd bodies from a signed-in person are 400s, never 500s -------------------------------
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"itemId": "AAMkADQxNmU5OWIwLWUxM2UtNDEzZS1iZGFhLWVh", "itemType": []}, "itemType"),
        ({"itemId": "AAMkADQxNmU5OWIwLWUxM2UtNDEzZS1iZGFhLWVh", "itemType": {}}, "itemType"),
        ({"itemId": ["AAMk"]}, "itemId"),
        ({"itemId": "AAMkADQxNmU5OWIwLWUxM2UtNDEzZS1iZGFhLWVh", "shared": []}, "shared"),
        ({"itemId": "AAMkADQxNmU5OWIwLWUxM2UtNDEzZS1iZGFhLWVh", "extra": 1}, "extra"),
    ],
)
def test_unhashable_and_unknown_members_are_invalid_request(
    backend, emulator: EmulatorHandle, body: dict[str, Any], field: str
):
    response = backend.context(emulator.sso("lee@contoso.com"), body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


def test_a_body_nested_990_levels_is_invalid_request(backend, emulator: EmulatorHandle):
    nested = "[" * 990 + "]" * 990
    assert len(nested) < 2048
    response = backend.http.post(
        f"{backend.url}/api/items/context",
        data=nested,
        headers={
            "Authorization": f"Bearer {emulator.sso('lee@contoso.com')}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")


# -- D8: Graph's Retry-After is clamped before it reaches a client -----------------------------
@pytest.mark.parametrize(
    "value", ["Thu, 01 Jan 2099 00:00:00 GMT", "12345678901234567890", "not a date"]
)
def test_graphs_retry_after_is_clamped(make_backend, fresh_emulator: EmulatorHandle, value: str):
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    fresh_emulator.fault(target="graph", status=429, retryAfter=value, times=-1)
    response = backend.context(token, body)
    assert response.status_code == 429
    seconds = response.json()["retryAfter"]
    assert 1 <= seconds <= 3600
    assert response.headers["Retry-After"] == str(seconds)


# -- D9: patterns match the whole value; Graph's 400s are the caller's to fix -----------------
@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("shared.targetMailbox", "support@contoso.com\n", "shared.targetMailbox"),
        ("itemId", None, "itemId"),  # the real id with a trailing newline
        ("shared.targetMailbox", "5c1e0b2a-3d4f-4a5b-8c6d-7e8f9a0b1c2d\n", "shared.targetMailbox"),
    ],
)
def test_a_trailing_newline_is_refused_before_graph(
    backend, emulator: EmulatorHandle, path: str, value: str | None, field: str
):
    item = emulator.items("support@contoso.com")[0]["id"]
    body = shared_body(item, "support@contoso.com")
    if path == "itemId":
        body["itemId"] = item + "\n"
    else:
        body["shared"]["targetMailbox"] = value
    before = emulator.stats()["graphRequests"]
    response = backend.context(emulator.sso("lee@contoso.com"), body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert emulator.stats()["graphRequests"] == before


# -- D13: a slow exchange for one person holds up nobody else ---------------------------------
def test_a_slow_exchange_does_not_stall_other_people(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    tokens = [fresh_emulator.sso("lee@contoso.com") for _ in range(100)]
    slow = fresh_emulator.sso("lee@contoso.com")
    # 6 s: a request stuck behind the slow exchange would take at least that long.
    fresh_emulator.fault(target="token", delayMs=6000, times=1)
    before = fresh_emulator.stats()["tokenRequests"]
    slow_answer: list[Any] = []
    thread = threading.Thread(target=lambda: slow_answer.append(backend.context(slow, body)))
    thread.start()
    deadline = time.monotonic() + 5
    while fresh_emulator.stats()["tokenRequests"] == before and time.monotonic() < deadline:
        time.sleep(0.01)  # polling until the slow exchange has reached Entra
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda t: backend.context(t, body).status_code, tokens))
    elapsed = time.monotonic() - started
    thread.join(timeout=15)
    assert statuses == [200] * 100
    assert slow_answer and slow_answer[0].status_code == 200
    assert elapsed < 5, f"{elapsed:.1f} s: exchanges waited for an unrelated slow one"


def test_problem_bodies_of_this_module_are_json(backend, emulator: EmulatorHandle):
    """Every refusal above is problem+json: spot-check the shape once."""
    response = backend.context(emulator.sso("lee@contoso.com"), {"itemType": []})
    problem = json.loads(response.text)
    assert {"type", "title", "status", "detail", "code", "requestId"} <= set(problem)


# -- D4: a slow key endpoint and a forged kid make no valid user wait --------------------------
def test_an_unknown_kid_and_a_slow_jwks_do_not_slow_valid_users(
    make_backend, fresh_emulator: EmulatorHandle
):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    backend = make_backend(fresh_emulator)
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    tokens = [fresh_emulator.sso("lee@contoso.com") for _ in range(10)]
    assert backend.context(tokens[0], body).status_code == 200  # the key set is cached now
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(tokens[1], options={"verify_signature": False})
    forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "not-published"})
    fresh_emulator.fault(target="jwks", delayMs=6000, times=-1)
    slow: list[Any] = []
    attacker = threading.Thread(target=lambda: slow.append(backend.context(forged, body)))
    attacker.start()
    deadline = time.monotonic() + 5
    while fresh_emulator.stats()["jwksFetches"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # polling until the forged kid's refetch is under way
    started = time.monotonic()
    statuses = [backend.context(t, body).status_code for t in tokens[1:]]
    elapsed = time.monotonic() - started
    attacker.join(timeout=15)
    assert statuses == [200] * 9
    assert elapsed < 4, f"{elapsed:.1f} s: valid users waited for the 6 s key fetch"
    assert slow and slow[0].status_code == 401


def test_a_burst_with_jwks_down_makes_a_bounded_number_of_fetches(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    token = fresh_emulator.sso("lee@contoso.com")
    fresh_emulator.fault(target="jwks", status=503, times=-1)
    before = fresh_emulator.stats()["jwksFetches"]
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: backend.context(token, body).status_code, range(100)))
    assert set(statuses) == {503}
    assert fresh_emulator.stats()["jwksFetches"] - before <= 2


# -- D7: a malformed key set is Entra not answering: 503, never 500 ---------------------------
@pytest.mark.parametrize("broken", ["text", "empty"])
def test_a_malformed_key_set_is_upstream_unavailable(
    make_backend, fresh_emulator: EmulatorHandle, broken: str
):
    backend = make_backend(fresh_emulator)
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    fresh_emulator.fault(target="jwks", body=broken, times=-1)
    answer = backend.context(fresh_emulator.sso("lee@contoso.com"), body)
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "upstream_unavailable"
    ready = backend.http.get(f"{backend.url}/readyz")
    assert ready.status_code == 503 and ready.json()["code"] == "upstream_unavailable"


def test_a_mailbox_graph_cannot_resolve_is_the_callers_error(backend, emulator: EmulatorHandle):
    """D9: `a/b@contoso.com` is a valid address Graph can't resolve: 400, not 502."""
    body = shared_body(emulator.items("support@contoso.com")[0]["id"], "a/b@contoso.com")
    answer = backend.context(emulator.sso("lee@contoso.com"), body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"


# -- Issue 15: defects a security review reproduced ---------------------------------------------
def test_an_id_of_another_mailbox_is_refused_before_graph(
    make_backend, fresh_emulator: EmulatorHandle
):
    """Defect 3: once Graph showed which mailbox support@ is, an id naming another is refused."""
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    support = fresh_emulator.items("support@contoso.com")[0]["id"]
    own = fresh_emulator.items("lee@contoso.com")[0]["id"]
    assert backend.context(lee, shared_body(support, "support@contoso.com")).status_code == 200
    assert backend.context(lee, {"itemId": own}).status_code == 200
    before = fresh_emulator.stats()["graphRequests"]
    for body in (shared_body(own, "support@contoso.com"), {"itemId": support}):
        answer = backend.context(lee, body)
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "item_not_found"
    assert fresh_emulator.stats()["graphRequests"] == before


def test_no_rights_on_a_mailbox_take_none_of_its_slots(
    make_backend, fresh_emulator: EmulatorHandle
):
    """Defect 3: Joni posts support@'s item ids through every name of her own mailbox and one
    she has no rights on, slowly: Lee's support@ is not queued behind her (the slots were keyed
    by the GUID inside the posted id; a name Graph has not shown yet takes one slot of the
    mailbox its id claims, but one person's claims hold one at a time)."""
    backend = make_backend(fresh_emulator)
    lee, joni = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("joni@contoso.com")
    support = [i["id"] for i in fresh_emulator.items("support@contoso.com")[:5]]
    assert backend.context(lee, shared_body(support[0], "support@contoso.com")).status_code == 200
    oid = next(p["oid"] for p in fresh_emulator.world()["people"] if p["upn"] == "joni@contoso.com")
    names = [_mailbox_id(fresh_emulator, "joni@contoso.com"), oid, "megan@contoso.com"]
    bodies = [{"itemId": support[1]}] + [
        shared_body(item, name) for item, name in zip(support[2:], names, strict=True)
    ]
    fresh_emulator.fault(target="graph", person="joni@", delayMs=1500, times=-1)
    before = fresh_emulator.stats()["graphRequests"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        hers = [pool.submit(backend.context, joni, body) for body in bodies]
        assert until(lambda: fresh_emulator.stats()["graphRequests"] > before, 10)
        started = time.monotonic()
        mine = backend.context(lee, shared_body(support[0], "support@contoso.com"))
        elapsed = time.monotonic() - started
        assert {f.result().status_code for f in hers} == {403, 404}
    assert mine.status_code == 200, mine.text
    assert elapsed < 1.0, f"{elapsed:.1f} s: Lee waited behind Joni's calls for support@'s slots"


def test_a_refused_claim_takes_no_slot_after(make_backend, fresh_emulator: EmulatorHandle):
    """Once Graph refused an id Joni posted through a name it had not shown yet, what her ids
    claim takes no mailbox's slot: her next one, through another such name, does not wait for
    one of support@'s, all taken by Lee's slow requests."""
    backend = make_backend(fresh_emulator)
    lee, joni = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("joni@contoso.com")
    support = [i["id"] for i in fresh_emulator.items("support@contoso.com")[:6]]
    assert backend.context(lee, shared_body(support[0], "support@contoso.com")).status_code == 200
    refused = backend.context(joni, {"itemId": support[1]})  # ErrorInvalidMailboxItemId
    assert refused.status_code == 404 and refused.json()["code"] == "item_not_found"
    fresh_emulator.fault(target="graph", mailbox="support@", delayMs=2000, times=-1)
    with ThreadPoolExecutor(max_workers=4) as pool:
        lees = [
            pool.submit(backend.context, lee, shared_body(i, "support@contoso.com"))
            for i in support[2:]
        ]
        assert until(
            lambda: fresh_emulator.stats()["maxInFlightPerMailbox"]["support@contoso.com"] >= 4,
            10,
        )
        started = time.monotonic()
        again = backend.context(
            joni, shared_body(support[1], _mailbox_id(fresh_emulator, "joni@contoso.com"))
        )
        elapsed = time.monotonic() - started
        assert [f.result().status_code for f in lees] == [200] * 4
    assert again.status_code == 404, again.text
    assert elapsed < 1.0, f"{elapsed:.1f} s: Joni's refused claims still waited for a slot"


def _presence(backend: Any, token: str, body: dict[str, Any], state: str) -> Any:
    """POST /api/items/presence."""
    return backend.http.post(
        f"{backend.url}/api/items/presence",
        json={**body, "state": state},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_gone_tells_nobody_who_else_is_on_the_item(make_backend, fresh_emulator: EmulatorHandle):
    """Defect 2: Joni, with no rights on support@, learnt "Lee Gu is replying" by saying gone."""
    backend = make_backend(fresh_emulator)
    lee, joni = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("joni@contoso.com")
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    assert _presence(backend, lee, body, "replying").status_code == 200
    assert _presence(backend, joni, body, "viewing").json()["code"] == "mailbox_access_denied"
    gone = _presence(backend, joni, body, "gone")
    assert gone.status_code == 200, gone.text
    assert gone.json()["others"] == []
    # Lee is still there for those who may see the item.
    sam = fresh_emulator.sso("sam@contoso.com")
    others = _presence(backend, sam, body, "viewing").json()["others"]
    assert [(o["upn"], o["state"]) for o in others] == [("lee@contoso.com", "replying")]


def test_presence_checks_access_again_after_five_minutes(
    make_backend, fresh_emulator: EmulatorHandle, fake_clock
):
    """Defect 2: the Graph check was skipped for as long as the person stayed present."""
    backend = make_backend(fresh_emulator, clock=fake_clock)
    lee, sam = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("sam@contoso.com")
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    assert _presence(backend, lee, body, "replying").status_code == 200
    assert _presence(backend, sam, body, "viewing").status_code == 200
    # Sam's access to support@ is removed: Exchange refuses his tokens there from now on.
    fresh_emulator.fault(
        target="graph", person="sam@", status=403, code="ErrorAccessDenied", times=-1
    )
    reads = fresh_emulator.stats()["graphRequests"]
    fake_clock.now += 60
    within = _presence(backend, sam, body, "viewing")
    assert within.status_code == 200, within.text  # within 5 minutes: no new read
    assert fresh_emulator.stats()["graphRequests"] == reads
    fake_clock.now += 300
    after = _presence(backend, sam, body, "viewing")
    assert after.status_code == 403, after.text
    assert after.json()["code"] == "mailbox_access_denied"


def test_a_refused_graph_token_is_exchanged_once_more(make_backend, fresh_emulator: EmulatorHandle):
    """Defect 7: a 401 for one person's cached token was 500 server_misconfigured for its life."""
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    assert backend.context(lee, body).status_code == 200
    exchanges = fresh_emulator.stats()["tokenRequests"]
    fresh_emulator.fault(target="graph", person="lee@", status=401)
    answer = backend.context(lee, body)
    assert answer.status_code == 200, answer.text
    assert fresh_emulator.stats()["tokenRequests"] == exchanges + 1
    # The fresh token is the cached one now: no further exchange.
    assert backend.context(lee, body).status_code == 200
    assert fresh_emulator.stats()["tokenRequests"] == exchanges + 1
    # A write in the middle of an action is sent once more too (Graph did nothing with it).
    fresh_emulator.fault(target="graph", person="lee@", method="PATCH", status=401)
    claim = backend.action(lee, "claim", body)
    assert claim.status_code == 200, claim.text
    assert claim.json()["result"]["holder"]["upn"] == "lee@contoso.com"


def test_a_token_refused_again_after_a_fresh_exchange_is_misconfiguration(
    make_backend, fresh_emulator: EmulatorHandle
):
    """Defect 7: only when the fresh token is refused too is it the operator's to fix."""
    backend = make_backend(fresh_emulator)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    assert backend.context(lee, body).status_code == 200
    before = fresh_emulator.stats()
    fresh_emulator.fault(target="graph", person="lee@", status=401, times=-1)
    answer = backend.context(lee, body)
    assert answer.status_code == 500, answer.text
    assert answer.json()["code"] == "server_misconfigured"
    after = fresh_emulator.stats()
    assert after["tokenRequests"] == before["tokenRequests"] + 1  # one more exchange, no loop
    assert after["graphRequests"] == before["graphRequests"] + 2
