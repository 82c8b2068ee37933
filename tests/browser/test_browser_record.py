"""The team's record in the pane, in a real Chromium against `tandem demo`: Lee assigns a
conversation to Sam with a note; Sam opens the customer's follow-up and sees himself as its
owner, the note and the timeline; Sam sets it pending with the keyboard alone; the customer
writes again and it is open again. Screenshots under artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.support.browser import axe_violations, fixed_world, open_item, screenshot, unowned
from tests.support.servers import DemoHandle

pytestmark = pytest.mark.browser

SUPPORT = "support@contoso.com"
NOTE = "Refund approved by finance.\n@sam@contoso.com waiting for the bank."


def _follow_up(demo: DemoHandle, item_id: str, text: str) -> dict[str, Any]:
    """The customer writes again (at the emulator): a new message of the same conversation."""
    answer = demo.http.post(
        f"{demo.emulator_url}/_emulator/items/{item_id}/follow-up", json={"text": text}
    )
    answer.raise_for_status()
    return answer.json()


def _record(pane: FrameLocator) -> Any:
    return pane.locator("[data-testid=record]")


def test_assign_note_follow_up_pending_and_open_again(
    page: Page, other_page: Page, fresh_demo: DemoHandle
) -> None:
    item = next(i for i in unowned(fresh_demo, SUPPORT) if i["createdBy"] == SUPPORT)
    # Sam opens it first: a member Lee can assign to.
    sam = open_item(other_page, fresh_demo, "sam@contoso.com", SUPPORT, item["id"])
    expect(_record(sam)).to_be_visible()
    lee = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    record = _record(lee)
    expect(record.locator("[data-testid=record-owner]")).to_have_text("Owner: Nobody")
    record.locator("[data-testid=record-owner-select]").select_option("sam@contoso.com")
    record.locator("[data-testid=record-assign]").click()
    record = _record(lee)
    expect(record.locator("[data-testid=record-notice-text]")).to_contain_text(
        "Assigned to Sam Taylor"
    )
    expect(record.locator("[data-testid=record-owner]")).to_have_text("Owner: Sam Taylor")
    expect(lee.locator("[data-testid=item-claim]")).to_have_text("Claimed by Sam Taylor")
    record.locator("[data-testid=note-text]").fill(NOTE)
    expect(record.locator(".hint").first).to_contain_text("of 4,000 characters")
    record.locator("[data-testid=note-add]").click()
    record = _record(lee)
    expect(record.locator("[data-testid=record-notice-text]")).to_contain_text("note is saved")
    expect(record.locator("[data-testid=note]")).to_have_count(1)
    screenshot(page, "record-01-lee-assigned-to-sam-with-a-note")

    follow_up = _follow_up(fresh_demo, item["id"], "Any news on my refund?")
    sam = open_item(other_page, fresh_demo, "sam@contoso.com", SUPPORT, follow_up["id"])
    record = _record(sam)
    expect(record.locator("[data-testid=record-owner]")).to_have_text("Owner: Sam Taylor")
    expect(sam.locator("[data-testid=item-claim]")).to_have_text("Claimed by you")
    body = record.locator("[data-testid=note-body]")
    expect(body).to_have_text(NOTE)
    expect(body.locator("[data-testid=mention]")).to_have_text("@sam@contoso.com")
    expect(record.locator("[data-testid=note] [data-testid=note-edit]")).to_have_count(0)
    entries = record.locator("[data-testid=timeline-entry]")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("Lee Gu added a note.")
    expect(entries.nth(1)).to_contain_text("Lee Gu assigned it to Sam Taylor.")
    screenshot(other_page, "record-02-sam-opens-the-follow-up")
    # The whole pane, the record card with its notes and timeline, as a screen reader meets it.
    assert axe_violations(other_page) == []

    # Sam sets it pending with the keyboard alone.
    status = record.locator("[data-testid=record-status-select]")
    status.focus()
    other_page.keyboard.press("ArrowDown")  # Open -> Waiting on the customer
    expect(status).to_have_value("pending")
    other_page.keyboard.press("Tab")
    expect(record.locator("[data-testid=record-set-status]")).to_be_focused()
    other_page.keyboard.press("Enter")
    record = _record(sam)
    expect(record.locator("[data-testid=record-notice-text]")).to_contain_text(
        "Status set to Waiting on the customer"
    )
    expect(record.locator("[data-testid=record-status]")).to_have_attribute(
        "data-status", "pending"
    )
    screenshot(other_page, "record-03-sam-set-pending")

    again = _follow_up(fresh_demo, follow_up["id"], "Hello? Still waiting.")
    sam = open_item(other_page, fresh_demo, "sam@contoso.com", SUPPORT, again["id"])
    record = _record(sam)
    expect(record.locator("[data-testid=record-status]")).to_have_attribute("data-status", "open")
    expect(record.locator("[data-testid=timeline-entry]").first).to_contain_text(
        "The customer wrote again"
    )
    screenshot(other_page, "record-04-the-customer-wrote-again")
    assert other_page.console_errors == []  # type: ignore[attr-defined]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_the_demo_shows_a_record_from_the_start(page: Page, demo: DemoHandle) -> None:
    """The demo seeds owners, notes and statuses: a conversation waiting on its customer."""
    owned = [i for i in fixed_world(demo, SUPPORT) if i["categories"]]
    assert owned, "the demo seeds owned conversations"
    seeded = next(i for i in owned if "Sam Taylor" in i["categories"][0])
    pane = open_item(page, demo, "lee@contoso.com", SUPPORT, seeded["id"])
    record = _record(pane)
    expect(record.locator("[data-testid=record-owner]")).to_have_text("Owner: Sam Taylor")
    expect(record.locator("[data-testid=note-body]").first).to_contain_text("Refund approved")
    screenshot(page, "record-05-the-demo-from-the-start")
