// The Office host simulator's page: an Outlook-like window (persona, folders, items, reading
// pane) with Tandem's task pane pinned on the right in a frame. The pane's office.js stand-in
// reads everything through window.tandemSimulatorHost, defined here (same origin).
//
// URL query (for tests and links): persona (upn or persona key), mailbox, folder (id, well-known
// or display name), item (REST or EWS id, or "none"), sharedProps (normal|missing|fails|empty|
// timeout), token (v1|v2), fail (a getAccessToken error code for the next call), naa (supported|
// unsupported|unavailable|interaction|consent|cancel|network: nested app authentication, see
// NAA_SCENARIOS; off = unsupported), identityApi
// (off), scenario (open), compose (reply|replyAll: a draft of a reply to the item, open).
//
// The whole simulated Outlook window (personas, folder tree, item list, reading pane, scenario
// switches and the NAA bridge the pane talks to), its parts sharing one state object: test and
// demo equipment, never shipped in production.

import { ComposeWindow, sendCheck, smartAlert, startRuntime } from "./compose.js";

/**
 * @import { BridgeRequestEnvelope, BridgeResponseEnvelope, CallRecord, ItemChangedHandler,
 *   ItemDescriptor, LogEntry, NaaScenario, Scenario, SharedPropertiesMode, SimulatorHost }
 *   from "../types/simulator"
 */

/**
 * The emulator's world (GET /_emulator/world), the members the simulator reads.
 * @typedef {object} World
 * @property {{clientId: string, identifierUris: string[]}} app
 * @property {WorldPerson[]} people
 * @property {WorldMailbox[]} mailboxes
 */

/**
 * @typedef {{upn: string, name: string, oid: string, tenantId: string, persona: string|null,
 *   description: string|null, mailbox: string}} WorldPerson
 */

/**
 * @typedef {{address: string, displayName: string, owner: string|null, fullAccess?: string[],
 *   folders: WorldFolder[]}} WorldMailbox
 */

/**
 * @typedef {{id: string, name: string, wellKnownName: string|null, parentId: string|null,
 *   permissions: Record<string, number>, items: WorldItem[]}} WorldFolder
 */

/**
 * @typedef {{id: string, ewsId: string, itemType: "message"|"appointment", subject: string,
 *   from?: {name?: string, address?: string}, receivedDateTime: string|null, isRead?: boolean,
 *   conversationId?: string|null, categories?: string[], immutableId?: string|null}} WorldItem
 */

/**
 * A folder as Outlook lists it for the persona: in tree order, with its depth and Office's bits.
 * @typedef {WorldFolder & {depth: number, bits: number}} ShownFolder
 */

/**
 * One mailbox of the persona's folder tree.
 * @typedef {{mailbox: WorldMailbox, kind: "own"|"shared"|"delegate"|"removed", label: string,
 *   folders: ShownFolder[]}} Box
 */

/**
 * The host page's elements the script uses, by id (host.html has each).
 * @typedef {object} HostElements
 * @property {HTMLButtonElement} sim-browser-close
 * @property {HTMLElement} sim-browser-url
 * @property {HTMLElement} sim-browser-window
 * @property {HTMLButtonElement} sim-clear-log
 * @property {HTMLElement} sim-folder-tree
 * @property {HTMLInputElement} sim-identity-api
 * @property {HTMLElement} sim-item-list
 * @property {HTMLElement} sim-items-heading
 * @property {HTMLSelectElement} sim-naa
 * @property {HTMLButtonElement} sim-naa-cancel
 * @property {HTMLButtonElement} sim-naa-continue
 * @property {HTMLDialogElement} sim-naa-dialog
 * @property {HTMLElement} sim-naa-text
 * @property {HTMLSelectElement} sim-persona
 * @property {HTMLElement} sim-persona-description
 * @property {HTMLElement} sim-reading
 * @property {HTMLButtonElement} sim-reload
 * @property {HTMLElement} sim-scenario
 * @property {HTMLButtonElement} sim-scenario-toggle
 * @property {HTMLSelectElement} sim-shared-props
 * @property {HTMLSelectElement} sim-token-error
 * @property {HTMLInputElement} sim-token-v1
 * @property {HTMLInputElement} sim-token-v2
 * @property {HTMLElement} simulator-log
 * @property {HTMLIFrameElement} taskpane-frame
 * @property {HTMLDialogElement} sim-smart-alert
 * @property {HTMLElement} sim-smart-alert-title
 * @property {HTMLElement} sim-smart-alert-text
 * @property {HTMLButtonElement} sim-smart-alert-send
 * @property {HTMLButtonElement} sim-smart-alert-dont
 */

/** What Office reports as targetRestUrl worldwide (the backend maps it to Graph). */
const TARGET_REST_URL = "https://outlook.office.com/api";
/** Office's bits for a Full Access member of a shared mailbox: undocumented; 63 is our assumption. */
const FULL_ACCESS_BITS = 63;
/**
 * Mailboxes Outlook still lists for a persona though Exchange refuses them (access removed).
 * @type {Readonly<Record<string, string[]>>}
 */
const REMOVED_ACCESS = Object.freeze({ "no-access": ["support@contoso.com"] });
/** Simulated latency of Office's callbacks, in milliseconds. */
const LATENCY_MS = 20;
/**
 * How each persona key reads in the switcher.
 * @type {Readonly<Record<string, string>>}
 */
const PERSONA_LABELS = Object.freeze({
  owner: "owner",
  "delegate-reviewer": "delegate, read only",
  "delegate-author": "delegate, author",
  "delegate-editor": "delegate, editor",
  "shared-member": "shared mailbox member",
  "shared-member-sob": "shared mailbox member, Send on Behalf",
  "no-access": "no access",
  "other-tenant": "another tenant",
  "third-tenant": "a tenant not allowed",
});
/**
 * The getAccessToken failures the scenario can inject; the names are the simulator's own labels.
 * @type {ReadonlyArray<readonly [number, string, string]>}
 */
const TOKEN_ERRORS = Object.freeze([
  [13000, "API Not Supported", "The identity API is not supported for this add-in."],
  [13001, "User Not Signed In", "There is no user signed into Office."],
  [13002, "User Aborted", "The user aborted the sign-in or consent."],
  [13003, "Unsupported User Identity", "This type of account is not supported."],
  [13004, "Invalid Resource", "The add-in manifest's resource is not valid."],
  [13005, "Invalid Grant", "Office is not authorized for the add-in's web service."],
  [13006, "Client Error", "An error occurred in the Office client."],
  [13007, "Cannot Get Token", "Office could not get a token for the add-in's web service."],
  [13008, "Operation In Progress", "A previous getAccessToken call has not completed."],
  [13009, "Force Consent Not Supported", "The add-in catalog does not support forcing consent."],
  [
    13010,
    "Security Zones Mismatch",
    "The site and login.microsoftonline.com are in different zones.",
  ],
  [13011, "Unknown Error", "An undocumented error occurred."],
  [13012, "API Not Supported In This Context", "getAccessToken is not supported on this platform."],
  [13013, "Too Many Requests", "getAccessToken was called too many times in a short time."],
  [50001, "Office.js Not Loaded", "Office.js is cached or too old for single sign-on."],
]);

