// The record card's words: each timeline entry as a sentence (never an address but the
// mailbox's), and a note's text with the members it names marked.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { eventText, noteNodes } from "../record.js";

const LEE = { upn: "lee@contoso.com", name: "Lee Gu" };
const SAM = { upn: "sam@contoso.com", name: "Sam Taylor" };

describe("the timeline's sentences", () => {
  it("says who did what", () => {
    assert.equal(
      eventText({ kind: "assigned", actor: LEE, detail: { to: SAM, from: null } }),
      "Lee Gu assigned it to Sam Taylor.",
    );
    assert.equal(
      eventText({ kind: "assigned", actor: SAM, detail: { to: null, from: SAM } }),
      "Sam Taylor made it nobody's.",
    );
    assert.equal(
      eventText({ kind: "assigned", actor: LEE, detail: { to: { ...LEE }, from: null } }),
      "Lee Gu took it.",
    );
    assert.equal(
      eventText({ kind: "status", actor: SAM, detail: { from: "open", to: "pending" } }),
      "Sam Taylor set it to Waiting on the customer.",
    );
    assert.equal(
      eventText({ kind: "status", actor: null, detail: { to: "open", why: "customer_wrote" } }),
      "The customer wrote again: it is open again.",
    );
    assert.equal(
      eventText({ kind: "move", actor: LEE, detail: { to: "Escalations" } }),
      "Lee Gu moved it to Escalations.",
    );
  });

  it("says a reply went as the mailbox, to how many, never to whom", () => {
    /** @type {import("../types/contract").EventDetail} */
    const detail = {
      outcome: "sent",
      route: "mailbox",
      sentAs: "sendAs",
      recipients: 2,
      mailbox: "support@contoso.com",
    };
    assert.equal(
      eventText({ kind: "reply", actor: LEE, detail }),
      "Lee Gu replied as support@contoso.com, to 2 recipients.",
    );
    assert.equal(
      eventText({ kind: "forward", actor: LEE, detail: { ...detail, sentAs: "sendOnBehalf" } }),
      "Lee Gu forwarded it on behalf of support@contoso.com, to 2 recipients.",
    );
    assert.match(
      eventText({ kind: "reply", actor: LEE, detail: { outcome: "unknown" } }),
      /didn't confirm/,
    );
  });
});

describe("a note's text", () => {
  it("marks the members it names and leaves the rest as text", () => {
    const members = new Set(["sam@contoso.com"]);
    const text = "@sam@contoso.com please call; @nobody@example.com isn't ours.\n<b>x</b>";
    const nodes = noteNodes(globalThis.document ?? fakeDocument(), text, members);
    const marked = nodes
      .filter((n) => /** @type {Element} */ (n).tagName === "MARK")
      .map((n) => n.textContent);
    assert.deepEqual(marked, ["@sam@contoso.com"]);
    assert.equal(nodes.map((n) => n.textContent).join(""), text);
  });
});

/** Just enough of a DOM for h(): elements and text nodes with textContent. */
function fakeDocument() {
  /** @param {string} tag */
  const element = (tag) => {
    /** @type {any[]} */
    const children = [];
    return {
      tagName: tag.toUpperCase(),
      setAttribute() {},
      /** @param {...any} nodes */
      append(...nodes) {
        children.push(...nodes);
      },
      get textContent() {
        return children.map((c) => c.textContent).join("");
      },
    };
  };
  return /** @type {any} */ ({
    createElement: element,
    /** @param {string} text */
    createTextNode: (text) => ({ textContent: text }),
  });
}
