"""A reply whose outcome Tandem can't know, in a real Chromium against `tandem demo`: the pane
says so in the server's words and offers Check again (never Try again), which finds the reply
sent without sending it twice."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import action_posts, button, notice, open_item, said, screenshot
from tests.support.servers import DemoHandle

pytestmark = pytest.mark.browser

SUPPORT = "support@contoso.com"


def test_an_unknown_send_offers_check_again_which_finds_it_sent(
    page: Page, fresh_demo: DemoHandle
) -> None:
    item = next(i for i in fresh_demo.items(SUPPORT) if i["createdBy"] == SUPPORT)
    subject = f"RE: {item['subject']}"
    pane = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    posts = action_posts(page, "reply")
    button(pane, "reply").click()
    pane.locator("[data-testid=reply-comment]").fill("The replacement ships today.")
    # The limit is said before sending, counted as the server counts (code points).
    expect(pane.locator("[data-testid=comment-count]")).to_have_text("28 of 32,000 characters")
    # Exchange sends, then answers 503; and the look at the draft fails too.
    fresh_demo.fault(target="graph", method="POST", path="/send", status=503, after=True)
    fresh_demo.fault(
        target="graph", method="GET", mailbox=SUPPORT, status=503, retryAfter=0, times=-1
    )
    pane.locator("[data-testid=form-send]").click()

    expect(notice(pane)).to_have_attribute("data-code", "send_outcome_unknown")
    expect(notice(pane)).to_have_attribute("role", "alert")
    expect(said(pane)).to_contain_text("may or may not have gone out")
    expect(said(pane)).to_contain_text("support@contoso.com's Sent Items")
    check = pane.locator("[data-testid=check-again]")
    expect(check).to_be_visible()
    expect(check).to_be_focused()
    expect(pane.locator("[data-testid=action-notice] [data-testid=retry]")).to_have_count(0)
    expect(pane.locator("[data-testid=form-reply]")).to_have_count(0)  # no second text to send
    screenshot(page, "send-once-01-outcome-unknown")
    sent = [d for d in fresh_demo.deliveries() if d["subject"] == subject]
    assert len(sent) == 1  # it did go out

    fresh_demo.clear_faults()
    check.click()
    expect(said(pane)).to_have_text(
        re.compile(r"Your reply was sent as support@contoso\.com \(Send As\)\.")
    )
    screenshot(page, "send-once-02-checked-sent")
    assert len([d for d in fresh_demo.deliveries() if d["subject"] == subject]) == 1
    sends = [r for r in fresh_demo.requests() if r["path"].endswith("/send")]
    assert len(sends) == 1
    keys = [p.request.headers.get("idempotency-key") for p in posts]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert [p.status for p in posts] == [502, 200]
    # The 502 shows in the console as a failed load (the browser's line); nothing of the pane's.
    errors = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
