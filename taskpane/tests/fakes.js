// Fakes the pane's unit tests share: a shared item's context, context answers as the backend
// sends them, and a fake backend and token source recording what was asked. Not a test file
// itself (node --test runs only *.test.js here).

export const SHARED = {
  state: "shared",
  itemId: "AAMkAD-shared_item",
  itemType: "message",
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

/** A context answer as the backend sends it, for the item at `id` with `etag`. */
export function contextAnswer({ id = SHARED.itemId, etag = 'W/"ck-1"', claim = null } = {}) {
  return {
    mailbox: { address: "support@contoso.com", kind: "shared", owner: "support@contoso.com" },
    person: { name: "Lee Gu", upn: "lee@contoso.com" },
    permissions: { read: true, bits: 63 },
    item: { id, etag, subject: "Printer jams", categories: [], claim, isRead: true },
    actions: { claim: { allowed: !claim }, release: { allowed: Boolean(claim) } },
  };
}

/** A JSON response. */
export function json(body, status = 200, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

/** A problem+json response. */
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
 */
export function fakeBackend(routes) {
  const requests = [];
  const fetch = async (url, init) => {
    const path = new URL(url, "https://localhost:3000").pathname;
    const request = {
      path,
      init,
      body: JSON.parse(init.body),
      auth: init.headers.Authorization,
      keepalive: init.keepalive === true,
    };
    requests.push(request);
    const queue = routes[path];
    if (!queue?.length) throw new Error(`no answer queued for ${path}`);
    let next = queue.length > 1 ? queue.shift() : queue[0];
    if (typeof next === "function") next = next(request);
    if (next?.delayMs) {
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
  const asked = [];
  return {
    asked,
    getToken: async (request) => {
      asked.push(request);
      return `token-${asked.length}`;
    },
  };
}
