"""Acting on items from the pane, in a real Chromium against `tandem demo`.

Each test that writes runs on a demo of its own (`fresh_demo`), so no test sees another's
claims, moves or sends. Every test checks two things: what the person sees in the pane, and
what the emulated Exchange holds afterwards (`GET /_emulator/items/<id>`, by any id the item
ever had, and `GET /_emulator/deliveries`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.support.browser import (
    action_posts,
    button,
    calls,
    fixed_world,
    notice,
    open_item,
    said,
    screenshot,
    unowned,
)
from tests.support.servers import DemoHandle

pytestmark = pytest.mark.browser

SUPPORT = "support@contoso.com"
ADELE = "adele@contoso.com"


def item_of(demo: DemoHandle, mailbox: str, subject: str, folder: str = "inbox") -> dict[str, Any]:
    """The world's item of a folder with this subject."""
    return next(i for i in demo.items(mailbox, folder) if i["subject"] == subject)


def pane_item_id(pane: FrameLocator) -> str:
    """The id the pane now uses for its item."""
    return pane.locator("[data-testid=item]").get_attribute("data-item-id") or ""


def writes_by(state: dict[str, Any], upn: str) -> list[dict[str, Any]]:
    """The item's history entries written by `upn` through Graph."""
    return [h for h in state["history"] if h.get("by") == upn and h.get("via") == "graph"]


def test_claim_conflict_names_the_holder(
    page: Page, other_page: Page, fresh_demo: DemoHandle
) -> None:
    """Lee claims; Sam, who opened the message before, gets the conflict naming Lee."""
    item = unowned(fresh_demo, SUPPORT)[3]
    sam = open_item(other_page, fresh_demo, "sam@contoso.com", SUPPORT, item["id"])
    expect(button(sam, "claim")).to_be_enabled()
    lee = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])

    button(lee, "claim").click()
    expect(notice(lee)).to_contain_text("You claimed this item")
    expect(notice(lee)).to_be_focused()
    expect(lee.locator("[data-testid=item-claim]")).to_have_text("Claimed by you")
    expect(button(lee, "claim")).to_be_disabled()
    expect(button(lee, "release")).to_be_enabled()
    expect(page.frame_locator("#taskpane-frame").locator("#status")).to_contain_text(
        "You claimed this item"
    )
    screenshot(page, "actions-01-lee-claimed")

    # Sam's pane still shows the item as it was: claim looks allowed, the server says no.
    button(sam, "claim").click()
    expect(notice(sam)).to_have_attribute("data-kind", "conflict")
    expect(notice(sam)).to_have_attribute("role", "alert")
    expect(notice(sam)).to_contain_text("Lee Gu has claimed this item, so Tandem changed nothing")
    screenshot(other_page, "actions-02-sam-conflict")
    state = fresh_demo.item(item["id"])
    assert state["item"]["categories"] == ["Tandem: Lee Gu (lee@contoso.com)"]
    assert len(writes_by(state, "lee@contoso.com")) == 1
    assert writes_by(state, "sam@contoso.com") == []

    notice(sam).locator("[data-testid=reload]").click()
    expect(sam.locator("[data-testid=item-claim]")).to_have_text("Claimed by Lee Gu")
    expect(button(sam, "claim")).to_be_disabled()
    claim_row = sam.locator('[data-testid=actions] li[data-key="claim"]')
    expect(claim_row).to_contain_text("Lee Gu holds the claim on this item.")
    expect(button(sam, "release")).to_be_disabled()
    screenshot(other_page, "actions-03-sam-after-reload")
    assert page.console_errors == []  # type: ignore[attr-defined]
    # Chromium logs every 4xx answer; Sam's 409 is the one expected.
    assert [e for e in other_page.console_errors if "409" not in e] == []  # type: ignore[attr-defined]


