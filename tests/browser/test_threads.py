"""The simulator shows an item's conversation: the seeded threads of the shared mailboxes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import TALL, open_simulator, screenshot, settled
from tests.support.servers import DemoHandle

pytestmark = pytest.mark.browser


def test_the_reading_pane_lists_the_thread(page: Page, demo: DemoHandle) -> None:
    inbox = demo.items("support@contoso.com")
    latest = next(i for i in inbox if i["subject"] == "RE: Order 8812 never arrived")
    page.set_viewport_size(TALL)
    pane = open_simulator(
        page, demo, persona="lee@contoso.com", mailbox="support@contoso.com", item=latest["id"]
    )
    settled(pane)
    thread = page.locator("[data-testid=thread]")
    expect(thread).to_be_visible()
    expect(thread.locator("h4")).to_have_text("Conversation · 3 items")
    rows = thread.locator("li")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("Sent Items")
    expect(rows.nth(2)).to_contain_text("this item")
    expect(rows.nth(2)).to_contain_text("Tandem: Lee Gu (lee@contoso.com)")
    expect(page.locator(".item-thread").first).to_be_visible()
    screenshot(page, "simulator-thread")
