// Fakes the pane's unit tests share: a shared item's context, context answers as the backend
// sends them, and a fake backend and token source recording what was asked. Not a test file
// itself (node --test runs only *.test.js here).

/**
 * @import { TokenRequest } from "../auth.js"
 * @import { SharedMailbox } from "../context.js"
 * @import { Claim, ContextAnswer } from "../types/contract"
 */

/**
 * A request the fake backend saw: its path, what fetch was given, the JSON body, the bearer.
 * @typedef {{path: string, init: RequestInit & {headers: Record<string, string>},
 *   body: Record<string, unknown>, auth: string | undefined, keepalive: boolean}} Recorded
 */

/**
 * One queued answer of a route: a response, a function of the request giving one, or one
 * answered after delayMs on the mocked clock.
 * @typedef {Response | ((request: Recorded) => Response)
 *   | {delayMs: number, response: Response | ((request: Recorded) => Response)}} Queued
 */

/** @type {SharedMailbox} */
export const SHARED = {
  state: "shared",
  itemId: "AAMkAD-shared_item",
  ewsId: "AAMkAD/shared+item",
  itemType: "message",
  subject: "Printer jams",
  from: { name: "Maria Lopez", address: "maria.lopez@adatum.com" },
  mailbox: "support@contoso.com",
  person: { name: "Lee Gu", address: "lee@contoso.com" },
  shared: {
    targetMailbox: "support@contoso.com",
    targetRestUrl: "https://outlook.office.com/api",
    owner: "support@contoso.com",
    delegatePermissions: 63,
  },
};
export const CONTEXT_BODY = {
  itemId: SHARED.itemId,
  itemType: "message",
  shared: SHARED.shared,
};

/**
 * A context answer as the backend sends it, for the item at `id` with `etag`.
 * @param {{id?: string, etag?: string, claim?: Claim | null}} [options]
 * @returns {ContextAnswer}
 */
export function contextAnswer({ id = SHARED.itemId, etag = 'W/"ck-1"', claim = null } = {}) {
  return {
    mailbox: { address: "support@contoso.com", kind: "shared", owner: "support@contoso.com" },
    person: { name: "Lee Gu", upn: "lee@contoso.com" },
    permissions: { read: true, bits: 63 },
    item: { id, etag, subject: "Printer jams", categories: [], claim, isRead: true },
    actions: { claim: { allowed: !claim }, release: { allowed: Boolean(claim) } },
  };
}

/**
 * A JSON response.
 * @param {unknown} body
 * @param {number} [status]
 * @param {string} [type]
 */
export function json(body, status = 200, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

/**
 * A problem+json response.
 * @param {number} status
 * @param {string} code
 * @param {object} [members]
 */
export function problem(status, code, members = {}) {
  return json(
    { type: `urn:tandem:problem:${code}`, title: "t", status, detail: "d", code, ...members },
    status,
    "application/problem+json",
  );
}

/**
 * A fake backend: each route answers from its own queue (a Response, or a function of the
 * request giving one, or {delayMs, response} answered after that long on the mocked clock).
 * @param {Record<string, Queued[]>} routes
 */
export function fakeBackend(routes) {
  /** @type {Recorded[]} */
  const requests = [];
  /** @type {typeof globalThis.fetch} */
  const fetch = async (url, options) => {
    const path = new URL(String(url), "https://localhost:3000").pathname;
    // The pane posts a JSON string with its headers as a plain object.
    const init = /** @type {Recorded["init"]} */ (options);
    const request = {
      path,
      init,
      body: JSON.parse(String(init.body)),
      auth: init.headers.Authorization,
      keepalive: init.keepalive === true,
    };
    requests.push(request);
    const queue = routes[path];
    if (!queue?.length) throw new Error(`no answer queued for ${path}`);
    // The last answer of a route stays: it answers every request after it.
    let next = queue[0];
    if (queue.length > 1) queue.shift();
    if (typeof next === "function") next = next(request);
    if ("delayMs" in next) {
      const { delayMs, response } = next;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return typeof response === "function" ? response(request) : response.clone();
    }
    return next.clone();
  };
  return { fetch, requests };
}

/** Numbered tokens, recording what was asked. */
export function fakeTokens() {
  /** @type {TokenRequest[]} */
  const asked = [];
  return {
    asked,
    /** @param {TokenRequest} request */
    getToken: async (request) => {
      asked.push(request);
      return `token-${asked.length}`;
    },
  };
}
