"""The task pane in a real Chromium, inside the Office host simulator, against `tandem demo`.

Every scenario goes the whole way: the simulator's office.js hands the pane an SSO token from
the emulator, the backend validates it, exchanges it on-behalf-of the person and reads the item
from the emulated Graph. The emulator's control routes are called from inside the page (the
browser context trusts the demo's certificates; CORS allows https://localhost origins).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import (
    calls,
    emulator_call,
    open_simulator,
    screenshot,
    select_inbox,
    settled,
)
from tests.support.servers import DemoHandle

pytestmark = pytest.mark.browser

TALL = {"width": 1280, "height": 1400}  # tall enough that the pane's content needs no scrolling


def inbox(page: Page, demo: DemoHandle, mailbox: str) -> list[dict[str, Any]]:
    """The items of a mailbox's Inbox, newest first, from the emulator's world."""
    world = emulator_call(page, demo, "GET", "/_emulator/world")
    box = next(m for m in world["mailboxes"] if m["address"] == mailbox)
    folder = next(f for f in box["folders"] if f["wellKnownName"] == "inbox")
    return folder["items"]


def pane_message(page: Page, code: int | str) -> str:
    """The pane's own sentence for a getAccessToken error code (from auth.js, in its frame)."""
    frame = page.locator("#taskpane-frame").element_handle()
    assert frame is not None
    content = frame.content_frame()
    assert content is not None
    return content.evaluate("async (code) => (await import('/auth.js')).AUTH_MESSAGES[code]", code)