/**
 * How the simulated Outlook answers nested app authentication (its bridge, for MSAL.js):
 * supported: tokens from the emulator; unsupported: no NestedAppAuth 1.1 and no bridge (older
 * builds, on-premises); unavailable: the bridge answers NESTED_APP_AUTH_UNAVAILABLE; the rest
 * are failure classes: interaction (the silent request needs the person: a sign-in window),
 * consent (nobody granted consent, and the window can't: admin approval required), cancel (the
 * person closes the window), network (Outlook can't reach Entra ID).
 */
const NAA_SCENARIOS = Object.freeze({
  supported: "supported: tokens through Outlook's bridge",
  unsupported: "not supported (older Outlook): legacy sign-in",
  unavailable: "answers NESTED_APP_AUTH_UNAVAILABLE",
  interaction: "needs the person (sign-in window)",
  consent: "consent missing (admin approval required)",
  cancel: "the person closes the sign-in window",
  network: "no network (NO_NETWORK)",
});

/**
 * The NAA scenario a URL's naa= names (off, none, 0 and false mean unsupported).
 * @param {unknown} value
 * @returns {NaaScenario}
 */
function naaScenarioOf(value) {
  const key = String(value ?? "").toLowerCase();
  if (["off", "none", "0", "false", "no"].includes(key)) return "unsupported";
  return Object.hasOwn(NAA_SCENARIOS, key) ? /** @type {NaaScenario} */ (key) : "supported";
}

/** The getSharedPropertiesAsync modes other than "normal". */
const SHARED_PROPERTIES_MODES = /** @type {const} */ (["missing", "fails", "empty", "timeout"]);

/**
 * The getSharedPropertiesAsync mode a URL's sharedProps= names ("normal" for anything else).
 * @param {unknown} value
 * @returns {SharedPropertiesMode}
 */
function sharedPropertiesOf(value) {
  return SHARED_PROPERTIES_MODES.find((mode) => mode === value) ?? "normal";
}

const params = new URLSearchParams(window.location.search);

/**
 * The host page's element of that id.
 * @template {keyof HostElements} K
 * @param {K} id
 * @returns {HostElements[K]}
 */
const $ = (id) => /** @type {HostElements[K]} */ (document.getElementById(id));

/**
 * @typedef {object} HostState
 * @property {string} emulatorUrl
 * @property {World | null} world  null until the emulator's world is loaded
 * @property {WorldPerson | null} person  the persona signed in
 * @property {Box[]} boxes  the persona's mailboxes
 * @property {{address: string|null, folderId: string|null, itemId: string|null}} selection
 * @property {number} version  changes with every selection
 * @property {Scenario} scenario
 * @property {{handler: ItemChangedHandler, doc: Document}[]} handlers
 * @property {CallRecord[]} calls
 * @property {{interactive: boolean, claims: Set<string>}} naaSession
 * @property {Draft | null} compose  the draft of a reply open in the compose window
 * @property {Map<string, (event: unknown) => unknown>} associated  Office.actions.associate's
 */

/**
 * A draft of a reply: the compose window, the item it answers, its sessionData.
 * @typedef {{kind: "reply" | "replyAll", window: ComposeWindow, box: Box, item: WorldItem,
 *   sessionData: Map<string, string>}} Draft
 */

/** The OnMessageSend runtime's page (the manifests' SendCheck.Page). */
const SEND_CHECK_PAGE = "/launch/onsend.html";

/** @type {HostState} */
const state = {
  emulatorUrl: "",
  world: null,
  person: null,
  boxes: [],
  selection: { address: null, folderId: null, itemId: null },
  version: 0,
  scenario: {
    tokenVersion: params.get("token") === "v1" || params.get("token") === "1" ? 1 : 2,
    sharedProperties: sharedPropertiesOf(params.get("sharedProps")),
    nextTokenError: TOKEN_ERRORS.some(([code]) => String(code) === params.get("fail"))
      ? Number(params.get("fail"))
      : null,
    naa: naaScenarioOf(params.get("naa")),
    identityApi: !["off", "0", "false", "none"].includes(
      (params.get("identityApi") ?? "").toLowerCase(),
    ),
  },
  handlers: [],
  calls: [],
  // What the person did in a sign-in window this session (until persona or scenario change):
  // signed in interactively, and the claims challenges they satisfied.
  naaSession: { interactive: false, claims: new Set() },
  compose: null,
  associated: new Map(),
};

/**
 * The emulator's world, once loaded (start() loads it before anything asks).
 * @returns {World}
 */
function loadedWorld() {
  if (!state.world) throw new Error("the emulator's world isn't loaded yet");
  return state.world;
}

/**
 * The persona signed in (switchPersona() picks one once the world is loaded).
 * @returns {WorldPerson}
 */
function signedIn() {
  if (!state.person) throw new Error("no persona is signed in");
  return state.person;
}

/**
 * Creates an element with attributes and text or node children (text is never parsed).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node | string | null | undefined | false | (Node | string)[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
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
 * "16 Nov, 08:25" for the item list and reading pane.
 * @param {string | null | undefined} value
 */
function shortTime(value) {
  const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(value ?? "") ? String(value) : `${value}Z`);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(undefined, {
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "UTC",
  }).format(date);
}

// ---------------------------------------------------------------- the host object for office.js

/** @type {() => void} */
let resolveReady;
/** @type {Promise<void>} */
const ready = new Promise((resolve) => {
  resolveReady = resolve;
});

/**
 * Appends one Office API call to the visible log; answers a handle to add its outcome.
 * @param {string} call
 * @param {unknown} [args]
 * @param {string | null} [outcome]
 * @returns {LogEntry}
 */
function logCall(call, args, outcome) {
  /** @type {CallRecord} */
  const record = { call, args: args === undefined ? null : args, outcome: outcome ?? null };
  state.calls.push(record);
  const argsText = args === undefined ? "" : JSON.stringify(args);
  const outcomeNode = el("span", { class: "outcome" });
  const item = el(
    "li",
    { "data-call": call, "data-args": argsText },
    el("code", { class: "call" }, call),
    argsText ? " " : "",
    argsText ? el("code", { class: "args" }, argsText) : "",
    outcomeNode,
  );
  /** @param {string} text */
  const setOutcome = (text) => {
    record.outcome = text;
    outcomeNode.textContent = ` → ${text}`;
  };
  if (outcome) setOutcome(outcome);
  const list = $("simulator-log");
  list.append(item);
  item.scrollIntoView({ block: "nearest" });
  return { outcome: setOutcome };
}

/**
 * The descriptor of the selected item that office.js turns into Office's item, or null.
 * @returns {ItemDescriptor | null}
 */
