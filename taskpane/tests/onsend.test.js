import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { advance, settle, useMockTimers } from "./clock.js";

/**
 * The OnMessageSend handler (launch/onsend.js): every branch of what it tells Outlook. The
 * script is classic (no exports): it registers its handler with Office.actions.associate and
 * puts its parts on globalThis, which is how these tests reach it.
 */

const CONVERSATION = "AAQkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAQAMs3ZXv3xKBBn5tEnN5kSdk=";
const SHARED = {
  targetMailbox: "support@contoso.com",
  targetRestUrl: "https://outlook.office.com/api",
  owner: "support@contoso.com",
  delegatePermissions: 63,
};

/** @type {[string, (event: SendEvent) => unknown][]} */
const associated = [];

/**
 * A compose item's Office as the handler reads it: the conversation, getSharedPropertiesAsync
 * (or its failure), From, and the compose pane's note of the opening in sessionData.
 * @param {{conversationId?: string | null, shared?: object | null, from?: string,
 *   openedAt?: string | null}} [draft]
 * @returns {typeof Office}
 */
function officeWith({
  conversationId = CONVERSATION,
  shared = SHARED,
  from = "support@contoso.com",
  openedAt = "2026-03-02T09:00:00Z",
} = {}) {
  /**
   * @param {unknown} value
   * @param {boolean} [ok]
   */
  const result = (value, ok = true) => ({
    status: ok ? "succeeded" : "failed",
    value,
    error: ok ? undefined : { code: 9018, name: "GenericTokenError", message: "internal" },
  });
  const item = {
    conversationId,
    /** @param {(r: object) => void} done */
    getSharedPropertiesAsync: (done) => setImmediate(() => done(result(shared, shared !== null))),
    from: {
      /** @param {(r: object) => void} done */
      getAsync: (done) => setImmediate(() => done(result({ emailAddress: from }))),
    },
    sessionData: {
      /**
       * @param {string} key
       * @param {(r: object) => void} done
       */
      getAsync: (key, done) =>
        setImmediate(() =>
          done(openedAt && key === "tandem.openedAt" ? result(openedAt) : result(null, false)),
        ),
    },
  };
  const office = {
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    context: {
      mailbox: {
        item,
        userProfile: { emailAddress: "lee@contoso.com", displayName: "Lee Gu" },
        restUrl: "https://outlook.office.com/api",
      },
    },
    actions: {
      /**
       * @param {string} name
       * @param {(event: SendEvent) => unknown} fn
       */
      associate: (name, fn) => associated.push([name, fn]),
    },
  };
  return /** @type {typeof Office} */ (/** @type {unknown} */ (office));
}

/**
 * A fake backend's fetch: answers `answer` (a Response, a function of the request, or a
 * promise), recording each request.
 * @param {Response | Promise<Response> | ((init: RequestInit) => Promise<Response>)} answer
 */
function backend(answer) {
  /** @type {{url: string, init: RequestInit & {headers: Record<string, string>}, body: any}[]} */
  const seen = [];
  const fetch = /** @type {typeof globalThis.fetch} */ (
    async (url, options) => {
      const init = /** @type {RequestInit & {headers: Record<string, string>}} */ (options);
      seen.push({ url: String(url), init, body: JSON.parse(String(init.body)) });
      return typeof answer === "function" ? answer(init) : answer;
    }
  );
  return { fetch, seen };
}

