// Calls to Tandem's backend: the item context goes out with the SSO token (to read the item, to
// act on it, to list its mailbox's folders, to say who is looking at it), and every
// application/problem+json answer comes back as an ApiProblem with a sentence and its fix.

import { AuthError, SignIn } from "./auth.js";

/**
 * @import { ActionAnswer, ContextAnswer, ContextBody, Folder, Limits, NextAnswer, PolicyAnswer,
 *   PresenceAnswer, ProblemBody, QueueAnswer, QueueView, StatsAnswer, Template, TemplatesAnswer,
 *   Upn } from "./types/contract"
 * @import { ItemContext, KnownMailbox } from "./context.js"
 * @import { TokenRequest } from "./auth.js"
 */

/** How long the pane waits for the backend before giving up on one request. */
export const REQUEST_TIMEOUT_MS = 45000;

/**
 * How long the pane waits for an action when the server hasn't said how long its longest request
 * takes (the context answer's limits.requestSeconds): longer than the server's worst case with the
 * default TANDEM_HTTP_TIMEOUT (85 s), so the pane never gives up on a reply the server is still
 * sending.
 */
export const ACTION_TIMEOUT_MS = 100000;

/** The margin the pane waits beyond the server's own worst case. */
export const ACTION_TIMEOUT_MARGIN_MS = 15000;

/**
 * The pane's wait for an action on a server that said its worst case (seconds), else the default.
 * @param {Limits | null} [limits]
 */
export function actionTimeoutMs(limits) {
  const seconds = Number(limits?.requestSeconds);
  if (!Number.isFinite(seconds) || seconds <= 0) return ACTION_TIMEOUT_MS;
  return Math.round(seconds * 1000) + ACTION_TIMEOUT_MARGIN_MS;
}

/** A new Idempotency-Key for one submission (the IETF httpapi draft's header). */
export function newIdempotencyKey() {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof c?.getRandomValues === "function") c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** An error answer of the backend (RFC 9457 problem+json), or a request that never got one. */
export class ApiProblem extends Error {
  /**
   * Keeps the problem's members: code, status, title, detail, requestId and the code's extras.
   * @param {ProblemBody} [problem]
   * @param {number} [status]  the HTTP status (0: no answer)
   */
  constructor(problem = {}, status = 0) {
    super(String(problem.detail ?? problem.title ?? `HTTP ${status}`));
    this.name = "ApiProblem";
    this.status = Number(problem.status ?? status) || status;
    this.code = String(problem.code ?? snake(status));
    this.title = problem.title ?? null;
    this.detail = problem.detail ?? null;
    this.requestId = problem.requestId ?? null;
    this.field = problem.field ?? null;
    this.claims = problem.claims ?? null;
    this.consentUrl = problem.consentUrl ?? null;
    // conflict: {upn, name} of the person whose claim is in the way, or the item's current
    // etag and the item as it is now when it changed since the pane read it.
    /** @type {Upn | null} */
    this.holder = problem.holder && typeof problem.holder === "object" ? problem.holder : null;
    this.etag = typeof problem.etag === "string" ? problem.etag : null;
    this.item = problem.item && typeof problem.item === "object" ? problem.item : null;
    // throttled: the backend always sends retryAfter (seconds), parsed from Retry-After by the
    // one parser of the system, the backend's; the pane never reads the header itself.
    this.retryAfter =
      typeof problem.retryAfter === "number" && Number.isFinite(problem.retryAfter)
        ? problem.retryAfter
        : null;
  }
}

/**
 * 404 -> "not_found", as the backend names plain HTTP errors.
 * @param {number} status
 */
function snake(status) {
  /** @type {Record<number, string>} */
  const names = {
    0: "network_error",
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "request_entity_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
  };
  return names[status] ?? `http_${status}`;
}

/**
 * The JSON body the backend expects for an ItemContext ("shared" only outside the own mailbox).
 * @param {KnownMailbox} ctx
 */
export function bodyOf(ctx) {
  /** @type {ContextBody} */
  const body = { itemId: ctx.itemId, itemType: ctx.itemType };
  if (ctx.state === "shared") {
    const { targetMailbox, targetRestUrl, owner, delegatePermissions } = ctx.shared;
    body.shared = { targetMailbox, targetRestUrl, owner, delegatePermissions };
  }
  return body;
}

