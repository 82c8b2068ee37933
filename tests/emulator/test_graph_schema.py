"""Every Graph answer of the emulator held to Graph's own schema (the v1.0 CSDL subset).

No member Graph's type lacks, every default member present (null or [] when unset), the right
JSON type per member, `$select` answering exactly the selected members with `id` and
`@odata.etag`; action parameters matched case-insensitively as Graph does (its metadata names
them `DestinationId`, `Comment`, `Message`, ...), unknown ones refused as Graph refuses them.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from typing import Any

import pytest

from tests.support.graph import G
from tests.support.paths import REPO as ROOT
from tests.support.schema import SCHEMA, complex_problems, problems
from tests.support.servers import EmulatorHandle

SUPPORT = "/users/support@contoso.com"


def first(e: EmulatorHandle, mailbox: str, folder: str = "inbox", kind: str = "message") -> str:
    """The id of the newest item of a kind in a folder."""
    return next(i["id"] for i in e.items(mailbox, folder) if i["itemType"] == kind)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    """The JSON body of an answer with this status."""
    assert response.status_code == status, response.text
    return response.json()


def test_the_committed_subset_is_the_extract_of_the_csdl():
    tools = ROOT / "tools" / "graph-schema"
    script, committed = tools / "extract.py", tools / "v1.0-metadata.xml.gz"
    done = subprocess.run(
        [sys.executable, str(script), str(committed), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert SCHEMA["actions"]["message.move"]["parameters"] == {
        "DestinationId": {"type": "Edm.String", "collection": False, "nullable": False}
    }
    # The committed CSDL is Microsoft's file unchanged: the one the subset names by its hash,
    # and the workplace's copy when there is one beside the checkout.
    raw = gzip.decompress(committed.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == SCHEMA["source"]["sha256"]
    shared = ROOT.parent / "shared" / "graph" / "v1.0-metadata.xml"
    if shared.exists():
        assert shared.read_bytes() == raw


def test_reads_give_every_member_of_graphs_types(emulator: EmulatorHandle):
    e = emulator
    lee, adele = G(e, "lee@contoso.com"), G(e, "adele@contoso.com")
    message = ok(lee("GET", f"{SUPPORT}/messages/{first(e, 'support@contoso.com')}"))
    assert problems("message", message) == []
    # Graph's defaults, not absences: receipts unasked, Focused, no Bcc.
    assert message["isReadReceiptRequested"] is False
    assert message["isDeliveryReceiptRequested"] is False
    assert message["inferenceClassification"] == "focused"
    assert message["bccRecipients"] == []
    assert message["conversationIndex"] and message["conversationId"]
    event_id = first(e, "adele@contoso.com", "calendar", "appointment")
    event = ok(adele("GET", f"/me/events/{event_id}"))
    assert problems("event", event) == []
    listed = ok(lee("GET", f"{SUPPORT}/mailFolders/inbox/messages?$top=3"))
    for each in listed["value"]:
        assert problems("message", each) == []
    folders = ok(lee("GET", f"{SUPPORT}/mailFolders"))
    for each in folders["value"]:
        assert problems("mailFolder", each) == []
    inbox = ok(lee("GET", f"{SUPPORT}/mailFolders/inbox"))
    assert problems("mailFolder", inbox) == []
    root = ok(lee("GET", f"{SUPPORT}/mailFolders/msgfolderroot"))
    assert problems("mailFolder", root) == []
    everything = ok(lee("GET", f"{SUPPORT}/messages?$top=5"))
    assert all(problems("message", m) == [] for m in everything["value"])
    children = ok(lee("GET", f"{SUPPORT}/mailFolders/inbox/childFolders"))
    assert children["value"] and all(problems("mailFolder", f) == [] for f in children["value"])


@pytest.mark.parametrize(
    ("kind", "select"),
    [
        ("message", "subject"),
        ("message", "subject,isReadReceiptRequested,conversationIndex"),
        ("message", "uniqueBody,internetMessageHeaders"),  # only ever on $select
        ("event", "importance,subject"),  # a member the seeded event never set
        ("event", "onlineMeeting,recurrence,seriesMasterId"),  # unset: null
    ],
)
def test_select_answers_exactly_the_selected_members(
    emulator: EmulatorHandle, kind: str, select: str
):
    e = emulator
    adele = G(e, "adele@contoso.com")
    if kind == "message":
        path = f"/me/messages/{first(e, 'adele@contoso.com')}"
    else:
        path = f"/me/events/{first(e, 'adele@contoso.com', 'calendar', 'appointment')}"
    body = ok(adele("GET", f"{path}?$select={select}"))
    assert problems(kind, body, select) == []


def test_writes_answer_the_whole_item(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    ids = [i["id"] for i in e.items("support@contoso.com")][:3]
    patched = ok(lee("PATCH", f"{SUPPORT}/messages/{ids[0]}", {"isRead": True}))
    assert problems("message", patched) == []
    escalations = next(
        f["id"]
        for m in e.world()["mailboxes"]
        if m["address"] == "support@contoso.com"
        for f in m["folders"]
        if f["name"] == "Escalations"
    )
    moved = ok(
        lee("POST", f"{SUPPORT}/messages/{ids[0]}/move", {"DestinationId": escalations}), 201
    )
    assert problems("message", moved) == []
    for action, body in (
        ("createReply", {"Comment": "On it."}),
        ("createReplyAll", {"comment": "On it."}),
        (
            "createForward",
            {
                "ToRecipients": [{"emailAddress": {"address": "kenji@litware.com"}}],
                "Comment": "FYI",
            },
        ),
    ):
        draft = ok(lee("POST", f"{SUPPORT}/messages/{ids[1]}/{action}", body), 201)
        assert problems("message", draft) == []
    created = ok(lee("POST", f"{SUPPORT}/messages", {"subject": "Draft"}), 201)
    assert problems("message", created) == []
    adele = G(e, "adele@contoso.com")
    event_id = first(e, "adele@contoso.com", "calendar", "appointment")
    event = ok(adele("PATCH", f"/me/events/{event_id}", {"categories": ["Red"]}))
    assert problems("event", event) == []


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/messages/{item}/createReply", {"Comment": "Thanks", "Message": {}}, 201),
        ("/messages/{item}/reply", {"Comment": "Thanks"}, 202),
        ("/messages/{item}/replyAll", {"COMMENT": "Thanks"}, 202),
        (
            "/messages/{item}/forward",
            {"ToRecipients": [{"emailAddress": {"address": "kenji@litware.com"}}]},
            202,
        ),
        (
            "/sendMail",
            {
                "Message": {
                    "subject": "Hi",
                    "toRecipients": [{"emailAddress": {"address": "kenji@litware.com"}}],
                },
                "SaveToSentItems": False,
            },
            202,
        ),
    ],
)
def test_action_parameters_are_matched_case_insensitively(
    fresh_emulator: EmulatorHandle, path: str, body: dict[str, Any], status: int
):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com", [*["Mail.ReadWrite.Shared", "Mail.Send.Shared"]])
    item = first(e, "support@contoso.com")
    response = lee("POST", SUPPORT + path.format(item=item), body)
    assert response.status_code == status, response.text


def test_event_responses_take_graphs_parameter_names(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    adele = G(e, "adele@contoso.com")
    events = [i for i in e.items("adele@contoso.com", "calendar")]
    event = next(i["id"] for i in events if i["from"].get("address") != "adele@contoso.com")
    response = adele(
        "POST", f"/me/events/{event}/tentativelyAccept", {"Comment": "Maybe", "SendResponse": False}
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("move", {"destinationId": "inbox", "folder": "x"}),
        ("createReply", {"toRecipients": []}),  # a parameter of createForward only
        ("createReply", {"Comment": "a", "comment": "b"}),  # the same parameter twice
        ("reply", {"body": "x"}),
    ],
)
def test_unknown_parameters_are_refused_as_graph_refuses_them(
    emulator: EmulatorHandle, action: str, body: dict[str, Any]
):
    e = emulator
    lee = G(e, "lee@contoso.com")
    item = first(e, "support@contoso.com")
    response = lee("POST", f"{SUPPORT}/messages/{item}/{action}", body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "RequestBodyRead"
    assert "not a valid parameter" in error["message"] or "Multiple parameters" in error["message"]


def test_translated_ids_are_convert_id_results(emulator: EmulatorHandle):
    e = emulator
    lee = G(e, "lee@contoso.com", ["Mail.ReadWrite.Shared", "User.Read"])
    item = first(e, "support@contoso.com")
    body = ok(
        lee(
            "POST",
            f"{SUPPORT}/translateExchangeIds",
            {"InputIds": [item], "SourceIdType": "restId", "TargetIdType": "restImmutableEntryId"},
        )
    )
    assert [complex_problems("convertIdResult", v) for v in body["value"]] == [[]]
