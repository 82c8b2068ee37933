import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { PRESENCE_INTERVAL_MS, Presence, presenceLines, presenceText } from "../presence.js";
import { advance, settle, useMockTimers } from "./clock.js";
import { SHARED } from "./fakes.js";

/** @import { Other } from "../types/contract" */

/** @type {Other} */
const SAM = { upn: "sam@contoso.com", name: "Sam Taylor", state: "replying", since: 1 };

/**
 * What the fake route saw of one request.
 * @typedef {{url: RequestInfo | URL, itemId: string, state: string, keepalive: boolean,
 *   auth: string}} Seen
 */

/** A fake presence route: answers `others` (changeable) and records every request. */
function fakePresence() {
  /** @type {Seen[]} */
  const requests = [];
  const backend = {
    /** @type {Other[]} */
    others: [],
    requests,
    fetch: /** @type {typeof fetch} */ (
      async (url, options) => {
        // The pane posts a JSON string with its headers as a plain object.
        const init = /** @type {RequestInit & {headers: Record<string, string>}} */ (options);
        const body = JSON.parse(String(init.body));
        requests.push({
          url,
          itemId: body.itemId,
          state: body.state,
          keepalive: init.keepalive === true,
          auth: init.headers.Authorization,
        });
        return new Response(JSON.stringify({ others: backend.others, ttl: 30 }), {
          status: 200,
          headers: { "Content-Type": "application/json" },
        });
      }
    ),
  };
  return backend;
}

/** A Presence over the fake route, with the lists it was told to show. */
function setup() {
  const backend = fakePresence();
  /** @type {string[][]} */
  const shown = [];
  let n = 0;
  const presence = new Presence({
    seams: { fetch: backend.fetch, getToken: async () => `token-${++n}` },
    onOthers: (others) => shown.push(others.map((o) => `${o.name}:${o.state}`)),
  });
  return { presence, backend, shown };
}

describe("presence sentences", () => {
  it("says who is replying and who is viewing, replying first, each person once", () => {
    assert.equal(presenceText(SAM), "Sam Taylor is replying");
    assert.equal(presenceText({ name: "Lee Gu", state: "viewing" }), "Lee Gu is viewing this");
    const lines = presenceLines([
      { upn: "lee@contoso.com", name: "Lee Gu", state: "viewing" },
      SAM,
      { ...SAM, state: "viewing" },
    ]);
    assert.deepEqual(
      lines.map((l) => l.text),
      ["Sam Taylor is replying", "Lee Gu is viewing this"],
    );
    assert.deepEqual(presenceLines(null), []);
  });
});

describe("Presence", () => {
  useMockTimers();

  it("says viewing when the item is shown, and again every 10 s", async () => {
    const { presence, backend } = setup();
    presence.show(SHARED);
    await settle();
    assert.deepEqual(
      backend.requests.map((r) => r.state),
      ["viewing"],
    );
    await advance(PRESENCE_INTERVAL_MS - 1);
    assert.equal(backend.requests.length, 1);
    await advance(1);
    assert.equal(backend.requests.length, 2);
    await advance(PRESENCE_INTERVAL_MS);
    assert.deepEqual(
      backend.requests.map((r) => r.state),
      ["viewing", "viewing", "viewing"],
    );
  });

  it("shows the others from each answer, and clears them when they go", async () => {
    const { presence, backend, shown } = setup();
    presence.show(SHARED);
    await settle();
    backend.others = [SAM];
    await advance(PRESENCE_INTERVAL_MS);
    backend.others = [];
    await advance(PRESENCE_INTERVAL_MS);
    assert.deepEqual(shown, [[], ["Sam Taylor:replying"], []]);
  });

  it("says replying at once while the form is open, then viewing when it closes", async () => {
    const { presence, backend } = setup();
    presence.show(SHARED);
    await advance(4000);
    presence.replying(true);
    await settle();
    assert.deepEqual(
      backend.requests.map((r) => r.state),
      ["viewing", "replying"],
    );
    // The refresh keeps saying replying, one interval after the change (not after the load).
    await advance(PRESENCE_INTERVAL_MS - 4000);
    assert.equal(backend.requests.length, 2);
    await advance(4000);
    assert.deepEqual(
      backend.requests.map((r) => r.state),
      ["viewing", "replying", "replying"],
    );
    presence.replying(false);
    await settle();
    assert.equal(backend.requests.at(-1)?.state, "viewing");
  });

  it("says gone when the selection moves on, and stops refreshing", async () => {
    const { presence, backend, shown } = setup();
    presence.show(SHARED);
    await settle();
    presence.leave();
    await settle();
    assert.deepEqual(
      backend.requests.map((r) => [r.state, r.keepalive]),
      [
        ["viewing", false],
        ["gone", true],
      ],
    );
    assert.deepEqual(shown.at(-1), []);
    await advance(PRESENCE_INTERVAL_MS * 3);
    assert.equal(backend.requests.length, 2);
  });

  it("says gone for the old id and viewing for the new one after a move", async () => {
    const { presence, backend } = setup();
    presence.show(SHARED);
    await settle();
    presence.show({ ...SHARED, itemId: "AAMkAD-moved" });
    await settle();
    assert.deepEqual(
      backend.requests.map((r) => [r.state, r.itemId]),
      [
        ["viewing", SHARED.itemId],
        ["gone", SHARED.itemId],
        ["viewing", "AAMkAD-moved"],
      ],
    );
  });

  it("drops an answer that arrives after the pane moved on", async () => {
    const { presence, backend, shown } = setup();
    backend.others = [SAM];
    presence.show(SHARED);
    presence.leave();
    await settle();
    assert.deepEqual(shown, [[]]);
  });

  it("says gone as the page unloads, at once, with the token it last used", async () => {
    const { presence, backend } = setup();
    presence.show(SHARED);
    await settle();
    presence.unload();
    const last = backend.requests.at(-1);
    assert.ok(last);
    assert.deepEqual([last.state, last.keepalive, last.auth], ["gone", true, "Bearer token-1"]);
    await advance(PRESENCE_INTERVAL_MS);
    assert.equal(backend.requests.length, 2);
  });

  it("stays quiet when the presence route fails, and tries again at the next refresh", async () => {
    const { presence, shown } = setup();
    let calls = 0;
    presence.seams.fetch = async () => {
      calls += 1;
      throw new TypeError("Failed to fetch");
    };
    const warn = console.warn;
    console.warn = () => {};
    try {
      presence.show(SHARED);
      await advance(PRESENCE_INTERVAL_MS);
    } finally {
      console.warn = warn;
    }
    assert.equal(calls, 2);
    assert.deepEqual(shown, [[], []]);
  });
});