/**
 * The headers of every call: the bearer token, JSON both ways, and the call's own.
 * @param {string} token
 * @param {Record<string, string>} [extra]
 */
function headersOf(token, extra = {}) {
  return {
    Authorization: `Bearer ${token}`,
    "Content-Type": "application/json",
    Accept: "application/json",
    ...extra,
  };
}

/**
 * One POST with the token; answers the JSON body or throws an ApiProblem.
 * @param {typeof fetch} fetchImpl
 * @param {string} url
 * @param {string} token
 * @param {object} body
 * @param {number} timeoutMs
 * @param {boolean} [keepalive]
 * @param {Record<string, string>} [headers]
 * @returns {Promise<object>}
 */
async function send(fetchImpl, url, token, body, timeoutMs, keepalive = false, headers = {}) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
  let response;
  try {
    response = await fetchImpl(url, {
      method: "POST",
      headers: headersOf(token, headers),
      body: JSON.stringify(body),
      credentials: "same-origin",
      signal: controller?.signal,
      ...(keepalive && { keepalive: true }),
    });
  } catch (error) {
    const thrown = /** @type {{name?: unknown, message?: unknown} | null | undefined} */ (error);
    const code = thrown?.name === "AbortError" ? "timeout" : "network_error";
    throw new ApiProblem({ code, detail: String(thrown?.message ?? error) }, 0);
  } finally {
    if (timer) clearTimeout(timer);
  }
  /** @type {unknown} */
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (response.ok && payload && typeof payload === "object") return payload;
  const problem =
    payload && typeof payload === "object" && "code" in payload && payload.code
      ? /** @type {ProblemBody} */ (payload)
      : { title: response.statusText };
  const error = new ApiProblem(problem, response.status);
  if (response.ok) error.code = "bad_answer";
  throw error;
}

/** @type {SignIn | null} */
let defaultSignIn = null;

/**
 * A token from the page's one SignIn (main.js passes its own; this is for other callers).
 * @param {TokenRequest} request
 */
function signInToken(request) {
  if (!defaultSignIn) defaultSignIn = new SignIn();
  return defaultSignIn.token(request);
}

/**
 * @typedef {object} Seams
 * @property {typeof fetch} [fetch]
 * @property {(request: TokenRequest) => Promise<string>} [getToken]
 * @property {string} [baseUrl]
 * @property {number} [timeoutMs]
 * @property {boolean} [keepalive]  let the request outlive the page (presence's "gone")
 * @property {((token: string) => void) | null} [onToken]  told every token a request goes out with
 * @property {Record<string, string>} [headers]  the call's own headers (Idempotency-Key)
 */

/**
 * One POST to the backend with the sign-in retries every call shares. token_expired: a fresh
 * token (past MSAL.js's cache), retried once; interaction_required: a token for the problem's
 * claims challenge (MSAL.js's claims, Office's authChallenge), retried once.
 * @param {string} path  the route, such as /api/items/context
 * @param {object} body
 * @param {Seams} [seams]
 * @returns {Promise<object>}  the answer's JSON object
 */
export async function request(
  path,
  body,
  {
    fetch: fetchImpl = globalThis.fetch,
    getToken = signInToken,
    baseUrl = "",
    timeoutMs = REQUEST_TIMEOUT_MS,
    keepalive = false,
    onToken = null,
    headers = {},
  } = {},
) {
  const url = `${baseUrl}${path}`;
  let token = await getToken({});
  let freshTried = false;
  let challengeTried = false;
  for (;;) {
    onToken?.(token);
    try {
      return await send(fetchImpl, url, token, body, timeoutMs, keepalive, headers);
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      if (error.code === "token_expired" && !freshTried) {
        freshTried = true;
        token = await getToken({ fresh: true });
      } else if (error.code === "interaction_required" && error.claims && !challengeTried) {
        challengeTried = true;
        token = await getToken({ authChallenge: error.claims });
      } else {
        throw error;
      }
    }
  }
}

