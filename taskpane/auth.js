// Office single sign-on: Office.auth.getAccessToken and its errors, each turned into a
// sentence a person can act on (Microsoft's "Troubleshoot error messages for SSO" page).

/** Pause before the one silent retry after 13008, so Office's previous call can finish. */
export const RETRY_DELAY_MS = 400;

/** Code used when the running Outlook lacks IdentityAPI 1.3 (checked at run time, not declared). */
export const UNSUPPORTED = "identity-api-unsupported";

/** Every getAccessToken error code (13000–13013, 50001) with what the person can do about it. */
export const AUTH_MESSAGES = Object.freeze({
  [UNSUPPORTED]:
    "This version of Outlook can't sign add-ins in: it lacks the IdentityAPI 1.3 requirement set. " +
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

/** Codes after which trying again can help without anyone changing a setting. */
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

/** The sentence for a getAccessToken error code, with a generic one for codes nobody documented. */
export function authMessage(code) {
  if (Object.hasOwn(AUTH_MESSAGES, code)) return AUTH_MESSAGES[code];
  const which = typeof code === "number" ? `error ${code}` : "it gave no error code";
  return `Office couldn't sign you in (${which}). Choose Try again; if it happens again, sign out of Office and back in.`;
}

/** A failed sign-in: `code` is Office's number (or UNSUPPORTED), `message` the sentence to show. */
export class AuthError extends Error {
  /** Wraps Office's error object (or nothing) with its plain sentence. */
  constructor(code, officeError = null) {
    super(authMessage(code));
    this.name = "AuthError";
    this.code = code;
    this.retryable = RETRYABLE.has(code);
    this.officeName = officeError?.name ?? null;
    this.officeMessage = officeError?.message ?? null;
  }
}

/** Whether the running Outlook supports Office.auth.getAccessToken (IdentityAPI 1.3). */
export function identityApiSupported(office) {
  const requirements = office?.context?.requirements;
  if (typeof office?.auth?.getAccessToken !== "function") return false;
  if (typeof requirements?.isSetSupported !== "function") return false;
  return Boolean(requirements.isSetSupported("IdentityAPI", "1.3"));
}

/** Office's numeric error code, or a string naming what went wrong. */
function codeOf(error) {
  const code = Number(error?.code);
  return Number.isFinite(code) ? code : "unknown";
}

/** Resolves after `ms` milliseconds. */
function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let pending = null;

/**
 * An SSO token for the backend. Never passes forMSGraphAccess: Microsoft says a sideloaded
 * Outlook add-in then gets 13012. Retries silently at most once, only for 13008 (a previous
 * call still in progress). A call without authChallenge joins one already in flight.
 * @param {{authChallenge?: string}} [request]
 * @param {{office?: any, retryDelayMs?: number}} [seams]
 * @returns {Promise<string>}
 */
export function getToken(
  { authChallenge } = {},
  { office = globalThis.Office, retryDelayMs = RETRY_DELAY_MS } = {},
) {
  if (authChallenge) return requestToken(office, authChallenge, retryDelayMs);
  if (!pending) {
    pending = requestToken(office, undefined, retryDelayMs).finally(() => {
      pending = null;
    });
  }
  return pending;
}

/** One getAccessToken round, with the single 13008 retry. */
async function requestToken(office, authChallenge, retryDelayMs) {
  if (!identityApiSupported(office)) throw new AuthError(UNSUPPORTED);
  const options = { allowSignInPrompt: true, allowConsentPrompt: true };
  if (authChallenge) options.authChallenge = authChallenge;
  for (let attempt = 1; ; attempt += 1) {
    let token;
    try {
      token = await office.auth.getAccessToken({ ...options });
    } catch (error) {
      const code = codeOf(error);
      if (code === 13008 && attempt === 1) {
        await pause(retryDelayMs);
        continue;
      }
      throw new AuthError(code, error);
    }
    if (typeof token !== "string" || token === "") throw new AuthError("empty-token");
    return token;
  }
}
