import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { explain } from "../api.js";
import { AuthError, appOfManifest, msalCode, NAA_MESSAGES, naaMessage, SignIn } from "../auth.js";
import { fakeMsal, interactionRequired, msalError } from "./fake-msal.js";
import { fakeOffice } from "./fake-office.js";

/** The demo's rendered manifest, as the backend serves it at /manifest.xml. */
const MANIFEST = readFileSync(new URL("../../manifest.xml", import.meta.url), "utf8");
const APP = appOfManifest(MANIFEST);
const SCOPE = `api://localhost:3000/${APP.clientId}/access_as_user`;

/**
 * @import { Configuration, SilentRequest } from "@azure/msal-browser"
 * @import { App } from "../auth.js"
 * @import { FakeOffice } from "./fake-office.js"
 */

/**
 * A SignIn over a fake Office with NAA (unless told otherwise) and a fake MSAL.js.
 * @param {{naa?: boolean, identity?: boolean, msal?: ReturnType<typeof fakeMsal>,
 *   app?: () => Promise<App>}} [options]
 */
function signInWith({
  naa = true,
  identity = true,
  msal = fakeMsal(),
  app = async () => APP,
} = {}) {
  const office = fakeOffice({ naa, identity, tokens: ["legacy-token"] });
  /** @type {string[]} */
  const loads = [];
  const signIn = new SignIn({
    office,
    fetchApp: app,
    loadMsal: async () => {
      loads.push("msal");
      return msal;
    },
  });
  return { signIn, office, msal, loads };
}

/**
 * The getAccessToken calls the fake Office saw.
 * @param {FakeOffice} office
 */
const legacyCalls = (office) => office.calls.filter((c) => c[0] === "getAccessToken");

/**
 * What the fake MSAL.js's `name` was called with, call by call (its first argument).
 * @param {{calls: unknown[][]}} msal
 * @param {string} name
 */
const msalCalls = (msal, name) => msal.calls.filter((c) => c[0] === name).map((c) => c[1]);

/**
 * What SignIn.describe() says, once a path was chosen.
 * @param {SignIn} signIn
 */
function described(signIn) {
  const description = signIn.describe();
  assert.ok(description, "a sign-in path was chosen");
  return description;
}

