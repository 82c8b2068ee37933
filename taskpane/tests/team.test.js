// The team card's words and the templates' filling: placeholders from the item and the person
// (and what is left when Tandem can't know), durations, ages and due times as a person reads
// them, the policy in a sentence, the chart's summary, and the mailbox calls' bodies.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { postNext, postQueue, postSaveTemplate, postStats } from "../api.js";
import { chartSummary, minutesText } from "../numbers.js";
import { policyText } from "../target.js";
import { ageText, dueText } from "../team.js";
import { fillTemplate, firstName, templateValues, unfilled } from "../templates.js";
import { CONTEXT_BODY, fakeBackend, fakeTokens, json, SHARED } from "./fakes.js";

const NOW = Date.parse("2026-12-06T12:00:00Z");

describe("a template's placeholders", () => {
  const values = templateValues({
    customer: { name: "Olivia Grant", address: "olivia.grant@fabrikam.com" },
    me: { name: "Lee Gu", upn: "lee@contoso.com" },
    mailboxName: "Contoso Support",
  });

  it("are filled from the customer, the person and the mailbox", () => {
    const text =
      "Hi {{customer.firstName}} ({{ customer.name }}),\n{{me.firstName}} / {{me.name}}, {{mailbox.name}}";
    assert.deepEqual(fillTemplate(text, values), {
      text: "Hi Olivia (Olivia Grant),\nLee / Lee Gu, Contoso Support",
      missing: [],
    });
  });

  it("stay in the text, listed once, when Tandem can't know them", () => {
    const unnamed = templateValues({
      customer: { name: "olivia.grant@fabrikam.com", address: "olivia.grant@fabrikam.com" },
      me: { name: "Lee Gu" },
    });
    const filled = fillTemplate(
      "Hi {{customer.firstName}}, {{customer.firstName}}! {{mailbox.name}} {{me.name}} {{order.id}}",
      unnamed,
    );
    assert.equal(
      filled.text,
      "Hi {{customer.firstName}}, {{customer.firstName}}! {{mailbox.name}} Lee Gu {{order.id}}",
    );
    assert.deepEqual(filled.missing, ["customer.firstName", "mailbox.name", "order.id"]);
    assert.deepEqual(unfilled(filled.text), ["customer.firstName", "mailbox.name", "order.id"]);
  });

  it("never take a member of Object.prototype for a value", () => {
    assert.deepEqual(fillTemplate("{{constructor}}{{toString}}", values).missing, [
      "constructor",
      "toString",
    ]);
  });

  it("read first names as Exchange shows people", () => {
    assert.equal(firstName("Lee Gu"), "Lee");
    assert.equal(firstName("Gu, Lee"), "Lee");
    assert.equal(firstName("  Sam  "), "Sam");
    assert.equal(firstName("sam@contoso.com"), null);
    assert.equal(firstName(""), null);
    assert.equal(firstName(undefined), null);
  });
});