def test_taskpane_html_opens_inside_the_simulator(page: Page, demo: DemoHandle) -> None:
    """Opening /taskpane.html in a browser lands in the simulator, with the pane in its frame."""
    page.goto(f"{demo.url}/taskpane.html")
    expect(page).to_have_url(re.compile(r"/simulator/\?"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    pane = page.frame_locator("#taskpane-frame")
    settled(pane)
    # Outlook's start: the first persona (Adele, the owner), her Inbox, its newest item.
    expect(page.locator("#sim-persona")).to_have_value("adele@contoso.com")
    expect(pane.locator("[data-testid=mailbox-address]")).to_have_text("adele@contoso.com")
    assert [name for name, _ in calls(page)][:2] == ["onReady", "addHandlerAsync"]
    screenshot(page, "browser-01-landing")


def test_shared_mailbox_member_reads_an_item_through_sso_obo_and_graph(
    page: Page, demo: DemoHandle
) -> None:
    """Lee (support@ Full Access): the pinned pane follows the selection into support@'s Inbox."""
    page.set_viewport_size(TALL)
    # Start where nothing is selected, so the pane calls nobody yet.
    pane = open_simulator(page, demo, persona="lee@contoso.com", folder="drafts", naa="off")
    settled(pane)
    expect(pane.locator("[data-testid=none-message]")).to_contain_text("No item is selected")
    items = inbox(page, demo, "support@contoso.com")
    before = emulator_call(page, demo, "GET", "/_emulator/stats")

    # Opening the folder selects its newest item: Office fires ItemChanged in the pinned pane.
    select_inbox(page, pane, "support@contoso.com")
    first = items[0]
    expect(pane.locator("[data-testid=item-subject]")).to_have_text(first["subject"])
    sender = f"{first['from']['name']} <{first['from']['address']}>"
    expect(pane.locator("[data-testid=item-from]")).to_have_text(sender)
    expect(pane.locator("[data-testid=item-received]")).to_be_visible()
    expect(pane.locator("[data-testid=mailbox-address]")).to_have_text("support@contoso.com")
    expect(pane.locator("[data-testid=mailbox-kind]")).to_have_text(
        "Shared mailbox or delegate folder of support@contoso.com"
    )
    expect(pane.locator("[data-testid=person]")).to_contain_text("lee@contoso.com")
    granted = pane.locator("[data-testid=permissions] li[data-granted=true]")
    expect(granted).to_have_count(6)
    expect(pane.locator("[data-testid=permission-bits]")).to_have_attribute("data-bits", "63")
    # Every action is a button to press but release: nobody holds a claim on the item yet.
    expect(pane.locator("[data-testid=action-claim]")).to_be_enabled()
    expect(pane.locator("[data-testid=action-release]")).to_be_disabled()
    expect(pane.locator("[data-testid=actions] li[data-allowed=false]")).to_have_count(1)
    expect(pane.locator("[data-testid=actions] li[data-allowed=false]")).to_contain_text(
        "Nobody holds a claim on this item."
    )

    after = emulator_call(page, demo, "GET", "/_emulator/stats")
    assert after["ssoTokensIssued"] > before["ssoTokensIssued"]  # Office's SSO token
    assert after["tokenRequests"] > before["tokenRequests"]  # the on-behalf-of exchange
    assert after["graphRequests"] > before["graphRequests"]  # the item, read from Graph

    names = [name for name, _ in calls(page)]
    assert "getSharedPropertiesAsync" in names
    token_calls = [json.loads(args) for name, args in calls(page) if name == "getAccessToken"]
    assert token_calls == [{"allowSignInPrompt": True, "allowConsentPrompt": True}]
    screenshot(page, "browser-02-lee-support-inbox")

    # Another item: the pane follows it.
    second = items[1]
    page.locator(f'[data-testid=item][data-item-id="{second["id"]}"]').click()
    expect(pane.locator("[data-testid=item-subject]")).to_have_text(second["subject"])
    settled(pane)
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_reviewer_delegate_sees_read_only_permissions(page: Page, demo: DemoHandle) -> None:
    """Megan (Reviewer, bits 1) on Adele's Inbox: read only, every edit action refused with why."""
    page.set_viewport_size(TALL)
    pane = open_simulator(page, demo, persona="megan@contoso.com", mailbox="adele@contoso.com")
    settled(pane)
    first = inbox(page, demo, "adele@contoso.com")[0]
    expect(pane.locator("[data-testid=item-subject]")).to_have_text(first["subject"])
    expect(pane.locator("[data-testid=mailbox-kind]")).to_have_text(
        "Shared mailbox or delegate folder of adele@contoso.com"
    )
    permissions = pane.locator("[data-testid=permissions] li")
    expect(permissions).to_have_count(6)
    expect(pane.locator('[data-permission=read][data-granted="true"]')).to_have_text(
        re.compile("Read items.*Granted")
    )
    expect(pane.locator("[data-testid=permissions] li[data-granted=false]")).to_have_count(5)
    expect(pane.locator("[data-testid=permission-bits]")).to_have_attribute("data-bits", "1")

    for action in (
        "claim",
        "release",
        "categorize",
        "flag",
        "markRead" if not first["isRead"] else "markUnread",
    ):
        row = pane.locator(f'[data-testid=actions] li[data-action="{action}"]').first
        expect(row).to_have_attribute("data-allowed", "false")
        expect(row).to_contain_text("Needs the permission: Edit own items or Edit all items")
    move = pane.locator('[data-testid=actions] li[data-action="move"]')
    expect(move).to_contain_text(
        "Needs the permission: Create items; Delete own items or Delete all items"
    )
    expect(pane.locator('[data-testid=actions] li[data-action="delete"]')).to_have_attribute(
        "data-allowed", "false"
    )
    for action in ("reply", "replyAll", "forward"):
        expect(pane.locator(f'[data-testid=actions] li[data-action="{action}"]')).to_have_attribute(
            "data-allowed", "true"
        )
    # Refused actions are disabled buttons (test_browser_actions.py checks each one).
    expect(pane.locator("[data-testid=actions] button:disabled")).to_have_count(8)
    assert page.console_errors == []  # type: ignore[attr-defined]
    screenshot(page, "browser-03-megan-reviewer")


def test_removed_access_shows_exchange_refusal(page: Page, demo: DemoHandle) -> None:
    """Joni still sees support@ in Outlook, but Exchange refuses: mailbox_access_denied."""
    pane = open_simulator(page, demo, persona="joni@contoso.com", mailbox="support@contoso.com")
    expect(page.locator('[data-testid=mailbox-group][data-kind="removed"]')).to_contain_text(
        "support@contoso.com (access removed)"
    )
    settled(pane)
    problem = pane.locator("[data-testid=problem]")
    expect(problem).to_have_attribute("data-code", "mailbox_access_denied")
    expect(problem).to_have_attribute("role", "alert")
    expect(pane.locator("[data-testid=problem-message]")).to_have_text(
        re.compile(r"^Exchange refused access to this mailbox.*less than an hour ago")
    )
    expect(pane.locator("[data-testid=request-id]")).to_have_text(re.compile(r"Request id: \S+"))
    expect(pane.locator("[data-testid=retry]")).to_be_visible()
    expect(pane.locator("[data-testid=actions]")).to_have_count(0)
    screenshot(page, "browser-04-joni-access-removed")


def test_a_refused_sign_in_tells_the_administrator_why(page: Page, fresh_demo: DemoHandle) -> None:
    """Entra ID refuses the on-behalf-of exchange (AADSTS50013, the assertion's signature):
    the pane's sentence is general, and the server's reason is small print for whoever is
    asked to fix it."""
    fresh_demo.fault(target="token", aadsts=50013, times=-1)
    pane = open_simulator(
        page, fresh_demo, persona="lee@contoso.com", mailbox="support@contoso.com"
    )
    settled(pane)
    problem = pane.locator("[data-testid=problem]")
    expect(problem).to_have_attribute("data-code", "invalid_token")
    expect(pane.locator("[data-testid=problem-message]")).to_have_text(
        re.compile(r"^Tandem's server didn't accept your sign-in\.")
    )
    expect(pane.locator("[data-testid=server-said]")).to_have_text(
        "Tandem's server said: Microsoft Entra ID did not accept the sign-in token."
    )
    expect(pane.locator("[data-testid=request-id]")).to_have_text(re.compile(r"Request id: \S+"))
    # Chromium's own line for the 401 is the only console error.
    assert all("status of 401" in e for e in page.console_errors)  # type: ignore[attr-defined]
    screenshot(page, "browser-04b-lee-sign-in-refused")


def test_own_mailbox_item_names_the_mailbox(page: Page, demo: DemoHandle) -> None:
    """Adele in her own Inbox: no getSharedPropertiesAsync, and the pane says adele@contoso.com."""
    page.set_viewport_size(TALL)
    pane = open_simulator(page, demo, persona="adele@contoso.com", folder="inbox")
    settled(pane)
    expect(pane.locator("[data-testid=mailbox-address]")).to_have_text("adele@contoso.com")
    expect(pane.locator("[data-testid=mailbox-kind]")).to_have_text("Your own mailbox")
    expect(pane.locator("[data-testid=permissions] li[data-granted=true]")).to_have_count(6)
    assert "getSharedPropertiesAsync" not in [name for name, _ in calls(page)]
    assert page.console_errors == []  # type: ignore[attr-defined]
    screenshot(page, "browser-05-adele-own-mailbox")


def test_failed_shared_properties_is_unknown_with_no_actions(page: Page, demo: DemoHandle) -> None:
    """getSharedPropertiesAsync fails: 'unknown', no actions, and the backend is never asked."""
    pane = open_simulator(
        page, demo, persona="lee@contoso.com", mailbox="support@contoso.com", sharedProps="fails"
    )
    settled(pane)
    expect(pane.locator("[data-testid=mailbox-address]")).to_have_text("Unknown")
    expect(pane.locator("[data-testid=mailbox-kind]")).to_have_attribute("data-kind", "unknown")
    expect(pane.locator("[data-testid=unknown-message]")).to_contain_text("offers no actions")
    expect(pane.locator("[data-testid=unknown-detail]")).to_contain_text("9018")
    expect(pane.locator("[data-testid=actions]")).to_have_count(0)
    expect(pane.locator("[data-testid=permissions]")).to_have_count(0)
    names = [name for name, _ in calls(page)]
    assert "getSharedPropertiesAsync" in names
    assert "getAccessToken" not in names
    screenshot(page, "browser-06-shared-properties-fail")


def test_missing_shared_properties_names_the_own_mailbox(page: Page, demo: DemoHandle) -> None:
    """A client without getSharedPropertiesAsync: the pane names lee@contoso.com, so it shows."""
    pane = open_simulator(
        page, demo, persona="lee@contoso.com", mailbox="support@contoso.com", sharedProps="missing"
    )
    settled(pane)
    expect(pane.locator("[data-testid=mailbox-address]")).to_have_text("lee@contoso.com")
    expect(pane.locator("[data-testid=mailbox-kind]")).to_have_text("Your own mailbox")
    # support@'s item is not in Lee's own mailbox: Graph says so.
    expect(pane.locator("[data-testid=problem]")).to_have_attribute("data-code", "item_not_found")


def test_injected_sso_error_shows_its_sentence(page: Page, demo: DemoHandle) -> None:
    """The next getAccessToken fails with 13003: the pane shows that code's sentence, no retry."""
    pane = open_simulator(
        page,
        demo,
        persona="lee@contoso.com",
        mailbox="support@contoso.com",
        fail="13003",
        scenario="open",
        naa="off",
    )
    settled(pane)
    expect(pane.locator("[data-testid=problem]")).to_have_attribute("data-code", "auth_13003")
    expect(pane.locator("[data-testid=problem-message]")).to_have_text(pane_message(page, 13003))
    expect(pane.locator("[data-testid=office-code]")).to_have_text("Office error code: 13003")
    expect(pane.locator("[data-testid=retry]")).to_have_count(0)
    assert [name for name, _ in calls(page)].count("getAccessToken") == 1
    expect(page.locator("#sim-token-error")).to_have_value("")  # "next" means once
    screenshot(page, "browser-07-sso-error-13003")


def test_13008_is_retried_silently_once(page: Page, demo: DemoHandle) -> None:
    """13008 (a previous call in progress) is retried once without the person seeing it."""
    pane = open_simulator(
        page,
        demo,
        persona="lee@contoso.com",
        mailbox="support@contoso.com",
        fail="13008",
        naa="off",
    )
    settled(pane)
    expect(pane.locator("[data-testid=permissions]")).to_be_visible()
    assert [name for name, _ in calls(page)].count("getAccessToken") == 2


def test_unsupported_identity_api_is_said_plainly(page: Page, demo: DemoHandle) -> None:
    """No IdentityAPI 1.3: the pane says so and never calls getAccessToken."""
    pane = open_simulator(
        page,
        demo,
        persona="lee@contoso.com",
        mailbox="support@contoso.com",
        identityApi="off",
        naa="off",
    )
    settled(pane)
    expect(pane.locator("[data-testid=problem-message]")).to_contain_text("IdentityAPI 1.3")
    assert "getAccessToken" not in [name for name, _ in calls(page)]


def test_mfa_challenge_is_passed_back_to_office(page: Page, demo: DemoHandle) -> None:
    """Entra wants MFA (AADSTS50076): the pane asks Office again with authChallenge, once."""
    pane = open_simulator(page, demo, persona="lee@contoso.com", folder="drafts", naa="off")
    settled(pane)
    emulator_call(page, demo, "POST", "/_emulator/faults", {"target": "token", "aadsts": 50076})
    try:
        select_inbox(page, pane, "support@contoso.com")
        expect(pane.locator("[data-testid=permissions]")).to_be_visible()
    finally:
        emulator_call(page, demo, "DELETE", "/_emulator/faults")
    token_calls = [json.loads(args) for name, args in calls(page) if name == "getAccessToken"]
    assert len(token_calls) == 2
    assert "authChallenge" not in token_calls[0]
    assert token_calls[1]["authChallenge"]
    assert token_calls[1]["allowSignInPrompt"] is True


def test_expired_assertion_is_retried_silently_with_a_fresh_token(
    page: Page, demo: DemoHandle
) -> None:
    """Entra says the assertion expired (AADSTS500133): a fresh token, one retry, no message."""
    pane = open_simulator(page, demo, persona="lee@contoso.com", folder="drafts", naa="off")
    settled(pane)
    emulator_call(page, demo, "POST", "/_emulator/faults", {"target": "token", "aadsts": 500133})
    try:
        select_inbox(page, pane, "support@contoso.com")
        expect(pane.locator("[data-testid=permissions]")).to_be_visible()
    finally:
        emulator_call(page, demo, "DELETE", "/_emulator/faults")
    expect(pane.locator("[data-testid=problem]")).to_have_count(0)
    token_calls = [json.loads(args) for name, args in calls(page) if name == "getAccessToken"]
    assert len(token_calls) == 2
    assert not any("authChallenge" in c for c in token_calls)


def test_consent_required_offers_the_consent_page(page: Page, demo: DemoHandle) -> None:
    """Consent missing (AADSTS65001): the sentence, and a link to the admin-consent page."""
    pane = open_simulator(page, demo, persona="lee@contoso.com", folder="drafts", naa="off")
    settled(pane)
    emulator_call(page, demo, "POST", "/_emulator/faults", {"target": "token", "aadsts": 65001})
    try:
        select_inbox(page, pane, "support@contoso.com")
    finally:
        emulator_call(page, demo, "DELETE", "/_emulator/faults")
    expect(pane.locator("[data-testid=problem]")).to_have_attribute("data-code", "consent_required")
    expect(pane.locator("[data-testid=problem-link]")).to_have_attribute(
        "href", re.compile("^https://")
    )
    screenshot(page, "browser-08-consent-required")


def test_pinned_pane_drops_the_answer_for_a_previous_item(page: Page, demo: DemoHandle) -> None:
    """A slow answer for the item selected before must not overwrite the newly selected one."""
    pane = open_simulator(page, demo, persona="lee@contoso.com", folder="drafts")
    settled(pane)
    first, second = inbox(page, demo, "support@contoso.com")[2:4]
    slow = {"target": "graph", "path": first["id"], "delayMs": 1500}
    emulator_call(page, demo, "POST", "/_emulator/faults", slow)
    try:
        pane = open_simulator(
            page, demo, persona="lee@contoso.com", mailbox="support@contoso.com", item=first["id"]
        )
        # The pane has read the context and is waiting for the backend (Graph is slow).
        expect(pane.locator("[data-testid=loading]")).to_be_visible()
        page.locator(f'[data-testid=item][data-item-id="{second["id"]}"]').click()
        expect(pane.locator("[data-testid=item-subject]")).to_have_text(second["subject"])
        # The slow answer arrives later and is dropped (main counts it in data-stale).
        expect(pane.locator("main")).to_have_attribute("data-stale", "1", timeout=15_000)
        settled(pane)
        expect(pane.locator("[data-testid=item-subject]")).to_have_text(second["subject"])
        expect(pane.locator("[data-testid=permissions]")).to_be_visible()
    finally:
        emulator_call(page, demo, "DELETE", "/_emulator/faults")