def test_reviewer_sees_every_write_disabled_with_the_missing_permission(
    page: Page, demo: DemoHandle
) -> None:
    """Megan (Reviewer, bits 1): every write is a disabled button naming the permission."""
    first = demo.items(ADELE)[0]
    pane = open_item(page, demo, "megan@contoso.com", ADELE, first["id"])
    edit = "Needs the permission: Edit own items or Edit all items"
    keys = ["claim", "release", "categorize", "flag-flagged", "flag-complete"]
    keys.append("markUnread" if first["isRead"] else "markRead")
    for key in keys:
        expect(button(pane, key)).to_be_disabled()
        expect(pane.locator(f'[data-testid=actions] li[data-key="{key}"]')).to_contain_text(edit)
    expect(button(pane, "move")).to_be_disabled()
    expect(pane.locator('li[data-key="move"]')).to_contain_text(
        "Needs the permission: Create items; Delete own items or Delete all items"
    )
    expect(button(pane, "delete")).to_be_disabled()
    expect(pane.locator('li[data-key="delete"]')).to_contain_text(
        "Needs the permission: Delete own items or Delete all items"
    )
    # Each refused button is described by its reason, for screen readers too.
    described = button(pane, "flag-flagged").get_attribute("aria-describedby")
    expect(pane.locator(f"#{described}")).to_have_text(edit)
    # Replying needs Read only (Exchange judges the send).
    for key in ("reply", "replyAll", "forward"):
        expect(button(pane, key)).to_be_enabled()
    expect(pane.locator(".refused-list li")).to_have_count(len(keys) + 2)
    screenshot(page, "actions-04-megan-reviewer")


def test_delegate_replies_on_behalf_with_the_copy_in_their_own_sent_items(
    page: Page, fresh_demo: DemoHandle
) -> None:
    """Nestor (Editor of Adele's Inbox, Send on Behalf) replies for Adele: "Send now"."""
    item = item_of(fresh_demo, ADELE, "Q4 budget review numbers")
    pane = open_item(page, fresh_demo, "nestor@contoso.com", ADELE, item["id"])
    button(pane, "reply").click()
    form = pane.locator("[data-testid=form-reply]")
    expect(form).to_be_visible()
    expect(form.locator("[data-testid=reply-comment]")).to_be_focused()
    expect(button(pane, "reply")).to_have_attribute("aria-expanded", "true")
    form.locator("[data-testid=reply-comment]").fill("Adele will send the numbers on Monday.")
    screenshot(page, "actions-05-nestor-reply-form")
    form.locator("[data-testid=form-send]").click()

    expect(notice(pane)).to_contain_text(
        "Your reply was sent on behalf of adele@contoso.com (Send on Behalf)"
    )
    expect(notice(pane)).to_contain_text(
        "The copy is in your own Sent Items, not in adele@contoso.com's."
    )
    expect(pane.locator("[data-testid=form-reply]")).to_have_count(0)
    screenshot(page, "actions-06-nestor-sent-on-behalf")

    [delivery] = [d for d in fresh_demo.deliveries() if d["subject"] == f"RE: {item['subject']}"]
    assert delivery["by"] == "nestor@contoso.com"
    assert delivery["sender"] == "nestor@contoso.com"
    assert delivery["from"] == ADELE
    assert delivery["sentCopyIn"] == "nestor@contoso.com"
    copy = fresh_demo.item(delivery["sentCopy"])
    assert copy["mailbox"] == "nestor@contoso.com"
    assert copy["folderWellKnownName"] == "sentitems"
    assert "Adele will send the numbers on Monday." in copy["item"]["body"]["content"]


def test_member_replies_as_the_shared_mailbox(page: Page, fresh_demo: DemoHandle) -> None:
    """Lee replies as support@ (Send As): the copy is in support@'s Sent Items."""
    item = fixed_world(fresh_demo, SUPPORT)[0]
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    button(pane, "reply").click()
    pane.locator("[data-testid=reply-comment]").fill("We are looking into the printer today.")
    pane.locator("[data-testid=form-send]").click()
    expect(said(pane)).to_have_text(
        re.compile(
            r"Your reply was sent as support@contoso\.com \(Send As\)\. "
            r"The copy is in support@contoso\.com's Sent Items\."
        )
    )
    screenshot(page, "actions-07-lee-sent-as-support")

    [delivery] = [d for d in fresh_demo.deliveries() if d["subject"] == f"RE: {item['subject']}"]
    assert delivery["by"] == "lee@contoso.com"
    assert delivery["from"] == delivery["sender"] == SUPPORT
    assert delivery["sentCopyIn"] == SUPPORT
    assert delivery["to"] == [item["from"]["address"]]
    copy = fresh_demo.item(delivery["sentCopy"])
    assert (copy["mailbox"], copy["folderWellKnownName"]) == (SUPPORT, "sentitems")