describe("the queue's words", () => {
  it("say durations in minutes, hours and days", () => {
    assert.equal(minutesText(0), "0 min");
    assert.equal(minutesText(45.4), "45 min");
    assert.equal(minutesText(60), "1 h");
    assert.equal(minutesText(125), "2 h 5 min");
    assert.equal(minutesText(24 * 60 + 3 * 60 + 10), "1 d 3 h");
    assert.equal(minutesText(2 * 24 * 60), "2 d");
    assert.equal(minutesText(null), "–");
  });

  it("say how long ago a message came", () => {
    assert.equal(ageText("2026-12-06T11:59:40Z", NOW), "just now");
    assert.equal(ageText("2026-12-06T11:48:00Z", NOW), "12 min ago");
    assert.equal(ageText("2026-12-06T03:20:00Z", NOW), "8 h ago");
    assert.equal(ageText("2026-12-05T11:00:00Z", NOW), "1 d ago");
    assert.equal(ageText("not a time", NOW), "");
  });

  it("say when a first answer is due, and by how much it is late", () => {
    assert.deepEqual(dueText({ due: "2026-12-06T07:20:00Z", overdue: true }, NOW), {
      text: "Late by 4 h 40 min",
      late: true,
    });
    assert.deepEqual(dueText({ due: "2026-12-06T12:40:00Z", overdue: false }, NOW), {
      text: "Due in 40 min",
      late: false,
    });
    // Past its due time but not yet marked overdue by the server (a clock between answers).
    assert.equal(dueText({ due: "2026-12-06T11:00:00Z", overdue: false }, NOW)?.late, true);
    const later = dueText({ due: "2026-12-08T14:30:00Z", overdue: false }, NOW, "en-GB");
    assert.match(String(later?.text), /^Due Tue,? 14:30$/);
    assert.equal(dueText({ due: null, overdue: false }, NOW), null);
  });

  it("say the policy in a sentence", () => {
    assert.equal(
      policyText(null),
      "No first-response target is set for this mailbox: nothing is ever late.",
    );
    assert.equal(
      policyText({
        firstResponseMinutes: 240,
        businessHours: {
          days: ["mon", "tue", "wed", "thu", "fri"],
          start: "09:00",
          end: "17:00",
          timeZone: "Europe/London",
        },
      }),
      "The first answer is due within 4 h of business time: Mon, Tue, Wed, Thu, Fri, 09:00–17:00 (Europe/London).",
    );
    assert.equal(
      policyText({
        firstResponseMinutes: 90,
        businessHours: {
          days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
          start: "00:00",
          end: "24:00",
          timeZone: "UTC",
        },
      }),
      "The first answer is due within 1 h 30 min of business time: every day, around the clock (UTC).",
    );
  });

  it("sum the chart up for a screen reader", () => {
    const stats = {
      days: /** @type {7} */ (7),
      mailbox: {
        repliesSent: 5,
        conversationsDone: 2,
        firstResponses: 0,
        firstResponseMedian: null,
        firstResponseP90: null,
      },
      people: [],
      daily: [
        { day: "2026-12-01", replies: 1, done: 0 },
        { day: "2026-12-03", replies: 3, done: 1 },
        { day: "2026-12-06", replies: 1, done: 1 },
      ],
    };
    assert.equal(
      chartSummary(stats),
      "Replies sent per day over the last 7 days: 5 in all, most on Thu 3 Dec (3). Conversations done: 2.",
    );
  });
});

describe("the mailbox calls", () => {
  it("post the item's context with the call's own fields", async () => {
    const queue = { counts: {}, items: [], view: "overdue", page: 2, pages: 2, total: 21 };
    const backend = fakeBackend({
      "/api/mailbox/queue": [json(queue)],
      "/api/mailbox/next": [json({ taken: null })],
      "/api/mailbox/templates/save": [json({ template: { id: "t", name: "N", body: "B" } })],
      "/api/mailbox/stats": [json({ days: 30 })],
    });
    const seams = { fetch: backend.fetch, getToken: fakeTokens().getToken };
    assert.deepEqual(await postQueue(SHARED, "overdue", 2, seams), queue);
    assert.deepEqual(await postNext(SHARED, seams), { taken: null });
    await postSaveTemplate(SHARED, { name: "N", body: "B" }, seams);
    await postSaveTemplate(SHARED, { id: "t", name: "N", body: "B" }, seams);
    await postStats(SHARED, 30, seams);
    assert.deepEqual(
      backend.requests.map((r) => [r.path, r.body]),
      [
        ["/api/mailbox/queue", { ...CONTEXT_BODY, view: "overdue", page: 2 }],
        ["/api/mailbox/next", CONTEXT_BODY],
        ["/api/mailbox/templates/save", { ...CONTEXT_BODY, name: "N", body: "B" }],
        ["/api/mailbox/templates/save", { ...CONTEXT_BODY, id: "t", name: "N", body: "B" }],
        ["/api/mailbox/stats", { ...CONTEXT_BODY, days: 30 }],
      ],
    );
    assert.ok(backend.requests.every((r) => r.auth?.startsWith("Bearer token-")));
  });
});
