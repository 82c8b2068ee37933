// The unit tests of actions.js, api.js's action calls and controls.js's parsers, on the shared
// fakes of fakes.js; each describe block stands alone.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  buttonsFor,
  ItemActions,
  PROGRESS_DELAY_MS,
  PROGRESS_TEXT,
  resultMessage,
} from "../actions.js";
import { ApiProblem, postAction, postFolders, postPresence, presenceGoneNow } from "../api.js";
import { parseCategoryNames, parseRecipients } from "../controls.js";
import { advance, settle, useMockTimers } from "./clock.js";
import {
  CONTEXT_BODY,
  contextAnswer,
  fakeBackend,
  fakeTokens,
  json,
  problem,
  SHARED,
} from "./fakes.js";

/**
 * @import { ShownAnswer } from "../actions.js"
 * @import { ActionResult } from "../types/contract"
 * @import { Queued } from "./fakes.js"
 */

describe("the action routes' calls", () => {
  it("posts the context, the etag and the action's fields with the bearer token", async () => {
    const { fetch, requests } = fakeBackend({
      "/api/items/actions/categorize": [json({ action: "categorize", item: null, result: {} })],
    });
    await postAction(
      SHARED,
      "categorize",
      { etag: 'W/"ck-1"', fields: { add: ["Escalated"], remove: [] } },
      { fetch, getToken: fakeTokens().getToken },
    );
    assert.equal(requests.length, 1);
    assert.equal(requests[0].init.method, "POST");
    assert.equal(requests[0].auth, "Bearer token-1");
    assert.deepEqual(requests[0].body, {
      ...CONTEXT_BODY,
      add: ["Escalated"],
      remove: [],
      etag: 'W/"ck-1"',
    });
  });

  it("retries an action once with a fresh token after token_expired", async () => {
    const { fetch, requests } = fakeBackend({
      "/api/items/actions/claim": [
        problem(401, "token_expired"),
        json({ action: "claim", item: null, result: {} }),
      ],
    });
    const tokens = fakeTokens();
    await postAction(SHARED, "claim", {}, { fetch, getToken: tokens.getToken });
    assert.deepEqual(tokens.asked, [{}, { fresh: true }]);
    assert.deepEqual(
      requests.map((r) => r.auth),
      ["Bearer token-1", "Bearer token-2"],
    );
  });

  it("passes an action's interaction_required claims on as the challenge", async () => {
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    const { fetch } = fakeBackend({
      "/api/items/actions/flag": [
        problem(401, "interaction_required", { claims }),
        json({ action: "flag", item: null, result: {} }),
      ],
    });
    const tokens = fakeTokens();
    await postAction(SHARED, "flag", { fields: { flag: "flagged" } }, { fetch, ...tokens });
    assert.deepEqual(tokens.asked, [{}, { authChallenge: claims }]);
  });

  it("keeps a conflict's holder, etag and current item", async () => {
    const item = { id: SHARED.itemId, etag: 'W/"ck-9"' };
    const { fetch } = fakeBackend({
      "/api/items/actions/flag": [problem(409, "conflict", { etag: 'W/"ck-9"', item })],
    });
    await assert.rejects(
      postAction(SHARED, "flag", { fields: { flag: "flagged" } }, { fetch, ...fakeTokens() }),
      (error) =>
        error instanceof ApiProblem &&
        error.code === "conflict" &&
        error.etag === 'W/"ck-9"' &&
        error.item?.id === item.id,
    );
  });

  it("lists the folders and reports presence with the context body", async () => {
    const folders = [{ id: "f1", name: "Escalations", path: "Inbox/Escalations" }];
    const { fetch, requests } = fakeBackend({
      "/api/mailbox/folders": [json({ folders })],
      "/api/items/presence": [json({ others: [], ttl: 30 })],
    });
    assert.deepEqual(await postFolders(SHARED, { fetch, ...fakeTokens() }), folders);
    await postPresence(SHARED, "replying", { fetch, ...fakeTokens() });
    assert.deepEqual(requests[0].body, CONTEXT_BODY);
    assert.deepEqual(requests[1].body, { ...CONTEXT_BODY, state: "replying" });
  });

  it("sends the unload's gone at once, with keepalive and the token it is given", () => {
    const { fetch, requests } = fakeBackend({ "/api/items/presence": [json({ others: [] })] });
    presenceGoneNow(SHARED, "kept-token", { fetch });
    // No await before the check: the request left while the page was still there.
    assert.equal(requests.length, 1);
    assert.equal(requests[0].keepalive, true);
    assert.equal(requests[0].auth, "Bearer kept-token");
    assert.equal(requests[0].body.state, "gone");
  });
});