function selectedItem() {
  const found = findSelection();
  if (!found?.item || !found.folder) return null;
  const { box, folder, item } = found;
  const shared =
    box.kind === "own"
      ? null
      : {
          owner: box.mailbox.owner || box.mailbox.address,
          targetMailbox: box.mailbox.address,
          targetRestUrl: TARGET_REST_URL,
          delegatePermissions: folder.bits,
        };
  if (state.compose) {
    const spec = state.compose.window.spec;
    return {
      mode: "compose",
      ewsId: "",
      restId: "",
      itemType: "message",
      subject: spec.subject,
      from: spec.from,
      to: spec.to,
      receivedDateTime: null,
      start: null,
      createdDateTime: null,
      conversationId: item.conversationId ?? null,
      shared,
    };
  }
  return {
    ewsId: item.ewsId,
    restId: item.id,
    itemType: item.itemType,
    subject: item.subject,
    from: item.from ? { name: item.from.name, address: item.from.address } : null,
    receivedDateTime: item.receivedDateTime,
    start:
      item.itemType === "appointment" ? `${item.receivedDateTime}`.replace(/(\.\d+)?$/, "Z") : null,
    createdDateTime: item.receivedDateTime,
    shared,
  };
}

/** @type {SimulatorHost} */
const host = {
  ready,
  /** Simulated callback latency. */
  latency: () => LATENCY_MS,
  /** A copy of the scenario switches. */
  scenario: () => ({ ...state.scenario }),
  /** The signed-in persona. */
  profile: () => ({ name: state.person?.name ?? "", upn: state.person?.upn ?? "" }),
  /** The selection, with a version that changes whenever it does. */
  currentItem: () => ({ version: state.version, item: selectedItem() }),
  /** Logs one Office API call. */
  log: logCall,
  /** Every call logged so far, for tests. */
  calls: () => state.calls.map((record) => ({ ...record })),
  /** Registers an ItemChanged handler for the pane document that asked. */
  addItemChangedHandler(handler, doc) {
    state.handlers.push({ handler, doc });
  },
  /** Drops the ItemChanged handlers of a pane document. */
  removeItemChangedHandlers(doc) {
    state.handlers = state.handlers.filter((entry) => entry.doc !== doc);
  },
  /**
   * Office.context.ui.openBrowserWindow: Outlook opens the URL in the system browser. A page
   * of this demo opens in a new tab; any other (Outlook on the web, Entra ID) is only shown,
   * since nothing here may reach Microsoft.
   * @param {string} url
   */
  openBrowserWindow(url) {
    if (!/^https:\/\//i.test(url)) return;
    if (new URL(url).hostname === window.location.hostname) {
      window.open(url, "_blank", "noopener");
      return;
    }
    $("sim-browser-url").textContent = url;
    $("sim-browser-window").hidden = false;
  },
  /** The host side of the NAA bridge: one request envelope (JSON text) in, a response out. */
  bridgeRequest,
  /** Office.context.mailbox.displayMessageForm: opens a message (here: in the reading pane). */
  displayMessageForm: (ewsId) => {
    displayMessageForm(ewsId);
  },
  /**
   * displayReplyFormAsync / displayReplyAllFormAsync: Outlook's own reply form opens (after
   * the add-in's callback), the add-in reopens beside it.
   * @param {"reply" | "replyAll"} kind
   * @param {string} htmlBody
   */
  displayReplyForm(kind, htmlBody) {
    setTimeout(() => openCompose(kind, htmlBody), LATENCY_MS * 3);
  },
  /**
   * Office.actions.associate: the runtime's handler for a manifest's function name.
   * @param {string} name
   * @param {(event: unknown) => unknown} handler
   */
  associate(name, handler) {
    logCall("Office.actions.associate", [name]);
    state.associated.set(name, handler);
  },
  /** body.getTypeAsync of the draft. */
  composeBodyType: () => state.compose?.window.bodyType() ?? "html",
  /**
   * body.setSelectedDataAsync of the draft.
   * @param {string} data
   * @param {string} coercion
   */
  composeInsert(data, coercion) {
    if (!state.compose) throw new Error("no draft is open");
    state.compose.window.insert(data, coercion);
  },
  /**
   * item.sessionData.getAsync of the draft.
   * @param {string} key
   */
  sessionGet: (key) => state.compose?.sessionData.get(key) ?? null,
  /**
   * item.sessionData.setAsync of the draft.
   * @param {string} key
   * @param {string} value
   */
  sessionSet(key, value) {
    state.compose?.sessionData.set(key, String(value));
  },
  /**
   * Office.auth.getAccessToken: the emulator's SSO token for the persona, or the injected failure.
   * @param {unknown} options
   */
  async getAccessToken(options) {
    const entry = logCall("getAccessToken", options);
    await pause(LATENCY_MS);
    if (!state.scenario.identityApi) {
      entry.outcome("rejected 13000 (IdentityAPI 1.3 unsupported)");
      throw {
        code: 13000,
        name: "API Not Supported",
        message: "The identity API is not supported for this add-in.",
      };
    }
    const failure = state.scenario.nextTokenError
      ? TOKEN_ERRORS.find(([c]) => c === state.scenario.nextTokenError)
      : undefined;
    if (failure) {
      const [code, name, message] = failure;
      state.scenario.nextTokenError = null;
      syncControls();
      writeUrl();
      entry.outcome(`rejected ${code} ${name}`);
      throw { code, name, message };
    }
    let response;
    try {
      response = await fetch(`${state.emulatorUrl}/_emulator/sso-token`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: signedIn().upn, version: state.scenario.tokenVersion }),
      });
    } catch (error) {
      entry.outcome("rejected 13007 (emulator unreachable)");
      throw { code: 13007, name: "Cannot Get Token", message: String(error) };
    }
    if (!response.ok) {
      entry.outcome(`rejected 13007 (emulator answered ${response.status})`);
      throw {
        code: 13007,
        name: "Cannot Get Token",
        message: `emulator answered ${response.status}`,
      };
    }
    const { token } = await response.json();
    entry.outcome(`token v${state.scenario.tokenVersion} for ${signedIn().upn}`);
    return token;
  },
};
window.tandemSimulatorHost = host;

// ---------------------------------------------------------------- nested app authentication

/**
 * The account Outlook is signed in with, as the bridge names it (MSAL.js's AccountContext). Its
 * environment is the cloud's Entra host as Outlook reports it, login.microsoftonline.com for the
 * worldwide cloud the demo emulates (never contacted on the NAA path); MSAL.js finds cached
 * accounts only for hosts it knows as aliases of its authority, which the emulator's is not.
 * @param {WorldPerson} person
 */
function naaAccountOf(person) {
  return {
    homeAccountId: `${person.oid}.${person.tenantId}`,
    environment: "login.microsoftonline.com",
    tenantId: person.tenantId,
  };
}

/**
 * What the log shows of a bridge request: its method's parameters worth reading.
 * @param {BridgeRequestEnvelope} request
 */