def test_move_through_the_folder_picker_uses_the_new_id(page: Page, fresh_demo: DemoHandle) -> None:
    """Move to Inbox/Escalations: the item is re-rendered at its new id, and a flag works on it."""
    item = fixed_world(fresh_demo, SUPPORT)[1]
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    button(pane, "move").click()
    form = pane.locator("[data-testid=form-move]")
    expect(form).to_have_attribute("data-loaded", "true")
    picker = form.locator("[data-testid=folder-picker]")
    expect(picker.locator("option", has_text="Inbox/Escalations")).to_have_count(1)
    expect(picker.locator("option[disabled]")).to_have_text("Inbox (it is here)")
    picker.select_option(label="Inbox/Escalations")
    screenshot(page, "actions-08-move-picker")
    form.locator("[data-testid=form-submit]").click()
    expect(said(pane)).to_have_text("Moved to Escalations.")
    new_id = pane_item_id(pane)
    assert new_id and new_id != item["id"]

    state = fresh_demo.item(item["id"])
    assert state["immutableId"] == new_id  # the pane knows it by its immutable id
    assert len(state["ids"]) == 2 and state["ids"][0] == item["id"]  # the REST id changed
    assert state["folderName"] == "Escalations"

    # The next action goes to the new id.
    button(pane, "flag-flagged").click()
    expect(said(pane)).to_have_text("The item is flagged for follow-up.")
    expect(pane.locator("[data-testid=item-status]")).to_contain_text("Flagged for follow-up")
    state = fresh_demo.item(new_id)
    assert state["item"]["flag"]["flagStatus"] == "flagged"
    patches = [
        r
        for r in fresh_demo.requests()
        if r["method"] == "PATCH" and r["caller"] == "lee@contoso.com"
    ]
    assert len(patches) == 1 and new_id in patches[0]["path"]
    screenshot(page, "actions-09-moved-and-flagged")


def test_categorize_adds_and_removes_but_keeps_the_claim(
    page: Page, fresh_demo: DemoHandle
) -> None:
    """Add two categories, then remove one; Tandem's claim category is listed but not removable."""
    item = unowned(fresh_demo, SUPPORT)[2]
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    button(pane, "claim").click()
    expect(notice(pane)).to_contain_text("You claimed this item")

    button(pane, "categorize").click()
    form = pane.locator("[data-testid=form-categorize]")
    expect(form.locator("[data-testid=claim-categories]")).to_contain_text(
        "Tandem: Lee Gu (lee@contoso.com)"
    )
    expect(form.locator("[data-testid=category-remove]")).to_have_count(0)
    # A comma is refused in the pane, before anything is sent.
    form.locator("[data-testid=category-add]").fill("Red, Blue")
    form.locator("[data-testid=form-submit]").click()
    expect(form.locator("[data-testid=form-error]")).to_contain_text("has a comma")
    form.locator("[data-testid=category-add]").fill("Escalated\nWaiting on customer")
    form.locator("[data-testid=form-submit]").click()
    expect(said(pane)).to_have_text("Categories saved: Escalated; Waiting on customer.")
    expect(pane.locator("[data-testid=item-categories]")).to_have_text(
        "Escalated; Waiting on customer"
    )

    button(pane, "categorize").click()
    form = pane.locator("[data-testid=form-categorize]")
    expect(form.locator("[data-testid=category-remove]")).to_have_count(2)
    form.get_by_label("Remove “Escalated”").check()
    screenshot(page, "actions-10-categorize-form")
    form.locator("[data-testid=form-submit]").click()
    expect(said(pane)).to_have_text("Categories saved: Waiting on customer.")
    expect(pane.locator("[data-testid=item-claim]")).to_have_text("Claimed by you")

    state = fresh_demo.item(item["id"])
    assert state["item"]["categories"] == [
        "Tandem: Lee Gu (lee@contoso.com)",
        "Waiting on customer",
    ]