describe("ItemActions", () => {
  useMockTimers();

  /**
   * An ItemActions on SHARED with a fake backend, recording busy and progress calls.
   * @param {Record<string, Queued[]>} routes
   * @param {ShownAnswer} [answer]
   */
  function setup(routes, answer = contextAnswer()) {
    const backend = fakeBackend(routes);
    const tokens = fakeTokens();
    /** @type {unknown[][]} */
    const events = [];
    const actions = new ItemActions({
      seams: { fetch: backend.fetch, getToken: tokens.getToken },
      onBusy: (busy, name) => events.push(["busy", busy, name]),
      onProgress: (text) => events.push(["progress", text]),
    });
    actions.show(SHARED, answer);
    return { actions, events, ...backend, tokens };
  }

  const claimed = contextAnswer({
    etag: 'W/"ck-2"',
    claim: { upn: "lee@contoso.com", name: "Lee Gu", mine: true },
  });

  it("shows no progress for an action answered within 300 ms", async () => {
    const { actions, events } = setup({
      "/api/items/actions/claim": [{ delayMs: 100, response: json({ item: claimed.item }) }],
      "/api/items/context": [json(claimed)],
    });
    const done = actions.perform("claim");
    await advance(100);
    const outcome = await done;
    assert.equal(outcome.kind, "done");
    assert.deepEqual(events, [
      ["busy", true, "claim"],
      ["progress", null],
      ["busy", false, "claim"],
    ]);
  });

  it("shows progress once the action has run 300 ms", async () => {
    const { actions, events } = setup({
      "/api/items/actions/move": [{ delayMs: 2000, response: json({ item: claimed.item }) }],
      "/api/items/context": [json(claimed)],
    });
    const done = actions.perform("move", { folder: "f1" });
    await advance(PROGRESS_DELAY_MS - 1);
    assert.equal(
      events.some(([kind, text]) => kind === "progress" && text),
      false,
    );
    await advance(1);
    assert.deepEqual(events.at(-1), ["progress", PROGRESS_TEXT.move]);
    assert.equal(actions.busy, true);
    await advance(2000);
    await done;
    assert.deepEqual(events.slice(-2), [
      ["progress", null],
      ["busy", false, "move"],
    ]);
    assert.equal(actions.busy, false);
  });

  it("refuses a second action while one runs: a double click sends one request", async () => {
    const { actions, requests } = setup({
      "/api/items/actions/claim": [{ delayMs: 500, response: json({ item: claimed.item }) }],
      "/api/items/context": [json(claimed)],
    });
    const first = actions.perform("claim");
    const second = await actions.perform("claim");
    assert.deepEqual(second, { kind: "busy" });
    await advance(500);
    assert.equal((await first).kind, "done");
    const posted = requests.filter((r) => r.path === "/api/items/actions/claim");
    assert.equal(posted.length, 1);
  });

  it("sends the etag it last saw, and the fresh one after each action", async () => {
    const { actions, requests } = setup({
      "/api/items/actions/claim": [json({ item: claimed.item, result: { changed: true } })],
      "/api/items/actions/release": [json({ item: contextAnswer().item, result: {} })],
      "/api/items/context": [json(claimed)],
    });
    await actions.perform("claim");
    await actions.perform("release");
    const actionBodies = requests.filter((r) => r.path.startsWith("/api/items/actions/"));
    assert.deepEqual(
      actionBodies.map((r) => r.body.etag),
      ['W/"ck-1"', 'W/"ck-2"'],
    );
  });

  it("asks the server again what may be done, and renders what it says", async () => {
    const { actions, requests } = setup({
      "/api/items/actions/claim": [
        json({ action: "claim", item: claimed.item, result: { changed: true } }),
      ],
      "/api/items/context": [json(claimed)],
    });
    const outcome = await actions.perform("claim");
    assert.equal(outcome.kind, "done");
    assert.deepEqual(outcome.answer.actions, claimed.actions);
    assert.match(outcome.message, /You claimed this item/);
    assert.deepEqual(
      requests.map((r) => r.path),
      ["/api/items/actions/claim", "/api/items/context"],
    );
  });

  it("renders an answer that carries the item and what may be done, asking nothing more", async () => {
    const record = {
      conversation: {
        id: "conv-1",
        assignee: { upn: "lee@contoso.com", name: "Lee Gu" },
        status: "open",
        customerSince: null,
        answeredAt: null,
        firstResponseDue: null,
        overdue: false,
      },
      notes: [],
      timeline: [],
      members: [],
    };
    const { actions, requests } = setup({
      "/api/items/actions/claim": [
        json({
          action: "claim",
          item: claimed.item,
          actions: claimed.actions,
          result: { changed: true },
          record,
        }),
      ],
    });
    const outcome = await actions.perform("claim");
    assert.equal(outcome.kind, "done");
    assert.equal(outcome.gone, false);
    assert.deepEqual(outcome.answer.item, claimed.item);
    assert.deepEqual(outcome.answer.actions, claimed.actions);
    assert.deepEqual(outcome.answer.record, record);
    assert.deepEqual(outcome.answer.person, contextAnswer().person);
    assert.deepEqual(
      requests.map((r) => r.path),
      ["/api/items/actions/claim"],
    );
    assert.equal(actions.answer?.item.etag, 'W/"ck-2"'); // the next action sends it
  });

  it("asks for the context after a send, whose answer carries no item", async () => {
    const { actions, requests } = setup({
      "/api/items/actions/reply": [
        json({
          action: "reply",
          item: null,
          result: {
            sent: true,
            route: "mailbox",
            sentAs: "sendAs",
            sentCopyIn: "support@contoso.com",
          },
          record: null,
        }),
      ],
      "/api/items/context": [json(claimed)],
    });
    const outcome = await actions.perform("reply", { comment: "On it.", send: true });
    assert.equal(outcome.kind, "done");
    assert.equal(outcome.gone, false);
    assert.match(outcome.message, /was sent as support@contoso\.com/);
    assert.deepEqual(outcome.answer.item, claimed.item);
    assert.deepEqual(
      requests.map((r) => r.path),
      ["/api/items/actions/reply", "/api/items/context"],
    );
  });

  it("uses the new id after a move, for the context call and every later action", async () => {
    const moved = contextAnswer({ id: "AAMkAD-new_id", etag: 'W/"ck-3"' });
    const { actions, requests } = setup({
      "/api/items/actions/move": [
        json({
          item: moved.item,
          result: {
            id: "AAMkAD-new_id",
            previousId: SHARED.itemId,
            movedTo: { name: "Escalations" },
          },
        }),
      ],
      "/api/items/actions/flag": [json({ item: moved.item, result: { flag: "flagged" } })],
      "/api/items/context": [json(moved)],
    });
    const outcome = await actions.perform("move", { folder: "f1" });
    assert.equal(outcome.kind, "done");
    assert.equal(outcome.ctx.itemId, "AAMkAD-new_id");
    assert.equal(outcome.message, "Moved to Escalations.");
    await actions.perform("flag", { flag: "flagged" });
    assert.deepEqual(
      requests.map((r) => [r.path, r.body.itemId]),
      [
        ["/api/items/actions/move", SHARED.itemId],
        ["/api/items/context", "AAMkAD-new_id"],
        ["/api/items/actions/flag", "AAMkAD-new_id"],
        ["/api/items/context", "AAMkAD-new_id"],
      ],
    );
    assert.equal(requests[2].body.etag, 'W/"ck-3"');
  });

  it("says a deleted item went to Deleted Items, and asks nothing more", async () => {
    const { actions, requests } = setup({
      "/api/items/actions/delete": [
        json({ item: null, result: { id: null, movedTo: { name: "Deleted Items" } } }),
      ],
    });
    const outcome = await actions.perform("delete");
    assert.equal(outcome.kind, "done");
    assert.equal(outcome.gone, true);
    assert.equal(outcome.message, "Deleted: it went to support@contoso.com's Deleted Items.");
    assert.equal(requests.length, 1);
  });

  it("names who holds the claim when a claim is in the way", async () => {
    const holder = { upn: "lee@contoso.com", name: "Lee Gu" };
    const { actions } = setup({
      "/api/items/actions/claim": [problem(409, "conflict", { holder })],
    });
    const outcome = await actions.perform("claim");
    assert.equal(outcome.kind, "conflict");
    assert.deepEqual(outcome.holder, holder);
    assert.match(outcome.message, /^Lee Gu has claimed this item, so Tandem changed nothing\./);
    assert.match(outcome.message, /Reload/);
    assert.equal(actions.busy, false);
  });

  it("names the new holder when the changed item now carries someone else's claim", async () => {
    const item = { id: SHARED.itemId, claim: { upn: "sam@contoso.com", name: "Sam Taylor" } };
    const { actions } = setup({
      "/api/items/actions/claim": [problem(409, "conflict", { etag: 'W/"ck-8"', item })],
    });
    const outcome = await actions.perform("claim");
    assert.equal(outcome.kind, "conflict");
    assert.deepEqual(outcome.holder, { upn: "sam@contoso.com", name: "Sam Taylor" });
    assert.match(outcome.message, /^Sam Taylor has claimed this item/);
  });

  it("says the item changed when its etag no longer matches", async () => {
    const { actions } = setup({
      "/api/items/actions/markRead": [
        problem(409, "conflict", { etag: 'W/"ck-7"', item: { id: SHARED.itemId } }),
      ],
    });
    const outcome = await actions.perform("markRead");
    assert.equal(outcome.kind, "conflict");
    assert.equal(outcome.holder, null);
    assert.match(outcome.message, /^Someone changed this item since you opened it/);
  });

  it("explains other failures in the problem sentences", async () => {
    const { actions } = setup({
      "/api/items/actions/flag": [problem(403, "mailbox_access_denied", { requestId: "r-1" })],
    });
    const outcome = await actions.perform("flag", { flag: "flagged" });
    assert.equal(outcome.kind, "problem");
    assert.equal(outcome.explained.code, "mailbox_access_denied");
    assert.equal(outcome.explained.requestId, "r-1");
    assert.match(outcome.explained.message, /^Exchange refused access to this mailbox/);
  });

  it("tells a send's failure in the server's own sentence", async () => {
    const words =
      "You may not send as this mailbox: you have neither Send As nor Send on Behalf on it.";
    const { actions } = setup({
      "/api/items/actions/reply": [
        problem(403, "send_as_denied", { requestId: "r-1", detail: words }),
      ],
    });
    const outcome = await actions.perform("reply", { comment: "Hi", send: true });
    assert.equal(outcome.kind, "problem");
    assert.equal(outcome.explained.code, "send_as_denied");
    assert.equal(outcome.explained.message, words);
  });

  it("keeps the action's item when the context call after it fails", async () => {
    const { actions } = setup({
      "/api/items/actions/claim": [json({ item: claimed.item, result: { changed: true } })],
      "/api/items/context": [problem(503, "upstream_unavailable")],
    });
    const outcome = await actions.perform("claim");
    assert.equal(outcome.kind, "done");
    assert.deepEqual(outcome.answer.item, claimed.item);
    assert.equal(outcome.answer.actions, null);
    assert.equal(outcome.answer.refreshProblem?.code, "upstream_unavailable");
  });

  it("does not let a late answer replace another item's state", async () => {
    const other = { ...SHARED, itemId: "AAMkAD-other" };
    const { actions } = setup({
      "/api/items/actions/claim": [{ delayMs: 400, response: json({ item: claimed.item }) }],
      "/api/items/context": [json(claimed)],
    });
    const done = actions.perform("claim");
    await settle();
    actions.show(other, contextAnswer({ id: "AAMkAD-other" }));
    await advance(400);
    await done;
    assert.equal(actions.ctx?.itemId, "AAMkAD-other");
  });
});

