// Sign-in for Tandem's backend, the way Microsoft recommends: nested app authentication (NAA:
// MSAL.js through Outlook's bridge) where Outlook offers NestedAppAuth 1.1, asking for a token to
// Tandem's own API (api://<host>/<client id>/access_as_user) that the backend validates and
// exchanges on-behalf-of the person. Elsewhere, and where NAA says it isn't available here,
// Office.auth.getAccessToken ("legacy but still supported"). Every failure of either becomes a
// sentence a person can act on (Microsoft's "Troubleshoot error messages for SSO" page for the
// 13xxx codes, MSAL.js's error codes for NAA).
//
// Both paths share the fallback rule (which NAA failure means "use the legacy path") and one
// table of sentences.

/**
 * @import { SilentRequest } from "@azure/msal-browser"
 * @import { MsalApi, NaaClient } from "./types/msal"
 */

/**
 * What a caller asks of the sign-in: `authChallenge` is the claims of an interaction_required
 * problem, `fresh` skips MSAL.js's cache after token_expired.
 * @typedef {{authChallenge?: string, fresh?: boolean}} TokenRequest
 */

/**
 * The add-in's identity, from the manifest's WebApplicationInfo.
 * @typedef {{clientId: string, resource: string, scope: string}} App
 */

/**
 * MSAL.js's client on the NAA path, its namespace, and the API scope it asks for.
 * @typedef {{pca: NaaClient, msal: MsalApi, scope: string}} Naa
 */

/**
 * Which path signed the person in, and its small print (SignIn.describe()).
 * @typedef {{path: "naa"|"legacy", text: string, fallback: string|null}} SignInDescription
 */

/** Pause before the one silent retry after 13008, so Office's previous call can finish. */
export const RETRY_DELAY_MS = 400;

/** Code used when the running Outlook lacks IdentityAPI 1.3 (checked at run time, not declared). */
export const UNSUPPORTED = "identity-api-unsupported";

/**
 * Every getAccessToken error code (13000–13013, 50001) with what the person can do about it.
 * @type {Readonly<Record<string | number, string>>}
 */
export const AUTH_MESSAGES = Object.freeze({
  [UNSUPPORTED]:
    "This version of Outlook can't sign add-ins in: it offers neither nested app authentication (NestedAppAuth 1.1) " +
    "nor the IdentityAPI 1.3 requirement set. " +
    "Update Outlook (Windows Version 2008 or later, Mac 16.40 or later); Outlook on iOS and Android can't run Tandem.",
  13000:
    "Single sign-on isn't available here: this Office version doesn't support it, or the add-in's manifest lacks its " +
    "sign-in section. Use Outlook from a Microsoft 365 subscription; if you already do, ask your administrator to check the manifest.",
  13001:
    "You aren't signed in to Office. Sign in to Outlook with your work account, then choose Try again.",
  13002:
    "Sign-in was cancelled before it finished. Choose Try again when you're ready to sign in and accept the prompt.",
  13003:
    "This kind of account can't sign in to Tandem. Use a Microsoft 365 work or school account; if you already do, " +
    "ask your administrator whether modern authentication is turned on for Exchange Online.",
  13004:
    "The add-in's manifest names the wrong sign-in resource (it must be api:// followed by the add-in's own host, port " +
    "and client id). Ask your administrator to fix the manifest's WebApplicationInfo section.",
  13005:
    "Office isn't allowed to sign you in to Tandem: the app registration doesn't pre-authorize Office, or consent " +
    "(including the profile permission) was revoked. Ask your administrator to check Tandem's app registration.",
  13006:
    "Office hit an error in the browser while signing you in. Sign out of Office, close every browser window, " +
    "sign in again, then choose Try again.",
  13007:
    "Office couldn't get a sign-in token for Tandem. Check that you're signed in to Outlook with your work account, " +
    "not a personal one; if you are, ask your administrator to check that Tandem's app lets users sign in.",
  13008:
    "Another sign-in was still in progress. Wait a moment until it finishes, then choose Try again.",
  13009:
    "The catalog Tandem was installed from doesn't allow forcing consent. Sign out of Office and back in, then choose Try again.",
  13010:
    "Your browser puts your Microsoft 365 site and login.microsoftonline.com in different security zones. " +
    "Put both in the same zone, or use another browser, then choose Try again.",
  13011:
    "Office couldn't sign you in (error 13011, which Microsoft doesn't document). Choose Try again; " +
    "if it happens again, sign out of Office and back in.",
  13012:
    "This Outlook can't hand sign-in tokens to add-ins (for example Outlook on iPad). " +
    "Open the item in Outlook on Windows, on Mac or on the web.",
  13013:
    "Office paused sign-in because it was asked too often in a short time. Wait a minute, then choose Try again.",
  "empty-token":
    "Office answered the sign-in request without a token. Choose Try again; if it happens again, restart Outlook.",
  50001:
    "Outlook is running an old or cached copy of its add-in library, or is too old for single sign-on. Restart Outlook " +
    "(in a browser, clear the cache and reload); if that doesn't help, update Office.",
});