/**
 * Refuses contexts the backend has no business hearing about (unknown mailbox, no item).
 * @param {ItemContext | null | undefined} ctx
 * @returns {KnownMailbox}
 */
function checked(ctx) {
  if (ctx?.state !== "own" && ctx?.state !== "shared") {
    throw new RangeError(`no backend call for a context in state ${ctx?.state}`);
  }
  return ctx;
}

/**
 * POST /api/items/context for the item: what may be done with it, and its summary.
 * @param {ItemContext | null} ctx  an own or shared context
 * @param {Seams} [seams]
 * @returns {Promise<ContextAnswer>}
 */
export async function postContext(ctx, seams = {}) {
  const answer = await request("/api/items/context", bodyOf(checked(ctx)), seams);
  return /** @type {ContextAnswer} */ (answer);
}

/**
 * POST /api/items/actions/<action>: the context, the etag the pane last saw, and the action's
 * own fields (docs/api.md), with the submission's Idempotency-Key: the same key for a
 * retry of the same submission, so the server does it once. Answers {action, item, result}.
 * @param {ItemContext | null} ctx
 * @param {string} action  claim, release, categorize, flag, markRead, ..., respond
 * @param {{etag?: string|null, fields?: Record<string, unknown>, key?: string|null,
 *   timeoutMs?: number}} [what]
 * @param {Seams} [seams]
 * @returns {Promise<ActionAnswer>}
 */
export async function postAction(
  ctx,
  action,
  { etag = null, fields = {}, key = null, timeoutMs = ACTION_TIMEOUT_MS } = {},
  seams = {},
) {
  /** @type {Record<string, unknown>} */
  const body = { ...bodyOf(checked(ctx)), ...fields };
  if (etag) body.etag = etag;
  const headers = key ? { ...(seams.headers ?? {}), "Idempotency-Key": key } : seams.headers;
  const answer = await request(`/api/items/actions/${encodeURIComponent(action)}`, body, {
    timeoutMs,
    ...seams,
    ...(headers && { headers }),
  });
  return /** @type {ActionAnswer} */ (answer);
}

/**
 * POST /api/mailbox/folders: the folders of the item's mailbox the person can see, each with
 * its path (Inbox/Escalations), for the move picker.
 * @param {ItemContext | null} ctx
 * @param {Seams} [seams]
 * @returns {Promise<Folder[]>}
 */
export async function postFolders(ctx, seams = {}) {
  const answer = /** @type {{folders?: Folder[]}} */ (
    await request("/api/mailbox/folders", bodyOf(checked(ctx)), seams)
  );
  return Array.isArray(answer.folders) ? answer.folders : [];
}

/**
 * One POST to a mailbox route (/api/mailbox/<route>): the item's context says which mailbox,
 * and the route's own fields go beside it.
 * @param {string} route  queue, next, templates, templates/save, policy, stats, ...
 * @param {ItemContext | null} ctx
 * @param {Record<string, unknown>} [fields]
 * @param {Seams} [seams]
 * @returns {Promise<object>}
 */
export function postMailbox(route, ctx, fields = {}, seams = {}) {
  return request(`/api/mailbox/${route}`, { ...bodyOf(checked(ctx)), ...fields }, seams);
}

/**
 * The queue: counts for every view and one page of `view`, oldest due first.
 * @param {ItemContext | null} ctx
 * @param {QueueView} view
 * @param {number} page
 * @param {Seams} [seams]
 * @returns {Promise<QueueAnswer>}
 */
export async function postQueue(ctx, view, page, seams = {}) {
  return /** @type {QueueAnswer} */ (await postMailbox("queue", ctx, { view, page }, seams));
}

/**
 * Take the next one: the open conversation nobody owns that is due soonest becomes the caller's.
 * @param {ItemContext | null} ctx
 * @param {Seams} [seams]
 * @returns {Promise<NextAnswer>}
 */
export async function postNext(ctx, seams = {}) {
  return /** @type {NextAnswer} */ (await postMailbox("next", ctx, {}, seams));
}

/**
 * The mailbox's templates.
 * @param {ItemContext | null} ctx
 * @param {Seams} [seams]
 * @returns {Promise<TemplatesAnswer>}
 */
