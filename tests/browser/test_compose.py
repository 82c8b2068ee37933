"""Replying in Outlook itself, in a real Chromium against `tandem demo`: Lee opens Outlook's
reply from the pane with a template filled for the customer and
inserts more at the cursor from the pane beside the draft; Sam, meanwhile, answers the same
conversation in his own Outlook (warned that Lee holds it, he sends anyway); Lee presses
Send, is warned naming Sam, sends anyway, and the timeline shows both replies. With nobody
else involved, Send sends without a word. Screenshots under artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.support.browser import (
    axe_violations,
    calls,
    open_item,
    open_simulator,
    screenshot,
    settled,
    unowned,
)
from tests.support.servers import DemoHandle

pytestmark = pytest.mark.browser

SUPPORT = "support@contoso.com"
WARNING = 15_000  # ms: the check answers within 4 s; the dialog follows


def _customer_message(demo: DemoHandle) -> dict[str, Any]:
    """A customer's message in support@ that nobody owns."""
    return next(i for i in unowned(demo, SUPPORT) if i["from"]["address"] != SUPPORT)


def _reply_in_outlook(page: Page, pane: FrameLocator, text: str) -> FrameLocator:
    """Reply in Outlook from the pane, starting with `text`; answers the pane beside the draft."""
    pane.locator("[data-testid=outlook-reply-text]").fill(text)
    pane.locator("[data-testid=outlook-reply]").click()
    expect(page.locator("[data-testid=compose]")).to_be_visible(timeout=15_000)
    beside = page.frame_locator("#taskpane-frame")
    settled(beside)
    return beside