def test_flag_and_read_state(page: Page, fresh_demo: DemoHandle) -> None:
    """Flag, complete, clear; mark unread, then read: the buttons follow the item's state."""
    item = next(i for i in fresh_demo.items(SUPPORT) if i["isRead"])
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    expect(button(pane, "markRead")).to_have_count(0)

    button(pane, "flag-flagged").click()
    expect(said(pane)).to_have_text("The item is flagged for follow-up.")
    assert fresh_demo.item(item["id"])["item"]["flag"]["flagStatus"] == "flagged"
    expect(button(pane, "flag-flagged")).to_have_count(0)
    button(pane, "flag-complete").click()
    expect(said(pane)).to_have_text("The item is marked complete.")
    assert fresh_demo.item(item["id"])["item"]["flag"]["flagStatus"] == "complete"
    button(pane, "flag-notFlagged").click()
    expect(said(pane)).to_have_text("Flag cleared.")
    assert fresh_demo.item(item["id"])["item"]["flag"]["flagStatus"] == "notFlagged"

    button(pane, "markUnread").click()
    expect(said(pane)).to_have_text("Marked as unread.")
    expect(pane.locator("[data-testid=item-status]")).to_contain_text("Unread")
    expect(button(pane, "markUnread")).to_have_count(0)
    assert fresh_demo.item(item["id"])["item"]["isRead"] is False
    button(pane, "markRead").click()
    expect(said(pane)).to_have_text("Marked as read.")
    assert fresh_demo.item(item["id"])["item"]["isRead"] is True
    screenshot(page, "actions-11-flag-and-read")


def test_delete_moves_to_deleted_items(page: Page, fresh_demo: DemoHandle) -> None:
    """Lee deletes: the item is in support@'s Deleted Items, and the pane shows it there."""
    item = fixed_world(fresh_demo, SUPPORT)[4]
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    button(pane, "delete").click()
    expect(said(pane)).to_have_text("Deleted: it went to support@contoso.com's Deleted Items.")
    state = fresh_demo.item(item["id"])
    assert (state["mailbox"], state["folderWellKnownName"]) == (SUPPORT, "deleteditems")
    assert state["id"] != item["id"]  # a new REST id; the pane knows the immutable one
    assert pane_item_id(pane) == state["immutableId"]
    screenshot(page, "actions-12-deleted")


def test_delegate_delete_through_graph_delete_says_where_it_went(
    page: Page, fresh_demo: DemoHandle
) -> None:
    """Nestor has no rights on Adele's Deleted Items: Graph's DELETE, and the item is gone here."""
    item = item_of(fresh_demo, ADELE, "Office move timeline")
    pane = open_item(page, fresh_demo, "nestor@contoso.com", ADELE, item["id"])
    button(pane, "delete").click()
    expect(said(pane)).to_have_text("Deleted: it went to adele@contoso.com's Deleted Items.")
    expect(pane.locator("[data-testid=item-gone]")).to_have_text("In Deleted Items")
    expect(pane.locator("[data-testid=actions] button")).to_have_count(0)
    state = fresh_demo.item(item["id"])
    assert (state["mailbox"], state["folderWellKnownName"]) == (ADELE, "deleteditems")
    assert any(h["operation"] == "delete" for h in writes_by(state, "nestor@contoso.com"))
    screenshot(page, "actions-13-delegate-deleted")


def test_save_as_draft_offers_the_draft(page: Page, fresh_demo: DemoHandle) -> None:
    """Reply all, Save as draft: nothing is sent; the draft opens with openBrowserWindow."""
    item = fixed_world(fresh_demo, SUPPORT)[5]
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    button(pane, "replyAll").click()
    pane.locator("[data-testid=reply-comment]").fill("Draft: checking with the warehouse.")
    pane.locator("[data-testid=form-draft]").click()
    expect(notice(pane)).to_contain_text(
        "Your reply to all is saved as a draft in support@contoso.com's Drafts."
    )
    screenshot(page, "actions-14-draft-saved")
    assert fresh_demo.deliveries() == []

    notice(pane).locator("[data-testid=open-draft]").click()
    expect(page.locator("[data-testid=browser-window]")).to_be_visible()
    opened = [args for name, args in calls(page) if name == "openBrowserWindow"]
    assert len(opened) == 1
    link = page.locator("[data-testid=browser-url]").inner_text()
    assert link in opened[0]
    draft_id = parse_qs(urlparse(link).query)["ItemID"][0]
    draft = fresh_demo.item(draft_id)
    assert (draft["mailbox"], draft["folderWellKnownName"]) == (SUPPORT, "drafts")
    assert draft["item"]["isDraft"] is True
    assert draft["item"]["subject"] == f"RE: {item['subject']}"
    screenshot(page, "actions-15-draft-opened")