/**
 * Codes after which trying again can help without anyone changing a setting.
 * @type {Set<string | number>}
 */
const RETRYABLE = new Set([
  "empty-token",
  "unknown",
  13001,
  13002,
  13006,
  13007,
  13008,
  13010,
  13011,
  13013,
  50001,
]);

/** Where MSAL.js's browser build is served (npm ci copies it there; see package.json). */
export const MSAL_SCRIPT = "vendor/msal-browser.min.js";

/** The deployment's manifest: its WebApplicationInfo names the client id and the API's URI. */
export const APP_MANIFEST = "manifest.xml";

/** How each sign-in path reads in the pane's small print (after a success or a failure alike). */
export const PATH_TEXT = Object.freeze({
  naa: "Sign-in: Outlook's nested app authentication (MSAL.js).",
  legacy: "Sign-in: Office single sign-on (Office.auth.getAccessToken).",
});

/**
 * MSAL.js error codes of the NAA path (AuthError.errorCode; BridgeStatusCode as MSAL maps it)
 * with what the person can do about it. consent_required is the pane's own name for a refusal
 * whose Entra code says consent is missing (AADSTS65001, 65004, 90094).
 * @type {Readonly<Record<string, string>>}
 */
export const NAA_MESSAGES = Object.freeze({
  interaction_required:
    "Outlook needs you to sign in again, for example for multi-factor authentication, and the sign-in " +
    "window didn't finish. Choose Try again and complete the window Outlook shows.",
  consent_required:
    "Tandem needs permission to sign you in, and nobody has granted it yet. Ask an administrator to grant " +
    "consent to Tandem for your organization, then choose Try again.",
  user_canceled:
    "Sign-in was cancelled before it finished. Choose Try again when you're ready, and complete the " +
    "sign-in window Outlook shows.",
  no_network_connectivity:
    "Outlook couldn't reach Microsoft 365 to sign you in. Check your network connection, then choose Try again.",
  no_account_found:
    "Outlook has no work or school account it can sign add-ins in with. Sign in to Outlook with your work " +
    "account, then choose Try again.",
  nested_app_auth_bridge_disabled:
    "Outlook doesn't let add-ins sign in through it here. Restart Outlook; if it happens again, ask your " +
    "administrator whether nested app authentication is turned off.",
  null_or_empty_token:
    "Outlook answered the sign-in request without a token. Choose Try again; if it happens again, restart Outlook.",
  server:
    "Microsoft 365 refused to sign you in to Tandem. Ask your administrator to check Tandem's app registration " +
    "(the brk-multihub redirect URI and the access_as_user scope), and quote the error code below.",
});

/** NAA failures after which trying again can help without anyone changing a setting. */
const NAA_RETRYABLE = new Set([
  "interaction_required",
  "consent_required",
  "user_canceled",
  "no_network_connectivity",
  "no_account_found",
  "null_or_empty_token",
  "unknown",
]);

