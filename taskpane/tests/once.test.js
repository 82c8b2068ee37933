// A submission happens once: the pane's Idempotency-Key per submission, reused when the same
// submission is tried again; send_outcome_unknown told as such, with Check again (never Try
// again); the pane waiting longer for an action than the server's worst case.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ItemActions } from "../actions.js";
import { ACTION_TIMEOUT_MS, ApiProblem, actionTimeoutMs, explain } from "../api.js";
import { advance, useMockTimers } from "./clock.js";
import { contextAnswer, fakeBackend, fakeTokens, json, problem, SHARED } from "./fakes.js";

const REPLY = { comment: "We are on it.", send: true };
const SENT = {
  action: "reply",
  item: contextAnswer().item,
  result: { sent: true, route: "mailbox", sentAs: "sendAs", sentCopyIn: "support@contoso.com" },
};
const UNKNOWN_WORDS =
  "Microsoft 365 didn't confirm your reply, so it may or may not have gone out. Tandem won't send it again by itself.";

/**
 * @import { ShownAnswer } from "../actions.js"
 * @import { Queued, Recorded } from "./fakes.js"
 */

/**
 * An ItemActions on SHARED with a fake backend.
 * @param {Record<string, Queued[]>} routes
 * @param {ShownAnswer} [answer]
 */
function setup(routes, answer = contextAnswer()) {
  const backend = fakeBackend({ "/api/items/context": [json(contextAnswer())], ...routes });
  const actions = new ItemActions({ seams: { fetch: backend.fetch, ...fakeTokens() } });
  actions.show(SHARED, answer);
  return { actions, ...backend };
}

/**
 * The Idempotency-Key each request carried.
 * @param {Recorded[]} requests
 * @param {string} [path]
 */
function keys(requests, path = "/api/items/actions/reply") {
  return requests.filter((r) => r.path === path).map((r) => r.init.headers["Idempotency-Key"]);
}

describe("Idempotency-Key", () => {
  it("sends a key of its own with every submission", async () => {
    const { actions, requests } = setup({ "/api/items/actions/flag": [json(SENT)] });
    await actions.perform("flag", { flag: "flagged" });
    await actions.perform("flag", { flag: "complete" });
    const sent = keys(requests, "/api/items/actions/flag");
    assert.equal(sent.length, 2);
    assert.match(sent[0], /^[\x20-\x7e]{1,255}$/);
    assert.notEqual(sent[0], sent[1]);
  });

  it("reuses the key when the same submission is tried again after a failure", async () => {
    const { actions, requests } = setup({
      "/api/items/actions/reply": [problem(503, "upstream_unavailable"), json(SENT)],
    });
    assert.equal((await actions.perform("reply", REPLY)).kind, "problem");
    assert.equal((await actions.perform("reply", REPLY)).kind, "done");
    const [first, second] = keys(requests);
    assert.equal(first, second);
  });

  it("takes a new key once the outcome is known, or the text changed", async () => {
    const { actions, requests } = setup({
      "/api/items/actions/reply": [
        problem(503, "upstream_unavailable"),
        json(SENT),
        json(SENT),
        problem(403, "send_as_denied"),
        json(SENT),
      ],
    });
    await actions.perform("reply", REPLY); // 503: outcome unknown to the pane
    await actions.perform("reply", { ...REPLY, comment: "Edited." }); // another submission
    await actions.perform("reply", REPLY); // after a success: another submission
    await actions.perform("reply", REPLY); // 403: known for sure
    await actions.perform("reply", REPLY); // so a new key
    const sent = keys(requests);
    assert.equal(new Set(sent).size, 5);
  });
});

describe("send_outcome_unknown", () => {
  it("says the server's sentence and offers Check again, never Try again", () => {
    const explained = explain(
      new ApiProblem({ code: "send_outcome_unknown", status: 502, detail: UNKNOWN_WORDS }, 502),
      { action: "reply" },
    );
    assert.equal(explained.message, UNKNOWN_WORDS);
    assert.equal(explained.check, true);
    assert.equal(explained.retry, false);
  });

  it("checks again with the same key, which resolves to sent", async () => {
    const { actions, requests } = setup({
      "/api/items/actions/reply": [
        problem(502, "send_outcome_unknown", { detail: UNKNOWN_WORDS }),
        json(SENT),
      ],
    });
    const first = await actions.perform("reply", REPLY);
    assert.equal(first.kind, "problem");
    assert.equal(first.explained.check, true);
    const checked = await actions.check();
    assert.equal(checked.kind, "done");
    assert.match(checked.message, /was sent as support@contoso.com/);
    const [one, two] = keys(requests);
    assert.equal(one, two);
    assert.deepEqual(requests[0].body, requests[1].body);
  });

  it("calls a reply the pane stopped waiting for unknown, not failed", async () => {
    const { actions } = setup({
      "/api/items/actions/reply": [
        () => {
          throw Object.assign(new Error("aborted"), { name: "AbortError" });
        },
      ],
    });
    const outcome = await actions.perform("reply", REPLY);
    assert.equal(outcome.kind, "problem");
    assert.equal(outcome.explained.check, true);
    assert.equal(outcome.explained.retry, false);
    assert.match(outcome.explained.message, /may or may not have gone out/);
  });
});

describe("how long the pane waits for an action", () => {
  useMockTimers();

  it("waits the server's longest request and a margin, else a default above its worst case", () => {
    assert.equal(actionTimeoutMs({ requestSeconds: 85 }), 100000);
    assert.equal(actionTimeoutMs(null), ACTION_TIMEOUT_MS);
    assert.ok(ACTION_TIMEOUT_MS > 45000);
  });

  it("keeps waiting for a reply past the 45 s it gave any request before", async () => {
    const answer = { ...contextAnswer(), limits: { requestSeconds: 85 } };
    const { actions } = setup(
      { "/api/items/actions/reply": [{ delayMs: 80000, response: json(SENT) }] },
      answer,
    );
    const done = actions.perform("reply", REPLY);
    await advance(80000);
    assert.equal((await done).kind, "done");
  });
});

describe("a reply's length", () => {
  it("counts characters as the server does, against the limit the server said", async () => {
    const { characters, commentLimit, COMMENT_LIMIT } = await import("../controls.js");
    assert.equal(characters("héllo"), 5);
    assert.equal(characters("👍🏽"), 2); // two code points, four UTF-16 units
    assert.equal(characters("𠀋"), 1);
    assert.equal(commentLimit({ limits: { commentCharacters: 500 } }), 500);
    assert.equal(commentLimit({}), COMMENT_LIMIT);
    // @ts-expect-error -- a limit of the wrong type, as a broken server might send one
    assert.equal(commentLimit({ limits: { commentCharacters: "x" } }), COMMENT_LIMIT);
  });
});
