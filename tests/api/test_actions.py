"""Every action end to end: pane's body -> backend -> on-behalf-of -> the emulated Exchange.

The persona x action matrix asserts the HTTP answer and the state Exchange holds afterwards
(read back through the emulator's control routes: the item by any id it ever had, its write
history, the deliveries log). Each row runs on an emulator of its own, so rows can't see each
other's writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.api import shared_body
from tests.support.servers import BackendHandle, EmulatorHandle

ADELE, SUPPORT, SALES = "adele@contoso.com", "support@contoso.com", "sales@contoso.com"
OWN = None  # the person's own mailbox: no shared properties


@dataclass
class Run:
    """One row's world: the emulator, the backend, the item acted on and the answer."""

    emulator: EmulatorHandle
    backend: BackendHandle
    item: dict[str, Any]
    answer: Any
    deliveries_before: int
    history_before: int

    @property
    def body(self) -> dict[str, Any]:
        """The answer's JSON."""
        return self.answer.json()

    def state(self, item_id: str | None = None) -> dict[str, Any]:
        """The item as Exchange holds it now (by its original or any later id)."""
        return self.emulator.item(item_id or self.item["id"])

    def new_deliveries(self) -> list[dict[str, Any]]:
        """Messages handed to transport by this row."""
        return self.emulator.deliveries()[self.deliveries_before :]

    def wrote(self) -> int:
        """How many changes the item's write history gained."""
        return len(self.state()["history"]) - self.history_before


Pick = Callable[[EmulatorHandle], dict[str, Any]]


def item(mailbox: str, folder: str = "inbox", *, by: str | None = None, subject: str = "") -> Pick:
    """The newest item of a folder, optionally created by someone, or with a subject."""

    def pick(e: EmulatorHandle) -> dict[str, Any]:
        for candidate in e.items(mailbox, folder):
            if by is not None and candidate["createdBy"] != by:
                continue
            if by is None and not subject and candidate["createdBy"] != mailbox:
                continue  # someone else's own item would change what the row tests
            if subject and candidate["subject"] != subject:
                continue
            return candidate
        raise LookupError(f"{mailbox}/{folder} by={by} subject={subject}")

    return pick


@dataclass
class Case:
    """A row: who acts, where, with which bits, and what must follow."""

    name: str
    user: str
    mailbox: str | None
    pick: Pick
    action: str
    fields: dict[str, Any] = field(default_factory=dict)
    bits: int = 63
    status: int = 200
    code: str | None = None
    check: Callable[[Run], None] | None = None


def _body(case: Case, target: dict[str, Any]) -> dict[str, Any]:
    kind = target["itemType"]
    if case.mailbox is None:
        return {"itemId": target["id"], "itemType": kind}
    return shared_body(target["id"], case.mailbox, bits=case.bits, itemType=kind)


