import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";

import {
  ApiProblem,
  bodyOf,
  explain,
  PROBLEM_MESSAGES,
  postContext,
  REQUEST_TIMEOUT_MS,
  safeHttpsUrl,
} from "../api.js";
import { AuthError } from "../auth.js";
import { settle } from "./clock.js";

/**
 * @import { TokenRequest } from "../auth.js"
 * @import { ItemContext, OwnMailbox, SharedMailbox } from "../context.js"
 */

/** What every context of these tests says about the item and the person. */
const ITEM = {
  ewsId: "AAMkAD/item",
  subject: "Printer jams",
  from: { name: "Maria Lopez", address: "maria.lopez@adatum.com" },
  person: { name: "Adele Vance", address: "adele@contoso.com" },
};
/** @type {OwnMailbox} */
const OWN = {
  ...ITEM,
  state: "own",
  itemId: "AAMkAD-own_item",
  itemType: "message",
  mailbox: "adele@contoso.com",
  shared: null,
};
/** @type {SharedMailbox} */
const SHARED = {
  ...ITEM,
  state: "shared",
  itemId: "AAMkAD-shared_item",
  itemType: "message",
  mailbox: "support@contoso.com",
  shared: {
    targetMailbox: "support@contoso.com",
    targetRestUrl: "https://outlook.office.com/api",
    owner: "support@contoso.com",
    delegatePermissions: 63,
  },
};
const ANSWER = {
  mailbox: { address: "support@contoso.com", kind: "shared" },
  item: { subject: "Hi" },
  actions: {},
};

/**
 * A problem+json response as the backend writes it.
 * @param {number} status
 * @param {string} code
 * @param {object} [members]
 * @param {Record<string, string>} [headers]
 */
function problem(status, code, members = {}, headers = {}) {
  const body = {
    type: `urn:tandem:problem:${code}`,
    title: "t",
    status,
    detail: "d",
    code,
    requestId: "req-1",
    ...members,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/problem+json", ...headers },
  });
}

/**
 * A fake fetch answering from a queue (undefined: the context answer) and recording each request.
 * @param {...(Response | Error | undefined)} answers
 */
function fakeFetch(...answers) {
  /**
   * @type {{url: RequestInfo | URL, init: RequestInit & {headers: Record<string, string>},
   *   body: unknown, auth: string}[]}
   */
  const requests = [];
  /** @type {typeof globalThis.fetch} */
  const fetch = async (url, options) => {
    // The pane posts a JSON string with its headers as a plain object.
    const init = /** @type {RequestInit & {headers: Record<string, string>}} */ (options);
    requests.push({
      url,
      init,
      body: JSON.parse(String(init.body)),
      auth: init.headers.Authorization,
    });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return (
      next ??
      new Response(JSON.stringify(ANSWER), {
        status: 200,
        headers: { "Content-Type": "application/json" },
      })
    );
  };
  return { fetch, requests };
}

/** A fake getToken handing out numbered tokens and recording its requests. */
function fakeTokens() {
  /** @type {TokenRequest[]} */
  const asked = [];
  /** @param {TokenRequest} request */
  const getToken = async (request) => {
    asked.push(request);
    return `token-${asked.length}`;
  };
  return { getToken, asked };
}

describe("bodyOf", () => {
  it("omits shared for the person's own mailbox", () => {
    assert.deepEqual(bodyOf(OWN), { itemId: OWN.itemId, itemType: "message" });
  });

  it("carries the four shared properties for a shared item", () => {
    assert.deepEqual(bodyOf(SHARED), {
      itemId: SHARED.itemId,
      itemType: "message",
      shared: SHARED.shared,
    });
  });
});

