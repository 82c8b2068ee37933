// What the team card's panels share: the card they live in (its mailbox, its seams, its
// clock), how a panel is filled, a loading line, a failure with Try again, and a save's
// refusal in the server's own words.

import { explain } from "./api.js";
import { h } from "./ui.js";

/**
 * @import { Explained, Seams } from "./api.js"
 * @import { KnownMailbox } from "./context.js"
 */

/**
 * What a panel of the team card is given by the card.
 * @typedef {object} PanelHost
 * @property {Document} doc
 * @property {KnownMailbox} ctx  an item of the mailbox (it says which mailbox)
 * @property {Seams} seams  how calls get their token
 * @property {() => number} now  epoch milliseconds
 * @property {(name: string) => void} count  counts an event for tests (data-<name>)
 */

/**
 * Replaces a panel's content with the children given (null ones left out).
 * @param {HTMLElement} panel
 * @param {...(Node | null)} children
 */
export function fill(panel, ...children) {
  panel.replaceChildren(.../** @type {Node[]} */ (children.filter((c) => c !== null)));
}

let serial = 0;

/**
 * A unique id for label/aria wiring within the pane.
 * @param {string} prefix
 */
export function uid(prefix) {
  serial += 1;
  return `${prefix}-${serial}`;
}

/**
 * A line saying what is loading (a status).
 * @param {Document} d
 * @param {string} text
 */
export function loadingLine(d, text) {
  return h(d, "p", { class: "small-print", role: "status" }, text);
}

/**
 * A failure in a panel, with Try again.
 * @param {Document} d
 * @param {HTMLElement} panel
 * @param {unknown} error
 * @param {() => void} retry
 */
export function failed(d, panel, error, retry) {
  const explained = /** @type {Explained} */ (explain(error));
  const again = h(
    d,
    "button",
    { type: "button", class: "button button-secondary", "data-testid": "team-retry" },
    "Try again",
  );
  again.addEventListener("click", retry);
  panel.replaceChildren(
    h(
      d,
      "div",
      {
        class: "notice notice-problem",
        role: "alert",
        "data-testid": "team-problem",
        "data-code": explained.code,
      },
      h(d, "p", { class: "notice-text" }, explained.message),
      explained.requestId
        ? h(d, "p", { class: "small-print" }, `Request id: ${explained.requestId}`)
        : null,
      again,
    ),
  );
}

/**
 * A save's failure in a sentence: the server's own words for a refused field (they say what is
 * wrong with it), else the contract's sentence.
 * @param {unknown} failure
 */
export function saveProblem(failure) {
  const problem = /** @type {{code?: string, detail?: string}} */ (failure ?? {});
  if (problem.code === "invalid_request" && problem.detail) return problem.detail;
  if (problem.code === "permission_denied" && problem.detail) return problem.detail;
  return explain(failure).message;
}
