"""Tandem keys what it keeps by the item's immutable id: a claim, presence and a send record
follow an item that someone moved in Outlook (at the emulator, not through Tandem)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.api import shared_body
from tests.support.servers import EmulatorHandle

SUPPORT = "support@contoso.com"


def presence(backend: Any, token: str, body: dict[str, Any], state: str) -> Any:
    """POST /api/items/presence."""
    return backend.http.post(
        f"{backend.url}/api/items/presence",
        json={**body, "state": state},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_graph_calls_ask_for_immutable_ids(make_backend, fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    backend = make_backend(e)
    item = e.items(SUPPORT)[0]
    answer = backend.context(e.sso("lee@contoso.com"), shared_body(item["id"], SUPPORT))
    assert answer.status_code == 200, answer.text
    # The context answer's item id is the immutable one; the pane's REST id was the input.
    assert answer.json()["item"]["id"] == item["immutableId"] != item["id"]
    log = [r for r in e.requests() if r.get("path", "").startswith("/v1.0/")]
    assert log and all(r.get("preferImmutable") for r in log)


def test_claim_presence_and_send_record_follow_a_move_in_outlook(
    make_backend, fresh_emulator: EmulatorHandle
):
    e = fresh_emulator
    backend = make_backend(e)
    lee, sam = e.sso("lee@contoso.com"), e.sso("sam@contoso.com")
    item = e.items(SUPPORT)[0]
    before = shared_body(item["id"], SUPPORT)
    seen = backend.context(lee, before).json()["item"]
    claimed = backend.action(lee, "claim", before, etag=seen["etag"])
    assert claimed.status_code == 200, claimed.text
    assert presence(backend, lee, before, "replying").status_code == 200
    key = str(uuid.uuid4())
    sent = backend.action(lee, "reply", before, key=key, comment="On it.", send=True)
    assert sent.status_code == 200, sent.text
    delivered = len(e.deliveries())

    # Sam, in his own Outlook, moves the item to Escalations. Its REST id changes.
    moved = e.move_in_outlook(item["id"], "Escalations", by="sam@contoso.com")
    assert moved["id"] != item["id"] and moved["immutableId"] == item["immutableId"]
    after = shared_body(moved["id"], SUPPORT)

    # The claim is on the item: Sam's pane, opened on the moved item, shows Lee's.
    context = backend.context(sam, after).json()["item"]
    assert context["id"] == item["immutableId"]
    assert context["claim"]["upn"] == "lee@contoso.com"
    taken = backend.action(sam, "claim", after, etag=context["etag"])
    assert taken.status_code == 409 and taken.json()["holder"]["upn"] == "lee@contoso.com"
    # Presence: Sam, on the new REST id, sees Lee replying on the same item.
    others = presence(backend, sam, after, "viewing").json()["others"]
    assert [(o["upn"], o["state"]) for o in others] == [("lee@contoso.com", "replying")]
    # The send record: Lee's pane replays its key, with the old id or the new one: the first
    # outcome, nothing sent again.
    for body in (before, after):
        again = backend.action(lee, "reply", body, key=key, comment="On it.", send=True)
        assert again.status_code == 200, again.text
        assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(e.deliveries()) == delivered