/**
 * NAA failures that mean "not available here", after which the pane signs in the legacy way:
 * the bridge is off or gone (NESTED_APP_AUTH_UNAVAILABLE, DISABLED), Outlook has no account NAA
 * serves (ACCOUNT_UNAVAILABLE: Outlook.com and Gmail mailboxes), or consent is missing, which
 * Office's pre-authorized client doesn't need for access_as_user (the backend then reports what
 * the on-behalf-of exchange still lacks, with its admin-consent link).
 * @type {Set<string | number>}
 */
const NAA_FALLBACK = new Set([
  "nested_app_auth_bridge_disabled",
  "no_account_found",
  "consent_required",
]);

/** Entra codes that say consent is missing: 65001 not consented, 65004 declined, 90094 admin approval. */
const CONSENT_CODES = /AADSTS(65001|65004|90094|90095)\b/;

/**
 * The sentence for a getAccessToken error code, with a generic one for codes nobody documented.
 * @param {string | number} code
 */
export function authMessage(code) {
  if (Object.hasOwn(AUTH_MESSAGES, code)) return AUTH_MESSAGES[code];
  const which = typeof code === "number" ? `error ${code}` : "it gave no error code";
  return `Office couldn't sign you in (${which}). Choose Try again; if it happens again, sign out of Office and back in.`;
}

/**
 * The sentence for an MSAL.js error code of the NAA path.
 * @param {string} code
 * @param {unknown} [kind]  the error's name (ServerError: Entra ID refused)
 */
export function naaMessage(code, kind = "") {
  if (Object.hasOwn(NAA_MESSAGES, code)) return NAA_MESSAGES[code];
  if (kind === "ServerError") return NAA_MESSAGES.server;
  return `Outlook couldn't sign you in (MSAL.js error ${code || "unknown"}). Choose Try again; if it happens again, sign out of Outlook and back in.`;
}

/**
 * A failed sign-in: `code` is Office's number (or UNSUPPORTED) for the legacy path, MSAL.js's
 * error code for NAA (`source` says which), `message` the sentence to show.
 */
export class AuthError extends Error {
  /**
   * Wraps Office's error object (or nothing) with its plain sentence.
   * @param {string | number} code
   * @param {{name?: string, message?: string} | null} [officeError]
   */
  constructor(code, officeError = null) {
    super(authMessage(code));
    this.name = "AuthError";
    /** @type {"office" | "msal"} */
    this.source = "office";
    this.code = code;
    this.retryable = RETRYABLE.has(code);
    this.officeName = officeError?.name ?? null;
    this.officeMessage = officeError?.message ?? null;
    /** @type {unknown} MSAL.js's error name (NAA path) */
    this.msalName = null;
    /** @type {unknown} MSAL.js's errorMessage or message (NAA path) */
    this.msalMessage = null;
  }

  /**
   * The pane's AuthError for an error MSAL.js threw on the NAA path.
   * @param {unknown} error
   */
  static fromMsal(error) {
    const thrown = msalShape(error);
    const code = msalCode(error);
    const failure = new AuthError(code);
    failure.message = naaMessage(code, thrown?.name);
    failure.source = "msal";
    failure.retryable = NAA_RETRYABLE.has(code) || thrown?.name === "ServerError";
    failure.msalName = thrown?.name ?? null;
    failure.msalMessage = thrown?.errorMessage ?? thrown?.message ?? null;
    return failure;
  }
}

/**
 * The members of MSAL.js's AuthError the pane reads, each of which anything thrown may lack.
 * @typedef {{name?: unknown, message?: unknown, errorCode?: unknown, errorMessage?: unknown,
 *   subError?: unknown}} MsalErrorShape
 */

/**
 * What was thrown, read as MSAL.js's AuthError (a member it lacks reads as undefined).
 * @param {unknown} error
 */
function msalShape(error) {
  return /** @type {MsalErrorShape | null | undefined} */ (error);
}

