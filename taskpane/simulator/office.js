// Office host simulator: a stand-in for Office.js (https://appsforoffice.microsoft.com/lib/1/hosted/office.js)
// in a plain browser. The demo serves the task pane (and the OnMessageSend handler's page,
// launch/onsend.html) with this script instead of Microsoft's.
//
// Inside the simulator host's frame it answers from window.parent.tandemSimulatorHost (same
// origin): the persona, the selected item, the scenario switches, the SSO token. Opened in a
// top-level window, it sends the browser to the host (/simulator/), which opens the pane in
// its frame. Classic script, not a module: Office.js is one too, and the pane expects
// window.Office before its modules run. It stands in for Office.js's mailbox, item and auth
// surface, loaded by one script tag where Office.js's would be.
//
// Its objects carry Office.js's values (the enums' strings, as Office.js has them at run time),
// so they are typed here on their own; the pane reads the whole as Office.js (the one cast, at
// the end).

/**
 * @import { AuthBridge, ItemChangedHandler, ItemDescriptor, SimulatorHost } from "../types/simulator"
 * @import { AuthBridgeResponse } from "../node_modules/@azure/msal-browser/types/naa/AuthBridge.js"
 */

/**
 * An Office callback's options: Office passes asyncContext back in the result.
 * @typedef {{asyncContext?: unknown}} AsyncOptions
 */

/**
 * What an Office callback is called with: Office's AsyncResult (with Office's Error on failure).
 * @typedef {{status: string, value: unknown, error: {code: number, name: string, message: string}
 *   | undefined, asyncContext: unknown}} AsyncResultShape
 */

/** @typedef {(result: AsyncResultShape) => void} AsyncCallback */

/**
 * Office's EmailAddressDetails, as the simulated item carries them.
 * @typedef {{displayName: string, emailAddress: string, recipientType: string}} EmailAddress
 */

/**
 * The read-mode item the stand-in exposes: the members of Office's MessageRead and
 * AppointmentRead the simulated Outlook fills in.
 * @typedef {object} SimulatedItem
 * @property {string} itemId
 * @property {"message"|"appointment"} itemType
 * @property {string} itemClass
 * @property {string} subject
 * @property {Date} dateTimeCreated
 * @property {Date} dateTimeModified
 * @property {string} normalizedSubject
 * @property {EmailAddress|null} [from]
 * @property {EmailAddress|null} [sender]
 * @property {EmailAddress|null} [organizer]
 * @property {Date} [start]
 * @property {(first?: AsyncOptions | AsyncCallback, second?: AsyncCallback) => void}
 *   [getSharedPropertiesAsync]
 * @property {(formData: unknown, first?: AsyncOptions | AsyncCallback,
 *   second?: AsyncCallback) => void} [displayReplyFormAsync]
 * @property {(formData: unknown, first?: AsyncOptions | AsyncCallback,
 *   second?: AsyncCallback) => void} [displayReplyAllFormAsync]
 */

/**
 * A getter of one value, as Office's compose objects (subject, from, to) have.
 * @typedef {{getAsync: (first?: AsyncOptions | AsyncCallback, second?: AsyncCallback) => void}}
 *   Getter
 */

/**
 * The compose-mode message the stand-in exposes (a draft of a reply): Office's MessageCompose
 * members the simulated Outlook fills in.
 * @typedef {object} ComposedItem
 * @property {"message"} itemType
 * @property {string} itemClass
 * @property {string | null} conversationId
 * @property {Getter} subject
 * @property {Getter} from
 * @property {Getter} to
 * @property {{getTypeAsync: (first?: AsyncOptions | AsyncCallback, second?: AsyncCallback) => void,
 *   setSelectedDataAsync: (data: string, first?: (AsyncOptions & {coercionType?: string})
 *   | AsyncCallback, second?: AsyncCallback) => void}} body
 * @property {{getAsync: (key: string, first?: AsyncOptions | AsyncCallback,
 *   second?: AsyncCallback) => void, setAsync: (key: string, value: string,
 *   first?: AsyncOptions | AsyncCallback, second?: AsyncCallback) => void}} sessionData
 * @property {(first?: AsyncOptions | AsyncCallback, second?: AsyncCallback) => void}
 *   [getSharedPropertiesAsync]
 */

