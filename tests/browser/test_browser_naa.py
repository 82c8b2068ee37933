"""Sign-in through nested app authentication: real MSAL.js in Chromium, the simulator's bridge.

The pane loads @azure/msal-browser's browser build from /vendor/, MSAL.js talks to the bridge
the simulator's office.js puts on the pane's window (its message protocol, unmodified), and the
simulator answers from the emulator's POST /_emulator/sso-token as Outlook would from Entra ID.
The backend validates that token and exchanges it on-behalf-of the person, as it does Office's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import FrameLocator, Page, expect

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

# Each persona, the mailbox the test opens, and what the pane shows there.
PERSONAS = [
    ("adele@contoso.com", "adele@contoso.com", "permissions"),
    ("megan@contoso.com", "adele@contoso.com", "permissions"),
    ("alex@contoso.com", "adele@contoso.com", "permissions"),
    ("nestor@contoso.com", "adele@contoso.com", "permissions"),
    ("lee@contoso.com", "support@contoso.com", "permissions"),
    ("pat@contoso.com", "sales@contoso.com", "permissions"),
    ("joni@contoso.com", "support@contoso.com", "mailbox_access_denied"),
]


def bridge(page: Page, method: str | None = None) -> list[dict[str, Any]]:
    """The bridge messages the simulator logged, each with its method and parameters, in order."""
    found = []
    for name, args in calls(page):
        if name.startswith("nestedAppAuthBridge."):
            entry = {"method": name.split(".", 1)[1], **(json.loads(args) if args else {})}
            if method is None or entry["method"] == method:
                found.append(entry)
    return found


def legacy_calls(page: Page) -> int:
    """How many times the pane called Office.auth.getAccessToken."""
    return [name for name, _ in calls(page)].count("getAccessToken")


def sign_in_path(pane: FrameLocator) -> str:
    """Which path the pane's small print says signed the person in (naa or legacy)."""
    note = pane.locator("[data-testid=sign-in-path]")
    expect(note).to_be_visible()
    return note.get_attribute("data-path") or ""


def shows(pane: FrameLocator, outcome: str) -> None:
    """The pane reached the context answer (permissions) or the problem the persona expects."""
    if outcome == "permissions":
        expect(pane.locator("[data-testid=permissions] li")).to_have_count(6)
        expect(pane.locator("[data-testid=actions] li").first).to_be_visible()
    else:
        expect(pane.locator("[data-testid=problem]")).to_have_attribute("data-code", outcome)


@pytest.mark.parametrize(("persona", "mailbox", "outcome"), PERSONAS)
def test_naa_signs_each_persona_in_through_msal_and_the_bridge(
    page: Page, demo: DemoHandle, persona: str, mailbox: str, outcome: str
) -> None:
    """NAA supported: MSAL.js gets the token from Outlook's bridge; the backend does OBO."""
    before = demo.stats()
    pane = open_simulator(page, demo, persona=persona, mailbox=mailbox)
    settled(pane)
    shows(pane, outcome)
    after = demo.stats()
    assert after["tokenRequests"] > before["tokenRequests"], "the on-behalf-of exchange"
    assert sign_in_path(pane) == "naa"
    assert legacy_calls(page) == 0
    world = emulator_call(page, demo, "GET", "/_emulator/world")
    scope = f"{world['app']['identifierUris'][0]}/access_as_user"
    [init] = bridge(page, "GetInitContext")
    [token] = bridge(page, "GetToken")
    assert init["method"] == "GetInitContext"
    assert token["scope"] == scope
    assert token["clientId"] == world["app"]["clientId"]
    assert bridge(page, "GetTokenPopup") == []
    if outcome == "permissions":  # Joni's 403 is logged by the browser as a failed resource
        assert page.console_errors == []  # type: ignore[attr-defined]
    if persona == "lee@contoso.com":
        screenshot(page, "naa-01-lee-support")


@pytest.mark.parametrize(("persona", "mailbox", "outcome"), PERSONAS)
def test_without_naa_the_legacy_path_reaches_the_same_answer(
    page: Page, demo: DemoHandle, persona: str, mailbox: str, outcome: str
) -> None:
    """NestedAppAuth 1.1 not supported: getAccessToken, MSAL.js never loaded, same result."""
    before = demo.stats()
    pane = open_simulator(page, demo, persona=persona, mailbox=mailbox, naa="unsupported")
    settled(pane)
    shows(pane, outcome)
    assert demo.stats()["tokenRequests"] > before["tokenRequests"]
    assert sign_in_path(pane) == "legacy"
    expect(pane.locator("[data-testid=sign-in-path]")).to_contain_text("NestedAppAuth 1.1")
    assert legacy_calls(page) == 1
    assert bridge(page) == []
    assert pane.locator("script[src*=msal]").count() == 0
    if persona == "lee@contoso.com":
        screenshot(page, "naa-02-lee-legacy")