/**
 * MSAL.js's error code, or consent_required when Entra's words say consent is missing.
 * @param {unknown} thrown
 */
export function msalCode(thrown) {
  const error = msalShape(thrown);
  const code = String(error?.errorCode || "unknown");
  const words = `${error?.errorMessage ?? ""} ${error?.subError ?? ""}`;
  if (
    code === "consent_required" ||
    error?.subError === "consent_required" ||
    CONSENT_CODES.test(words)
  ) {
    return "consent_required";
  }
  return code;
}

/**
 * Whether MSAL.js says only the person can go on (InteractionRequiredAuthError).
 * @param {unknown} error
 * @param {MsalApi} msal
 */
function needsInteraction(error, msal) {
  if (msal?.InteractionRequiredAuthError && error instanceof msal.InteractionRequiredAuthError)
    return true;
  return msalShape(error)?.name === "InteractionRequiredAuthError";
}

/**
 * Whether the running Outlook supports Office.auth.getAccessToken (IdentityAPI 1.3).
 * @param {typeof Office} office
 */
export function identityApiSupported(office) {
  const requirements = office?.context?.requirements;
  if (typeof office?.auth?.getAccessToken !== "function") return false;
  if (typeof requirements?.isSetSupported !== "function") return false;
  return Boolean(requirements.isSetSupported("IdentityAPI", "1.3"));
}

/**
 * Whether Outlook offers nested app authentication: NestedAppAuth 1.1, checked at run time only.
 * @param {typeof Office} office
 */
export function naaSupported(office) {
  const requirements = office?.context?.requirements;
  if (typeof requirements?.isSetSupported !== "function") return false;
  return Boolean(requirements.isSetSupported("NestedAppAuth", "1.1"));
}

/**
 * The add-in's client id and Application ID URI from the manifest's WebApplicationInfo: the
 * same values Office's legacy sign-in reads, so both paths ask for the same API. Microsoft's
 * rule: the Resource ends with the client id.
 * @param {unknown} xml  the manifest's text
 * @returns {App}
 */
export function appOfManifest(xml) {
  const block = /<WebApplicationInfo>([\s\S]*?)<\/WebApplicationInfo>/.exec(String(xml))?.[1] ?? "";
  const clientId = /<Id>\s*([^<\s]+)\s*<\/Id>/.exec(block)?.[1];
  const resource = /<Resource>\s*([^<\s]+)\s*<\/Resource>/.exec(block)?.[1];
  if (!clientId || !resource)
    throw new Error("the manifest has no WebApplicationInfo Id and Resource");
  if (!resource.startsWith("api://") || !resource.endsWith(`/${clientId}`)) {
    throw new Error(`the manifest's Resource ${resource} isn't api://<host>/${clientId}`);
  }
  return { clientId, resource, scope: `${resource}/access_as_user` };
}

/**
 * Fetches the deployment's manifest and reads the app's identity from it.
 * @returns {Promise<App>}
 */
async function fetchApp() {
  const response = await fetch(APP_MANIFEST, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${APP_MANIFEST} answered ${response.status}`);
  return appOfManifest(await response.text());
}

/**
 * Loads MSAL.js's browser build (it defines globalThis.msal) once, from the pane's own origin.
 * @returns {Promise<MsalApi>}
 */
function loadMsal() {
  if (globalThis.msal?.createNestablePublicClientApplication)
    return Promise.resolve(globalThis.msal);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = MSAL_SCRIPT;
    script.addEventListener("load", () => {
      if (globalThis.msal?.createNestablePublicClientApplication) resolve(globalThis.msal);
      else reject(new Error(`${MSAL_SCRIPT} loaded but defined no msal`));
    });
    script.addEventListener("error", () => reject(new Error(`${MSAL_SCRIPT} didn't load`)));
    document.head.append(script);
  });
}

/**
 * Office's numeric error code, or a string naming what went wrong.
 * @param {unknown} error
 */