/** @param {unknown} body */
const json = (body, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const runtime = { auth: { getAccessToken: async () => "sso-token" } };

// The script registers itself with the Office it finds as it loads.
globalThis.Office = officeWith();
await import("../launch/onsend.js");
const handler = /** @type {TandemSendCheck} */ (globalThis.tandemSendCheck);

describe("the OnMessageSend handler", () => {
  it("registers under the name both manifests give (onMessageSendHandler)", () => {
    assert.deepEqual(
      associated.map(([name]) => name),
      ["onMessageSendHandler"],
    );
  });

  it("answers within Smart Alerts' five seconds", () => {
    assert.ok(handler.BUDGET_MS < 5000);
  });

  it("warns, naming who replied, when Tandem says someone else did", async () => {
    const sentence = "Sam Taylor replied 3 minutes ago.";
    const { fetch, seen } = backend(json({ warn: { code: "replied", sentence } }));
    const options = await handler.decide({
      office: officeWith(),
      runtime,
      fetch,
      baseUrl: "https://tandem.example",
    });
    assert.deepEqual(options, {
      allowEvent: false,
      errorMessage:
        "Sam Taylor replied 3 minutes ago. Send yours anyway, or choose Don't Send and read the conversation first.",
    });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].url, "https://tandem.example/api/items/sendcheck");
    assert.equal(seen[0].init.headers.Authorization, "Bearer sso-token");
    assert.deepEqual(seen[0].body, {
      conversationId: CONVERSATION,
      itemType: "message",
      shared: SHARED,
      openedAt: "2026-03-02T09:00:00Z",
    });
  });

  it("lets the send go on when nothing happened", async () => {
    const { fetch } = backend(json({ warn: null }));
    const options = await handler.decide({ office: officeWith(), runtime, fetch, baseUrl: "" });
    assert.deepEqual(options, { allowEvent: true });
  });

  it("lets the send go on when Tandem is unreachable or answers an error", async () => {
    const down = backend(() => Promise.reject(new TypeError("Failed to fetch")));
    const failing = backend(json({ code: "upstream_unavailable" }, 503));
    for (const { fetch, seen } of [down, failing]) {
      const options = await handler.decide({ office: officeWith(), runtime, fetch, baseUrl: "" });
      assert.deepEqual(options, { allowEvent: true });
      assert.equal(seen.length, 1);
    }
  });

  it("lets the send go on when it can't sign in (no prompt from a send handler)", async () => {
    const { fetch, seen } = backend(json({ warn: { code: "held", sentence: "x" } }));
    /** @type {OfficeRuntimeAuthOptions[]} */
    const asked = [];
    const refusing = {
      auth: {
        /** @param {OfficeRuntimeAuthOptions} [options] */
        getAccessToken: async (options) => {
          asked.push(options ?? {});
          throw { code: 13001, message: "not signed in" };
        },
      },
    };
    const options = await handler.decide({ office: officeWith(), runtime: refusing, fetch });
    assert.deepEqual(options, { allowEvent: true });
    assert.deepEqual(asked, [{ allowSignInPrompt: false, allowConsentPrompt: false }]);
    assert.equal(seen.length, 0);
  });

  it("doesn't ask about a new message (no conversation yet)", async () => {
    const { fetch, seen } = backend(json({ warn: { code: "held", sentence: "x" } }));
    const office = officeWith({ conversationId: null });
    assert.deepEqual(await handler.decide({ office, runtime, fetch }), { allowEvent: true });
    assert.equal(seen.length, 0);
  });

  it("takes the mailbox from the draft's From when Outlook gives no shared properties", async () => {
    const { fetch, seen } = backend(json({ warn: null }));
    const office = officeWith({ shared: null, openedAt: null });
    await handler.decide({ office, runtime, fetch, baseUrl: "" });
    assert.deepEqual(seen[0].body, {
      conversationId: CONVERSATION,
      itemType: "message",
      shared: {
        targetMailbox: "support@contoso.com",
        targetRestUrl: "https://outlook.office.com/api",
        owner: "support@contoso.com",
        delegatePermissions: 0,
      },
    });
  });

  it("keeps the dialog's message within 500 characters", () => {
    const message = handler.messageFor("Someone replied. ".repeat(60));
    assert.ok(message.length <= 500, String(message.length));
    assert.match(message, /Send yours anyway/);
  });

  it("hands Outlook its decision through event.completed", async () => {
    const [, fn] = associated[0];
    globalThis.fetch = backend(
      json({ warn: { code: "held", sentence: "Lee Gu holds it." } }),
    ).fetch;
    globalThis.OfficeRuntime = runtime;
    /** @type {Office.SmartAlertsEventCompletedOptions[]} */
    const completed = [];
    await fn({ completed: (options) => completed.push(options ?? {}) });
    assert.equal(completed.length, 1);
    assert.equal(completed[0].allowEvent, false);
    assert.match(String(completed[0].errorMessage), /^Lee Gu holds it\. /);
  });
});

const APP = {
  clientId: "9f4ce6f0-3f1d-4cb6-9a56-3a1c5f1b2a11",
  scope: "api://tandem.example/9f4ce6f0-3f1d-4cb6-9a56-3a1c5f1b2a11/access_as_user",
};
const LEE_ACCOUNT = { username: "lee@contoso.com", homeAccountId: "lee.home" };

/**
 * The compose item's Office, saying whether it offers NestedAppAuth 1.1.
 * @param {boolean} offered
 * @returns {typeof Office}
 */
function officeOffering(offered) {
  const office = /** @type {any} */ (officeWith());
  office.context.requirements = {
    /** @type {(name: string, version?: string) => boolean} */
    isSetSupported: (name, version) => offered && name === "NestedAppAuth" && version === "1.1",
  };
  return office;
}

/**
 * MSAL.js's namespace as the handler meets it: `bridge` says whether it finds Outlook's (its
 * factory is called only then), `silent` what acquireTokenSilent does; every call recorded.
 * @param {{bridge?: boolean, silent?: (request: object) => Promise<{accessToken: string}>}} [how]
 */