describe("SignIn, NAA path", () => {
  it("asks MSAL.js silently for Tandem's own API scope, with the manifest's client id", async () => {
    const { signIn, office, msal } = signInWith();
    assert.equal(await signIn.token({}), "naa-token");
    const [config] = /** @type {Configuration[]} */ (
      msalCalls(msal, "createNestablePublicClientApplication")
    );
    assert.equal(config.auth.clientId, APP.clientId);
    assert.deepEqual(msalCalls(msal, "acquireTokenSilent"), [{ scopes: [SCOPE] }]);
    assert.deepEqual(msalCalls(msal, "acquireTokenPopup"), []);
    assert.equal(legacyCalls(office).length, 0);
    assert.deepEqual(signIn.describe(), {
      path: "naa",
      text: "Sign-in: Outlook's nested app authentication (MSAL.js).",
      fallback: null,
    });
  });

  it("asks for the person's Office account when MSAL.js knows it", async () => {
    const account = {
      homeAccountId: "oid.tid",
      environment: "login.microsoftonline.com",
      tenantId: "tid",
      username: "lee@contoso.com",
      localAccountId: "oid",
    };
    const { signIn, msal } = signInWith({
      msal: fakeMsal({ accounts: { "lee@contoso.com": account } }),
    });
    await signIn.token({});
    assert.deepEqual(msalCalls(msal, "getAccountByUsername"), ["lee@contoso.com"]);
    const [silent] = /** @type {SilentRequest[]} */ (msalCalls(msal, "acquireTokenSilent"));
    assert.deepEqual(silent.account, account);
  });

  it("opens the popup only after an interaction error, with the claims challenge passed through", async () => {
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    const msal = fakeMsal({ silent: [interactionRequired()], popup: ["stepped-up"] });
    const { signIn } = signInWith({ msal });
    assert.equal(await signIn.token({ authChallenge: claims }), "stepped-up");
    assert.deepEqual(msalCalls(msal, "acquireTokenSilent"), [{ scopes: [SCOPE], claims }]);
    assert.deepEqual(msalCalls(msal, "acquireTokenPopup"), [{ scopes: [SCOPE], claims }]);
  });

  it("recognises MSAL.js's own InteractionRequiredAuthError class", async () => {
    /** @type {Error[]} */
    const silent = [];
    const msal = fakeMsal({ silent, popup: ["from-popup"] });
    silent.push(new msal.InteractionRequiredAuthError("login_required", "correlation-1"));
    const { signIn } = signInWith({ msal });
    assert.equal(await signIn.token({}), "from-popup");
  });

  it("skips MSAL.js's cache for a fresh token after token_expired", async () => {
    const { signIn, msal } = signInWith();
    await signIn.token({ fresh: true });
    assert.deepEqual(msalCalls(msal, "acquireTokenSilent"), [
      { scopes: [SCOPE], forceRefresh: true },
    ]);
  });

  it("shares one silent request between callers while it is in flight", async () => {
    const { signIn, msal } = signInWith();
    assert.deepEqual(await Promise.all([signIn.token({}), signIn.token({})]), [
      "naa-token",
      "naa-token",
    ]);
    assert.equal(msalCalls(msal, "acquireTokenSilent").length, 1);
  });

  /** @type {[string, Error, string][]} */
  const popupFailures = [
    [
      "the person closed the window",
      msalError("ClientAuthError", "user_canceled"),
      "user_canceled",
    ],
    [
      "no network",
      msalError("ClientAuthError", "no_network_connectivity"),
      "no_network_connectivity",
    ],
    ["MFA still not done", interactionRequired("interaction_required"), "interaction_required"],
  ];
  for (const [label, error, code] of popupFailures) {
    it(`explains a failed popup (${label}) with its sentence and offers Try again`, async () => {
      const msal = fakeMsal({ silent: [interactionRequired()], popup: [error] });
      const { signIn, office } = signInWith({ msal });
      await assert.rejects(signIn.token({}), (failure) => {
        assert.ok(failure instanceof AuthError);
        assert.equal(failure.source, "msal");
        assert.equal(failure.code, code);
        assert.equal(failure.message, NAA_MESSAGES[code]);
        assert.equal(failure.retryable, true);
        return true;
      });
      assert.equal(legacyCalls(office).length, 0, "no fallback: the legacy path can't help here");
    });
  }

  it("doesn't open the popup when the silent failure isn't about interaction", async () => {
    const msal = fakeMsal({ silent: [msalError("ClientAuthError", "no_network_connectivity")] });
    const { signIn } = signInWith({ msal });
    await assert.rejects(
      signIn.token({}),
      (failure) => failure instanceof AuthError && failure.code === "no_network_connectivity",
    );
    assert.equal(msalCalls(msal, "acquireTokenPopup").length, 0);
  });

  it("refuses an empty token", async () => {
    const { signIn } = signInWith({ msal: fakeMsal({ silent: [""] }) });
    await assert.rejects(
      signIn.token({}),
      (failure) => failure instanceof AuthError && failure.code === "null_or_empty_token",
    );
  });
});

