"""Exchange's rights on the emulator as a table: edit, move, delete, reply, send as, respond.

Each row runs on an emulator of its own and checks the answer and the state after: the item
(GET /_emulator/items/<id>), the deliveries log, whose Sent Items holds the copy, and `from` /
`sender` as Graph sets them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.graph import (
    SEND_AS_DENIED_MESSAGE,
    G,
    deliveries,
    graph_error,
    item_by,
    state,
)
from tests.support.servers import EmulatorHandle

OK = None
DENIED = (403, "ErrorAccessDenied")
SEND_AS_DENIED = (403, "ErrorSendAsDenied")
# Item selectors: (mailbox, folder, field prefixes of the world's item summary)
ADELE_EXTERNAL = ("adele@contoso.com", "inbox", {"subject": "Q4 budget", "createdBy": "adele"})
ADELE_BY_ALEX = ("adele@contoso.com", "inbox", {"subject": "Notes from", "createdBy": "alex"})
SUPPORT = ("support@contoso.com", "inbox", {"subject": "Printer"})
SALES = ("sales@contoso.com", "inbox", {"subject": "Quote request"})
MEGAN_MEETING = ("adele@contoso.com", "calendar", {"subject": "1:1 with Megan"})
ALEX_MEETING = ("adele@contoso.com", "calendar", {"subject": "Interview: Senior PM"})
STAND_UP = ("support@contoso.com", "calendar", {"subject": "Team stand-up"})

# (person, operation, item, argument, refusal or OK, expected (from, sender, Sent Items of))
ROWS: list[tuple[str, str, tuple, Any, tuple | None, tuple | None]] = [
    # the owner: everything
    ("adele", "patch", ADELE_EXTERNAL, None, OK, None),
    ("adele", "move", ADELE_EXTERNAL, "archive", OK, None),
    ("adele", "delete", ADELE_EXTERNAL, None, OK, None),
    ("adele", "reply", ADELE_EXTERNAL, None, OK, ("adele", "adele", "adele")),
    ("adele", "sendAs", ADELE_EXTERNAL, "adele", OK, ("adele", "adele", "adele")),
    ("adele", "accept", MEGAN_MEETING, None, OK, None),
    # Reviewer (1): read only
    ("megan", "patch", ADELE_EXTERNAL, None, DENIED, None),
    ("megan", "move", ADELE_EXTERNAL, "inbox", DENIED, None),
    ("megan", "delete", ADELE_EXTERNAL, None, DENIED, None),
    ("megan", "reply", ADELE_EXTERNAL, None, DENIED, None),
    ("megan", "sendAs", ADELE_EXTERNAL, "adele", SEND_AS_DENIED, None),
    ("megan", "accept", MEGAN_MEETING, None, DENIED, None),
    # Author (23) on an item Alex created: edit, delete own; create in the Inbox only
    ("alex", "patch", ADELE_BY_ALEX, None, OK, None),
    ("alex", "move", ADELE_BY_ALEX, "inbox", OK, None),
    ("alex", "move", ADELE_BY_ALEX, "archive", DENIED, None),
    ("alex", "delete", ADELE_BY_ALEX, None, OK, None),
    ("alex", "accept", ALEX_MEETING, None, OK, None),
    # Author (23) on Adele's items
    ("alex", "patch", ADELE_EXTERNAL, None, DENIED, None),
    ("alex", "move", ADELE_EXTERNAL, "inbox", DENIED, None),
    ("alex", "delete", ADELE_EXTERNAL, None, DENIED, None),
    ("alex", "reply", ADELE_EXTERNAL, None, DENIED, None),
    ("alex", "sendAs", ADELE_EXTERNAL, "adele", SEND_AS_DENIED, None),
    ("alex", "accept", MEGAN_MEETING, None, DENIED, None),
    # Editor (63) with Send on Behalf: no rights on Drafts or Deleted Items
    ("nestor", "patch", ADELE_EXTERNAL, None, OK, None),
    ("nestor", "move", ADELE_EXTERNAL, "inbox", OK, None),
    ("nestor", "move", ADELE_EXTERNAL, "deleteditems", DENIED, None),
    ("nestor", "delete", ADELE_EXTERNAL, None, OK, None),
    ("nestor", "reply", ADELE_EXTERNAL, None, DENIED, None),
    ("nestor", "sendAs", ADELE_EXTERNAL, "adele", OK, ("adele", "nestor", "nestor")),
    ("nestor", "accept", MEGAN_MEETING, None, OK, None),
    # support@ members: Full Access and Send As
    ("lee", "patch", SUPPORT, None, OK, None),
    ("lee", "move", SUPPORT, "archive", OK, None),
    ("lee", "delete", SUPPORT, None, OK, None),
    ("lee", "reply", SUPPORT, None, OK, ("support", "support", "support")),
    ("lee", "sendAs", SUPPORT, "support", OK, ("support", "support", "lee")),
    ("lee", "accept", STAND_UP, None, OK, None),
    ("sam", "patch", SUPPORT, None, OK, None),
    ("sam", "reply", SUPPORT, None, OK, ("support", "support", "support")),
    ("sam", "sendAs", SUPPORT, "support", OK, ("support", "support", "sam")),
    # sales@ member: Full Access and Send on Behalf only
    ("pat", "patch", SALES, None, OK, None),
    ("pat", "reply", SALES, None, OK, ("sales", "pat", "sales")),
    ("pat", "sendAs", SALES, "sales", OK, ("sales", "pat", "pat")),
    ("pat", "sendAs", SALES, "support", SEND_AS_DENIED, None),
    # no access
    ("joni", "patch", SUPPORT, None, DENIED, None),
    ("joni", "move", SUPPORT, "archive", DENIED, None),
    ("joni", "delete", SUPPORT, None, DENIED, None),
    ("joni", "reply", SUPPORT, None, DENIED, None),
    ("joni", "sendAs", SUPPORT, "support", SEND_AS_DENIED, None),
    ("joni", "accept", STAND_UP, None, DENIED, None),
    ("lee", "patch", SALES, None, DENIED, None),
]


def _address(short: str) -> str:
    return f"{short}@contoso.com"


def _run(e: EmulatorHandle, who: str, op: str, item: dict, box: str, argument: Any) -> Any:
    caller = G(e, _address(who))
    path = f"/users/{box}/messages/{item['id']}"
    if op == "patch":
        return caller("PATCH", path, {"categories": ["Rights"], "flag": {"flagStatus": "flagged"}})
    if op == "move":
        return caller("POST", f"{path}/move", {"destinationId": argument})
    if op == "delete":
        return caller("DELETE", path)
    if op == "accept":
        return caller("POST", f"/users/{box}/events/{item['id']}/accept", {"comment": "Yes"})
    if op == "reply":
        draft = caller("POST", f"{path}/createReply", {"comment": "On it."})
        if draft.status_code != 201:
            return draft
        return caller("POST", f"/users/{box}/messages/{draft.json()['id']}/send")
    assert op == "sendAs"
    message = {
        "subject": f"As {argument}",
        "toRecipients": [{"emailAddress": {"address": "maria.lopez@adatum.com"}}],
        "from": {"emailAddress": {"address": _address(argument)}},
    }
    return caller("POST", "/me/sendMail", {"message": message})


@pytest.mark.parametrize(
    ("who", "op", "where", "argument", "refused", "sent"),
    ROWS,
    ids=[f"{r[0]}-{r[1]}-{r[2][2]['subject'][:12]}-{r[3]}" for r in ROWS],
)
def test_rights(
    fresh_emulator: EmulatorHandle,
    who: str,
    op: str,
    where: tuple,
    argument: Any,
    refused: tuple | None,
    sent: tuple | None,
):
    e = fresh_emulator
    box, folder, match = where
    item = item_by(e, box, folder, **match)
    before = state(e, item["id"])
    response = _run(e, who, op, item, box, argument)
    after = state(e, item["id"])
    if refused is not None:
        error = graph_error(response, *refused)
        if refused == SEND_AS_DENIED:
            assert error["message"] == SEND_AS_DENIED_MESSAGE
        assert after == before, "a refused write changed nothing"
        assert deliveries(e) == []
        return
    expected = {"patch": 200, "move": 201, "delete": 204, "accept": 202}.get(op, 202)
    assert response.status_code == expected, response.text
    last = after["history"][-1] if op in ("patch", "move", "delete", "accept") else None
    if last is not None:
        assert last["by"] == _address(who)
    if op == "patch":
        assert after["item"]["categories"] == ["Rights"]
        assert after["changeKey"] != before["changeKey"]
    elif op == "move":
        assert after["folderWellKnownName"] == argument
        assert after["id"] != item["id"]
        assert after["createdBy"] == before["createdBy"]
    elif op == "delete":
        assert after["folderWellKnownName"] == "deleteditems"
        assert after["mailbox"] == box
    elif op == "accept":
        assert after["item"]["responseStatus"]["response"] == "accepted"
    else:
        (delivery,) = deliveries(e)
        frm, sender, copy_in = (_address(s) for s in sent)  # type: ignore[union-attr]
        assert (delivery["from"], delivery["sender"], delivery["sentCopyIn"]) == (
            frm,
            sender,
            copy_in,
        )
        copy = state(e, delivery["sentCopy"])
        assert copy["mailbox"] == copy_in
        assert copy["folderWellKnownName"] == "sentitems"
        assert copy["item"]["from"]["emailAddress"]["address"] == frm
        assert copy["item"]["sender"]["emailAddress"]["address"] == sender
