"""The team's queue in the pane, in a real Chromium against `tandem demo` (support@'s recent
week, a 240-minute target around the clock, the team's templates): Lee sees three overdue,
takes the next one (Outlook opens it), inserts a template and sends; Sam's counts change at his
next refresh; the numbers as a chart with its table. Screenshots under artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.support.browser import (
    axe_violations,
    calls,
    loads,
    open_item,
    open_simulator,
    screenshot,
    settled,
    settled_after,
    unowned,
)
from tests.support.paths import ARTIFACTS
from tests.support.servers import DemoHandle

pytestmark = pytest.mark.browser

SUPPORT = "support@contoso.com"
# The demo's week as the queue counts it for Lee (emulator/seed.py RECENT_WEEK, cli/demo.py).
LEE_COUNTS = {"unassigned": 6, "mine": 3, "overdue": 3, "pending": 2, "open": 11}
OVERDUE = [
    "Shipping address for order 88213",  # Sam's, late by 21 h
    "Cannot log in after the password reset",  # nobody's, late by 4 h 40 min
    "Invoice 4471 charged twice",  # nobody's, late by 2 h 20 min
]


def _card(locator: Any, name: str) -> None:
    """A screenshot of one card of the pane, as a person sees it."""
    ARTIFACTS.mkdir(exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _team(pane: FrameLocator) -> Any:
    return pane.locator("[data-testid=team]")


def _counts(pane: FrameLocator) -> dict[str, int]:
    team = _team(pane)
    return {
        view: int(team.locator(f"[data-testid=queue-count-{view}]").inner_text())
        for view in LEE_COUNTS
    }


def _open_support(page: Page, demo: DemoHandle, persona: str) -> FrameLocator:
    page.set_viewport_size({"width": 1280, "height": 2400})
    pane = open_simulator(page, demo, persona=persona, mailbox=SUPPORT, folder="inbox")
    settled(pane)
    expect(_team(pane).locator("[data-testid=queue-list]")).to_be_visible(timeout=15_000)
    return pane


def test_lee_takes_the_next_one_answers_it_from_a_template_and_sam_sees_the_counts_change(
    page: Page, other_page: Page, fresh_demo: DemoHandle
) -> None:
    lee = _open_support(page, fresh_demo, "lee@contoso.com")
    team = _team(lee)
    expect(team.locator("[data-testid=queue-count-overdue]")).to_have_text("3")
    assert _counts(lee) == LEE_COUNTS
    sam = _open_support(other_page, fresh_demo, "sam@contoso.com")
    sam_before = _counts(sam)
    assert sam_before["unassigned"] == 6 and sam_before["overdue"] == 3

    # Lee's overdue view: the three late ones, oldest due first, each marked late in red.
    team.locator("[data-testid=queue-view-overdue]").click()
    expect(team.locator("[data-testid=queue-view-overdue]")).to_have_attribute(
        "aria-pressed", "true"
    )
    rows = team.locator("[data-testid=queue-row]")
    expect(rows).to_have_count(3)
    expect(rows.locator(".queue-subject")).to_have_text(OVERDUE)
    for n in range(3):
        expect(rows.nth(n)).to_have_attribute("data-late", "true")
        expect(rows.nth(n).locator("[data-testid=queue-due]")).to_contain_text("Late by")
    color = (
        rows.nth(0).locator("[data-testid=queue-due]").evaluate("e => getComputedStyle(e).color")
    )
    assert color == "rgb(177, 14, 28)"  # --no: red
    expect(rows.nth(0).locator("[data-testid=queue-owner]")).to_have_text("Owner: Sam Taylor")
    _card(team, "queue-01-lee-sees-three-overdue")
    assert axe_violations(page, "[data-testid=team]") == []

    # Take the next one: the unassigned conversation due soonest is Lee's, and Outlook opens it
    # (displayMessageForm with the EWS form of its id); the pane follows it.
    before = loads(lee)
    team.locator("[data-testid=queue-next]").click()
    settled_after(lee, before)
    expect(lee.locator("[data-testid=item-subject]")).to_have_text(OVERDUE[1])
    expect(lee.locator("[data-testid=record-owner]")).to_have_text("Owner: Lee Gu")
    expect(lee.locator("[data-testid=item-claim]")).to_have_text("Claimed by you")
    opened = [args for name, args in calls(page) if name == "displayMessageForm"]
    assert len(opened) == 1 and "-" not in opened[0] and "_" not in opened[0]  # EWS form
    team = _team(lee)
    expect(team.locator("[data-testid=queue-notice]")).to_contain_text(
        f"“{OVERDUE[1]}” from Olivia Grant is yours now"
    )
    expect(team.locator("[data-testid=queue-count-unassigned]")).to_have_text("5")
    expect(team.locator("[data-testid=queue-count-mine]")).to_have_text("4")

    # A reply from a template: its placeholders filled from the customer, Lee and the mailbox.
    lee.locator("[data-testid=action-reply]").click()
    form = lee.locator("[data-testid=form-reply]")
    picker = form.locator("[data-testid=template-select]")
    expect(picker).to_be_enabled()
    picker.select_option(label="Password reset steps")
    form.locator("[data-testid=template-insert]").click()
    comment = lee.locator("[data-testid=reply-comment]")
    text = comment.input_value()
    assert text.startswith("Hi Olivia,\n\nTo sign in again")
    assert text.endswith("Lee, Contoso Support")
    assert "{{" not in text
    expect(form.locator("[data-testid=template-said]")).to_have_text(
        "Inserted “Password reset steps”."
    )
    _card(lee.locator("[data-testid=actions]"), "queue-02-lee-inserts-a-template")
    lee.locator("[data-testid=form-send]").click()
    expect(lee.locator("[data-testid=notice-text]")).to_contain_text(
        "Your reply was sent as support@contoso.com", timeout=20_000
    )
    [delivery] = [d for d in fresh_demo.deliveries() if d["subject"] == f"RE: {OVERDUE[1]}"]
    assert delivery["by"] == "lee@contoso.com"
    screenshot(page, "queue-03-lee-sent-it")

    # Lee's queue: the conversation answered, its clock stopped: two late now.
    team = _team(lee)
    team.locator("[data-testid=queue-refresh]").click()
    expect(team.locator("[data-testid=queue-count-overdue]")).to_have_text("2")

    # Sam's counts change at his next refresh: one fewer unassigned, one fewer late.
    sam_team = _team(sam)
    sam_team.locator("[data-testid=queue-refresh]").click()
    expect(sam_team.locator("[data-testid=queue-count-unassigned]")).to_have_text("5")
    expect(sam_team.locator("[data-testid=queue-count-overdue]")).to_have_text("2")
    _card(sam_team, "queue-04-sam-after-his-refresh")

    # The numbers: a chart of the week drawn by the pane, and the table beside it.
    team.locator("[data-testid=team-tab-numbers]").click()
    chart = team.locator("[data-testid=stats-chart]")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    assert "Replies sent per day over the last 7 days" in (
        chart.locator("title").text_content() or ""
    )
    expect(chart.locator("rect.bar-replies")).to_have_count(7)
    people = team.locator("[data-testid=stats-person]")
    expect(people).to_have_count(2)
    lee_row = team.locator('[data-testid=stats-person][data-upn="lee@contoso.com"]')
    expect(lee_row.locator("th")).to_have_text("Lee Gu")
    total = team.locator("[data-testid=stats-mailbox] td").first
    bars = chart.locator("rect.bar-replies").all()
    series = sum(int(bar.get_attribute("data-value") or 0) for bar in bars)
    assert int(total.inner_text()) == series  # the chart and the table count the same replies
    _card(team, "queue-05-the-numbers")
    assert axe_violations(page, "[data-testid=team]") == []


def test_members_keep_the_templates_and_the_administrator_sets_the_target(
    page: Page, other_page: Page, fresh_demo: DemoHandle
) -> None:
    lee = _open_support(page, fresh_demo, "lee@contoso.com")
    team = _team(lee)

    # A new template, its placeholder put in with a button; then renamed; then deleted.
    team.locator("[data-testid=team-tab-templates]").click()
    expect(team.locator("[data-testid=template]")).to_have_count(3)
    team.locator("[data-testid=template-new]").click()
    form = team.locator("[data-testid=template-form]")
    form.locator("[data-testid=template-name]").fill("Back on Monday")
    form.locator("[data-testid=template-body]").fill("Hi ,\n\nWe're back on Monday.")
    form.locator("[data-testid=template-body]").evaluate("a => a.setSelectionRange(3, 3)")
    form.locator('[data-placeholder="customer.firstName"]').click()
    form.locator("[data-testid=template-save]").click()
    expect(team.locator("[data-testid=template-said]")).to_have_text(
        "Saved “Back on Monday” for the team."
    )
    added = team.locator('[data-testid=template][data-name="Back on Monday"]')
    expect(added.locator(".template-body")).to_have_text(
        "Hi {{customer.firstName}},\n\nWe're back on Monday."
    )
    expect(added).to_contain_text("Last changed by Lee Gu")
    _card(team, "queue-06-a-new-template")
    added.locator("[data-testid=template-edit]").click()
    form = team.locator("[data-testid=template-form]")
    form.locator("[data-testid=template-name]").fill("Back on Tuesday")
    form.locator("[data-testid=template-body]").fill("Hi {{customer.firstName}}, {{order.id}}")
    form.locator("[data-testid=template-save]").click()
    expect(form.locator(".form-error")).to_contain_text("Unknown placeholder {{order.id}}")
    form.locator("[data-testid=template-body]").fill("Hi {{customer.firstName}}, Tuesday.")
    form.locator("[data-testid=template-save]").click()
    renamed = team.locator('[data-testid=template][data-name="Back on Tuesday"]')
    expect(renamed).to_have_count(1)
    renamed.locator("[data-testid=template-delete]").click()
    expect(renamed).to_contain_text("Delete “Back on Tuesday” for the whole team?")
    renamed.locator("[data-testid=template-delete-yes]").click()
    expect(team.locator("[data-testid=template-said]")).to_have_text("Deleted “Back on Tuesday”.")
    expect(team.locator("[data-testid=template]")).to_have_count(3)

    # The target: Lee (a Tandem administrator in the demo) sets business hours in London.
    team.locator("[data-testid=team-tab-target]").click()
    expect(team.locator("[data-testid=policy-text]")).to_have_text(
        "The first answer is due within 4 h of business time: every day, around the clock (UTC)."
    )
    form = team.locator("[data-testid=policy-form]")
    form.locator("[data-testid=policy-minutes]").fill("60")
    for day in ("Sat", "Sun"):
        form.get_by_label(day, exact=True).uncheck()
    form.locator("[data-testid=policy-start]").fill("09:00")
    form.locator("[data-testid=policy-end]").fill("17:00")
    form.locator("[data-testid=policy-zone]").fill("Europe/London")
    form.locator("[data-testid=policy-save]").click()
    expect(team.locator("[data-testid=policy-said]")).to_contain_text("Saved")
    expect(team.locator("[data-testid=policy-text]")).to_have_text(
        "The first answer is due within 1 h of business time: Mon, Tue, Wed, Thu, Fri, "
        "09:00–17:00 (Europe/London)."
    )
    _card(team, "queue-07-the-target")
    assert axe_violations(page, "[data-testid=team]") == []
    # A time zone that isn't one: the server's own sentence, nothing saved.
    form = team.locator("[data-testid=policy-form]")
    form.locator("[data-testid=policy-zone]").fill("Mars/Olympus")
    form.locator("[data-testid=policy-save]").click()
    expect(form.locator("[data-testid=policy-error]")).to_be_visible()
    expect(team.locator("[data-testid=policy-text]")).to_contain_text("(Europe/London)")

    # Sam reads the target but has no form: he isn't a Tandem administrator.
    sam = _open_support(other_page, fresh_demo, "sam@contoso.com")
    _team(sam).locator("[data-testid=team-tab-target]").click()
    expect(_team(sam).locator("[data-testid=policy-text]")).to_contain_text("(Europe/London)")
    expect(_team(sam).locator("[data-testid=policy-admin-only]")).to_be_visible()
    expect(_team(sam).locator("[data-testid=policy-form]")).to_have_count(0)
    # His templates are the team's: the three the demo seeded.
    _team(sam).locator("[data-testid=team-tab-templates]").click()
    expect(_team(sam).locator("[data-testid=template]")).to_have_count(3)


def test_templates_in_outlooks_own_reply_and_beside_the_draft(
    page: Page, fresh_demo: DemoHandle
) -> None:
    """Reply in Outlook starts from a template filled for the customer; beside the draft, the
    pane's Insert text has the templates too, filled from the draft's To and From."""
    item = next(i for i in unowned(fresh_demo, SUPPORT) if i["from"]["address"] != SUPPORT)
    first = item["from"]["name"].split()[0]
    lee = open_item(page, fresh_demo, "lee@contoso.com", SUPPORT, item["id"])
    card = lee.locator("[data-testid=outlook-reply-card]")
    card.locator("[data-testid=template-select]").select_option(label="Thanks, we're on it")
    card.locator("[data-testid=template-insert]").click()
    text = card.locator("[data-testid=outlook-reply-text]").input_value()
    assert text.startswith(f"Hi {first},\n\nThanks for writing to Contoso Support.")
    assert text.endswith("Best regards,\nLee Gu")
    card.locator("[data-testid=outlook-reply]").click()
    expect(page.locator("[data-testid=compose]")).to_be_visible(timeout=15_000)
    body = page.locator("[data-testid=compose-body]")
    expect(body).to_contain_text(f"Hi {first},")

    beside = page.frame_locator("#taskpane-frame")
    settled(beside)
    insert = beside.locator("[data-testid=insert-card]")
    insert.locator("[data-testid=template-select]").select_option(label="Refund on its way")
    insert.locator("[data-testid=template-insert]").click()
    filled = insert.locator("[data-testid=insert-text]").input_value()
    assert filled.startswith(f"Hi {first},\n\nThe refund is on its way")
    assert filled.endswith("Lee Gu\nContoso Support")  # the mailbox's name from the draft's From
    insert.locator("[data-testid=insert-button]").click()
    expect(insert.locator("[data-testid=insert-notice]")).to_have_text("Inserted in your message.")
    expect(body).to_contain_text("The refund is on its way")
    screenshot(page, "queue-08-a-template-beside-the-draft")
    assert axe_violations(page) == []
