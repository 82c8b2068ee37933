"""Graph round trips per action, counted at the emulator: each action costs exactly what the
minimum table of docs/performance.md says, on both routes, and its answer carries what the pane
needs to render it (so the pane asks for no context after it).

The routes: Lee, a member of support@ with Full Access and Send As (every call through
/users/support@...), and Nestor, an Editor of Adele's Inbox and Calendar with Send on Behalf
(items through /users/adele@..., his replies drafted and sent through /me, since Exchange
refuses him Adele's Drafts). Every action follows the context call the pane makes first, with
the etag it showed, as the pane does. "Cold" is the first time for a person and mailbox (what
Tandem then remembers: the folder list, Deleted Items, how Exchange sent as the mailbox, that
the mailbox's Drafts are refused); the table's figure is the warm one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import minimum
from tests.support.api import shared_body
from tests.support.servers import BackendHandle, EmulatorHandle

SUPPORT, ADELE = "support@contoso.com", "adele@contoso.com"
LEE, NESTOR = "lee@contoso.com", "nestor@contoso.com"

# (route, action) -> Graph requests: the table of docs/performance.md, warm.
MINIMUM: dict[tuple[str, str], int] = {
    **{
        ("mailbox", name): n
        for name, n in {
            "context": 1,
            "claim": 2,
            "release": 2,
            "categorize": 2,
            "flag": 2,
            "markRead": 2,
            "markUnread": 2,
            "move": 2,
            "delete": 2,
            "reply": 2,
            "replyAll": 2,
            "forward": 2,
            "reply (draft)": 1,
            "respond": 2,
            "assign": 2,
            "status": 1,
            "note": 1,
            "folders": 0,
        }.items()
    },
    **{
        ("delegate", name): n
        for name, n in {
            "context": 1,
            "claim": 2,
            "release": 2,
            "categorize": 2,
            "flag": 2,
            "markRead": 2,
            "markUnread": 2,
            "move": 1,  # to the Inbox it is in: Nestor sees no other folder of Adele's
            "delete": 2,
            "reply": 3,
            "replyAll": 3,
            "forward": 3,
            "reply (draft)": 2,
            "respond": 2,
            "assign": 2,
            "status": 1,
            "note": 1,
            "folders": 0,
        }.items()
    },
}
# What the first time for a person and mailbox costs on top (then remembered).
COLD: dict[tuple[str, str], int] = {
    ("mailbox", "move"): 2,  # Inbox/Escalations: the Inbox, then its child folders
    ("mailbox", "delete"): 1,  # Deleted Items' id
    ("mailbox", "reply"): 1,  # the sent copy: Send As or Send on Behalf
    ("mailbox", "folders"): 8,  # six well-known folders, the top level, the Inbox's children
    ("delegate", "move"): 1,  # the Inbox's id
    ("delegate", "delete"): 1,  # Deleted Items refused: Exchange's own DELETE from then on
    ("delegate", "reply"): 2,  # Adele's Drafts refused; the sent copy
    ("delegate", "folders"): 7,  # six well-known (five refused), the top level
}


@dataclass
class Route:
    """One person on one mailbox, and the items the test acts on."""

    name: str
    person: str
    mailbox: str
    messages: list[dict[str, Any]]
    meeting: dict[str, Any]
    folder: str  # where `move` moves to
    token: str = ""
    counted: dict[str, int] = field(default_factory=dict)
    calls: dict[str, list[str]] = field(default_factory=dict)


def graph_calls(e: EmulatorHandle, since: str | None) -> list[dict[str, Any]]:
    """The Graph requests the emulator answered after the one with request id `since`."""
    log = e.requests()
    ids = [r.get("requestId") for r in log]
    return log[ids.index(since) + 1 :] if since in ids else log


def last_id(e: EmulatorHandle) -> str | None:
    """The request id of the newest Graph request so far."""
    log = e.requests(limit=1)
    return log[-1].get("requestId") if log else None


def count(e: EmulatorHandle, route: Route, what: str, call: Callable[[], Any]) -> Any:
    """Run `call`, noting how many Graph requests it made (and which, for the message)."""
    since = last_id(e)
    answer = call()
    made = graph_calls(e, since)
    route.counted[what] = len(made)
    route.calls[what] = [f"{r['method']} {r['path'].split('/v1.0', 1)[-1]}" for r in made]
    return answer


def body_of(route: Route, item: dict[str, Any]) -> dict[str, Any]:
    """The item context the pane posts."""
    return shared_body(item["id"], route.mailbox, itemType=item["itemType"])


def act(
    e: EmulatorHandle,
    backend: BackendHandle,
    route: Route,
    what: str,
    item: dict[str, Any],
    action: str,
    **fields: Any,
) -> dict[str, Any]:
    """The pane's flow: the context call, then the action with the etag it showed (counted
    under `what`); answers the action's answer."""
    body = body_of(route, item)
    context = count(e, route, "context", lambda: backend.context(route.token, body))
    assert context.status_code == 200, context.text
    etag = context.json()["item"]["etag"]
    answer = count(
        e,
        route,
        what,
        lambda: backend.action(
            route.token, action, body, key=str(uuid.uuid4()), etag=etag, **fields
        ),
    )
    assert answer.status_code == 200, (what, answer.text)
    return answer.json()