# -- checks ----------------------------------------------------------------------------------
def categories_include(*names: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        got = run.state()["item"]["categories"]
        assert all(n in got for n in names), got
        assert run.body["item"]["categories"] == got

    return check


def claimed_by(upn: str, name: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        assert f"Tandem: {name} ({upn})" in run.state()["item"]["categories"]
        assert run.body["result"]["holder"] == {"upn": upn, "name": name}
        assert run.body["item"]["claim"] == {"upn": upn, "name": name, "mine": True}

    return check


def flag_is(value: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        assert run.state()["item"]["flag"]["flagStatus"] == value
        assert run.body["item"]["flag"] == value

    return check


def read_is(value: bool) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        assert run.state()["item"]["isRead"] is value
        assert run.body["item"]["isRead"] is value

    return check


def moved_to(well_known: str | None, name: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        result = run.body["result"]
        state = run.state()
        assert state["folderName"] == name
        assert state["folderWellKnownName"] == well_known
        assert result["previousId"] == run.item["id"]
        if result["id"] is not None:  # Graph's move: a new REST id; Tandem answers the
            # immutable id (Prefer: IdType="ImmutableId"), which the move does not change
            assert state["id"] != run.item["id"] and state["immutableId"] == result["id"]
            assert run.body["item"]["id"] == result["id"]
        else:  # Graph's DELETE: Exchange moved it itself
            assert result.get("deleted") is True and run.body["item"] is None

    return check


def sent(
    route: str, sent_as: str, copy_in: str, sender: str, sent_from: str
) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        result = run.body["result"]
        assert result["sent"] is True and result["draft"] is None
        assert result["route"] == route
        assert result["sentAs"] == sent_as
        assert result["sentCopyIn"] == copy_in
        [delivery] = run.new_deliveries()
        assert delivery["sender"] == sender and delivery["from"] == sent_from
        assert delivery["sentCopyIn"] == copy_in
        copy = run.emulator.item(delivery["sentCopy"])
        assert copy["mailbox"] == copy_in and copy["folderWellKnownName"] == "sentitems"

    return check


def drafted(route: str, mailbox: str, sent_from: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        result = run.body["result"]
        assert result["sent"] is False and result["sentAs"] is None
        assert result["route"] == route
        draft = run.emulator.item(result["draft"]["id"])
        assert draft["mailbox"] == mailbox and draft["folderWellKnownName"] == "drafts"
        assert draft["item"]["isDraft"] is True
        assert draft["item"]["from"]["emailAddress"]["address"] == sent_from
        assert result["draft"]["webLink"].startswith("https://outlook.office.com/owa/?ItemID=")
        assert run.new_deliveries() == []

    return check


def responded(response: str, *, delivered: bool) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        status = run.state()["item"]["responseStatus"]["response"]
        assert status == {"accept": "accepted", "decline": "declined"}.get(response, response)
        assert len(run.new_deliveries()) == (1 if delivered else 0)

    return check


def untouched(run: Run) -> None:
    """Nothing was written and nothing was sent."""
    assert run.wrote() == 0
    assert run.new_deliveries() == []


ALEX_OWN = item(ADELE, by="alex@contoso.com")
EXTERNAL = item(ADELE)
MEETING = item(ADELE, "calendar", subject="1:1 with Megan")
SUPPORT_ITEM, SALES_ITEM = item(SUPPORT), item(SALES)

CASES = [
    # -- Adele in her own mailbox: every right is hers -------------------------------------
    Case("owner claims", ADELE, OWN, EXTERNAL, "claim", check=claimed_by(ADELE, "Adele Vance")),
    Case(
        "owner categorizes",
        ADELE,
        OWN,
        EXTERNAL,
        "categorize",
        {"add": ["Urgent"]},
        check=categories_include("Urgent"),
    ),
    Case(
        "owner flags", ADELE, OWN, EXTERNAL, "flag", {"flag": "flagged"}, check=flag_is("flagged")
    ),
    Case("owner marks read", ADELE, OWN, EXTERNAL, "markRead", check=read_is(True)),
    Case("owner marks unread", ADELE, OWN, EXTERNAL, "markUnread", check=read_is(False)),
    Case(
        "owner archives",
        ADELE,
        OWN,
        EXTERNAL,
        "move",
        {"folder": "archive"},
        check=moved_to("archive", "Archive"),
    ),
    Case(
        "owner deletes",
        ADELE,
        OWN,
        EXTERNAL,
        "delete",
        check=moved_to("deleteditems", "Deleted Items"),
    ),
    Case(
        "owner replies",
        ADELE,
        OWN,
        EXTERNAL,
        "reply",
        {"comment": "On it.", "send": True},
        check=sent("mailbox", "self", ADELE, ADELE, ADELE),
    ),
    Case(
        "owner drafts a reply-all",
        ADELE,
        OWN,
        EXTERNAL,
        "replyAll",
        {"comment": "Draft"},
        check=drafted("mailbox", ADELE, ADELE),
    ),
    Case(
        "owner forwards",
        ADELE,
        OWN,
        EXTERNAL,
        "forward",
        {"comment": "FYI", "toRecipients": ["maria.lopez@adatum.com"], "send": True},
        check=sent("mailbox", "self", ADELE, ADELE, ADELE),
    ),
    Case(
        "owner accepts a meeting",
        ADELE,
        OWN,
        MEETING,
        "respond",
        {"response": "accept"},
        check=responded("accept", delivered=True),
    ),
    # -- Megan, Reviewer (1): reads only; the backend refuses writes before Graph ----------------
    *[
        Case(
            f"reviewer {a}",
            "megan@contoso.com",
            ADELE,
            EXTERNAL,
            a,
            f,
            bits=1,
            status=403,
            code="permission_denied",
            check=untouched,
        )
        for a, f in [
            ("claim", {}),
            ("categorize", {"add": ["Urgent"]}),
            ("flag", {"flag": "flagged"}),
            ("markRead", {}),
            ("move", {"folder": "archive"}),
            ("delete", {}),
        ]
    ],
    Case(
        "reviewer responds",
        "megan@contoso.com",
        ADELE,
        MEETING,
        "respond",
        {"response": "accept"},
        bits=1,
        status=403,
        code="permission_denied",
        check=untouched,
    ),
    Case(
        "reviewer sends a reply without send rights",
        "megan@contoso.com",
        ADELE,
        EXTERNAL,
        "reply",
        {"comment": "Hi", "send": True},
        bits=1,
        status=403,
        code="send_as_denied",
        check=untouched,
    ),
    Case(
        "reviewer saves a reply as a draft",
        "megan@contoso.com",
        ADELE,
        EXTERNAL,
        "reply",
        {"comment": "Hi"},
        bits=1,
        check=drafted("me", "megan@contoso.com", ADELE),
    ),
    Case(
        "reviewer claiming Editor bits is still refused by Exchange",
        "megan@contoso.com",
        ADELE,
        EXTERNAL,
        "flag",
        {"flag": "flagged"},
        bits=63,
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    # -- Alex, Author (23): own items only ------------------------------------------------------
    Case(
        "author flags own",
        "alex@contoso.com",
        ADELE,
        ALEX_OWN,
        "flag",
        {"flag": "flagged"},
        bits=23,
        check=flag_is("flagged"),
    ),
    Case(
        "author claims own",
        "alex@contoso.com",
        ADELE,
        ALEX_OWN,
        "claim",
        bits=23,
        check=claimed_by("alex@contoso.com", "Alex Wilber"),
    ),
    Case(
        "author categorizes own",
        "alex@contoso.com",
        ADELE,
        ALEX_OWN,
        "categorize",
        {"add": ["Prep"]},
        bits=23,
        check=categories_include("Prep"),
    ),
    Case(
        "author deletes own",
        "alex@contoso.com",
        ADELE,
        ALEX_OWN,
        "delete",
        bits=23,
        check=moved_to("deleteditems", "Deleted Items"),
    ),
    Case(
        "author flags another's",
        "alex@contoso.com",
        ADELE,
        EXTERNAL,
        "flag",
        {"flag": "flagged"},
        bits=23,
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    Case(
        "author claims another's",
        "alex@contoso.com",
        ADELE,
        EXTERNAL,
        "claim",
        bits=23,
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    Case(
        "author marks another's read",
        "alex@contoso.com",
        ADELE,
        EXTERNAL,
        "markRead",
        bits=23,
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    Case(
        "author deletes another's",
        "alex@contoso.com",
        ADELE,
        EXTERNAL,
        "delete",
        bits=23,
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    Case(
        "author archives own without rights on Archive",
        "alex@contoso.com",
        ADELE,
        ALEX_OWN,
        "move",
        {"folder": "archive"},
        bits=23,
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    Case(
        "author answers a meeting of Adele's",
        "alex@contoso.com",
        ADELE,
        MEETING,
        "respond",
        {"response": "accept"},
        bits=23,
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    Case(
        "author sends without Send on Behalf",
        "alex@contoso.com",
        ADELE,
        EXTERNAL,
        "reply",
        {"comment": "Hi", "send": True},
        bits=23,
        status=403,
        code="send_as_denied",
        check=untouched,
    ),
    # -- Nestor, Editor (63) with Send on Behalf -----------------------------------------------
    Case(
        "editor flags",
        "nestor@contoso.com",
        ADELE,
        EXTERNAL,
        "flag",
        {"flag": "complete"},
        check=flag_is("complete"),
    ),
    Case(
        "editor claims",
        "nestor@contoso.com",
        ADELE,
        EXTERNAL,
        "claim",
        check=claimed_by("nestor@contoso.com", "Nestor Wilke"),
    ),
    Case(
        "editor marks read", "nestor@contoso.com", ADELE, EXTERNAL, "markRead", check=read_is(True)
    ),
    Case(
        "editor deletes through Exchange's own delete",
        "nestor@contoso.com",
        ADELE,
        EXTERNAL,
        "delete",
        check=moved_to("deleteditems", "Deleted Items"),
    ),
    Case(
        "editor archives without rights on Archive",
        "nestor@contoso.com",
        ADELE,
        EXTERNAL,
        "move",
        {"folder": "archive"},
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    Case(
        "editor replies on behalf",
        "nestor@contoso.com",
        ADELE,
        EXTERNAL,
        "reply",
        {"comment": "For Adele", "send": True},
        check=sent("me", "sendOnBehalf", "nestor@contoso.com", "nestor@contoso.com", ADELE),
    ),
    Case(
        "editor drafts a reply-all on behalf",
        "nestor@contoso.com",
        ADELE,
        EXTERNAL,
        "replyAll",
        {"comment": "Draft"},
        check=drafted("me", "nestor@contoso.com", ADELE),
    ),
    Case(
        "editor forwards on behalf",
        "nestor@contoso.com",
        ADELE,
        EXTERNAL,
        "forward",
        {"toRecipients": ["kenji@litware.com"], "send": True},
        check=sent("me", "sendOnBehalf", "nestor@contoso.com", "nestor@contoso.com", ADELE),
    ),
    Case(
        "editor accepts for Adele",
        "nestor@contoso.com",
        ADELE,
        MEETING,
        "respond",
        {"response": "accept", "comment": "Adele will be there"},
        check=responded("accept", delivered=True),
    ),
    Case(
        "editor declines quietly",
        "nestor@contoso.com",
        ADELE,
        item(ADELE, "calendar", subject="Budget review"),
        "respond",
        {"response": "decline", "sendResponse": False},
        check=responded("decline", delivered=False),
    ),
    # -- Lee, support@ with Full Access and Send As ---------------------------------------------
    Case(
        "member claims",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "claim",
        check=claimed_by("lee@contoso.com", "Lee Gu"),
    ),
    Case(
        "member categorizes",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "categorize",
        {"add": ["Billing", "Priority"]},
        check=categories_include("Billing", "Priority"),
    ),
    Case(
        "member completes a flag",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "flag",
        {"flag": "complete"},
        check=flag_is("complete"),
    ),
    Case(
        "member marks read",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "markRead",
        check=read_is(True),
    ),
    Case(
        "member moves by path",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "move",
        {"folder": "Inbox/Escalations"},
        check=moved_to(None, "Escalations"),
    ),
    Case(
        "member moves by a path in other case",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "move",
        {"folder": "inbox/waiting on customer"},
        check=moved_to(None, "Waiting on customer"),
    ),
    Case(
        "member moves to junk",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "move",
        {"folder": "junkemail"},
        check=moved_to("junkemail", "Junk Email"),
    ),
    Case(
        "member deletes",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "delete",
        check=moved_to("deleteditems", "Deleted Items"),
    ),
    Case(
        "member replies as support@",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "reply",
        {"comment": "We are on it.", "send": True},
        check=sent("mailbox", "sendAs", SUPPORT, SUPPORT, SUPPORT),
    ),
    Case(
        "member drafts a reply in support@",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "reply",
        {"comment": "Draft"},
        check=drafted("mailbox", SUPPORT, SUPPORT),
    ),
    Case(
        "member forwards as support@",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "forward",
        {"toRecipients": ["sam@contoso.com"], "send": True},
        check=sent("mailbox", "sendAs", SUPPORT, SUPPORT, SUPPORT),
    ),
    Case(
        "member accepts a support@ meeting",
        "lee@contoso.com",
        SUPPORT,
        item(SUPPORT, "calendar", subject="Customer call"),
        "respond",
        {"response": "accept"},
        check=responded("accept", delivered=True),
    ),
    Case(
        "member categorizes a meeting",
        "lee@contoso.com",
        SUPPORT,
        item(SUPPORT, "calendar", subject="Customer call"),
        "categorize",
        {"add": ["Prep"]},
        check=categories_include("Prep"),
    ),
    # -- Pat, sales@ with Full Access and Send on Behalf only --------------------------------
    Case(
        "sob member replies on behalf of sales@",
        "pat@contoso.com",
        SALES,
        SALES_ITEM,
        "reply",
        {"comment": "Thanks", "send": True},
        check=sent("mailbox", "sendOnBehalf", SALES, "pat@contoso.com", SALES),
    ),
    Case(
        "sob member flags",
        "pat@contoso.com",
        SALES,
        SALES_ITEM,
        "flag",
        {"flag": "flagged"},
        check=flag_is("flagged"),
    ),
    Case(
        "sob member claims",
        "pat@contoso.com",
        SALES,
        SALES_ITEM,
        "claim",
        check=claimed_by("pat@contoso.com", "Pat Ortiz"),
    ),
    # -- Joni, no access; wrong mailboxes --------------------------------------------------------
    Case(
        "no access claims",
        "joni@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "claim",
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    Case(
        "no access replies",
        "joni@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "reply",
        {"comment": "Hi", "send": True},
        status=403,
        code="mailbox_access_denied",
        check=untouched,
    ),
    Case(
        "an item of another mailbox",
        "lee@contoso.com",
        SUPPORT,
        SALES_ITEM,
        "flag",
        {"flag": "flagged"},
        status=404,
        code="item_not_found",
        check=untouched,
    ),
    Case(
        "a folder that isn't there",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "move",
        {"folder": "Escalations"},
        status=400,
        code="invalid_request",
        check=untouched,
    ),
    Case(
        "a meeting action on a message",
        "lee@contoso.com",
        SUPPORT,
        SUPPORT_ITEM,
        "respond",
        {"response": "accept"},
        status=400,
        code="invalid_request",
        check=untouched,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_persona_action_matrix(make_backend, fresh_emulator: EmulatorHandle, case: Case):
    backend = make_backend(fresh_emulator)
    target = case.pick(fresh_emulator)
    token = fresh_emulator.sso(case.user)
    deliveries = len(fresh_emulator.deliveries())
    history = len(fresh_emulator.item(target["id"])["history"])
    answer = backend.action(token, case.action, _body(case, target), **case.fields)
    assert answer.status_code == case.status, answer.text
    if case.code:
        assert answer.json()["code"] == case.code
    else:
        assert answer.json()["action"] == case.action
    run = Run(fresh_emulator, backend, target, answer, deliveries, history)
    if case.check:
        case.check(run)