def test_lee_is_warned_that_sam_replied_and_sends_anyway(
    page: Page, other_page: Page, fresh_demo: DemoHandle
) -> None:
    item = _customer_message(fresh_demo)
    delivered = len(fresh_demo.deliveries())
    lee = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    expect(lee.locator("[data-testid=record-owner]")).to_have_text("Owner: Nobody")

    # Lee replies in Outlook's own form, starting from a template filled for the customer:
    # Tandem takes the conversation for him first.
    card = lee.locator("[data-testid=outlook-reply-card]")
    card.locator("[data-testid=template-select]").select_option(label="Thanks, we're on it")
    card.locator("[data-testid=template-insert]").click()
    first = item["from"]["name"].split()[0]
    expect(card.locator("[data-testid=outlook-reply-text]")).to_have_value(
        f"Hi {first},\n\nThanks for writing to Contoso Support. I'm looking into this now and "
        "will come back to you today.\n\nBest regards,\nLee Gu"
    )
    card.locator("[data-testid=outlook-reply]").click()
    expect(page.locator("[data-testid=compose]")).to_be_visible(timeout=15_000)
    beside = page.frame_locator("#taskpane-frame")
    settled(beside)
    body = page.locator("[data-testid=compose-body]")
    expect(body).to_contain_text("Thanks for writing to Contoso Support.")
    expect(page.locator("[data-testid=compose-from]")).to_contain_text(SUPPORT)
    log = [name for name, _ in calls(page)]
    assert "displayReplyFormAsync" in log
    # Beside the draft: the mailbox it is sent from, the conversation's record (Lee holds it).
    expect(beside.locator("[data-testid=compose-mailbox]")).to_have_text(SUPPORT)
    expect(beside.locator("[data-testid=compose-known]")).to_have_attribute("data-known", "shared")
    expect(beside.locator("[data-testid=record-owner]")).to_have_text("Owner: Lee Gu")
    expect(beside.locator("[data-testid=record-assign]")).to_have_count(0)  # read only
    # Text inserted at the cursor, after what the form started with.
    # The cursor at the end of the greeting: a click on its last line, then End.
    start = body.locator("[data-testid=compose-text]").bounding_box()
    assert start is not None
    page.mouse.click(start["x"] + start["width"] - 4, start["y"] + start["height"] - 6)
    page.keyboard.press("End")
    beside.locator("[data-testid=insert-text]").fill(" Your order 8812 <ships> today.")
    beside.locator("[data-testid=insert-button]").click()
    expect(beside.locator("[data-testid=insert-notice]")).to_have_text("Inserted in your message.")
    expect(body.locator("[data-testid=compose-text]")).to_contain_text(
        "Lee Gu Your order 8812 <ships> today."
    )
    assert ("body.setSelectedDataAsync", '{"coercionType":"html"}') in calls(page)
    screenshot(page, "compose-01-lee-replies-in-outlook")
    assert axe_violations(page) == []  # the pane beside the draft, as a screen reader meets it

    # Sam, meanwhile, answers the same conversation in his own Outlook.
    open_simulator(
        other_page,
        fresh_demo,
        persona="sam@contoso.com",
        mailbox=SUPPORT,
        item=item["id"],
        compose="reply",
    )
    sam = other_page.frame_locator("#taskpane-frame")
    settled(sam)
    expect(sam.locator("[data-testid=presence] li")).to_have_text(
        "Lee Gu is replying", timeout=15_000
    )
    other_page.locator("[data-testid=compose-body]").click()
    other_page.keyboard.type("Your refund was issued today.")
    before = len(calls(other_page))
    other_page.locator("[data-testid=compose-send]").click()
    alert = other_page.locator("[data-testid=smart-alert]")
    expect(alert).to_be_visible(timeout=WARNING)
    # The send check signed in through nested app authentication (Outlook offers it here):
    # MSAL.js found the bridge, and Office's SSO was never asked (MSAL.js had the token for
    # Tandem's API from the pane's sign-in in its cache, or asked the bridge for it).
    checked = [name for name, _ in calls(other_page)[before:]]
    assert "nestedAppAuthBridge.GetInitContext" in checked, checked
    assert "getAccessToken" not in checked, checked
    expect(alert.locator("[data-testid=smart-alert-message]")).to_have_text(
        "Lee Gu holds this conversation. Send yours anyway, or choose Don't Send and read the "
        "conversation first."
    )
    screenshot(other_page, "compose-02-sam-warned-that-lee-holds-it")
    other_page.locator("[data-testid=smart-alert-send]").click()
    expect(other_page.locator("[data-testid=compose]")).to_have_count(0, timeout=15_000)

    # Lee presses Send: warned, naming Sam; he sends anyway.
    page.locator("[data-testid=compose-send]").click()
    alert = page.locator("[data-testid=smart-alert]")
    expect(alert).to_be_visible(timeout=WARNING)
    expect(alert.locator("[data-testid=smart-alert-message]")).to_contain_text(
        "Sam Taylor replied less than a minute ago."
    )
    screenshot(page, "compose-03-lee-warned-that-sam-replied")
    page.locator("[data-testid=smart-alert-send]").click()
    expect(page.locator("[data-testid=compose]")).to_have_count(0, timeout=15_000)

    # Both replies went out, and the timeline shows both.
    assert len(fresh_demo.deliveries()) == delivered + 2
    lee = page.frame_locator("#taskpane-frame")
    settled(lee)
    entries = lee.locator("[data-testid=timeline-entry]")
    expect(entries.nth(0)).to_contain_text("Lee Gu replied as support@contoso.com in Outlook.")
    expect(entries.nth(1)).to_contain_text("Sam Taylor replied as support@contoso.com in Outlook.")
    expect(lee.locator("[data-testid=presence] li")).to_have_text("Sam Taylor is viewing this")
    screenshot(page, "compose-04-the-timeline-shows-both")
    assert page.console_errors == []  # type: ignore[attr-defined]
    assert other_page.console_errors == []  # type: ignore[attr-defined]


def test_no_warning_with_nobody_else_involved(page: Page, fresh_demo: DemoHandle) -> None:
    item = _customer_message(fresh_demo)
    before = len(fresh_demo.deliveries())
    lee = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    _reply_in_outlook(page, lee, "Thanks, we're on it.")
    page.locator("[data-testid=compose-send]").click()
    expect(page.locator("[data-testid=compose]")).to_have_count(0, timeout=WARNING)
    expect(page.locator("[data-testid=smart-alert]")).not_to_be_visible()
    assert len(fresh_demo.deliveries()) == before + 1
    checked = [args for name, args in calls(page) if name == "OnMessageSend"]
    assert checked, calls(page)
    outcomes = page.locator('#simulator-log li[data-call="OnMessageSend"] .outcome')
    expect(outcomes.last).to_contain_text("completed: allowEvent true (sent)")
    screenshot(page, "compose-05-nobody-else-no-warning")
    assert page.console_errors == []  # type: ignore[attr-defined]