export async function postTemplates(ctx, seams = {}) {
  const answer = /** @type {Partial<TemplatesAnswer>} */ (
    await postMailbox("templates", ctx, {}, seams)
  );
  return {
    templates: Array.isArray(answer.templates) ? answer.templates : [],
    placeholders: Array.isArray(answer.placeholders) ? answer.placeholders : [],
  };
}

/**
 * Creates a template (no id) or changes one; answers it as saved.
 * @param {ItemContext | null} ctx
 * @param {{id?: string | null, name: string, body: string}} template
 * @param {Seams} [seams]
 * @returns {Promise<Template>}
 */
export async function postSaveTemplate(ctx, { id = null, name, body }, seams = {}) {
  const fields = id ? { id, name, body } : { name, body };
  const answer = /** @type {{template: Template}} */ (
    await postMailbox("templates/save", ctx, fields, seams)
  );
  return answer.template;
}

/**
 * Removes a template.
 * @param {ItemContext | null} ctx
 * @param {string} id
 * @param {Seams} [seams]
 */
export async function postDeleteTemplate(ctx, id, seams = {}) {
  await postMailbox("templates/delete", ctx, { id }, seams);
}

/**
 * The mailbox's first-response policy, and whether the person may change it.
 * @param {ItemContext | null} ctx
 * @param {Record<string, unknown> | null} [change]  a new policy to save (Tandem.Admin only)
 * @param {Seams} [seams]
 * @returns {Promise<PolicyAnswer>}
 */
export async function postPolicy(ctx, change = null, seams = {}) {
  const route = change ? "policy/save" : "policy";
  return /** @type {PolicyAnswer} */ (await postMailbox(route, ctx, change ?? {}, seams));
}

/**
 * The mailbox's numbers over the last 7 or 30 days.
 * @param {ItemContext | null} ctx
 * @param {7 | 30} days
 * @param {Seams} [seams]
 * @returns {Promise<StatsAnswer>}
 */
export async function postStats(ctx, days, seams = {}) {
  return /** @type {StatsAnswer} */ (await postMailbox("stats", ctx, { days }, seams));
}

/**
 * POST /api/items/presence: the person is viewing or replying to the item, or gone from it.
 * Answers {others: [{upn, name, state, since}], ttl}.
 * @param {ItemContext | null} ctx
 * @param {"viewing"|"replying"|"gone"} state
 * @param {Seams} [seams]
 * @returns {Promise<PresenceAnswer>}
 */
export async function postPresence(ctx, state, seams = {}) {
  const answer = await request("/api/items/presence", { ...bodyOf(checked(ctx)), state }, seams);
  return /** @type {PresenceAnswer} */ (answer);
}

/**
 * "gone" as the page unloads: sent at once with a token the pane already holds (there is no
 * time to ask for one), through fetch with keepalive, since navigator.sendBeacon can't carry
 * the bearer token. Nothing waits for the answer.
 * @param {ItemContext | null} ctx
 * @param {string} token
 * @param {{fetch?: typeof fetch, baseUrl?: string}} [seams]
 * @returns {Promise<Response | null>}
 */
export function presenceGoneNow(ctx, token, seams = {}) {
  return goneNow({ ...bodyOf(checked(ctx)), state: "gone" }, token, seams);
}

/**
 * The "gone" of presenceGoneNow for any body the presence route takes (a draft's too).
 * @param {object} body  the item's or draft's context with state "gone"
 * @param {string} token
 * @param {{fetch?: typeof fetch, baseUrl?: string}} [seams]
 * @returns {Promise<Response | null>}
 */
export function goneNow(body, token, { fetch: fetchImpl = globalThis.fetch, baseUrl = "" } = {}) {
  try {
    return Promise.resolve(
      fetchImpl(`${baseUrl}/api/items/presence`, {
        method: "POST",
        headers: headersOf(token),
        body: JSON.stringify(body),
        credentials: "same-origin",
        keepalive: true,
      }),
    ).catch(() => null);
  } catch {
    return Promise.resolve(null);
  }
}

/**
 * Only https links are offered to the person (the consent page is Entra ID's).
 * @param {unknown} value
 */