def test_interaction_required_opens_outlooks_sign_in_window(page: Page, demo: DemoHandle) -> None:
    """Silent fails with interaction_required: acquireTokenPopup, the person signs in, it works."""
    pane = open_simulator(
        page, demo, persona="lee@contoso.com", mailbox="support@contoso.com", naa="interaction"
    )
    dialog = page.locator("[data-testid=naa-dialog]")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Lee Gu")
    screenshot(page, "naa-03-sign-in-window")
    page.locator("#sim-naa-continue").click()
    settled(pane)
    shows(pane, "permissions")
    assert [m["method"] for m in bridge(page)] == ["GetInitContext", "GetToken", "GetTokenPopup"]
    assert sign_in_path(pane) == "naa"


def test_cancelled_sign_in_window_says_so_and_try_again_reopens_it(
    page: Page, demo: DemoHandle
) -> None:
    """The person cancels Outlook's window: the sentence, Try again; then they finish it."""
    pane = open_simulator(
        page, demo, persona="lee@contoso.com", mailbox="support@contoso.com", naa="interaction"
    )
    page.locator("#sim-naa-cancel").click()
    settled(pane)
    problem = pane.locator("[data-testid=problem]")
    expect(problem).to_have_attribute("data-code", "auth_user_canceled")
    expect(pane.locator("[data-testid=problem-message]")).to_contain_text("cancelled")
    expect(pane.locator("[data-testid=msal-code]")).to_have_text(
        "MSAL.js error code: user_canceled"
    )
    screenshot(page, "naa-04-cancelled")
    pane.locator("[data-testid=retry]").click()
    page.locator("#sim-naa-continue").click()
    settled(pane)
    shows(pane, "permissions")
    assert [m["method"] for m in bridge(page, None)].count("GetTokenPopup") == 2


@pytest.mark.parametrize(
    ("scenario", "code", "words"),
    [
        ("cancel", "auth_user_canceled", "cancelled"),
        ("network", "auth_no_network_connectivity", "network connection"),
    ],
)
def test_naa_failure_classes_say_what_to_do_and_offer_try_again(
    page: Page, demo: DemoHandle, scenario: str, code: str, words: str
) -> None:
    """The window closed at once, or no network: the sentence and Try again; no fallback."""
    pane = open_simulator(
        page, demo, persona="lee@contoso.com", mailbox="support@contoso.com", naa=scenario
    )
    settled(pane)
    expect(pane.locator("[data-testid=problem]")).to_have_attribute("data-code", code)
    expect(pane.locator("[data-testid=problem-message]")).to_contain_text(words)
    expect(pane.locator("[data-testid=retry]")).to_be_visible()
    assert legacy_calls(page) == 0
    screenshot(page, f"naa-05-{scenario}")


def test_unavailable_naa_falls_back_to_getaccesstoken(page: Page, demo: DemoHandle) -> None:
    """The bridge answers NESTED_APP_AUTH_UNAVAILABLE: the legacy path signs the person in."""
    pane = open_simulator(
        page, demo, persona="lee@contoso.com", mailbox="support@contoso.com", naa="unavailable"
    )
    settled(pane)
    shows(pane, "permissions")
    assert sign_in_path(pane) == "legacy"
    expect(pane.locator("[data-testid=sign-in-path]")).to_contain_text(
        "nested_app_auth_bridge_disabled"
    )
    assert legacy_calls(page) == 1


def test_missing_consent_falls_back_and_the_backend_offers_the_consent_page(
    page: Page, demo: DemoHandle
) -> None:
    """NAA needs admin consent: Office's pre-authorized path is tried; the OBO says what's missing.

    Office is pre-authorized for access_as_user, so getAccessToken still gets a token; the
    on-behalf-of exchange then needs the consent nobody gave (AADSTS65001, injected), and the
    pane shows the backend's sentence with its admin-consent link.
    """
    pane = open_simulator(page, demo, persona="lee@contoso.com", folder="drafts", naa="consent")
    settled(pane)
    emulator_call(page, demo, "POST", "/_emulator/faults", {"target": "token", "aadsts": 65001})
    try:
        select_inbox(page, pane, "support@contoso.com")
    finally:
        emulator_call(page, demo, "DELETE", "/_emulator/faults")
    expect(pane.locator("[data-testid=problem]")).to_have_attribute("data-code", "consent_required")
    expect(pane.locator("[data-testid=problem-link]")).to_have_attribute(
        "href", re.compile("^https://.*adminconsent")
    )
    expect(pane.locator("[data-testid=sign-in-path]")).to_contain_text("consent_required")
    assert [m["method"] for m in bridge(page)][-2:] == ["GetToken", "GetTokenPopup"]
    assert legacy_calls(page) == 1
    screenshot(page, "naa-06-consent")