function codeOf(error) {
  const code = Number(/** @type {{code?: unknown} | null | undefined} */ (error)?.code);
  return Number.isFinite(code) ? code : "unknown";
}

/**
 * Resolves after `ms` milliseconds.
 * @param {number} ms
 * @returns {Promise<void>}
 */
function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The pane's sign-in: picks NAA or the legacy path once per page, hands out tokens for the
 * backend, and says which path signed the person in (`describe()`).
 */
export class SignIn {
  /**
   * @param {{office?: typeof Office, loadMsal?: () => Promise<MsalApi>,
   *   fetchApp?: () => Promise<App>, retryDelayMs?: number}} [seams]
   */
  constructor({
    office = globalThis.Office,
    loadMsal: load = loadMsal,
    fetchApp: app = fetchApp,
    retryDelayMs = RETRY_DELAY_MS,
  } = {}) {
    this.office = office;
    this.loadMsal = load;
    this.fetchApp = app;
    this.retryDelayMs = retryDelayMs;
    /** @type {"naa" | "legacy" | null} */
    this.path = null;
    /** @type {string | null} why NAA wasn't used */
    this.fallback = null;
    /** @type {Naa | null} set when NAA was chosen */
    this.naa = null;
    /** @type {Promise<void> | null} */
    this.choosing = null;
    /** @type {Promise<string> | null} */
    this.pending = null;
    /** @type {string | null} */
    this.last = null;
  }