function msalWith({ bridge = true, silent = async () => ({ accessToken: "naa-token" }) } = {}) {
  /** @type {{name: string, args: any[]}[]} */
  const calls = [];
  const client = {
    /** @param {object} request */
    acquireTokenSilent: (request) => {
      calls.push({ name: "acquireTokenSilent", args: [request] });
      return silent(request);
    },
    /** @param {object} request */
    acquireTokenPopup: async (request) => {
      calls.push({ name: "acquireTokenPopup", args: [request] });
      return { accessToken: "popup-token" };
    },
    /** @param {string} username */
    getAccountByUsername: (username) => (username === "lee@contoso.com" ? LEE_ACCOUNT : null),
  };
  const msal = {
    /**
     * @param {object} configuration
     * @param {string | undefined} _correlationId
     * @param {(configuration: object, controller: object) => object} factory
     */
    createNestablePublicClientApplication: async (configuration, _correlationId, factory) => {
      calls.push({ name: "createNestablePublicClientApplication", args: [configuration] });
      if (bridge) factory(configuration, {});
      return client;
    },
    PublicClientApplication: class {},
  };
  return { msal: /** @type {any} */ (msal), calls };
}

/**
 * One send check with this MSAL.js, where Outlook does (or doesn't) offer NestedAppAuth 1.1:
 * the token the backend got, MSAL.js's calls and how often OfficeRuntime.auth was asked.
 * @param {ReturnType<typeof msalWith>} msalSeen
 * @param {{offered?: boolean, app?: SendCheckApp | null}} [where]
 */
async function checkWith({ msal, calls }, { offered = true, app = APP } = {}) {
  const { fetch, seen } = backend(json({}));
  let ssoCalls = 0;
  const runtime = {
    auth: {
      getAccessToken: async () => {
        ssoCalls += 1;
        return "sso-token";
      },
    },
  };
  const options = await handler.decide({
    office: officeOffering(offered),
    runtime,
    msal,
    app,
    fetch,
    baseUrl: "https://tandem.example",
  });
  const names = calls.map((c) => c.name);
  return { options, token: seen[0].init.headers.Authorization, calls, names, ssoCalls };
}

describe("the send check's sign-in", () => {
  it("takes a token through nested app authentication where Outlook offers it", async () => {
    const msalSeen = msalWith();
    const first = await checkWith(msalSeen);
    assert.deepEqual(first.options, { allowEvent: true });
    assert.equal(first.token, "Bearer naa-token");
    assert.equal(first.ssoCalls, 0);
    const [created, silent] = first.calls;
    assert.equal(created.name, "createNestablePublicClientApplication");
    assert.deepEqual(created.args[0], {
      auth: {
        clientId: APP.clientId,
        authority: "https://login.microsoftonline.com/organizations",
      },
    });
    assert.deepEqual(silent, {
      name: "acquireTokenSilent",
      args: [{ scopes: [APP.scope], account: LEE_ACCOUNT }],
    });
    // The next send in the same runtime reuses the client.
    const next = await checkWith(msalSeen);
    assert.equal(next.token, "Bearer naa-token");
    assert.deepEqual(next.names, [
      "createNestablePublicClientApplication",
      "acquireTokenSilent",
      "acquireTokenSilent",
    ]);
  });

  it("signs in with Office's SSO when MSAL.js finds no bridge", async () => {
    const checked = await checkWith(msalWith({ bridge: false }));
    assert.equal(checked.token, "Bearer sso-token");
    assert.equal(checked.ssoCalls, 1);
    assert.deepEqual(checked.names, ["createNestablePublicClientApplication"]);
  });

  it("never prompts: a silent request that needs the person falls back to Office's SSO", async () => {
    const needsPerson = async () => {
      throw Object.assign(new Error("interaction_required"), {
        errorCode: "interaction_required",
      });
    };
    const checked = await checkWith(msalWith({ silent: needsPerson }));
    assert.equal(checked.token, "Bearer sso-token");
    assert.equal(checked.ssoCalls, 1);
    assert.ok(!checked.names.includes("acquireTokenPopup"));
  });

  it("leaves MSAL.js alone where Outlook doesn't offer NestedAppAuth 1.1, or no app is written in", async () => {
    for (const where of [{ offered: false }, { app: null }]) {
      const checked = await checkWith(msalWith(), where);
      assert.equal(checked.token, "Bearer sso-token");
      assert.deepEqual(checked.calls, []);
    }
  });
});

describe("a slow answer", () => {
  useMockTimers();

  it("lets the send go on at the budget's end, and stops asking", async () => {
    /** @type {AbortSignal | null | undefined} */
    let signal = null;
    const { fetch } = backend(
      (init) =>
        new Promise((_resolve, reject) => {
          signal = init.signal;
          init.signal?.addEventListener("abort", () => reject(new Error("aborted")));
        }),
    );
    /** @type {Office.SmartAlertsEventCompletedOptions | null} */
    let decided = null;
    handler.decide({ office: officeWith(), runtime, fetch, budgetMs: 4000 }).then((options) => {
      decided = options;
    });
    await settle(10);
    await advance(3999);
    assert.equal(decided, null);
    await advance(1);
    await settle();
    assert.deepEqual(decided, { allowEvent: true });
    assert.equal(/** @type {AbortSignal | null} */ (signal)?.aborted, true);
  });
});