function bridgeArgs(request) {
  /** @type {Partial<NonNullable<BridgeRequestEnvelope["tokenParams"]>>} */
  const params = request.tokenParams ?? {};
  /** @type {Record<string, unknown>} */
  const shown = {};
  for (const name of /** @type {const} */ (["scope", "clientId", "forceRefresh"])) {
    if (params[name] !== undefined && params[name] !== null) shown[name] = params[name];
  }
  // MSAL.js merges its own optional id_token claims into every request; shown only when the
  // claims carry a challenge (see challengeOf).
  if (challengeOf(params.claims)) shown.claims = params.claims;
  return Object.keys(shown).length ? shown : undefined;
}

/**
 * The claims challenge in a request's claims, or null: MSAL.js always merges its own id_token
 * claims requests (signin_state, login_hint, ...), which need nobody; an access_token member is
 * a challenge from a resource (Conditional Access, MFA: the claims of AADSTS50076) that Entra
 * meets only after the person signs in again.
 * @param {string | undefined} claims
 * @returns {string | null}
 */
function challengeOf(claims) {
  try {
    const parsed = JSON.parse(claims || "{}");
    return parsed && typeof parsed === "object" && parsed.access_token
      ? JSON.stringify(parsed.access_token)
      : null;
  } catch {
    return null;
  }
}

/**
 * One SSO-shaped token from the emulator (POST /_emulator/sso-token).
 * @param {object} body
 * @returns {Promise<string>}
 */
async function emulatorToken(body) {
  const response = await fetch(`${state.emulatorUrl}/_emulator/sso-token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`the emulator answered ${response.status}`);
  return (await response.json()).token;
}

/**
 * Outlook's sign-in window, as a dialog of the host page: answers "continue" or "cancel" (Esc
 * and closing count as cancel).
 * @param {WorldPerson} person
 * @param {string | null} claims  the claims challenge the window meets, if any
 * @returns {Promise<"continue" | "cancel">}
 */
function askPerson(person, claims) {
  const dialog = $("sim-naa-dialog");
  $("sim-naa-text").textContent = claims
    ? `Your organization needs another sign-in step (multi-factor authentication) before ${person.name} can use Tandem.`
    : `Microsoft 365 needs ${person.name} to sign in again before Outlook can sign Tandem in.`;
  return new Promise((resolve) => {
    /** @param {"continue" | "cancel"} answer */
    const done = (answer) => {
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onClose = () => done("cancel");
    $("sim-naa-continue").onclick = () => done("continue");
    $("sim-naa-cancel").onclick = () => done("cancel");
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    $("sim-naa-continue").focus();
  });
}

/**
 * The host side of MSAL.js's bridge (window.nestedAppAuthBridge in the pane, see office.js): one
 * NestedAppAuthRequest envelope (GetInitContext, GetToken, GetTokenPopup) in, one
 * NestedAppAuthResponse out, with BridgeStatusCode errors, as @azure/msal-browser's
 * src/naa/BridgeProxy.ts and BridgeStatusCode.ts define them.
 * @param {string} text
 * @returns {Promise<BridgeResponseEnvelope | null>}
 */
async function bridgeRequest(text) {
  /** @type {BridgeRequestEnvelope} */
  let request;
  try {
    request = JSON.parse(text);
  } catch {
    logCall("nestedAppAuthBridge.postMessage", String(text).slice(0, 80), "ignored: not JSON");
    return null;
  }
  const { method, requestId } = request;
  const entry = logCall(`nestedAppAuthBridge.${method}`, bridgeArgs(request));
  /**
   * @param {Omit<BridgeResponseEnvelope, "messageType" | "requestId">} body
   * @returns {BridgeResponseEnvelope}
   */
  const reply = (body) => ({ messageType: "NestedAppAuthResponse", requestId, ...body });
  /**
   * @param {NonNullable<BridgeResponseEnvelope["error"]>["status"]} status
   * @param {string} code
   * @param {string} description
   */
  const fail = (status, code, description) => {
    entry.outcome(`failed ${status}${code ? ` ${code}` : ""}`);
    return reply({ success: false, error: { status, code, description } });
  };
  await pause(LATENCY_MS);
  const person = signedIn();
  const mode = state.scenario.naa;
  if (method === "GetInitContext") {
    const accountContext = naaAccountOf(person);
    entry.outcome(`init: account ${person.upn}`);
    return reply({
      success: true,
      initContext: {
        sdkName: "Tandem Outlook host simulator",
        sdkVersion: "1.0",
        capabilities: { queryAccount: false },
        accountContext,
      },
    });
  }
  if (method !== "GetToken" && method !== "GetTokenPopup") {
    return fail("PERSISTENT_ERROR", "unsupported_method", `The bridge has no method ${method}.`);
  }
  // What Entra ID checks of every request Outlook brokers: the add-in's own client id (its app
  // registration has the brk-multihub redirect), and a scope of an API that app may call.
  /** @type {Partial<NonNullable<BridgeRequestEnvelope["tokenParams"]>>} */
  const params = request.tokenParams ?? {};
  const app = loadedWorld().app;
  const apiScope = `${app.identifierUris[0]}/access_as_user`;
  if (params.clientId !== app.clientId) {
    return fail(
      "PERSISTENT_ERROR",
      "unauthorized_client",
      `AADSTS700016: Application with identifier '${params.clientId}' was not found in the directory.`,
    );
  }
  if (
    !String(params.scope ?? "")
      .split(" ")
      .includes(apiScope)
  ) {
    return fail(
      "PERSISTENT_ERROR",
      "invalid_scope",
      `AADSTS65005: The application asked for '${params.scope}', not Tandem's API scope '${apiScope}'.`,
    );
  }
  if (mode === "network") return fail("NO_NETWORK", "", "Outlook can't reach Microsoft Entra ID.");
  if (mode === "unavailable") {
    return fail(
      "NESTED_APP_AUTH_UNAVAILABLE",
      "",
      "Nested app authentication isn't available here.",
    );
  }
  const session = state.naaSession;
  if (method === "GetToken") {
    if (mode === "consent") {
      return fail(
        "USER_INTERACTION_REQUIRED",
        "consent_required",
        "AADSTS65001: The user or administrator has not consented to use the application.",
      );
    }
    if ((mode === "interaction" || mode === "cancel") && !session.interactive) {
      return fail(
        "USER_INTERACTION_REQUIRED",
        "interaction_required",
        "AADSTS50079: Due to a configuration change made by your administrator, you must sign in again.",
      );
    }
    const challenge = challengeOf(params.claims);
    if (challenge && !session.claims.has(challenge)) {
      return fail(
        "USER_INTERACTION_REQUIRED",
        "interaction_required",
        "AADSTS50076: you must use multi-factor authentication to access this resource.",
      );
    }
  } else {
    if (mode === "consent") {
      return fail(
        "PERSISTENT_ERROR",
        "invalid_grant",
        "AADSTS90094: The grant requires admin permission. Ask an administrator to approve Tandem.",
      );
    }
    if (mode === "cancel") return fail("USER_CANCEL", "", "The person closed the sign-in window.");
    const challenge = challengeOf(params.claims);
    entry.outcome("waiting for the person (sign-in window)");
    if ((await askPerson(person, challenge)) !== "continue") {
      return fail("USER_CANCEL", "", "The person cancelled the sign-in window.");
    }
    session.interactive = true;
    if (challenge) session.claims.add(challenge);
  }
  let access;
  let id;
  try {
    const base = { user: person.upn, clientApp: app.clientId };
    [access, id] = await Promise.all([
      emulatorToken({ ...base, version: state.scenario.tokenVersion }),
      // The ID token MSAL.js caches the account by: v2, for the app, no API scope.
      emulatorToken({ ...base, version: 2, remove: ["scp", "azp", "azpacr"] }),
    ]);
  } catch (error) {
    const message = /** @type {{message?: unknown} | null | undefined} */ (error)?.message;
    return fail("TRANSIENT_ERROR", "temporarily_unavailable", String(message ?? error));
  }
  entry.outcome(`token v${state.scenario.tokenVersion} for ${person.upn} (azp ${app.clientId})`);
  return reply({
    success: true,
    token: {
      access_token: access,
      expires_in: 3599,
      id_token: id,
      properties: null,
      scope: apiScope,
    },
    account: {
      ...naaAccountOf(person),
      username: person.upn,
      localAccountId: person.oid,
      name: person.name,
    },
  });
}