describe("result sentences", () => {
  const lee = { mailbox: "support@contoso.com", me: "lee@contoso.com", own: false };
  const nestor = { mailbox: "adele@contoso.com", me: "nestor@contoso.com", own: false };

  it("says a reply went as the mailbox and where its copy is", () => {
    /** @type {ActionResult} */
    const result = { sent: true, route: "mailbox", sentAs: "sendAs", sentCopyIn: lee.mailbox };
    assert.equal(
      resultMessage("reply", { result }, lee),
      "Your reply was sent as support@contoso.com (Send As). The copy is in support@contoso.com's Sent Items.",
    );
  });

  it("says a delegate's reply went on behalf, with the copy in their own Sent Items", () => {
    /** @type {ActionResult} */
    const result = { sent: true, route: "me", sentAs: "sendOnBehalf", sentCopyIn: nestor.me };
    const message = resultMessage("reply", { result }, nestor);
    assert.match(message, /sent on behalf of adele@contoso\.com \(Send on Behalf\)/);
    assert.match(message, /The copy is in your own Sent Items, not in adele@contoso\.com's\./);
  });

  it("says where a draft is saved", () => {
    const mailbox = { sent: false, draft: { mailbox: lee.mailbox, webLink: "https://x" } };
    assert.match(
      resultMessage("forward", { result: mailbox }, lee),
      /^Your forward is saved as a draft in support@contoso\.com's Drafts/,
    );
    /** @type {ActionResult} */
    const own = { sent: false, route: "me", draft: { mailbox: nestor.me } };
    assert.match(resultMessage("replyAll", { result: own }, nestor), /in your own Drafts/);
  });

  it("has a sentence for every action, and for nothing changed", () => {
    const where = lee;
    assert.equal(
      resultMessage("flag", { result: { flag: "complete", changed: true } }, where),
      "The item is marked complete.",
    );
    assert.equal(
      resultMessage("flag", { result: { flag: "notFlagged", changed: true } }, where),
      "Flag cleared.",
    );
    assert.equal(
      resultMessage("markUnread", { result: { isRead: false, changed: true } }, where),
      "Marked as unread.",
    );
    assert.equal(
      resultMessage("claim", { result: { changed: false } }, where),
      "You already hold the claim on this item.",
    );
    assert.equal(
      resultMessage(
        "categorize",
        { result: { categories: ["Tandem: Lee Gu (lee@x)", "VIP"] } },
        where,
      ),
      "Categories saved: VIP.",
    );
    assert.equal(
      resultMessage(
        "release",
        { result: { changed: true, released: { upn: "sam@contoso.com", name: "Sam Taylor" } } },
        where,
      ),
      "You released Sam Taylor's claim on this item.",
    );
    assert.equal(
      resultMessage("respond", { result: { response: "tentativelyAccept", sent: true } }, nestor),
      "You tentatively accepted the meeting for adele@contoso.com; the organizer was sent your response.",
    );
  });
});

describe("the buttons", () => {
  const allowed = { allowed: true };
  const refused = {
    allowed: false,
    missing: ["editOwn or editAll"],
    reason: "Needs the permission: Edit own items or Edit all items",
  };

  it("offers mark read or mark unread, whichever applies", () => {
    const actions = { markRead: allowed, markUnread: allowed };
    assert.deepEqual(
      buttonsFor({ isRead: true }, actions).map((b) => b.key),
      ["markUnread"],
    );
    assert.deepEqual(
      buttonsFor({ isRead: false }, actions).map((b) => b.key),
      ["markRead"],
    );
  });

  it("offers the two flag states the item is not in", () => {
    /** @param {"flagged" | "complete" | "notFlagged"} flag */
    const keys = (flag) => buttonsFor({ flag }, { flag: allowed }).map((b) => b.fields?.flag);
    assert.deepEqual(keys("notFlagged"), ["flagged", "complete"]);
    assert.deepEqual(keys("flagged"), ["complete", "notFlagged"]);
    assert.deepEqual(keys("complete"), ["flagged", "notFlagged"]);
  });

  it("keeps the server's reason on every refused button", () => {
    const buttons = buttonsFor({ isRead: false, flag: "notFlagged" }, { flag: refused });
    assert.equal(buttons.length, 2);
    for (const button of buttons) {
      assert.equal(button.allowed, false);
      assert.equal(button.reason, refused.reason);
    }
  });

  it("opens a form for the actions that need one and never guesses at unknown ones", () => {
    const buttons = buttonsFor(
      {},
      { categorize: allowed, move: allowed, forward: allowed, snooze: allowed },
    );
    assert.deepEqual(
      buttons.map((b) => [b.key, b.form, b.allowed]),
      [
        ["forward", "reply", true],
        ["categorize", "categorize", true],
        ["move", "move", true],
        ["snooze", null, false],
      ],
    );
  });
});

describe("what the forms accept", () => {
  it("takes category names one per line, refusing commas and Tandem's claims", () => {
    assert.deepEqual(parseCategoryNames(" VIP \n\nEscalated\nvip"), {
      names: ["VIP", "Escalated"],
      error: null,
    });
    assert.match(parseCategoryNames("Red, Blue").error ?? "", /comma/);
    assert.match(parseCategoryNames("Tandem: Me (me@x.com)").error ?? "", /Claim and Release/);
  });

  it("takes a forward's recipients separated by semicolons", () => {
    assert.deepEqual(parseRecipients("a@contoso.com; b@fabrikam.com,a@contoso.com"), {
      addresses: ["a@contoso.com", "b@fabrikam.com"],
      error: null,
    });
    assert.match(parseRecipients("").error ?? "", /at least one/);
    assert.match(parseRecipients("maria").error ?? "", /isn't an email address/);
  });
});