def test_forward_to_recipients(page: Page, fresh_demo: DemoHandle) -> None:
    """Forward to two addresses, Send now: one delivery to both, a bad address refused first."""
    item = fixed_world(fresh_demo, SUPPORT)[6]
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    button(pane, "forward").click()
    form = pane.locator("[data-testid=form-forward]")
    expect(form.locator("[data-testid=forward-to]")).to_be_focused()
    form.locator("[data-testid=forward-to]").fill("maria")
    form.locator("[data-testid=form-send]").click()
    expect(form.locator("[data-testid=form-error]")).to_have_text("“maria” isn't an email address.")
    form.locator("[data-testid=forward-to]").fill("pat@contoso.com; kenji@litware.com")
    form.locator("[data-testid=reply-comment]").fill("Pat, this one is for sales.")
    form.locator("[data-testid=form-send]").click()
    expect(notice(pane)).to_contain_text("Your forward was sent as support@contoso.com (Send As).")
    screenshot(page, "actions-16-forwarded")

    [delivery] = fresh_demo.deliveries()
    assert delivery["subject"] == f"FW: {item['subject']}"
    assert delivery["to"] == ["pat@contoso.com", "kenji@litware.com"]
    assert delivery["from"] == SUPPORT
    assert "pat@contoso.com" in delivery["deliveredTo"]


def test_delegate_responds_to_a_meeting(page: Page, fresh_demo: DemoHandle) -> None:
    """Nestor answers "1:1 with Megan" (organized by Megan) for Adele: tentative, with a note."""
    event = item_of(fresh_demo, ADELE, "1:1 with Megan", folder="calendar")
    pane = open_item(page, fresh_demo, "nestor@contoso.com", ADELE, event["id"])
    expect(pane.locator("[data-testid=item-response]")).to_have_text("Not answered yet")
    button(pane, "respond").click()
    form = pane.locator("[data-testid=form-respond]")
    form.get_by_label("Tentative").check()
    form.locator("[data-testid=respond-comment]").fill("Adele may be ten minutes late.")
    expect(form.locator("[data-testid=respond-send]")).to_be_checked()
    screenshot(page, "actions-17-respond-form")
    form.locator("[data-testid=form-submit]").click()
    expect(said(pane)).to_have_text(
        "You tentatively accepted the meeting for adele@contoso.com; "
        "the organizer was sent your response."
    )
    expect(pane.locator("[data-testid=item-response]")).to_have_text("Tentatively accepted")
    screenshot(page, "actions-18-responded")

    state = fresh_demo.item(event["id"])
    assert state["item"]["responseStatus"]["response"] == "tentativelyAccepted"
    [delivery] = fresh_demo.deliveries()
    assert delivery["to"] == ["megan@contoso.com"]
    assert delivery["subject"] == "Tentative: 1:1 with Megan"
    assert (delivery["from"], delivery["sender"]) == (ADELE, "nestor@contoso.com")


def presence_answers(pane: FrameLocator) -> int:
    """How many presence answers the pane has shown (main's data-presence)."""
    return int(pane.locator("main").get_attribute("data-presence") or 0)


def test_a_slow_action_shows_progress_and_cannot_be_sent_twice(
    page: Page, fresh_demo: DemoHandle
) -> None:
    """Graph takes 2 s: after 300 ms the pane says it is working; more clicks send nothing."""
    item = unowned(fresh_demo, SUPPORT)[7]
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    posts = action_posts(page, "claim")
    fresh_demo.fault(target="graph", method="PATCH", path=item["id"], delayMs=2000)
    claim = button(pane, "claim")
    claim.click()
    progress = pane.locator("[data-testid=action-progress]")
    expect(progress).to_have_text("Claiming the item…")
    expect(claim).to_have_attribute("aria-disabled", "true")
    expect(claim).to_be_focused()
    expect(button(pane, "reply")).to_have_attribute("aria-disabled", "true")
    expect(pane.locator("[data-testid=actions]")).to_have_attribute("aria-busy", "true")
    screenshot(page, "actions-19-progress")
    # A double click and the keyboard, past Playwright's wait for an enabled button.
    claim.click(force=True)
    claim.press("Enter")
    expect(notice(pane)).to_contain_text("You claimed this item")
    expect(progress).to_be_hidden()
    assert len(posts) == 1
    patches = [
        r
        for r in fresh_demo.requests()
        if r["method"] == "PATCH"
        and any(i in r["path"] for i in (item["id"], item["immutableId"]))
        and r["caller"] == "lee@contoso.com"
    ]
    assert len(patches) == 1
    assert len(writes_by(fresh_demo.item(item["id"]), "lee@contoso.com")) == 1