def renders(answer: dict[str, Any], *, record: bool = True) -> None:
    """The answer is the item's new state: the item, what may be done next, and the record."""
    assert answer["item"] is not None and answer["item"]["etag"], answer
    assert isinstance(answer["actions"], dict) and answer["actions"], answer
    if record:
        assert answer.get("record") is not None, answer
        assert answer["record"]["conversation"]["id"] == answer["item"]["conversationId"]


def run_actions(e: EmulatorHandle, backend: BackendHandle, route: Route) -> None:
    """Every action once cold where Tandem remembers something, then warm (the figure)."""
    m = iter(route.messages)
    route.token = e.sso(route.person)

    for name, fields in (
        ("categorize", {"add": ["Round trips"]}),
        ("flag", {"flag": "flagged"}),
        ("markRead", {}),
        ("markUnread", {}),
        ("status", {"status": "pending"}),
        ("note", {"text": "Counted."}),
    ):
        item = next(m)
        if name == "markRead":
            e.change(item["id"], isRead=False)
        if name == "markUnread":
            e.change(item["id"], isRead=True)
        answer = act(e, backend, route, name, item, name, **fields)
        assert answer["result"].get("changed") is not False, answer
        renders(answer)

    item = next(m)
    claimed = act(e, backend, route, "claim", item, "claim")
    renders(claimed)
    assert claimed["item"]["claim"]["upn"] == route.person
    assert claimed["record"]["conversation"]["assignee"]["upn"] == route.person
    released = act(e, backend, route, "release", item, "release")
    renders(released)
    assert released["item"]["claim"] is None

    assigned = act(e, backend, route, "assign", next(m), "assign", assignee=route.person)
    renders(assigned)
    assert assigned["item"]["claim"]["upn"] == route.person

    # A move to a folder not known yet (resolved, then remembered), then one to the same.
    for what in ("move (cold)", "move"):
        answer = act(e, backend, route, what, next(m), "move", folder=route.folder)
        renders(answer)
    for what in ("delete (cold)", "delete"):
        answer = act(e, backend, route, what, next(m), "delete")
        if route.name == "mailbox":
            renders(answer)
            assert answer["item"]["folderId"] == answer["result"]["movedTo"]["id"]
        else:  # Graph's DELETE: Exchange moved it to an id nobody was told
            assert answer["item"] is None and answer["result"]["deleted"] is True

    # The move picker's list: listed once, then remembered for the person and mailbox.
    listing = body_of(route, route.messages[0])
    for what in ("folders (cold)", "folders"):
        answer = count(e, route, what, lambda: backend.folders(route.token, listing))
        assert answer.status_code == 200, answer.text
        assert answer.json()["folders"], answer.text
    for what, action, fields in (
        ("reply (cold)", "reply", {"comment": "Cold.", "send": True}),
        ("reply", "reply", {"comment": "Warm.", "send": True}),
        ("replyAll", "replyAll", {"comment": "All.", "send": True}),
        ("forward", "forward", {"comment": "FYI", "send": True, "toRecipients": [LEE]}),
    ):
        answer = act(e, backend, route, what, next(m), action, **fields)
        assert answer["result"]["sent"] is True, answer
        assert answer["result"]["sentAs"] == (
            "sendAs" if route.name == "mailbox" else "sendOnBehalf"
        )
        # A send's answer carries no item: what Exchange did to the original is not re-read.
        assert answer["item"] is None and answer["record"] is not None, answer
    answer = act(e, backend, route, "reply (draft)", next(m), "reply", comment="Later.")
    assert answer["result"]["sent"] is False and answer["result"]["draft"]["id"]

    meeting = act(
        e, backend, route, "respond", route.meeting, "respond", response="accept", comment=""
    )
    assert meeting["result"]["response"] == "accept"