describe("SignIn, falling back to getAccessToken", () => {
  it("uses the legacy path when Outlook lacks NestedAppAuth 1.1, without loading MSAL.js", async () => {
    const { signIn, office, loads } = signInWith({ naa: false });
    assert.equal(await signIn.token({}), "legacy-token");
    assert.deepEqual(loads, []);
    assert.equal(legacyCalls(office).length, 1);
    const { path, text, fallback } = described(signIn);
    assert.equal(path, "legacy");
    assert.match(text, /Office\.auth\.getAccessToken/);
    assert.match(fallback ?? "", /NestedAppAuth 1\.1/);
  });

  it("uses the legacy path when MSAL.js finds no bridge (a standard client)", async () => {
    const { signIn, msal } = signInWith({ msal: fakeMsal({ bridge: false }) });
    assert.equal(await signIn.token({}), "legacy-token");
    assert.equal(msalCalls(msal, "acquireTokenSilent").length, 0, "never a popup to Entra ID");
    assert.match(described(signIn).fallback ?? "", /no bridge/);
  });

  it("uses the legacy path when the app's identity can't be read", async () => {
    const app = async () => {
      throw new Error("manifest.xml answered 404");
    };
    const { signIn } = signInWith({ app });
    assert.equal(await signIn.token({}), "legacy-token");
    assert.match(described(signIn).fallback ?? "", /manifest\.xml answered 404/);
  });

  const consent = msalError("ServerError", "invalid_grant", "AADSTS65001: not consented");
  /** @type {[string, Error[], Error[]][]} */
  const unavailable = [
    [
      "the bridge is unavailable",
      [msalError("ClientAuthError", "nested_app_auth_bridge_disabled")],
      [],
    ],
    ["Outlook has no account NAA serves", [msalError("ClientAuthError", "no_account_found")], []],
    ["consent is missing", [interactionRequired("consent_required")], [consent]],
  ];
  for (const [label, silent, popup] of unavailable) {
    it(`falls back when NAA says it isn't available here (${label}), and stays there`, async () => {
      const { signIn, office } = signInWith({ msal: fakeMsal({ silent, popup }) });
      assert.equal(await signIn.token({}), "legacy-token");
      assert.equal(described(signIn).path, "legacy");
      assert.match(described(signIn).fallback ?? "", /bridge answered/);
      await signIn.token({ fresh: true });
      assert.equal(legacyCalls(office).length, 2);
    });
  }

  it("explains missing consent itself when there is no legacy path to fall back to", async () => {
    const denied = msalError(
      "ServerError",
      "invalid_grant",
      "AADSTS90094: Admin approval required",
    );
    const msal = fakeMsal({ silent: [interactionRequired("consent_required")], popup: [denied] });
    const { signIn } = signInWith({ msal, identity: false });
    await assert.rejects(signIn.token({}), (failure) => {
      assert.ok(failure instanceof AuthError);
      assert.equal(failure.code, "consent_required");
      assert.match(failure.message, /administrator to grant consent/);
      return true;
    });
  });
});

describe("NAA helpers", () => {
  it("reads the client id and API URI from the manifest's WebApplicationInfo", () => {
    assert.match(APP.clientId, /^[0-9a-f-]{36}$/);
    assert.equal(APP.resource, `api://localhost:3000/${APP.clientId}`);
    assert.equal(APP.scope, SCOPE);
  });

  it("refuses a manifest without WebApplicationInfo or with a Resource of another client", () => {
    assert.throws(() => appOfManifest("<OfficeApp/>"), /no WebApplicationInfo/);
    const other =
      "<WebApplicationInfo><Id>abc</Id><Resource>api://x/def</Resource></WebApplicationInfo>";
    assert.throws(() => appOfManifest(other), /isn't api:\/\/<host>\/abc/);
  });

  it("names missing consent by Entra's codes, whatever MSAL.js's code", () => {
    assert.equal(
      msalCode(msalError("ServerError", "invalid_grant", "AADSTS65001: no")),
      "consent_required",
    );
    assert.equal(
      msalCode(msalError("ServerError", "access_denied", "AADSTS65004: declined")),
      "consent_required",
    );
    assert.equal(
      msalCode(msalError("ServerError", "invalid_grant", "", "consent_required")),
      "consent_required",
    );
    assert.equal(
      msalCode(msalError("ServerError", "invalid_grant", "AADSTS50076: MFA")),
      "invalid_grant",
    );
    assert.equal(msalCode({}), "unknown");
  });

  it("has a sentence with what to do for every NAA code, and one for codes it doesn't know", () => {
    for (const [code, sentence] of Object.entries(NAA_MESSAGES)) {
      assert.ok(sentence.length > 40, code);
      assert.match(sentence, /\.$/, code);
    }
    assert.equal(new Set(Object.values(NAA_MESSAGES)).size, Object.keys(NAA_MESSAGES).length);
    assert.match(naaMessage("bridge_timeout"), /MSAL\.js error bridge_timeout/);
    assert.equal(naaMessage("invalid_scope", "ServerError"), NAA_MESSAGES.server);
  });

  it("shows MSAL.js's code in the small print, not Office's", () => {
    const explained = explain(AuthError.fromMsal(msalError("ClientAuthError", "user_canceled")));
    assert.equal(explained.code, "auth_user_canceled");
    assert.equal(explained.msalCode, "user_canceled");
    assert.equal(explained.officeCode, null);
    assert.equal(explained.retry, true);
  });
});
