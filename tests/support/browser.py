"""Driving the pane in Chromium: the Office host simulator, its log, and screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import Browser, FrameLocator, Page, expect

from tandem_mailbox.emulator import seed
from tests.support.paths import ARTIFACTS, REPO
from tests.support.servers import DemoHandle

TALL = {"width": 1280, "height": 1500}  # the pane with a form open, whole
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under artifacts/ (git-ignored) and answer its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def emulator_call(page: Page, demo: DemoHandle, method: str, path: str, body: Any = None) -> Any:
    """Call an emulator control route from the page, answering its JSON (or None)."""
    script = """async ([url, method, body]) => {
        const init = { method };
        if (body !== null) {
            init.headers = { "Content-Type": "application/json" };
            init.body = JSON.stringify(body);
        }
        const response = await fetch(url, init);
        if (!response.ok) throw new Error(`${method} ${url}: ${response.status}`);
        return response.status === 204 ? null : response.json();
    }"""
    return page.evaluate(script, [f"{demo.emulator_url}{path}", method, body])


def open_simulator(page: Page, demo: DemoHandle, **query: str) -> FrameLocator:
    """Open the simulator on a scenario and answer the pane's frame once the host is ready."""
    page.goto(f"{demo.url}/simulator/?{urlencode(query)}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page.frame_locator("#taskpane-frame")


def settled(pane: FrameLocator) -> None:
    """Wait until the pane has finished loading (it clears aria-busy)."""
    expect(pane.locator("main")).to_have_attribute("aria-busy", "false", timeout=15_000)


def loads(pane: FrameLocator) -> int:
    """How many loads the pane has finished on screen (main's data-loads)."""
    return int(pane.locator("main").get_attribute("data-loads") or 0)


def settled_after(pane: FrameLocator, before: int) -> None:
    """Wait for the load that follows `before` finished ones: a selection's, not the last one.

    aria-busy alone is not enough after a click: it is still "false" from the previous item
    until the simulator delivers ItemChanged, so a test that only waited for it could go on
    (and clear its faults) before the pane had asked anyone anything.
    """
    expect(pane.locator("main")).to_have_attribute("data-loads", str(before + 1), timeout=15_000)
    settled(pane)


def select_inbox(page: Page, pane: FrameLocator, mailbox: str) -> None:
    """Open a mailbox's Inbox (which selects its newest item) and wait for the pane's answer."""
    before = loads(pane)
    page.locator(f'[data-testid=folder][data-mailbox="{mailbox}"][data-folder=inbox]').click()
    settled_after(pane, before)


def calls(page: Page) -> list[tuple[str, str]]:
    """The Office API calls the simulator logged: (name, JSON of the options), in order."""
    items = page.locator("#simulator-log li")
    return [
        (
            items.nth(i).get_attribute("data-call") or "",
            items.nth(i).get_attribute("data-args") or "",
        )
        for i in range(items.count())
    ]


# -- the pane's actions card ----------------------------------------------------------------
def new_page(browser: Browser) -> Page:
    """A page in a browser context of its own (another person's Outlook), recording errors."""
    context = browser.new_context(ignore_https_errors=True, viewport=TALL)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    return page


def open_item(page: Page, demo: DemoHandle, persona: str, mailbox: str, item_id: str, **q: str):
    """Open the simulator as `persona` on one item and wait for the pane's actions."""
    page.set_viewport_size(TALL)
    pane = open_simulator(page, demo, persona=persona, mailbox=mailbox, item=item_id, **q)
    settled(pane)
    expect(pane.locator("[data-testid=actions]")).to_be_visible()
    # The pane shows the id the backend answers: the item's immutable id.
    stable = demo.item(item_id)["immutableId"]
    expect(pane.locator("[data-testid=item]")).to_have_attribute("data-item-id", stable)
    return pane


def button(pane: FrameLocator, key: str) -> Any:
    """The action button for `key` (claim, flag-flagged, markRead, reply ...)."""
    return pane.locator(f"[data-testid=action-{key}]")


def notice(pane: FrameLocator) -> Any:
    """The notice saying how the last action went."""
    return pane.locator("[data-testid=action-notice]")


def said(pane: FrameLocator) -> Any:
    """The sentence of that notice."""
    return pane.locator("[data-testid=action-notice] [data-testid=notice-text]")


def action_posts(page: Page, action: str) -> list[Any]:
    """Records every response to POST /api/items/actions/<action> the pane gets, from now on."""
    seen: list[Any] = []
    page.on(
        "response",
        lambda r: (
            r.request.method == "POST"
            and r.url.endswith(f"/api/items/actions/{action}")
            and seen.append(r)
        ),
    )
    return seen


def fixed_world(demo: DemoHandle, mailbox: str) -> list[dict[str, Any]]:
    """The mailbox's Inbox items of the emulator's fixed world (received before its BASE_TIME),
    newest first: not support@'s recent week, which the demo writes relative to its start."""
    base = seed.BASE_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    return [i for i in demo.items(mailbox) if str(i["receivedDateTime"] or "") <= base]


def unowned(demo: DemoHandle, mailbox: str) -> list[dict[str, Any]]:
    """The fixed world's Inbox items with no category: none of the demo's seeded owners on
    them (and none of the recent week's conversations, which the demo's record holds)."""
    return [i for i in fixed_world(demo, mailbox) if not i["categories"]]


AXE = REPO / "taskpane" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Page, selector: str = "body") -> list[dict[str, Any]]:
    """axe-core's violations (WCAG 2 A and AA) in the pane's frame, under `selector`."""
    handle = page.locator("#taskpane-frame").element_handle()
    frame = handle.content_frame() if handle else None
    assert frame is not None
    # Through the DevTools protocol, not a script tag: the pane's CSP allows no inline script.
    frame.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = frame.evaluate(
        """async (selector) => {
            const found = await axe.run(document.querySelector(selector), {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            });
            return {
                passed: found.passes.length,
                violations: found.violations.map((v) => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map((n) => n.target.join(" ")),
                })),
            };
        }""",
        selector,
    )
    assert result["passed"] > 10, result  # axe ran its rules on the pane
    return list(result["violations"])