def test_missing_consent_for_naa_alone_still_signs_in_the_legacy_way(
    page: Page, demo: DemoHandle
) -> None:
    """NAA needs consent, the on-behalf-of exchange has it: the item loads; the small print says."""
    pane = open_simulator(
        page, demo, persona="lee@contoso.com", mailbox="support@contoso.com", naa="consent"
    )
    settled(pane)
    shows(pane, "permissions")
    assert sign_in_path(pane) == "legacy"


def test_missing_consent_without_a_legacy_path_is_said_plainly(
    page: Page, demo: DemoHandle
) -> None:
    """No IdentityAPI 1.3 to fall back to: the NAA consent sentence, and Try again."""
    pane = open_simulator(
        page,
        demo,
        persona="lee@contoso.com",
        mailbox="support@contoso.com",
        naa="consent",
        identityApi="off",
    )
    settled(pane)
    expect(pane.locator("[data-testid=problem]")).to_have_attribute(
        "data-code", "auth_consent_required"
    )
    expect(pane.locator("[data-testid=problem-message]")).to_contain_text("grant consent")
    expect(pane.locator("[data-testid=retry]")).to_be_visible()


def test_mfa_claims_challenge_goes_through_msal_to_the_sign_in_window(
    page: Page, demo: DemoHandle
) -> None:
    """AADSTS50076 at the OBO: MSAL.js is asked with the claims, Outlook's window, then it works."""
    pane = open_simulator(page, demo, persona="lee@contoso.com", folder="drafts")
    settled(pane)
    emulator_call(page, demo, "POST", "/_emulator/faults", {"target": "token", "aadsts": 50076})
    try:
        page.locator(
            '[data-testid=folder][data-mailbox="support@contoso.com"][data-folder=inbox]'
        ).click()
        page.locator("#sim-naa-continue").click()
        settled(pane)
        shows(pane, "permissions")
    finally:
        emulator_call(page, demo, "DELETE", "/_emulator/faults")
    tokens = bridge(page, "GetToken")
    [popup] = bridge(page, "GetTokenPopup")
    assert "access_token" in json.loads(popup["claims"])
    assert "access_token" in json.loads(tokens[-1]["claims"])
    assert legacy_calls(page) == 0


def test_expired_assertion_gets_a_fresh_token_past_msals_cache(
    page: Page, demo: DemoHandle
) -> None:
    """AADSTS500133 at the OBO: acquireTokenSilent with forceRefresh reaches the bridge again."""
    pane = open_simulator(page, demo, persona="lee@contoso.com", folder="drafts")
    settled(pane)
    emulator_call(page, demo, "POST", "/_emulator/faults", {"target": "token", "aadsts": 500133})
    try:
        select_inbox(page, pane, "support@contoso.com")
        shows(pane, "permissions")
    finally:
        emulator_call(page, demo, "DELETE", "/_emulator/faults")
    tokens = bridge(page, "GetToken")
    assert len(tokens) == 2
    assert tokens[1].get("forceRefresh") is True
    expect(pane.locator("[data-testid=problem]")).to_have_count(0)


def test_twenty_reloads_make_one_on_behalf_of_exchange(page: Page, demo: DemoHandle) -> None:
    """One person, one item, the pane reopened 20 times: MSAL.js's and the backend's caches hold."""
    pane = open_simulator(
        page, demo, persona="pat@contoso.com", mailbox="sales@contoso.com", scenario="open"
    )
    settled(pane)
    shows(pane, "permissions")
    first = demo.stats()
    for n in range(2, 22):
        page.locator("#sim-reload").click()
        # The new document's office.js logs onReady: from then on the frame holds it.
        expect(page.locator('#simulator-log li[data-call="onReady"]')).to_have_count(n)
        expect(pane.locator("main")).to_have_attribute("data-loads", "1")
        shows(pane, "permissions")
    last = demo.stats()
    assert [m["method"] for m in bridge(page)].count("GetInitContext") == 21
    assert len(bridge(page, "GetToken")) == 1, "MSAL.js's cache answered 20 times"
    assert last["tokenRequests"] == first["tokenRequests"], "the backend's OBO cache answered"
    assert last["ssoTokensIssued"] == first["ssoTokensIssued"]