describe("postContext", () => {
  it("posts the context with the SSO token as a bearer token", async () => {
    const { fetch, requests } = fakeFetch();
    const tokens = fakeTokens();
    const answer = await postContext(SHARED, {
      fetch,
      getToken: tokens.getToken,
      baseUrl: "https://localhost:3000",
    });
    assert.deepEqual(answer, ANSWER);
    assert.equal(requests.length, 1);
    assert.equal(requests[0].url, "https://localhost:3000/api/items/context");
    assert.equal(requests[0].init.method, "POST");
    assert.equal(requests[0].auth, "Bearer token-1");
    assert.equal(requests[0].init.headers["Content-Type"], "application/json");
    assert.deepEqual(requests[0].body, bodyOf(SHARED));
  });

  it("gets a fresh token and retries once on token_expired", async () => {
    const { fetch, requests } = fakeFetch(problem(401, "token_expired"));
    const tokens = fakeTokens();
    assert.deepEqual(await postContext(OWN, { fetch, getToken: tokens.getToken }), ANSWER);
    assert.equal(requests.length, 2);
    assert.deepEqual(
      requests.map((r) => r.auth),
      ["Bearer token-1", "Bearer token-2"],
    );
    assert.deepEqual(tokens.asked, [{}, { fresh: true }]);
  });

  it("retries token_expired only once", async () => {
    const { fetch, requests } = fakeFetch(
      problem(401, "token_expired"),
      problem(401, "token_expired"),
      undefined,
    );
    const tokens = fakeTokens();
    await assert.rejects(postContext(OWN, { fetch, getToken: tokens.getToken }), (error) => {
      assert.ok(error instanceof ApiProblem);
      assert.equal(error.code, "token_expired");
      return true;
    });
    assert.equal(requests.length, 2);
  });

  it("passes interaction_required's claims to getToken as authChallenge and retries once", async () => {
    const claims = '{"access_token":{"capolids":{"essential":true,"values":["p1"]}}}';
    const { fetch, requests } = fakeFetch(problem(401, "interaction_required", { claims }));
    const tokens = fakeTokens();
    assert.deepEqual(await postContext(SHARED, { fetch, getToken: tokens.getToken }), ANSWER);
    assert.deepEqual(tokens.asked, [{}, { authChallenge: claims }]);
    assert.equal(requests[1].auth, "Bearer token-2");
  });

  it("gives up after a second interaction_required", async () => {
    const claims = "c";
    const { fetch, requests } = fakeFetch(
      problem(401, "interaction_required", { claims }),
      problem(401, "interaction_required", { claims }),
    );
    const tokens = fakeTokens();
    await assert.rejects(
      postContext(SHARED, { fetch, getToken: tokens.getToken }),
      (e) => e instanceof ApiProblem && e.code === "interaction_required",
    );
    assert.equal(requests.length, 2);
    assert.equal(tokens.asked.length, 2);
  });

  it("does not retry other problems", async () => {
    const { fetch, requests } = fakeFetch(problem(403, "mailbox_access_denied"));
    await assert.rejects(
      postContext(SHARED, { fetch, getToken: fakeTokens().getToken }),
      (e) => e instanceof ApiProblem && e.code === "mailbox_access_denied",
    );
    assert.equal(requests.length, 1);
  });

  it("turns problem+json into an ApiProblem with every member", async () => {
    const holder = { upn: "lee@contoso.com", name: "Lee Gu" };
    const { fetch } = fakeFetch(problem(409, "conflict", { holder, field: "etag" }));
    await assert.rejects(
      postContext(SHARED, { fetch, getToken: fakeTokens().getToken }),
      (error) => {
        assert.ok(error instanceof ApiProblem);
        assert.equal(error.status, 409);
        assert.equal(error.code, "conflict");
        assert.equal(error.detail, "d");
        assert.equal(error.requestId, "req-1");
        assert.deepEqual(error.holder, holder);
        assert.equal(error.field, "etag");
        return true;
      },
    );
  });

  it("reads throttled's retryAfter member and never the Retry-After header", async () => {
    const first = fakeFetch(problem(429, "throttled", { retryAfter: 7 }));
    await assert.rejects(
      postContext(OWN, { fetch: first.fetch, getToken: fakeTokens().getToken }),
      (e) => e instanceof ApiProblem && e.retryAfter === 7,
    );
    const second = fakeFetch(problem(429, "throttled", {}, { "Retry-After": "12" }));
    await assert.rejects(
      postContext(OWN, { fetch: second.fetch, getToken: fakeTokens().getToken }),
      (e) => e instanceof ApiProblem && e.code === "throttled" && e.retryAfter === null,
    );
  });

  it("names a response that is not problem+json by its status", async () => {
    const html = new Response("<h1>Bad gateway</h1>", {
      status: 502,
      headers: { "Content-Type": "text/html" },
    });
    const { fetch } = fakeFetch(html);
    await assert.rejects(
      postContext(OWN, { fetch, getToken: fakeTokens().getToken }),
      (e) => e instanceof ApiProblem && e.code === "bad_gateway" && e.status === 502,
    );
  });

  it("gives up with timeout when the backend never answers", async () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      /** @type {typeof globalThis.fetch} */
      const fetch = (_url, init) =>
        new Promise((_resolve, reject) => {
          const signal = init?.signal;
          assert.ok(signal, "the pane gives its request a signal: the one its timeout aborts");
          signal.addEventListener("abort", () =>
            reject(new DOMException("The operation was aborted.", "AbortError")),
          );
        });
      const pending = postContext(OWN, { fetch, getToken: fakeTokens().getToken });
      const checked = assert.rejects(
        pending,
        (e) => e instanceof ApiProblem && e.code === "timeout" && e.status === 0,
      );
      await settle();
      mock.timers.tick(REQUEST_TIMEOUT_MS);
      await checked;
    } finally {
      mock.timers.reset();
    }
  });

  it("turns a network failure into network_error", async () => {
    const { fetch } = fakeFetch(new TypeError("Failed to fetch"));
    await assert.rejects(
      postContext(OWN, { fetch, getToken: fakeTokens().getToken }),
      (e) => e instanceof ApiProblem && e.code === "network_error",
    );
  });

  it("lets sign-in failures through untouched", async () => {
    const { fetch, requests } = fakeFetch();
    const getToken = async () => {
      throw new AuthError(13001);
    };
    await assert.rejects(postContext(OWN, { fetch, getToken }), AuthError);
    assert.equal(requests.length, 0);
  });

  it("refuses to call the backend for an unknown or empty context", async () => {
    const { fetch, requests } = fakeFetch();
    /** @type {ItemContext[]} */
    const contexts = [
      { ...OWN, state: "unknown", reason: "failed", detail: "9018", mailbox: null },
      { state: "none", reason: "nothing-selected", mailbox: null, person: ITEM.person },
    ];
    for (const ctx of contexts) {
      await assert.rejects(
        postContext(ctx, { fetch, getToken: fakeTokens().getToken }),
        RangeError,
      );
    }
    assert.equal(requests.length, 0);
  });
});

