"""The team's queue through the API, on a world whose answers can be counted by hand: seven
conversations of support@ written at the emulator minutes or days ago, a first-response target
of 240 minutes around the clock, and what Lee and Sam did to them."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tandem_mailbox.store.record import Key, Person, Record
from tests.support.api import shared_body
from tests.support.servers import BackendHandle, EmulatorHandle

SUPPORT = "support@contoso.com"
AROUND_THE_CLOCK = {
    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "start": "00:00",
    "end": "24:00",
    "timeZone": "UTC",
}
# name: (customer's messages, minutes ago; Lee's answers, minutes ago)
WORLD = {
    "A": ([300], []),  # 5 h, unanswered: overdue by an hour
    "B": ([600], []),  # 10 h, unanswered: overdue by 6 h
    "C": ([30], []),  # on time: due in 210 minutes
    "D": ([2000], [1900]),  # answered: open, no due time
    "E": ([100], []),  # Lee's
    "F": ([1000], [900]),  # answered, then pending
    "G": ([5000], [4900]),  # answered, then done
}


def _post(backend: BackendHandle, token: str, path: str, body: dict[str, Any]) -> Any:
    return backend.http.post(
        f"{backend.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def _write(emulator: EmulatorHandle, name: str) -> dict[str, Any]:
    customer, answers = WORLD[name]
    steps = [{"who": "customer", "minutesAgo": m, "text": f"{name} asks"} for m in customer]
    steps += [{"who": "lee@contoso.com", "minutesAgo": m, "text": "Answered"} for m in answers]
    steps.sort(key=lambda s: -s["minutesAgo"])
    answer = emulator.http.post(
        f"{emulator.url}/_emulator/mailboxes/{SUPPORT}/conversations",
        json={
            "customer": {"name": f"Customer {name}", "address": f"{name.lower()}@adatum.com"},
            "subject": f"Conversation {name}",
            "steps": steps,
        },
    )
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def team(make_backend, fresh_emulator: EmulatorHandle) -> dict[str, Any]:
    """The world above, with Lee (an administrator here) and Sam as members of support@."""
    backend = make_backend(fresh_emulator)
    made = {name: _write(fresh_emulator, name) for name in WORLD}
    lee = fresh_emulator.sso("lee@contoso.com", claims={"roles": ["Tandem.Admin"]})
    sam = fresh_emulator.sso("sam@contoso.com")
    first = {name: shared_body(m["items"][0]["id"], SUPPORT) for name, m in made.items()}
    for token in (lee, sam):
        assert backend.context(token, first["C"]).status_code == 200  # members now
    saved = _post(
        backend,
        lee,
        "/api/mailbox/policy/save",
        {**first["C"], "firstResponseMinutes": 240, "businessHours": AROUND_THE_CLOCK},
    )
    assert saved.status_code == 200, saved.text
    assert backend.action(lee, "assign", first["E"], assignee="lee@contoso.com").ok
    assert backend.action(lee, "status", first["F"], status="pending").ok
    assert backend.action(lee, "status", first["G"], status="done").ok
    return {"backend": backend, "emulator": fresh_emulator, "lee": lee, "sam": sam, "at": first}


def _queue(team: dict[str, Any], who: str, view: str, **extra: Any) -> dict[str, Any]:
    answer = _post(
        team["backend"], team[who], "/api/mailbox/queue", {**team["at"]["C"], "view": view, **extra}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _names(answer: dict[str, Any]) -> list[str]:
    return [i["subject"].removeprefix("Conversation ") for i in answer["items"]]


def test_every_views_count_and_order(team):
    overdue = _queue(team, "lee", "overdue")
    assert overdue["counts"] == {"unassigned": 4, "mine": 1, "pending": 1, "overdue": 2, "open": 5}
    assert _names(overdue) == ["B", "A"]  # oldest due first
    assert all(i["overdue"] and i["due"] for i in overdue["items"])
    assert _names(_queue(team, "lee", "unassigned")) == ["B", "A", "C", "D"]  # D: no due time
    assert _names(_queue(team, "lee", "mine")) == ["E"]
    assert _names(_queue(team, "sam", "mine")) == []
    assert _names(_queue(team, "lee", "pending")) == ["F"]
    opened = _queue(team, "sam", "open")
    assert _names(opened) == ["B", "A", "E", "C", "D"]
    e = next(i for i in opened["items"] if i["subject"].endswith("E"))
    assert e["assignee"] == {"upn": "lee@contoso.com", "name": "Lee Gu"}
    d = next(i for i in opened["items"] if i["subject"].endswith("D"))
    assert d["due"] is None and d["overdue"] is False  # answered: its clock stopped
    assert e["from"] == {"name": "Customer E", "address": "e@adatum.com"}
    # What the mailbox is called, from its own sent mail (the templates' {{mailbox.name}}).
    assert opened["mailboxName"] == "Contoso Support"


def test_a_reply_through_tandem_stops_the_clock(team):
    backend, lee = team["backend"], team["lee"]
    assert _names(_queue(team, "lee", "overdue")) == ["B", "A"]
    assert backend.action(lee, "reply", team["at"]["A"], comment="On it.", send=True).ok
    # The mailbox's lists are kept a few seconds for the team, but the record is read each
    # time: the answer Tandem sent stops A's clock at once.
    answer = _queue(team, "lee", "overdue")
    assert _names(answer) == ["B"]
    assert answer["counts"]["overdue"] == 1


def test_twenty_members_refreshing_cost_one_pair_of_lists(team):
    backend, emulator = team["backend"], team["emulator"]
    _queue(team, "lee", "open")  # the lists, listed once; Lee's access checked once
    _queue(team, "sam", "open")  # Sam's access checked once
    before = emulator.stats()["graphRequestsByMailbox"][SUPPORT]

    def refresh(n: int) -> int:
        return _post(
            backend, team["lee" if n % 2 else "sam"], "/api/mailbox/queue", team["at"]["C"]
        ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert set(pool.map(refresh, range(20))) == {200}
    spent = emulator.stats()["graphRequestsByMailbox"][SUPPORT] - before
    assert spent <= 2  # at most one pair of lists (Inbox, Sent Items) if the period turned


def test_next_takes_the_unowned_conversation_due_soonest(team):
    backend, emulator, sam = team["backend"], team["emulator"], team["sam"]
    taken = _post(backend, sam, "/api/mailbox/next", team["at"]["C"]).json()["taken"]
    assert taken["subject"] == "Conversation B"
    assert taken["assignee"]["upn"] == "sam@contoso.com"
    assert emulator.item(taken["itemId"])["item"]["categories"] == [
        "Tandem: Sam Taylor (sam@contoso.com)"
    ]
    again = _post(backend, sam, "/api/mailbox/next", team["at"]["C"]).json()["taken"]
    assert again["subject"] == "Conversation A"


def test_the_policy_is_for_administrators_only(team):
    backend, sam = team["backend"], team["sam"]
    refused = _post(
        backend,
        sam,
        "/api/mailbox/policy/save",
        {**team["at"]["C"], "firstResponseMinutes": 5, "businessHours": AROUND_THE_CLOCK},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    shown = _post(backend, sam, "/api/mailbox/policy", team["at"]["C"]).json()
    assert shown["canEdit"] is False
    assert shown["policy"]["firstResponseMinutes"] == 240  # unchanged
    bad = _post(
        backend,
        team["lee"],
        "/api/mailbox/policy/save",
        {**team["at"]["C"], "firstResponseMinutes": 60, "businessHours": {"days": []}},
    )
    assert bad.status_code == 400 and bad.json()["field"] == "businessHours"


def test_outsiders_see_no_queue(team):
    backend, emulator = team["backend"], team["emulator"]
    for user in ("joni@contoso.com", "pat@contoso.com"):
        token = emulator.sso(user)
        for path in ("/api/mailbox/queue", "/api/mailbox/templates", "/api/mailbox/stats"):
            answer = _post(backend, token, path, team["at"]["C"])
            assert answer.status_code == 403, (user, path, answer.text)
            assert "Conversation" not in answer.text


def test_templates_are_the_mailboxs_own(team):
    backend, lee, sam = team["backend"], team["lee"], team["sam"]
    at = team["at"]["C"]
    body = "Hello {{customer.firstName}},\n\nThanks for writing.\n\n{{me.name}}, {{mailbox.name}}"
    saved = _post(
        backend, lee, "/api/mailbox/templates/save", {**at, "name": "Thanks", "body": body}
    )
    assert saved.status_code == 200, saved.text
    template = saved.json()["template"]
    listed = _post(backend, sam, "/api/mailbox/templates", at).json()
    assert [t["name"] for t in listed["templates"]] == ["Thanks"]
    assert "customer.firstName" in listed["placeholders"]
    edited = _post(
        backend,
        sam,
        "/api/mailbox/templates/save",
        {**at, "id": template["id"], "name": "Thanks!", "body": body},
    )
    assert edited.json()["template"]["updatedBy"] == {
        "upn": "sam@contoso.com",
        "name": "Sam Taylor",
    }
    listed = _post(backend, lee, "/api/mailbox/templates", at).json()
    assert listed["templates"][0]["updatedBy"] == {"upn": "sam@contoso.com", "name": "Sam Taylor"}
    unknown = _post(
        backend, lee, "/api/mailbox/templates/save", {**at, "name": "x", "body": "{{customer.ssn}}"}
    )
    assert unknown.status_code == 400 and unknown.json()["field"] == "body"
    deleted = _post(backend, sam, "/api/mailbox/templates/delete", {**at, "id": template["id"]})
    assert deleted.status_code == 200
    assert _post(backend, lee, "/api/mailbox/templates", at).json()["templates"] == []


def test_the_numbers(team):
    backend, lee = team["backend"], team["lee"]
    assert backend.action(lee, "reply", team["at"]["C"], comment="Here.", send=True).ok
    stats = _post(backend, lee, "/api/mailbox/stats", {**team["at"]["C"], "days": 7})
    assert stats.status_code == 200, stats.text
    numbers = stats.json()
    assert numbers["mailbox"]["repliesSent"] == 1
    assert numbers["mailbox"]["conversationsDone"] == 1  # G
    [lee_row] = [p for p in numbers["people"] if p["upn"] == "lee@contoso.com"]
    assert lee_row["repliesSent"] == 1 and lee_row["conversationsDone"] == 1
    assert lee_row["firstResponses"] == 1
    assert 29 <= lee_row["firstResponseMedian"] <= 33  # C waited half an hour
    assert len(numbers["daily"]) == 7
    assert sum(d["replies"] for d in numbers["daily"]) == 1
    refused = _post(backend, lee, "/api/mailbox/stats", {**team["at"]["C"], "days": 9})
    assert refused.status_code == 400


def test_the_numbers_count_whole_days_in_the_mailboxs_time_zone(team):
    """The daily series and the totals count the same events: whole days in the policy's time
    zone, today and the six before it; an event of the day before that counts nowhere."""
    backend, lee = team["backend"], team["lee"]
    hours = dict(AROUND_THE_CLOCK, timeZone="Pacific/Auckland")
    saved = _post(
        backend,
        lee,
        "/api/mailbox/policy/save",
        {**team["at"]["C"], "firstResponseMinutes": 240, "businessHours": hours},
    )
    assert saved.status_code == 200, saved.text
    services = backend.app.extensions["tandem"]
    zone = ZoneInfo("Pacific/Auckland")
    today = dt.datetime.now(zone).date()
    conversation = team["emulator"].item(team["at"]["B"]["itemId"])["item"]["conversationId"]
    mailbox = next(m for m in team["emulator"].world()["mailboxes"] if m["address"] == SUPPORT)
    key = Key(mailbox["tenantId"], mailbox["id"], conversation)
    lee_person = Person("x", "lee@contoso.com", "Lee Gu")
    # One reply at noon local time on each of the last nine days (today included).
    for back in range(9):
        noon = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(12), zone)
        at = Record(services.record.store, clock=lambda noon=noon: noon.astimezone(dt.UTC))
        at.event(key, "reply", by=lee_person, detail={"outcome": "sent", "route": "mailbox"})
    numbers = _post(backend, lee, "/api/mailbox/stats", {**team["at"]["C"], "days": 7}).json()
    assert numbers["timeZone"] == "Pacific/Auckland"
    assert [d["day"] for d in numbers["daily"]] == [
        (today - dt.timedelta(days=back)).isoformat() for back in range(6, -1, -1)
    ]
    assert [d["replies"] for d in numbers["daily"]] == [1] * 7
    assert numbers["mailbox"]["repliesSent"] == sum(d["replies"] for d in numbers["daily"]) == 7
    assert numbers["mailbox"]["conversationsDone"] == sum(d["done"] for d in numbers["daily"])


def test_a_delegate_of_the_inbox_alone_gets_no_queue_made_from_sent_items(
    make_backend, fresh_emulator: EmulatorHandle
):
    """Megan reviews Adele's Inbox but not her Sent Items: the queue answers that there is none
    for her (the pane then shows no team card), and Take the next one is refused; what the
    mailbox's members made of it is never shown to her."""
    backend = make_backend(fresh_emulator)
    adele = "adele@contoso.com"
    megan = fresh_emulator.sso("megan@contoso.com")
    item = fresh_emulator.items(adele)[0]
    body = shared_body(item["id"], adele, bits=1)
    assert backend.context(megan, body).status_code == 200
    answer = _post(backend, megan, "/api/mailbox/queue", {**body, "view": "open"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"available": False, "mailbox": adele}
    taken = _post(backend, megan, "/api/mailbox/next", body)
    assert taken.status_code == 403
    assert taken.json()["code"] == "permission_denied"
    assert "Sent Items" in taken.json()["detail"]
    # Adele herself (her own mailbox) has a queue.
    own = _post(backend, fresh_emulator.sso(adele), "/api/mailbox/queue", {**body, "view": "open"})
    assert own.status_code == 200 and own.json()["available"] is True
