"""The emulator's world as the simulator shows it in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import open_simulator, settled
from tests.support.servers import DemoHandle


@pytest.mark.browser
def test_the_simulator_lists_sam(page: Page, demo: DemoHandle) -> None:
    """Sam is a persona of the simulator (it reads the world) and works in support@."""
    pane = open_simulator(page, demo, persona="sam@contoso.com", mailbox="support@contoso.com")
    settled(pane)
    expect(page.locator("#sim-persona")).to_have_value("sam@contoso.com")
    expect(page.locator("#sim-persona option[value='sam@contoso.com']")).to_contain_text(
        "Sam Taylor"
    )
    expect(page.locator("#sim-persona-description")).to_have_text(
        "Member of support@ with Full Access and Send As"
    )
    expect(pane.locator("[data-testid=mailbox-address]")).to_have_text("support@contoso.com")