describe("explain", () => {
  const codes = [
    "invalid_request",
    "target_not_allowed",
    "invalid_token",
    "token_expired",
    "interaction_required",
    "consent_required",
    "permission_denied",
    "mailbox_access_denied",
    "send_as_denied",
    "mailbox_not_found",
    "item_not_found",
    "conflict",
    "throttled",
    "upstream_unavailable",
    "server_misconfigured",
  ];

  it("has a sentence with a fix for every contract code", () => {
    const sentences = codes.map(
      (code) => explain(new ApiProblem({ code, requestId: "r" }, 400)).message,
    );
    for (const [i, sentence] of sentences.entries()) {
      assert.ok(PROBLEM_MESSAGES[codes[i]], codes[i]);
      assert.doesNotMatch(sentence, /answered with an error/, codes[i]);
    }
    assert.equal(new Set(sentences).size, codes.length);
  });

  it("keeps the server's reason as small print where its own sentence is general", () => {
    const why = "The token was issued for another application.";
    const refused = explain(new ApiProblem({ code: "invalid_token", detail: why }, 401));
    assert.equal(refused.serverSaid, why);
    assert.doesNotMatch(refused.message, /another application/); // the sentence stays the pane's
    const long = explain(
      new ApiProblem({ code: "server_misconfigured", detail: `  ${"x".repeat(500)} ` }, 500),
    );
    assert.equal(long.serverSaid, "x".repeat(300));
    for (const problem of [
      { code: "item_not_found", detail: "The item is gone, or it belongs to another mailbox." },
      { code: "invalid_token", detail: { not: "a string" } },
      { code: "invalid_token" },
      { code: "send_outcome_unknown", detail: "Microsoft 365 didn't confirm it." },
    ]) {
      const body = /** @type {any} */ (problem); // a detail of another type, as a server may send
      assert.equal(explain(new ApiProblem(body, 401)).serverSaid, null, problem.code);
    }
    assert.equal(explain(new Error("boom")).serverSaid, null);
  });

  it("says how long to wait when throttled", () => {
    const explained = explain(new ApiProblem({ code: "throttled", retryAfter: 30 }, 429));
    assert.match(explained.message, /30 seconds/);
    assert.equal(explained.retryAfter, 30);
    assert.equal(explained.retry, true);
  });

  it("offers the consent page as an https link only", () => {
    const url = "https://login.microsoftonline.com/contoso/adminconsent?client_id=x";
    const ok = explain(new ApiProblem({ code: "consent_required", consentUrl: url }, 403));
    assert.deepEqual(ok.link, { href: url, text: "Open the consent page" });
    const bad = explain(
      new ApiProblem({ code: "consent_required", consentUrl: "javascript:alert(1)" }, 403),
    );
    assert.equal(bad.link, null);
    assert.equal(safeHttpsUrl("http://example.com"), null);
  });

  it("names the claim holder on conflict by name, else by upn", () => {
    const named = { upn: "pat@contoso.com", name: "Pat Ortiz" };
    const message = explain(new ApiProblem({ code: "conflict", holder: named }, 409)).message;
    assert.match(message, /^Pat Ortiz has claimed this item, so Tandem changed nothing\./);
    const unnamed = { upn: "pat@contoso.com", name: "" };
    assert.match(
      explain(new ApiProblem({ code: "conflict", holder: unnamed }, 409)).message,
      /pat@/,
    );
    const none = explain(new ApiProblem({ code: "conflict" }, 409)).message;
    assert.doesNotMatch(none, /claimed/);
    assert.match(none, /^Someone changed this item since you opened it/);
    assert.match(none, /Reload/);
  });

  it("keeps the request id and the backend's title for contract codes", () => {
    const explained = explain(
      new ApiProblem(
        {
          code: "mailbox_access_denied",
          title: "Exchange refused access to this mailbox",
          requestId: "abc",
        },
        403,
      ),
    );
    assert.equal(explained.requestId, "abc");
    assert.equal(explained.title, "Exchange refused access to this mailbox");
    assert.equal(explained.retry, true);
  });

  it("offers no Try again where only a change of settings helps", () => {
    for (const code of [
      "invalid_request",
      "target_not_allowed",
      "mailbox_not_found",
      "server_misconfigured",
    ]) {
      assert.equal(explain(new ApiProblem({ code }, 400)).retry, false, code);
    }
  });

  it("explains sign-in failures with Office's code", () => {
    const explained = explain(new AuthError(13003));
    assert.equal(explained.code, "auth_13003");
    assert.equal(explained.officeCode, 13003);
    assert.match(explained.message, /work or school account/);
  });

  it("has a sentence for anything unexpected", () => {
    assert.equal(explain(new Error("boom")).code, "unexpected");
  });
});