(() => {
  const HOST_KEY = "tandemSimulatorHost";

  /**
   * The simulator host object in the parent window, or null at top level or elsewhere.
   * @returns {SimulatorHost | null}
   */
  function findHost() {
    try {
      if (window.parent !== window && window.parent[HOST_KEY]) return window.parent[HOST_KEY];
    } catch (_error) {
      // A parent of another origin: not the simulator.
    }
    return null;
  }

  const AsyncResultStatus = Object.freeze({ Succeeded: "succeeded", Failed: "failed" });
  const EventType = Object.freeze({ ItemChanged: "olkItemSelectedChanged" });
  const HostType = Object.freeze({
    Word: "Word",
    Excel: "Excel",
    PowerPoint: "PowerPoint",
    Outlook: "Outlook",
    OneNote: "OneNote",
    Project: "Project",
    Access: "Access",
  });
  const PlatformType = Object.freeze({
    PC: "PC",
    OfficeOnline: "OfficeOnline",
    Mac: "Mac",
    iOS: "iOS",
    Android: "Android",
    Universal: "Universal",
  });
  const CoercionType = Object.freeze({ Html: "html", Text: "text" });
  const MailboxEnums = Object.freeze({
    SendModeOverride: Object.freeze({ PromptUser: "promptUser" }),
    ItemType: Object.freeze({ Message: "message", Appointment: "appointment" }),
    RestVersion: Object.freeze({ v1_0: "v1.0", v2_0: "v2.0", Beta: "beta" }),
    DelegatePermissions: Object.freeze({
      Read: 1,
      Write: 2,
      DeleteOwn: 4,
      DeleteAll: 8,
      EditOwn: 16,
      EditAll: 32,
    }),
    UserProfileType: Object.freeze({
      Office365: "office365",
      OutlookCom: "outlookCom",
      Enterprise: "enterprise",
      Gmail: "gmail",
    }),
    RecipientType: Object.freeze({
      Other: "other",
      DistributionList: "distributionList",
      User: "user",
      ExternalUser: "externalUser",
    }),
  });

  const found = findHost();

  if (!found) {
    // Opened on its own (https://localhost:3000/taskpane.html): show it inside the simulator.
    const target = new URL("/simulator/", window.location.href);
    target.search = window.location.search;
    if (window.top === window) window.location.replace(target.href);
    const leaving = {
      HostType: HostType,
      PlatformType: PlatformType,
      AsyncResultStatus: AsyncResultStatus,
      EventType: EventType,
      MailboxEnums: MailboxEnums,
      /** Never resolves: the page is going away. */
      onReady: () => new Promise(() => {}),
    };
    // What the pane sees as Office.js: the enums and an onReady that never answers.
    window.Office = /** @type {typeof Office} */ (/** @type {unknown} */ (leaving));
    return;
  }
  const host = found;

  /**
   * A plain copy of JSON-able options (functions and cycles dropped), for the log and the host.
   * @param {unknown} value
   * @returns {unknown}
   */
  function plain(value) {
    if (value === undefined) return undefined;
    try {
      return JSON.parse(JSON.stringify(value));
    } catch (_error) {
      return String(value);
    }
  }

  /** Office's AsyncResult. */
  class AsyncResult {
    /**
     * @param {string} status  an AsyncResultStatus value
     * @param {unknown} value
     * @param {OfficeError | undefined} error
     * @param {unknown} asyncContext
     */
    constructor(status, value, error, asyncContext) {
      this.status = status;
      this.value = value;
      this.error = error;
      this.asyncContext = asyncContext;
    }
  }

  /** Office's Error: {code, name, message}. */
  class OfficeError {
    /**
     * @param {number} code
     * @param {string} name
     * @param {string} message
     */
    constructor(code, name, message) {
      this.code = code;
      this.name = name;
      this.message = message;
    }
  }

  /**
   * Splits Office's (options?, callback?) argument pairs.
   * @param {AsyncOptions | AsyncCallback | undefined} first
   * @param {AsyncCallback | undefined} second
   * @returns {{options: AsyncOptions, callback: AsyncCallback | null}}
   */
  function optionsAndCallback(first, second) {
    if (typeof first === "function") return { options: {}, callback: first };
    return { options: first || {}, callback: typeof second === "function" ? second : null };
  }

  /**
   * Calls back asynchronously, as Office does, after the host's simulated latency.
   * @param {AsyncCallback | null} callback
   * @param {AsyncResultShape} result
   */
  function later(callback, result) {
    if (!callback) return;
    setTimeout(() => {
      callback(result);
    }, host.latency());
  }

  /**
   * Office's EmailAddressDetails for {name, address}.
   * @param {{name?: string, address?: string} | null} who
   * @returns {EmailAddress | null}
   */
  function addressDetails(who) {
    if (!who) return null;
    return {
      displayName: who.name || "",
      emailAddress: who.address || "",
      recipientType: /@contoso\.com$/i.test(who.address || "") ? "user" : "externalUser",
    };
  }

  /** @type {{version: number, item: Readonly<SimulatedItem | ComposedItem> | null}} */
  let itemCache = { version: -1, item: null };

  /** The Office item object for the host's current selection (a new object per selection). */
  function currentItem() {
    const selection = host.currentItem();
    if (itemCache.version === selection.version) return itemCache.item;
    const d = selection.item;
    itemCache = {
      version: selection.version,
      item: d ? (d.mode === "compose" ? makeComposeItem(d) : makeItem(d)) : null,
    };
    return itemCache.item;
  }

  /**
   * Office's AsyncResult of a success, to the callback after the host's latency (logged).
   * @param {string} call
   * @param {unknown} args
   * @param {AsyncOptions | AsyncCallback | undefined} first
   * @param {AsyncCallback | undefined} second
   * @param {() => unknown} answer  the value (it may throw: a failure)
   */
  function answered(call, args, first, second, answer) {
    const { options, callback } = optionsAndCallback(first, second);
    const entry = host.log(call, args);
    let result;
    try {
      const value = answer();
      entry.outcome(`succeeded${value === undefined ? "" : ` ${JSON.stringify(value)}`}`);
      result = new AsyncResult(AsyncResultStatus.Succeeded, value, undefined, options.asyncContext);
    } catch (error) {
      const message = String(/** @type {{message?: unknown}} */ (error)?.message ?? error);
      entry.outcome(`failed ${message}`);
      const failure = new OfficeError(9002, "InvalidRequest", message);
      result = new AsyncResult(AsyncResultStatus.Failed, undefined, failure, options.asyncContext);
    }
    later(callback, result);
  }

  /**
   * A draft of a reply as Outlook exposes it in compose mode: no itemId until saved, its
   * conversation, From (the mailbox), To, its body (written to at the cursor) and its
   * sessionData (shared with the event handler's runtime).
   * @param {ItemDescriptor} d
   * @returns {Readonly<ComposedItem>}
   */
  function makeComposeItem(d) {
    /** @param {{name?: string, address?: string} | null | undefined} who */
    const details = (who) => addressDetails(who ?? null);
    /** @type {ComposedItem} */
    const item = {
      itemType: "message",
      itemClass: "IPM.Note",
      conversationId: d.conversationId ?? null,
      subject: {
        getAsync: (first, second) =>
          answered("subject.getAsync", undefined, first, second, () => d.subject),
      },
      from: {
        getAsync: (first, second) =>
          answered("from.getAsync", undefined, first, second, () => details(d.from)),
      },
      to: {
        getAsync: (first, second) =>
          answered("to.getAsync", undefined, first, second, () => (d.to ? [details(d.to)] : [])),
      },
      body: {
        getTypeAsync: (first, second) =>
          answered("body.getTypeAsync", undefined, first, second, () => host.composeBodyType()),
        setSelectedDataAsync: (data, first, second) => {
          const coercion = typeof first === "object" ? (first.coercionType ?? "text") : "text";
          answered("body.setSelectedDataAsync", { coercionType: coercion }, first, second, () => {
            host.composeInsert(String(data), coercion);
            return undefined;
          });
        },
      },
      sessionData: {
        getAsync: (key, first, second) =>
          answered("sessionData.getAsync", [key], first, second, () => {
            const value = host.sessionGet(key);
            if (value === null) throw new Error(`no session data under ${key}`);
            return value;
          }),
        setAsync: (key, value, first, second) =>
          answered("sessionData.setAsync", [key, value], first, second, () => {
            host.sessionSet(key, value);
            return undefined;
          }),
      },
    };
    const shared = d.shared;
    if (shared && host.scenario().sharedProperties !== "missing")
      item.getSharedPropertiesAsync = sharedPropertiesAsync(shared);
    return Object.freeze(item);
  }

  /**
   * Builds a read-mode item as Outlook would expose it.
   * @param {ItemDescriptor} d
   */
  function makeItem(d) {
    /** @type {SimulatedItem} */
    const item = {
      itemId: d.ewsId,
      itemType: d.itemType,
      itemClass: d.itemType === "appointment" ? "IPM.Appointment" : "IPM.Note",
      subject: d.subject,
      dateTimeCreated: new Date(d.createdDateTime || d.receivedDateTime || Date.now()),
      dateTimeModified: new Date(d.receivedDateTime || Date.now()),
      normalizedSubject: String(d.subject || "").replace(/^(re|fw|fwd):\s*/i, ""),
    };
    if (d.itemType === "appointment") {
      item.organizer = addressDetails(d.from);
      item.start = new Date(d.start || (d.receivedDateTime ?? 0));
    } else {
      item.from = addressDetails(d.from);
      item.sender = addressDetails(d.from);
    }
    // Present only for items in a shared folder or shared mailbox (Microsoft's rule), and
    // missing altogether on clients that lack it (the "missing" scenario).
    const shared = d.shared;
    if (shared && host.scenario().sharedProperties !== "missing") {
      item.getSharedPropertiesAsync = sharedPropertiesAsync(shared);
    }
    if (d.itemType === "message") {
      /** @type {(kind: "reply" | "replyAll") => NonNullable<SimulatedItem["displayReplyFormAsync"]>} */
      const display = (kind) => (formData, first, second) => {
        const html =
          typeof formData === "string"
            ? formData
            : String(/** @type {{htmlBody?: unknown}} */ (formData)?.htmlBody ?? "");
        const call = kind === "reply" ? "displayReplyFormAsync" : "displayReplyAllFormAsync";
        answered(call, { htmlBody: html }, first, second, () => {
          host.displayReplyForm(kind, html);
          return undefined;
        });
      };
      item.displayReplyFormAsync = display("reply");
      item.displayReplyAllFormAsync = display("replyAll");
    }
    return Object.freeze(item);
  }

  /**
   * getSharedPropertiesAsync for an item of a shared folder or mailbox: owner, targetMailbox,
   * targetRestUrl and delegatePermissions, as the scenario says.
   * @param {NonNullable<ItemDescriptor["shared"]>} shared
   * @returns {NonNullable<SimulatedItem["getSharedPropertiesAsync"]>}
   */
  function sharedPropertiesAsync(shared) {
    return (first, second) => {
      const args = optionsAndCallback(first, second);
      const entry = host.log("getSharedPropertiesAsync", plain(args.options));
      const mode = host.scenario().sharedProperties;
      const context = args.options.asyncContext;
      if (mode === "timeout") {
        entry.outcome("no answer (never calls back)");
        return;
      }
      if (mode === "fails") {
        // The failure people report (office-js#3748): code 9018, GenericTokenError.
        const error = new OfficeError(9018, "GenericTokenError", "An internal error has occurred.");
        entry.outcome("failed 9018 GenericTokenError");
        later(args.callback, new AsyncResult(AsyncResultStatus.Failed, undefined, error, context));
        return;
      }
      const value =
        mode === "empty"
          ? { owner: "", targetMailbox: "", targetRestUrl: "", delegatePermissions: 0 }
          : {
              owner: shared.owner,
              targetMailbox: shared.targetMailbox,
              targetRestUrl: shared.targetRestUrl,
              delegatePermissions: shared.delegatePermissions,
            };
      entry.outcome(`succeeded ${JSON.stringify(value)}`);
      later(args.callback, new AsyncResult(AsyncResultStatus.Succeeded, value, undefined, context));
    };
  }

  /**
   * "1.14" >= "1.3" compared numerically, part by part.
   * @param {string} have
   * @param {string | undefined} want
   */
  function versionAtLeast(have, want) {
    const a = String(have).split(".").map(Number);
    const b = String(want || "1.1")
      .split(".")
      .map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      const x = a[i] || 0;
      const y = b[i] || 0;
      if (x !== y) return x > y;
    }
    return true;
  }

  const mailbox = {
    /** The selected item (null when nothing is selected). */
    get item() {
      return currentItem();
    },
    /** The signed-in persona. */
    get userProfile() {
      const p = host.profile();
      return Object.freeze({
        displayName: p.name,
        emailAddress: p.upn,
        timeZone: "UTC",
        accountType: MailboxEnums.UserProfileType.Enterprise,
      });
    },
    /** The REST URL Outlook reports for the person's own mailbox. */
    get restUrl() {
      return "https://outlook.office.com/api";
    },
    diagnostics: Object.freeze({
      hostName: "Outlook",
      hostVersion: "16.0.17928.20114 (simulator)",
      OWAView: undefined,
    }),
    /**
     * EWS id -> REST id: the URL-safe base64 alphabet, as Outlook converts it.
     * @param {string} itemId
     * @param {string} restVersion
     */
    convertToRestId: (itemId, restVersion) => {
      host.log("convertToRestId", [itemId, restVersion]);
      return String(itemId).replace(/\//g, "-").replace(/\+/g, "_");
    },
    /**
     * REST id -> EWS id.
     * @param {string} itemId
     * @param {string} restVersion
     */
    convertToEwsId: (itemId, restVersion) => {
      host.log("convertToEwsId", [itemId, restVersion]);
      return String(itemId).replace(/-/g, "/").replace(/_/g, "+");
    },
    /**
     * Opens an existing message by its EWS id (Mailbox 1.1); says nothing when there is none.
     * @param {string} itemId
     */
    displayMessageForm: (itemId) => {
      host.displayMessageForm(String(itemId));
    },
    /**
     * The same, with a callback (Mailbox 1.9).
     * @param {string} itemId
     * @param {AsyncOptions | AsyncCallback} [first]
     * @param {AsyncCallback} [second]
     */
    displayMessageFormAsync: (itemId, first, second) => {
      const args = optionsAndCallback(first, second);
      host.displayMessageForm(String(itemId));
      later(
        args.callback,
        new AsyncResult(
          AsyncResultStatus.Succeeded,
          undefined,
          undefined,
          args.options.asyncContext,
        ),
      );
    },
    /**
     * Registers an ItemChanged handler with the host (the only event the pane uses).
     * @param {string} eventType
     * @param {ItemChangedHandler} handler
     * @param {AsyncOptions | AsyncCallback} [first]
     * @param {AsyncCallback} [second]
     */
    addHandlerAsync: (eventType, handler, first, second) => {
      const args = optionsAndCallback(first, second);
      host.log("addHandlerAsync", { eventType: eventType });
      if (eventType !== EventType.ItemChanged || typeof handler !== "function") {
        later(
          args.callback,
          new AsyncResult(
            AsyncResultStatus.Failed,
            undefined,
            new OfficeError(5000, "Invalid API call", "The event type is not supported here."),
            args.options.asyncContext,
          ),
        );
        return;
      }
      host.addItemChangedHandler(handler, document);
      later(
        args.callback,
        new AsyncResult(
          AsyncResultStatus.Succeeded,
          undefined,
          undefined,
          args.options.asyncContext,
        ),
      );
    },
    /**
     * Drops this pane's handlers.
     * @param {string} eventType
     * @param {AsyncOptions | AsyncCallback} [first]
     * @param {AsyncCallback} [second]
     */
    removeHandlerAsync: (eventType, first, second) => {
      const args = optionsAndCallback(first, second);
      host.log("removeHandlerAsync", { eventType: eventType });
      host.removeItemChangedHandlers(document);
      later(
        args.callback,
        new AsyncResult(
          AsyncResultStatus.Succeeded,
          undefined,
          undefined,
          args.options.asyncContext,
        ),
      );
    },
  };

  const requirements = {
    /**
     * Mailbox up to 1.14; IdentityAPI 1.3 unless the scenario turns it off; NestedAppAuth 1.1
     * unless the NAA scenario is "unsupported" (Outlook declares neither in the manifest: both
     * are run-time checks).
     * @param {string} name
     * @param {string} [minVersion]
     */
    isSetSupported: (name, minVersion) => {
      /** @type {Record<string, string>} */
      const sets = { mailbox: "1.14", openbrowserwindowapi: "1.1" };
      if (host.scenario().identityApi) sets.identityapi = "1.3";
      if (host.scenario().naa !== "unsupported") sets.nestedappauth = "1.1";
      const have = sets[String(name).toLowerCase()];
      const answer = Boolean(have) && versionAtLeast(have, minVersion);
      host.log("isSetSupported", [name, minVersion], String(answer));
      return answer;
    },
  };

  // Nested app authentication: Outlook's Office.js gives the add-in's window the bridge MSAL.js
  // looks for (window.nestedAppAuthBridge: addEventListener("message"), postMessage(JSON text),
  // removeEventListener; @azure/msal-browser src/naa/AuthBridge.ts). This one carries each
  // request envelope to the simulator host and each response back, as JSON text.
  if (host.scenario().naa !== "unsupported") {
    /** @type {Set<(response: AuthBridgeResponse) => void>} */
    const listeners = new Set();
    /** @type {AuthBridge} */
    const bridge = {
      /** Registers a listener for the host's responses ("message" is the only event). */
      addEventListener: (name, callback) => {
        if (name === "message" && typeof callback === "function") listeners.add(callback);
      },
      /** Drops a listener. */
      removeEventListener: (name, callback) => {
        if (name === "message") listeners.delete(callback);
      },
      /** Sends one request envelope to the host; its response arrives later, as Outlook's does. */
      postMessage: (message) => {
        host.bridgeRequest(String(message)).then((response) => {
          if (!response) return;
          const text = JSON.stringify(response);
          for (const listener of [...listeners]) listener(text);
        });
      },
    };
    window.nestedAppAuthBridge = Object.freeze(bridge);
  }

  /** @typedef {{host: string, platform: string}} ReadyInfo */

  /** @type {Promise<ReadyInfo> | null} */
  let ready = null;

  /**
   * Office.onReady: a promise of {host, platform}, and the callback form.
   * @param {(info: ReadyInfo) => void} [callback]
   */
  function onReady(callback) {
    if (!ready) {
      ready = Promise.resolve(host.ready).then(() => {
        const info = { host: HostType.Outlook, platform: PlatformType.PC };
        host.log("onReady", undefined, JSON.stringify(info));
        // Office.initialize, when the add-in sets it, hears why it started.
        if (typeof office.initialize === "function") office.initialize("inserted");
        return info;
      });
    }
    if (typeof callback === "function") {
      ready.then((info) => {
        callback(info);
      });
    }
    return ready;
  }

  /** Office.auth: the SSO token the simulated Outlook hands the add-in. */
  const auth = {
    /**
     * Office.auth.getAccessToken: a promise of the SSO token; rejects with {code, name, message}.
     * @param {Office.AuthOptions} [options]
     * @returns {Promise<string>}
     */
    getAccessToken: (options) => {
      const copy = plain(options || {});
      return new Promise((resolve, reject) => {
        host.getAccessToken(copy).then(
          (token) => {
            resolve(String(token));
          },
          (error) => {
            reject(new OfficeError(error.code, error.name, error.message));
          },
        );
      });
    },
  };

  /**
   * The stand-in itself; Office.initialize is the add-in's to set.
   * @type {{initialize?: (reason: string) => void} & Record<string, unknown>}
   */
  const office = {
    CoercionType: CoercionType,
    /** Office.actions.associate: the event handler's function for a manifest's name. */
    actions: Object.freeze({
      /**
       * @param {string} name
       * @param {(event: unknown) => unknown} handler
       */
      associate: (name, handler) => host.associate(String(name), handler),
    }),
    HostType: HostType,
    PlatformType: PlatformType,
    AsyncResultStatus: AsyncResultStatus,
    EventType: EventType,
    MailboxEnums: MailboxEnums,
    onReady: onReady,
    context: {
      mailbox: mailbox,
      requirements: requirements,
      displayLanguage: "en-US",
      contentLanguage: "en-US",
      diagnostics: Object.freeze({
        host: HostType.Outlook,
        platform: PlatformType.PC,
        version: "16.0 (simulator)",
      }),
      ui: {
        /**
         * Opens a URL outside the add-in, as Outlook does with the system browser.
         * @param {string} url
         */
        openBrowserWindow: (url) => {
          host.log("openBrowserWindow", [url]);
          host.openBrowserWindow(String(url));
        },
      },
    },
    auth: auth,
  };
  // The pane reads this as Office.js: it has the members the pane and MSAL.js call, no more.
  window.Office = /** @type {typeof Office} */ (/** @type {unknown} */ (office));
  // OfficeRuntime.auth, which event-based runtimes sign in with (the same SSO token).
  window.OfficeRuntime = Object.freeze({
    auth: Object.freeze({ getAccessToken: auth.getAccessToken }),
  });
})();