def check(route: Route) -> None:
    """Every count as the table says, warm and cold; all mismatches in one message."""
    wanted = {what: n for (where, what), n in MINIMUM.items() if where == route.name}
    for (where, what), extra in COLD.items():
        if where == route.name:
            wanted[f"{what} (cold)"] = wanted[what] + extra
    wrong = [
        f"{what}: {route.counted.get(what)} Graph requests, expected {n}: "
        + ", ".join(c[:70] for c in route.calls.get(what, []))
        for what, n in wanted.items()
        if route.counted.get(what) != n
    ]
    assert not wrong, "\n".join(wrong)


def support_route(e: EmulatorHandle) -> Route:
    """Lee on support@: the mailbox route."""
    messages = [i for i in e.items(SUPPORT) if i["itemType"] == "message"]
    meeting = next(i for i in e.items(SUPPORT, "calendar") if i["subject"] == "Customer call")
    return Route("mailbox", LEE, SUPPORT, messages, meeting, "Inbox/Escalations")


def delegate_route(e: EmulatorHandle) -> Route:
    """Nestor on Adele's Inbox: the delegate route (his sends through /me)."""
    messages = [i for i in e.items(ADELE) if i["itemType"] == "message"]
    meeting = next(i for i in e.items(ADELE, "calendar") if i["subject"] == "1:1 with Megan")
    return Route("delegate", NESTOR, ADELE, messages, meeting, "inbox")


def test_mailbox_route_costs_the_minimum(make_backend, fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    route = support_route(e)
    run_actions(e, make_backend(e), route)
    check(route)


def test_delegate_route_costs_the_minimum(make_backend, fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    route = delegate_route(e)
    run_actions(e, make_backend(e), route)
    check(route)


def test_the_table_in_the_docs_is_the_one_asserted():
    assert minimum.table() == MINIMUM


def test_a_remembered_destination_exchange_calls_gone_is_resolved_afresh(
    make_backend, fresh_emulator: EmulatorHandle
):
    e = fresh_emulator
    backend = make_backend(e)
    route = support_route(e)
    route.token = e.sso(LEE)
    first, second = route.messages[:2]
    act(e, backend, route, "move (cold)", first, "move", folder=route.folder)
    # Exchange answers the next move ErrorItemNotFound: the folder is looked up again (it is
    # still there, so it is the item that is gone) and nothing else is written.
    e.fault(target="graph", method="POST", path="/move", status=404, code="ErrorItemNotFound")
    body = body_of(route, second)
    etag = backend.context(route.token, body).json()["item"]["etag"]
    gone = count(
        e,
        route,
        "gone",
        lambda: backend.action(route.token, "move", body, etag=etag, folder=route.folder),
    )
    assert gone.status_code == 404 and gone.json()["code"] == "item_not_found", gone.text
    made = [(c.split(" ")[0], c.rsplit("/", 1)[-1]) for c in route.calls["gone"]]
    assert [m for m, _ in made] == ["GET", "POST", "GET", "GET"], made
    assert [end for _, end in made[1:]] == ["move", "inbox", "childFolders"], made