def test_an_expired_sign_in_during_an_action_is_retried_with_a_fresh_token(
    page: Page, fresh_demo: DemoHandle
) -> None:
    """Entra says the assertion expired while an action runs: a fresh token, one retry."""
    item = fixed_world(fresh_demo, SUPPORT)[8]
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"], naa="off")
    # The first presence report is in: the next token request is the action's (naa=off: Office
    # hands out a new SSO token per call, so each one is exchanged on-behalf-of anew).
    expect(pane.locator("main")).to_have_attribute("data-presence", re.compile(r"^[1-9]"))
    name = "markUnread" if item["isRead"] else "markRead"
    posts = action_posts(page, name)
    fresh_demo.fault(target="token", aadsts=500133)
    button(pane, name).click()
    expect(said(pane)).to_have_text(re.compile(r"^Marked as (un)?read\.$"))
    assert [(r.status, r.json().get("code")) for r in posts] == [
        (401, "token_expired"),
        (200, None),
    ]
    assert fresh_demo.item(item["id"])["item"]["isRead"] is (not item["isRead"])
    expect(pane.locator("[data-testid=problem]")).to_have_count(0)


def test_presence_shows_who_is_replying_and_clears_when_they_stop(
    page: Page, other_page: Page, fresh_demo: DemoHandle
) -> None:
    """Lee and Sam on one message: Lee sees "Sam Taylor is replying" until Sam sends or cancels.

    Lee's clock is Playwright's: each fast_forward moves it one refresh (10 s) on, so the test
    waits for the pane's next report, never for real time.
    """
    item = fixed_world(fresh_demo, SUPPORT)[9]
    page.clock.install()
    lee = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    # Lee's first report is in before Sam arrives: from here each refresh adds one answer.
    expect(lee.locator("main")).to_have_attribute("data-presence", "1")
    sam = open_item(other_page, fresh_demo, "sam@contoso.com", SUPPORT, item["id"])
    presence_of = {"lee": lee.locator("[data-testid=presence]")}
    expect(sam.locator("[data-testid=presence]")).to_have_text("Lee Gu is viewing this")

    def lee_refreshes() -> None:
        before = presence_answers(lee)
        page.clock.fast_forward(10_000)
        expect(lee.locator("main")).to_have_attribute("data-presence", str(before + 1))

    lee_refreshes()
    expect(presence_of["lee"]).to_have_text("Sam Taylor is viewing this")

    button(sam, "reply").click()
    expect(sam.locator("[data-testid=form-reply]")).to_be_visible()
    lee_refreshes()
    expect(presence_of["lee"]).to_have_text("Sam Taylor is replying")
    expect(presence_of["lee"].locator("li")).to_have_attribute("data-state", "replying")
    screenshot(page, "actions-20-lee-sees-sam-replying")

    # Sam gives up on the reply: replying clears, viewing stays.
    sam.locator("[data-testid=form-cancel]").click()
    expect(button(sam, "reply")).to_be_focused()
    lee_refreshes()
    expect(presence_of["lee"]).to_have_text("Sam Taylor is viewing this")

    # Sam replies and sends: replying clears again.
    button(sam, "reply").click()
    lee_refreshes()
    expect(presence_of["lee"]).to_have_text("Sam Taylor is replying")
    sam.locator("[data-testid=reply-comment]").fill("On it.")
    sam.locator("[data-testid=form-send]").click()
    expect(notice(sam)).to_contain_text("Your reply was sent as support@contoso.com")
    lee_refreshes()
    expect(presence_of["lee"]).to_have_text("Sam Taylor is viewing this")
    [delivery] = fresh_demo.deliveries()
    assert delivery["by"] == "sam@contoso.com"

    # Sam selects another message: "gone", and Lee lists nobody.
    other = fixed_world(fresh_demo, SUPPORT)[10]
    other_page.locator(f'[data-testid=item][data-item-id="{other["id"]}"]').click()
    expect(sam.locator("[data-testid=item-subject]")).to_have_text(other["subject"])
    lee_refreshes()
    expect(presence_of["lee"]).to_be_hidden()
    screenshot(page, "actions-21-lee-alone-again")