  /**
   * A token for the backend. `authChallenge` is the claims of an interaction_required problem
   * (passed to MSAL.js as claims, to Office as authChallenge); `fresh` skips MSAL.js's cache
   * after token_expired (Office's getAccessToken refreshes on its own). A plain call joins one
   * already in flight.
   * @param {TokenRequest} [request]
   * @returns {Promise<string>}
   */
  token({ authChallenge, fresh = false } = {}) {
    if (authChallenge || fresh) return this.keep(this.request(authChallenge, fresh));
    if (!this.pending) {
      this.pending = this.keep(this.request(undefined, false)).finally(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  /**
   * A token for background calls (presence, every few seconds): the last one handed out, as
   * long as there is one, so they never make Outlook sign in on their own; a fresh or
   * challenged request (after token_expired, interaction_required) goes to token().
   * @param {TokenRequest} [request]
   * @returns {Promise<string>}
   */
  reuse(request = {}) {
    if (!request.authChallenge && !request.fresh && this.last) return Promise.resolve(this.last);
    return this.token(request);
  }

  /**
   * Remembers the token a request answers, for reuse().
   * @param {Promise<string>} pending
   */
  async keep(pending) {
    const token = await pending;
    this.last = token;
    return token;
  }

  /**
   * Which path signed the person in, its small print, and why NAA wasn't used (if it wasn't).
   * @returns {SignInDescription | null}
   */
  describe() {
    if (!this.path) return null;
    return { path: this.path, text: PATH_TEXT[this.path], fallback: this.fallback };
  }

  /**
   * One token, through the chosen path; a "not available here" NAA failure moves to legacy.
   * @param {string | undefined} authChallenge
   * @param {boolean} fresh
   * @returns {Promise<string>}
   */
  async request(authChallenge, fresh) {
    if (!this.choosing) this.choosing = this.choose();
    await this.choosing;
    if (this.path === "naa" && this.naa) {
      try {
        return await this.naaToken(this.naa, authChallenge, fresh);
      } catch (error) {
        const failure = error instanceof AuthError ? error : AuthError.fromMsal(error);
        if (!NAA_FALLBACK.has(failure.code) || !identityApiSupported(this.office)) throw failure;
        this.useLegacy(`Outlook's bridge answered ${failure.code}`);
      }
    }
    return this.legacyToken(authChallenge);
  }

  /** NAA when Outlook offers it and MSAL.js finds its bridge; else the legacy path, with why. */
  async choose() {
    if (!naaSupported(this.office)) {
      this.useLegacy("this Outlook doesn't offer nested app authentication (NestedAppAuth 1.1)");
      return;
    }
    try {
      const app = await this.fetchApp();
      const msal = await this.loadMsal();
      let nested = false;
      // MSAL.js quietly builds a standard (popup-to-Entra) client when it finds no bridge; its
      // factory is called only for the nested one, which is how the pane knows which it got.
      const pca = await msal.createNestablePublicClientApplication(
        {
          auth: {
            clientId: app.clientId,
            authority: "https://login.microsoftonline.com/organizations",
          },
        },
        undefined,
        (configuration, controller) => {
          nested = true;
          return new msal.PublicClientApplication(configuration, controller);
        },
      );
      if (!nested) {
        this.useLegacy("Outlook reported NestedAppAuth 1.1 but offered MSAL.js no bridge");
        return;
      }
      this.naa = { pca, msal, scope: app.scope };
      this.path = "naa";
    } catch (error) {
      const message = /** @type {{message?: unknown} | null | undefined} */ (error)?.message;
      this.useLegacy(`nested app authentication couldn't start: ${message ?? error}`);
    }
  }

  /**
   * Switches to Office.auth.getAccessToken for the rest of this page, noting why.
   * @param {string} reason
   */
  useLegacy(reason) {
    this.path = "legacy";
    this.fallback = reason;
  }

  /**
   * The person's account as MSAL.js knows it from Outlook: the one Office says is signed in.
   * @param {NaaClient} pca
   */
  account(pca) {
    const upn = this.office?.context?.mailbox?.userProfile?.emailAddress;
    return (upn && pca.getAccountByUsername?.(upn)) || undefined;
  }

  /**
   * acquireTokenSilent for the API scope (MSAL.js's cache first, then Outlook); acquireTokenPopup
   * only when that fails with an interaction error, passing the claims challenge through.
   * @param {Naa} naa
   * @param {string | undefined} claims
   * @param {boolean} forceRefresh
   */
  async naaToken({ pca, msal, scope }, claims, forceRefresh) {
    const scopes = [scope];
    const account = this.account(pca);
    /** @type {SilentRequest} */
    const silent = { scopes, ...(account && { account }), ...(claims && { claims }) };
    if (forceRefresh) silent.forceRefresh = true;
    let result;
    try {
      result = await pca.acquireTokenSilent(silent);
    } catch (error) {
      if (!needsInteraction(error, msal)) throw AuthError.fromMsal(error);
      try {
        result = await pca.acquireTokenPopup({
          scopes,
          ...(account && { account }),
          ...(claims && { claims }),
        });
      } catch (popupError) {
        throw AuthError.fromMsal(popupError);
      }
    }
    const token = result?.accessToken;
    if (typeof token !== "string" || token === "")
      throw AuthError.fromMsal({ errorCode: "null_or_empty_token" });
    return token;
  }

  /**
   * Office.auth.getAccessToken, never with forMSGraphAccess (Microsoft: a sideloaded Outlook
   * add-in then gets 13012); retried silently at most once, only for 13008 (a previous call
   * still in progress).
   * @param {string | undefined} authChallenge
   * @returns {Promise<string>}
   */
  async legacyToken(authChallenge) {
    const office = this.office;
    if (!identityApiSupported(office)) throw new AuthError(UNSUPPORTED);
    /** @type {Office.AuthOptions} */
    const options = { allowSignInPrompt: true, allowConsentPrompt: true };
    if (authChallenge) options.authChallenge = authChallenge;
    for (let attempt = 1; ; attempt += 1) {
      let token;
      try {
        token = await office.auth.getAccessToken({ ...options });
      } catch (error) {
        const code = codeOf(error);
        if (code === 13008 && attempt === 1) {
          await pause(this.retryDelayMs);
          continue;
        }
        throw new AuthError(code, /** @type {{name?: string, message?: string}} */ (error));
      }
      if (typeof token !== "string" || token === "") throw new AuthError("empty-token");
      return token;
    }
  }
}