export function safeHttpsUrl(value) {
  try {
    const url = new URL(String(value));
    return url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * The conflict's holder by name, else by upn, or "" when no claim was in the way.
 * @param {{name?: string, upn?: string} | null | undefined} holder
 */
export function holderName(holder) {
  return String(holder?.name || holder?.upn || "").trim();
}

/**
 * Each contract code as a sentence saying what happened and what to do.
 * @type {Readonly<Record<string, (problem: ApiProblem) => string>>}
 */
export const PROBLEM_MESSAGES = Object.freeze({
  invalid_request: (p) =>
    `Tandem sent its server a request it couldn't accept${p.field ? ` (${p.field})` : ""}. ` +
    "Close and reopen the add-in; if it happens again, tell your administrator and quote the request id.",
  target_not_allowed: () =>
    "This mailbox lives in a Microsoft cloud this Tandem deployment doesn't serve. " +
    "Ask your administrator for the Tandem deployment of that cloud.",
  invalid_token: () =>
    "Tandem's server didn't accept your sign-in. Sign out of Outlook and back in; if it happens again, " +
    "your organization may not be set up for this Tandem deployment: ask your administrator.",
  token_expired: () =>
    "Your sign-in expired and a fresh one wasn't accepted either. Choose Try again; " +
    "if it keeps happening, sign out of Outlook and back in.",
  interaction_required: () =>
    "Your organization needs one more sign-in step, such as multi-factor authentication. " +
    "Choose Try again and complete the prompt Outlook shows.",
  consent_required: () =>
    "Tandem needs permission to work with mail on your behalf, and nobody has granted it yet. " +
    "Ask an administrator to open the consent page below and accept, then choose Try again.",
  permission_denied: () =>
    "Your permissions on this folder don't allow that. Ask the mailbox owner for more rights.",
  mailbox_access_denied: () =>
    "Exchange refused access to this mailbox: you don't have access to it (any more), or it was granted less than an hour ago. " +
    "Ask the mailbox owner or your administrator, or try again later.",
  send_as_denied: () =>
    "You may not send as this mailbox or on its behalf. Ask your administrator for Send As or Send on Behalf rights.",
  mailbox_not_found: () =>
    "No Exchange Online mailbox answers at this address: it may be on-premises, a guest account, or misspelled. " +
    "Check the address with your administrator.",
  item_not_found: () =>
    "This item isn't there any more: someone may have moved or deleted it. Select it again in its folder.",
  conflict: (p) =>
    holderName(p.holder)
      ? `${holderName(p.holder)} has claimed this item, so Tandem changed nothing. ` +
        "Choose Reload to see the item as it is now."
      : "Someone changed this item since you opened it, so Tandem changed nothing. " +
        "Choose Reload to see the latest version, then try again.",
  throttled: (p) =>
    `Microsoft 365 asked Tandem to slow down. Try again in ${p.retryAfter ?? "a few"} second${p.retryAfter === 1 ? "" : "s"}.`,
  upstream_unavailable: () => "Microsoft 365 isn't answering right now. Try again in a minute.",
  server_misconfigured: () =>
    "Tandem's server is misconfigured, so it can't reach Microsoft 365 for you. Tell your administrator and quote the request id.",
  network_error: () =>
    "Tandem's server couldn't be reached. Check your network connection, then choose Try again.",
  timeout: () => "Tandem's server took too long to answer. Choose Try again.",
  bad_answer: () =>
    "Tandem's server sent an answer the add-in couldn't read. Choose Try again; if it happens again, tell your administrator.",
  send_outcome_unknown: (p) =>
    p.detail ||
    "Microsoft 365 didn't confirm your message, so it may or may not have gone out. Tandem won't send it again by itself: choose Check again.",
});

/**
 * A failure as the pane shows it.
 * @typedef {object} Explained
 * @property {string} code  the contract's code (auth_<code> for a sign-in failure)
 * @property {string} title
 * @property {string} message  the sentence, with its fix
 * @property {boolean} retry  whether Try again makes sense
 * @property {boolean} check  whether Check again (the same submission) makes sense
 * @property {number|null} retryAfter  seconds to wait before Try again (throttling)
 * @property {{href: string, text: string}|null} link  a page to open (consent)
 * @property {string|null} requestId
 * @property {number|null} officeCode
 * @property {string|null} msalCode
 * @property {string|null} serverSaid  the server's own reason, as small print for an
 *   administrator, where the pane's sentence is general (a refused sign-in, a misconfiguration)
 */

/** Codes whose own sentence (the server's detail) says more than the pane's would. */
const SERVER_WORDS = new Set(["send_outcome_unknown"]);

/** The actions that send something: their errors are told in the server's own sentence. */
export const SENDING_ACTIONS = new Set(["reply", "replyAll", "forward", "respond"]);

/** Codes a send's error may carry where the server's sentence is the one to show. */
const SEND_WORDS = new Set([
  "send_as_denied",
  "upstream_unavailable",
  "throttled",
  "invalid_request",
  "conflict",
]);

/** Codes whose sentence is general, where the server's reason helps an administrator. */
const ADMIN_DETAIL = new Set(["invalid_token", "server_misconfigured", "target_not_allowed"]);

/** The longest server reason shown as small print. */
const DETAIL_LIMIT = 300;

/** Codes where trying again later can't help until somebody changes something. */
const FINAL = new Set([
  "invalid_request",
  "target_not_allowed",
  "mailbox_not_found",
  "server_misconfigured",
]);

/**
 * What to show for a failure: the sentence with its fix, whether Try again makes sense, a
 * link to open (consent), the request id and, for throttling, how long to wait.
 * send_outcome_unknown is never "Try again" (that could send twice) but "Check again": the same
 * submission, whose key makes the server look before it sends.
 * @param {unknown} error  an ApiProblem, an AuthError or anything thrown
 * @param {{action?: string|null}} [about]  the action the error answered, if any
 * @returns {Explained}
 */
export function explain(error, { action = null } = {}) {
  if (error instanceof AuthError) {
    return {
      code: `auth_${error.code}`,
      title: "Sign-in didn't work",
      message: error.message,
      retry: error.retryable,
      check: false,
      retryAfter: null,
      link: null,
      requestId: null,
      officeCode: error.source === "office" && typeof error.code === "number" ? error.code : null,
      msalCode: error.source === "msal" ? String(error.code) : null,
      serverSaid: null,
    };
  }
  if (error instanceof ApiProblem) {
    // Own members only: a code such as "toString" is no sentence of the table.
    const words = Object.hasOwn(PROBLEM_MESSAGES, error.code)
      ? PROBLEM_MESSAGES[error.code]
      : undefined;
    const own =
      error.detail &&
      (SERVER_WORDS.has(error.code) ||
        (action !== null && SENDING_ACTIONS.has(action) && SEND_WORDS.has(error.code)));
    const message = own
      ? String(error.detail)
      : words
        ? words(error)
        : `Tandem's server answered with an error (${error.status || "no status"}). Choose Try again; ` +
          "if it happens again, tell your administrator and quote the request id.";
    const href = error.code === "consent_required" ? safeHttpsUrl(error.consentUrl) : null;
    const unknown = error.code === "send_outcome_unknown";
    return {
      code: error.code,
      title: (words && error.title) || "Something went wrong",
      message,
      retry: !FINAL.has(error.code) && !unknown,
      check: unknown,
      retryAfter: error.code === "throttled" ? Number(error.retryAfter ?? 0) || null : null,
      link: href ? { href, text: "Open the consent page" } : null,
      requestId: error.requestId,
      officeCode: null,
      msalCode: null,
      serverSaid:
        !own && ADMIN_DETAIL.has(error.code) && typeof error.detail === "string" && error.detail
          ? error.detail.trim().slice(0, DETAIL_LIMIT)
          : null,
    };
  }
  return {
    code: "unexpected",
    title: "Something went wrong",
    message:
      "Something unexpected went wrong in the add-in. Choose Try again; if it happens again, restart Outlook.",
    retry: true,
    check: false,
    retryAfter: null,
    link: null,
    requestId: null,
    officeCode: null,
    msalCode: null,
    serverSaid: null,
  };
}