// ---------------------------------------------------------------- the persona's mailboxes

/**
 * Folders in tree order (parents before children), each with its depth.
 * @param {WorldFolder[]} folders
 */
function treeOrder(folders) {
  const ids = new Set(folders.map((f) => f.id));
  /** @type {Map<string | null, WorldFolder[]>} */
  const children = new Map();
  for (const folder of folders) {
    const parent = folder.parentId && ids.has(folder.parentId) ? folder.parentId : null;
    const siblings = children.get(parent);
    if (siblings) siblings.push(folder);
    else children.set(parent, [folder]);
  }
  /** @type {(WorldFolder & {depth: number})[]} */
  const out = [];
  /**
   * @param {string | null} parent
   * @param {number} depth
   */
  const walk = (parent, depth) => {
    for (const folder of children.get(parent) ?? []) {
      out.push({ ...folder, depth });
      walk(folder.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/**
 * What Outlook shows this person: own mailbox, Full Access mailboxes, folders shared with them.
 * @param {WorldPerson} person
 */
function mailboxesFor(person) {
  /** @type {Box[]} */
  const boxes = [];
  const mailboxes = loadedWorld().mailboxes;
  const own = mailboxes.find((m) => m.address === person.mailbox);
  if (own) {
    boxes.push({
      mailbox: own,
      kind: "own",
      label: own.displayName || own.address,
      folders: treeOrder(own.folders).map((f) => ({ ...f, bits: FULL_ACCESS_BITS })),
    });
  }
  for (const mailbox of mailboxes) {
    if (mailbox === own) continue;
    if ((mailbox.fullAccess ?? []).includes(person.upn)) {
      boxes.push({
        mailbox,
        kind: "shared",
        label: mailbox.displayName || mailbox.address,
        folders: treeOrder(mailbox.folders).map((f) => ({ ...f, bits: FULL_ACCESS_BITS })),
      });
      continue;
    }
    const shared = mailbox.folders.filter(
      (f) => f.permissions && f.permissions[person.upn] !== undefined,
    );
    if (shared.length) {
      boxes.push({
        mailbox,
        kind: "delegate",
        label: mailbox.displayName || mailbox.address,
        folders: treeOrder(shared).map((f) => ({ ...f, bits: f.permissions[person.upn] })),
      });
    }
  }
  for (const address of REMOVED_ACCESS[person.persona ?? ""] ?? []) {
    const mailbox = mailboxes.find((m) => m.address === address);
    if (mailbox && !boxes.some((b) => b.mailbox === mailbox)) {
      boxes.push({
        mailbox,
        kind: "removed",
        label: `${mailbox.address} (access removed)`,
        folders: treeOrder(mailbox.folders).map((f) => ({ ...f, bits: FULL_ACCESS_BITS })),
      });
    }
  }
  return boxes;
}

/** The box, folder and item of the selection (each may be missing). */
function findSelection() {
  const { address, folderId, itemId } = state.selection;
  const box = state.boxes.find((b) => b.mailbox.address === address);
  const folder = box?.folders.find((f) => f.id === folderId);
  const item = folder?.items.find((i) => i.id === itemId) ?? null;
  return box ? { box, folder, item } : null;
}

/**
 * Finds a folder of a box by id, well-known name or display name.
 * @param {Box | null | undefined} box
 * @param {string | null} key
 */
function folderOf(box, key) {
  if (!box) return null;
  if (!key) return box.folders.find((f) => f.wellKnownName === "inbox") ?? box.folders[0] ?? null;
  const lower = key.toLowerCase();
  return (
    box.folders.find(
      (f) => f.id === key || f.wellKnownName === lower || f.name.toLowerCase() === lower,
    ) ?? null
  );
}

/**
 * Finds a person by upn or persona key.
 * @param {string | null} key
 */
function personOf(key) {
  if (!key) return null;
  const lower = key.toLowerCase();
  return (
    loadedWorld().people.find(
      (p) => p.upn.toLowerCase() === lower || (p.persona ?? "").toLowerCase() === lower,
    ) ?? null
  );
}

/** Sets the selection from the URL query, or Outlook's start: own Inbox, first item. */
function initialSelection() {
  const mailboxKey = (params.get("mailbox") ?? "").toLowerCase();
  const itemKey = params.get("item");
  let box = state.boxes.find((b) => b.mailbox.address === mailboxKey) ?? null;
  let folder = box ? folderOf(box, params.get("folder")) : null;
  /** @type {WorldItem | null} */
  let item = null;
  if (itemKey && itemKey !== "none") {
    /** @param {WorldItem} i */
    const matches = (i) => i.id === itemKey || i.ewsId === itemKey;
    const boxes = box ? [box] : state.boxes;
    outer: for (const b of boxes) {
      for (const f of folder && b === box ? [folder, ...b.folders] : b.folders) {
        const hit = f.items.find(matches);
        if (hit) {
          box = b;
          folder = f;
          item = hit;
          break outer;
        }
      }
    }
  }
  if (!box) box = state.boxes[0] ?? null;
  if (!folder) folder = folderOf(box, params.get("folder"));
  if (!item && itemKey !== "none") item = folder?.items[0] ?? null;
  state.selection = {
    address: box?.mailbox.address ?? null,
    folderId: folder?.id ?? null,
    itemId: item?.id ?? null,
  };
}

// ---------------------------------------------------------------- rendering the host

/** Writes the persona, selection and scenario into the address bar (for reloads and links). */
function writeUrl() {
  const query = new URLSearchParams();
  if (state.person) query.set("persona", state.person.upn);
  if (state.selection.address) query.set("mailbox", state.selection.address);
  if (state.selection.folderId) query.set("folder", state.selection.folderId);
  query.set("item", state.selection.itemId ?? "none");
  if (state.scenario.sharedProperties !== "normal")
    query.set("sharedProps", state.scenario.sharedProperties);
  if (state.scenario.tokenVersion === 1) query.set("token", "v1");
  if (state.scenario.nextTokenError) query.set("fail", String(state.scenario.nextTokenError));
  if (state.scenario.naa !== "supported") query.set("naa", state.scenario.naa);
  if (!state.scenario.identityApi) query.set("identityApi", "off");
  if (!$("sim-scenario").hidden) query.set("scenario", "open");
  if (state.compose) query.set("compose", state.compose.kind);
  history.replaceState(null, "", `${window.location.pathname}?${query}`);
}

/**
 * The kind badge of a mailbox group.
 * @param {Box["kind"]} kind
 */
function kindBadge(kind) {
  const words = {
    own: "your mailbox",
    shared: "shared mailbox",
    delegate: "shared with you",
    removed: "access removed",
  };
  return el("span", { class: `badge badge-${kind}` }, words[kind]);
}

/** The folder tree of the persona's mailboxes. */
function renderTree() {
  const tree = $("sim-folder-tree");
  const groups = state.boxes.map((box) => {
    const folders = box.folders.map((folder) => {
      const selected =
        box.mailbox.address === state.selection.address && folder.id === state.selection.folderId;
      const button = el(
        "button",
        {
          type: "button",
          class: "folder",
          style: `padding-left: ${14 + folder.depth * 14}px`,
          "data-testid": "folder",
          "data-mailbox": box.mailbox.address,
          "data-folder-id": folder.id,
          "data-folder": folder.wellKnownName ?? folder.name,
          "aria-current": selected ? "true" : null,
        },
        el("span", { class: "folder-name" }, folder.name),
        folder.items.length ? el("span", { class: "count" }, String(folder.items.length)) : "",
      );
      button.addEventListener("click", () => selectFolder(box, folder));
      return el("li", {}, button);
    });
    return el(
      "div",
      {
        class: `mailbox-group mailbox-${box.kind}`,
        "data-testid": "mailbox-group",
        "data-mailbox": box.mailbox.address,
        "data-kind": box.kind,
      },
      el(
        "h3",
        { class: "mailbox-label" },
        el("span", { class: "mailbox-name" }, box.label),
        kindBadge(box.kind),
      ),
      el("ul", { class: "folder-list" }, folders),
    );
  });
  tree.replaceChildren(...groups);
}

/** The item list of the selected folder. */
function renderItems() {
  const found = findSelection();
  const list = $("sim-item-list");
  const title = $("sim-items-heading");
  title.textContent = found?.folder ? `${found.folder.name} · ${found.box.label}` : "Items";
  if (!found?.folder) {
    list.replaceChildren(el("li", { class: "empty" }, "Select a folder."));
    return;
  }
  if (!found.folder.items.length) {
    list.replaceChildren(el("li", { class: "empty" }, "Nothing in this folder."));
    return;
  }
  const rows = found.folder.items.map((item) => {
    const selected = item.id === state.selection.itemId;
    const button = el(
      "button",
      {
        type: "button",
        class: `item${item.isRead ? "" : " unread"}`,
        "data-testid": "item",
        "data-item-id": item.id,
        "data-item-type": item.itemType,
        "aria-current": selected ? "true" : null,
      },
      el("span", { class: "item-from" }, item.from?.name || item.from?.address || ""),
      el("span", { class: "item-time" }, shortTime(item.receivedDateTime)),
      el("span", { class: "item-subject" }, item.subject || "(no subject)"),
      threadCount(found.box, item),
    );
    button.addEventListener("click", () => selectItem(item.id));
    return el("li", {}, button);
  });
  list.replaceChildren(...rows);
}

/**
 * "3" beside an item of a conversation with others, as Outlook's conversation view shows.
 * @param {Box} box
 * @param {WorldItem} item
 */
function threadCount(box, item) {
  const size = item.itemType === "message" ? threadOf(box, item).length : 0;
  if (size < 2) return "";
  return el(
    "span",
    { class: "item-thread", title: `${size} items in this conversation` },
    String(size),
  );
}

/** The reading pane: the item, and what Outlook tells add-ins about where it lives. */
function renderReading() {
  const reading = $("sim-reading");
  if (state.compose) {
    reading.replaceChildren(state.compose.window.element);
    return;
  }
  const found = findSelection();
  const item = found?.item;
  const d = selectedItem();
  if (!item || !found?.folder || !d) {
    reading.replaceChildren(
      el(
        "p",
        { class: "reading-empty", "data-testid": "reading-empty" },
        "No item selected: Office.context.mailbox.item is null, so a pinned add-in has nothing to act on.",
      ),
    );
    return;
  }
  const facts = [
    [
      "Mailbox",
      `${found.box.mailbox.address} (${found.box.kind === "own" ? "own" : found.box.kind})`,
    ],
    ["Folder", found.folder.name],
    ["EWS id (item.itemId)", d.ewsId],
  ];
  let told;
  if (!d.shared) told = "getSharedPropertiesAsync: not present (own mailbox)";
  else if (state.scenario.sharedProperties === "missing")
    told = "getSharedPropertiesAsync: missing (scenario)";
  else
    told =
      `getSharedPropertiesAsync → ${JSON.stringify({ owner: d.shared.owner, targetMailbox: d.shared.targetMailbox, delegatePermissions: d.shared.delegatePermissions })}` +
      (state.scenario.sharedProperties === "normal"
        ? ""
        : ` (scenario: ${state.scenario.sharedProperties})`);
  reading.replaceChildren(
    el(
      "h3",
      { class: "reading-subject", "data-testid": "reading-subject" },
      item.subject || "(no subject)",
    ),
    el(
      "p",
      { class: "reading-from" },
      item.from?.name ?? "",
      item.from?.address ? el("span", { class: "address" }, ` <${item.from.address}>`) : "",
    ),
    el(
      "p",
      { class: "reading-time" },
      item.itemType === "appointment"
        ? `Starts ${shortTime(item.receivedDateTime)} UTC`
        : `Received ${shortTime(item.receivedDateTime)} UTC`,
    ),
    el(
      "dl",
      { class: "reading-facts" },
      facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
    ),
    el("p", { class: "told", "data-testid": "shared-properties" }, told),
    item.itemType === "message" ? threadSection(found.box, item) : "",
    clearSelectionButton(),
  );
}

/**
 * The thread: the items of the box (every folder this person sees) in the item's conversation,
 * oldest first, as Outlook's conversation view lists them.
 * @param {Box} box
 * @param {WorldItem} item
 * @returns {(WorldItem & {folder: string})[]}
 */
function threadOf(box, item) {
  if (!item.conversationId) return [];
  /** @type {(WorldItem & {folder: string})[]} */
  const found = [];
  for (const folder of box.folders) {
    for (const each of folder.items) {
      if (each.conversationId === item.conversationId) found.push({ ...each, folder: folder.name });
    }
  }
  return found.sort((a, b) => String(a.receivedDateTime).localeCompare(String(b.receivedDateTime)));
}

/**
 * The reading pane's thread section: one line per item of the conversation.
 * @param {Box} box
 * @param {WorldItem} item
 */
function threadSection(box, item) {
  const thread = threadOf(box, item);
  if (thread.length < 2) return "";
  const rows = thread.map((each) => {
    const here = each.id === item.id;
    const from = each.from?.name || each.from?.address || "";
    const claimed = (each.categories ?? []).find((c) => c.startsWith("Tandem: "));
    return el(
      "li",
      { class: `thread-item${here ? " here" : ""}`, "aria-current": here ? "true" : null },
      el("span", { class: "thread-time" }, shortTime(each.receivedDateTime)),
      el("span", { class: "thread-from" }, from),
      el("span", { class: "thread-folder" }, each.folder),
      claimed ? el("span", { class: "thread-claim" }, claimed) : "",
      here ? el("span", { class: "thread-here" }, "this item") : "",
    );
  });
  return el(
    "section",
    { class: "thread", "data-testid": "thread", "aria-label": "Conversation" },
    el("h4", {}, `Conversation · ${thread.length} items`),
    el("ol", {}, ...rows),
  );
}

/** A button that clears the selection, as Outlook's pinned pane sees between items. */
function clearSelectionButton() {
  const button = el(
    "button",
    { type: "button", class: "link-button", id: "sim-clear-selection" },
    "Clear selection (item becomes null)",
  );
  button.addEventListener("click", () => selectItem(null));
  return button;
}

/** The persona switcher. */
function renderPersonas() {
  const select = $("sim-persona");
  const options = loadedWorld()
    .people.filter((p) => p.persona)
    .map((p) => {
      const persona = p.persona ?? "";
      return el(
        "option",
        { value: p.upn, "data-persona": persona, selected: p === state.person },
        `${p.name} · ${PERSONA_LABELS[persona] ?? persona}`,
      );
    });
  select.replaceChildren(...options);
  select.disabled = false;
  $("sim-persona-description").textContent = state.person?.description ?? "";
}

/** Puts the scenario switches in the controls. */
function syncControls() {
  $("sim-token-v1").checked = state.scenario.tokenVersion === 1;
  $("sim-token-v2").checked = state.scenario.tokenVersion === 2;
  $("sim-shared-props").value = state.scenario.sharedProperties;
  $("sim-token-error").value = state.scenario.nextTokenError
    ? String(state.scenario.nextTokenError)
    : "";
  $("sim-identity-api").checked = state.scenario.identityApi;
  $("sim-naa").value = state.scenario.naa;
}

// ---------------------------------------------------------------- behaviour

/** Tells the pinned pane the selection changed (Office.EventType.ItemChanged). */
function fireItemChanged() {
  const frame = $("taskpane-frame");
  const live = state.handlers.filter((entry) => entry.doc === frame.contentDocument);
  state.handlers = live;
  for (const { handler } of live) {
    setTimeout(() => handler({ type: "olkItemSelectedChanged" }), LATENCY_MS);
  }
}

/**
 * A REST id (the immutable one too) in EWS form, as Office's convertToEwsId writes it.
 * @param {string | null | undefined} id
 */
function ewsFormOf(id) {
  return String(id ?? "")
    .replace(/-/g, "/")
    .replace(/_/g, "+");
}

/**
 * The box, folder and item of the persona's mailboxes with this id (EWS, REST or immutable).
 * @param {string} id
 */
function locate(id) {
  for (const box of state.boxes) {
    for (const folder of box.folders) {
      const item = folder.items.find(
        (i) => i.ewsId === id || i.id === id || (i.immutableId && ewsFormOf(i.immutableId) === id),
      );
      if (item) return { box, folder, item };
    }
  }
  return null;
}

/**
 * Office.context.mailbox.displayMessageForm: Outlook opens the message in a window of its own,
 * where the pinned add-in follows it. The simulator has one window, so the message opens in
 * its reading pane, its folder selected, and the pane follows (ItemChanged). An id the loaded
 * world doesn't know (mail that came later) loads the world again first; an id nobody knows
 * shows nothing and says nothing, as Outlook does.
 * @param {string} ewsId
 */
async function displayMessageForm(ewsId) {
  const entry = logCall("displayMessageForm", [ewsId]);
  let found = locate(ewsId);
  if (!found) {
    await reloadWorld();
    found = locate(ewsId);
  }
  if (!found) {
    entry.outcome("no such message: nothing opens");
    return;
  }
  entry.outcome(`opened “${found.item.subject}”`);
  state.selection = {
    address: found.box.mailbox.address,
    folderId: found.folder.id,
    itemId: found.item.id,
  };
  state.version += 1;
  writeUrl();
  renderTree();
  renderItems();
  renderReading();
  fireItemChanged();
}

/**
 * Opens Outlook's compose window on a reply to the selected message, and the add-in beside it.
 * @param {"reply" | "replyAll"} kind
 * @param {string} htmlBody  what the add-in gave displayReplyFormAsync
 */
function openCompose(kind, htmlBody) {
  const found = findSelection();
  const item = found?.item;
  if (!found || !item || item.itemType !== "message") return;
  closeCompose();
  const { box } = found;
  const subject = /^re:/i.test(item.subject) ? item.subject : `RE: ${item.subject}`;
  const spec = {
    kind,
    subject,
    from: { name: box.mailbox.displayName || box.mailbox.address, address: box.mailbox.address },
    to: item.from ?? null,
    quoted: `From: ${item.from?.name ?? ""} · Sent: ${shortTime(item.receivedDateTime)} · Subject: ${item.subject}`,
    htmlBody,
  };
  const composing = new ComposeWindow(document, spec, {
    onSend: () => sendCompose(),
    onDiscard: () => {
      closeCompose();
      afterCompose();
    },
  });
  state.compose = { kind, window: composing, box, item, sessionData: new Map() };
  state.version += 1;
  writeUrl();
  renderReading();
  reloadPane();
}

/** Closes the compose window (sent or discarded). */
function closeCompose() {
  if (!state.compose) return;
  state.compose.window.close();
  state.compose = null;
  state.version += 1;
  document.getElementById("sim-event-runtime")?.remove();
}

/** Back to the item the reply answered, the add-in reopened on it. */
function afterCompose() {
  writeUrl();
  renderTree();
  renderItems();
  renderReading();
  reloadPane();
}

/** Send: the OnMessageSend check as Outlook runs it, then the reply, or back to the draft. */
async function sendCompose() {
  const draft = state.compose;
  if (!draft) return;
  draft.window.say("Checking with Tandem…");
  state.associated.delete("onMessageSendHandler");
  const handler = await startRuntime(
    document,
    (name) => state.associated.get(name) ?? null,
    SEND_CHECK_PAGE,
  );
  const parts = {
    dialog: $("sim-smart-alert"),
    title: $("sim-smart-alert-title"),
    text: $("sim-smart-alert-text"),
    send: $("sim-smart-alert-send"),
    dont: $("sim-smart-alert-dont"),
  };
  const decision = await sendCheck({
    handler,
    log: logCall,
    alert: (message, dontLabel) => smartAlert(parts, "Tandem", message, dontLabel),
  });
  if (state.compose !== draft) return;
  if (!decision.send) {
    draft.window.say("Not sent: the draft is still open.");
    return;
  }
  draft.window.say("Sending…");
  const entry = logCall("send", { kind: draft.kind, from: draft.window.spec.from.address });
  const response = await fetch(
    `${state.emulatorUrl}/_emulator/items/${encodeURIComponent(draft.item.id)}/outlook-reply`,
    {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        by: signedIn().upn,
        action: draft.kind,
        from: draft.window.spec.from.address,
        body: { contentType: "html", content: draft.window.html() },
      }),
    },
  );
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    entry.outcome(`refused ${response.status} ${answer.error ?? ""}`);
    draft.window.say(`Exchange refused to send it: ${answer.message ?? response.status}`);
    return;
  }
  entry.outcome(`sent (${decision.why})`);
  closeCompose();
  await reloadWorld();
  afterCompose();
}

/** The emulator's world again (a reply was sent: its copy is in Sent Items now). */
async function reloadWorld() {
  const response = await fetch(`${state.emulatorUrl}/_emulator/world`);
  if (!response.ok) return;
  state.world = await response.json();
  state.boxes = mailboxesFor(signedIn());
}

/**
 * Selects an item of the current folder (null clears the selection).
 * @param {string | null} itemId
 */
function selectItem(itemId) {
  if (state.selection.itemId === itemId && !state.compose) return;
  closeCompose();
  state.selection = { ...state.selection, itemId };
  state.version += 1;
  writeUrl();
  renderItems();
  renderReading();
  fireItemChanged();
}

/**
 * Opens a folder and selects its first item, as Outlook does.
 * @param {Box} box
 * @param {ShownFolder} folder
 */
function selectFolder(box, folder) {
  closeCompose();
  state.selection = {
    address: box.mailbox.address,
    folderId: folder.id,
    itemId: folder.items[0]?.id ?? null,
  };
  state.version += 1;
  writeUrl();
  renderTree();
  renderItems();
  renderReading();
  fireItemChanged();
}

/** (Re)opens the add-in in the pane frame, dropping the old document's handlers. */
function reloadPane() {
  state.handlers = [];
  $("taskpane-frame").src = "/taskpane.html";
}

/**
 * Switches persona: Outlook restarts with that person's mailboxes, and the add-in with it.
 * @param {string | null} upn
 * @param {{fromUrl?: boolean}} [options]  `fromUrl`: select what the URL names
 */
function switchPersona(upn, { fromUrl = false } = {}) {
  closeCompose();
  state.person = personOf(upn) ?? loadedWorld().people.find((p) => p.persona) ?? null;
  state.boxes = state.person ? mailboxesFor(state.person) : [];
  if (fromUrl) initialSelection();
  else {
    const box = state.boxes[0];
    const folder = folderOf(box, null);
    state.selection = {
      address: box?.mailbox.address ?? null,
      folderId: folder?.id ?? null,
      itemId: folder?.items[0]?.id ?? null,
    };
  }
  state.version += 1;
  state.naaSession = { interactive: false, claims: new Set() };
  renderPersonas();
  renderTree();
  renderItems();
  renderReading();
  writeUrl();
  reloadPane();
}

/**
 * Applies a scenario change and reopens the add-in so it takes effect from the start.
 * @param {Partial<Scenario>} change
 */
function changeScenario(change) {
  Object.assign(state.scenario, change);
  state.naaSession = { interactive: false, claims: new Set() };
  syncControls();
  writeUrl();
  renderReading();
  reloadPane();
}

/** Wires the header, scenario panel and log controls. */
function wireControls() {
  const toggle = $("sim-scenario-toggle");
  const panel = $("sim-scenario");
  /** @param {boolean} open */
  const setOpen = (open) => {
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
  };
  setOpen(params.get("scenario") === "open");
  toggle.addEventListener("click", () => {
    setOpen(Boolean(panel.hidden));
    writeUrl();
  });
  const errors = $("sim-token-error");
  for (const [code, name] of TOKEN_ERRORS)
    errors.append(el("option", { value: String(code) }, `${code} ${name}`));
  const persona = $("sim-persona");
  persona.addEventListener("change", () => switchPersona(persona.value));
  /** @type {NodeListOf<HTMLInputElement>} */
  const versions = document.querySelectorAll('input[name="sim-token-version"]');
  for (const radio of versions) {
    radio.addEventListener("change", () =>
      changeScenario({ tokenVersion: Number(radio.value) === 1 ? 1 : 2 }),
    );
  }
  const sharedProps = $("sim-shared-props");
  sharedProps.addEventListener("change", () =>
    changeScenario({ sharedProperties: sharedPropertiesOf(sharedProps.value) }),
  );
  errors.addEventListener("change", () =>
    changeScenario({ nextTokenError: errors.value ? Number(errors.value) : null }),
  );
  const naa = $("sim-naa");
  for (const [value, text] of Object.entries(NAA_SCENARIOS)) {
    naa.append(el("option", { value }, text));
  }
  naa.addEventListener("change", () => changeScenario({ naa: naaScenarioOf(naa.value) }));
  const identityApi = $("sim-identity-api");
  identityApi.addEventListener("change", () =>
    changeScenario({ identityApi: identityApi.checked }),
  );
  $("sim-reload").addEventListener("click", () => reloadPane());
  $("sim-browser-close").addEventListener("click", () => {
    $("sim-browser-window").hidden = true;
  });
  $("sim-clear-log").addEventListener("click", () => {
    state.calls = [];
    $("simulator-log").replaceChildren();
  });
  syncControls();
}

/** Loads the emulator's world and opens Outlook on the persona of the URL (or the first). */
async function start() {
  wireControls();
  try {
    const config = await (await fetch("/simulator/config.json")).json();
    state.emulatorUrl = String(config.emulatorUrl).replace(/\/$/, "");
    const response = await fetch(`${state.emulatorUrl}/_emulator/world`);
    if (!response.ok) throw new Error(`the emulator answered ${response.status}`);
    state.world = await response.json();
  } catch (error) {
    $("sim-reading").replaceChildren(
      el(
        "p",
        { class: "reading-empty", role: "alert" },
        `The simulator couldn't load the emulator's world (${/** @type {Error} */ (error).message}). Is \`tandem demo\` running?`,
      ),
    );
    return;
  }
  switchPersona(params.get("persona"), { fromUrl: true });
  const compose = params.get("compose");
  if (compose === "reply" || compose === "replyAll") openCompose(compose, "");
  document.body.dataset.ready = "true";
  resolveReady();
}

start();
