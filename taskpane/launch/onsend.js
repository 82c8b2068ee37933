// Tandem's OnMessageSend handler (Smart Alerts, Mailbox 1.12; the manifests' LaunchEvent and
// autoRunEvents with SendMode PromptUser). Before a draft goes out it asks Tandem's backend
// (POST /api/items/sendcheck) whether someone else replied in the draft's conversation since
// it was opened, or holds the conversation; if so it stops the send with a sentence naming
// them, and the person can choose Send Anyway. It answers within BUDGET_MS, under the five
// seconds after which Outlook tells the person the add-in is "taking longer than expected";
// whenever Tandem can't answer (no conversation, no token, no network, an error, too slow) the
// send goes through: the warning is a courtesy, never a gate.
//
// One classic script with no imports: classic Outlook on Windows runs it alone in a
// JavaScript-only runtime that supports neither imports nor relative URLs (the backend writes
// its public URL into PUBLIC_URL as it serves this file); Outlook on the web, the new Outlook
// and Mac load it from launch/onsend.html. Office.onReady isn't run there: nothing waits on it.

(() => {
  /** The backend's origin, written in by the backend (web/pages.py); "" in the source. */
  const PUBLIC_URL = "";

  /**
   * The add-in's client id and the scope of Tandem's API (the manifest's WebApplicationInfo),
   * written in by the backend (web/pages.py); null in the source.
   * @type {SendCheckApp | null}
   */
  const APP = null;

  /** How long the whole check may take: under Smart Alerts' five seconds. */
  const BUDGET_MS = 4000;

  /** The longest message a Smart Alerts dialog shows (Microsoft: 500 characters). */
  const MESSAGE_LIMIT = 500;

  /** The draft's sessionData key under which the compose pane notes when it opened. */
  const OPENED_KEY = "tandem.openedAt";

  /** What lets the send go on. @type {Office.SmartAlertsEventCompletedOptions} */
  const SEND = Object.freeze({ allowEvent: true });

  /**
   * An Office callback API as a promise of its AsyncResult (never rejects).
   * @template T
   * @param {(callback: (result: Office.AsyncResult<T>) => void) => void} start
   * @returns {Promise<Office.AsyncResult<T> | null>}
   */
  function asked(start) {
    return new Promise((resolve) => {
      try {
        start((result) => resolve(result));
      } catch (error) {
        console.log("Tandem send check: Office refused a call:", error);
        resolve(null);
      }
    });
  }

  /**
   * Whether Office answered with a value.
   * @template T
   * @param {Office.AsyncResult<T> | null} result
   * @param {typeof Office} office
   * @returns {result is Office.AsyncResult<T>}
   */
  function succeeded(result, office) {
    const ok = office?.AsyncResultStatus?.Succeeded ?? "succeeded";
    return result !== null && result.status === ok;
  }

  /**
   * The draft as the send check posts it: its conversation, the mailbox it is sent from (the
   * shared properties, else its From when that is not the person's own address: Outlook gives
   * shared properties in compose only for some ways of opening a shared mailbox), and when
   * the compose pane saw it open. Null for a new message (no conversation yet).
   * @param {typeof Office | undefined} office
   * @returns {Promise<DraftBody | null>}
   */
  async function draftOf(office) {
    const mailbox = office?.context?.mailbox;
    const item = /** @type {Office.MessageCompose | undefined} */ (mailbox?.item ?? undefined);
    const conversationId = item?.conversationId;
    if (!office || !item || typeof conversationId !== "string" || !conversationId) return null;
    /** @type {DraftBody} */
    const draft = { conversationId, itemType: "message" };
    if (typeof item.getSharedPropertiesAsync === "function") {
      const shared = await asked((done) => item.getSharedPropertiesAsync(done));
      const value = succeeded(shared, office) ? shared.value : null;
      if (value?.targetMailbox && value.targetRestUrl) {
        draft.shared = {
          targetMailbox: value.targetMailbox,
          targetRestUrl: value.targetRestUrl,
          owner: String(value.owner ?? ""),
          delegatePermissions: Number(value.delegatePermissions) & 63,
        };
      }
    }
    if (!draft.shared && typeof item.from?.getAsync === "function") {
      const from = await asked((done) => item.from.getAsync(done));
      const address = succeeded(from, office) ? String(from.value?.emailAddress ?? "") : "";
      const me = String(mailbox?.userProfile?.emailAddress ?? "");
      if (address && address.toLowerCase() !== me.toLowerCase()) {
        draft.shared = {
          targetMailbox: address,
          targetRestUrl: String(mailbox?.restUrl || "https://outlook.office.com/api"),
          owner: address,
          delegatePermissions: 0,
        };
      }
    }
    const sessionData = item.sessionData;
    if (typeof sessionData?.getAsync === "function") {
      const opened = await asked((done) => sessionData.getAsync(OPENED_KEY, done));
      if (succeeded(opened, office) && typeof opened.value === "string" && opened.value)
        draft.openedAt = opened.value;
    }
    return draft;
  }

  /**
   * Whether Outlook offers nested app authentication (NestedAppAuth 1.1, a run-time check).
   * @param {typeof Office | undefined} office
   */
  function naaOffered(office) {
    const requirements = office?.context?.requirements;
    if (typeof requirements?.isSetSupported !== "function") return false;
    return Boolean(requirements.isSetSupported("NestedAppAuth", "1.1"));
  }

  /**
   * The nested client of this runtime, made once per MSAL.js namespace (Outlook may keep the
   * runtime for the next send).
   * @type {{msal: SendCheckMsal, pca: Promise<SendCheckClient>} | null}
   */
  let nestable = null;

  /**
   * MSAL.js's nested client, or a rejection when Outlook offers MSAL.js no bridge (MSAL.js then
   * quietly builds a popup client; its factory is called only for the nested one).
   * @param {SendCheckMsal} msal
   * @param {SendCheckApp} app
   * @returns {Promise<SendCheckClient>}
   */
  function nestedClient(msal, app) {
    if (nestable?.msal !== msal) {
      let nested = false;
      const pca = msal
        .createNestablePublicClientApplication(
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
        )
        .then((client) => {
          if (!nested) throw new Error("Outlook offered MSAL.js no bridge");
          return client;
        });
      nestable = { msal, pca };
    }
    return nestable.pca;
  }

  /**
   * A token for Tandem's API through nested app authentication, silently (an event handler
   * shows no UI: no popup, whatever MSAL.js says).
   * @param {typeof Office | undefined} office
   * @param {SendCheckMsal} msal
   * @param {SendCheckApp} app
   * @returns {Promise<string>}
   */
  async function naaToken(office, msal, app) {
    const pca = await nestedClient(msal, app);
    const upn = office?.context?.mailbox?.userProfile?.emailAddress;
    const account = (upn && pca.getAccountByUsername?.(upn)) || undefined;
    const result = await pca.acquireTokenSilent({
      scopes: [app.scope],
      ...(account && { account }),
    });
    const token = result?.accessToken;
    if (typeof token !== "string" || !token) throw new Error("MSAL.js answered no token");
    return token;
  }

  /**
   * A token for Tandem's API without any prompt (an event handler shows no UI): nested app
   * authentication where Outlook offers it and MSAL.js is loaded (launch/onsend.html loads it;
   * classic Outlook on Windows runs this script alone, with neither MSAL.js nor the bridge,
   * office-js#4450), else OfficeRuntime.auth, which Microsoft recommends in event-based
   * runtimes, else Office.auth.
   * @param {Pick<SendCheckSeams, "office" | "runtime" | "msal" | "app">} from
   * @returns {Promise<string>}
   */
  async function tokenOf({ office, runtime, msal, app }) {
    if (msal?.createNestablePublicClientApplication && app && naaOffered(office)) {
      try {
        return await naaToken(office, msal, app);
      } catch (error) {
        const thrown = /** @type {{errorCode?: string, message?: string} | null} */ (error);
        const why = thrown?.errorCode ?? thrown?.message ?? error;
        console.log("Tandem send check: no token through nested app authentication:", why);
      }
    }
    const options = { allowSignInPrompt: false, allowConsentPrompt: false };
    if (typeof runtime?.auth?.getAccessToken === "function")
      return runtime.auth.getAccessToken(options);
    if (typeof office?.auth?.getAccessToken === "function")
      return office.auth.getAccessToken(options);
    throw new Error("this Outlook offers the handler no sign-in");
  }

  /** The backend's origin: the one written in, else this page's (the HTML runtime). */
  function origin() {
    return PUBLIC_URL || String(globalThis.location?.origin ?? "");
  }

  /**
   * The dialog's message: the backend's sentence and what the buttons do, at most 500
   * characters.
   * @param {string} sentence
   */
  function messageFor(sentence) {
    const after = " Send yours anyway, or choose Don't Send and read the conversation first.";
    const said = String(sentence)
      .trim()
      .slice(0, MESSAGE_LIMIT - after.length);
    return `${said}${after}`;
  }

  /**
   * The check itself; rejects on anything that keeps it from an answer.
   * @param {Required<Pick<SendCheckSeams, "fetch" | "baseUrl">> & SendCheckSeams} seams
   * @param {AbortSignal} signal
   * @returns {Promise<Office.SmartAlertsEventCompletedOptions>}
   */
  async function check({ office, runtime, msal, app, fetch: fetchImpl, baseUrl }, signal) {
    const draft = await draftOf(office);
    if (!draft) return SEND; // a new message: no conversation to check
    const token = await tokenOf({ office, runtime, msal, app });
    const response = await fetchImpl(`${baseUrl}/api/items/sendcheck`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        Accept: "application/json",
      },
      body: JSON.stringify(draft),
      signal,
    });
    if (!response.ok) throw new Error(`Tandem answered ${response.status}`);
    const answer = await response.json();
    const warn = answer?.warn;
    if (!warn || typeof warn.sentence !== "string" || !warn.sentence) return SEND;
    return { allowEvent: false, errorMessage: messageFor(warn.sentence) };
  }

  /**
   * What to tell Outlook about this send, within the budget: a warning, or go on.
   * @param {SendCheckSeams} [seams]
   * @returns {Promise<Office.SmartAlertsEventCompletedOptions>}
   */
  async function decide(seams = {}) {
    const budgetMs = seams.budgetMs ?? BUDGET_MS;
    const full = {
      office: seams.office ?? globalThis.Office,
      runtime: seams.runtime ?? globalThis.OfficeRuntime,
      msal: seams.msal === undefined ? globalThis.msal : seams.msal,
      app: seams.app === undefined ? APP : seams.app,
      fetch: seams.fetch ?? globalThis.fetch,
      baseUrl: seams.baseUrl ?? origin(),
    };
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    /** @type {Promise<Office.SmartAlertsEventCompletedOptions>} */
    const late = new Promise((resolve) => {
      timer = setTimeout(() => {
        console.log(`Tandem send check: no answer within ${budgetMs} ms; sending`);
        controller?.abort();
        resolve(SEND);
      }, budgetMs);
    });
    const asking = check(full, /** @type {AbortSignal} */ (controller?.signal)).catch((error) => {
      console.log("Tandem send check: Tandem couldn't answer; sending:", error?.message ?? error);
      return SEND;
    });
    try {
      return await Promise.race([asking, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The function the manifests name for OnMessageSend.
   * @param {SendEvent} event
   */
  async function onMessageSendHandler(event) {
    event.completed(await decide());
  }

  const office = globalThis.Office;
  if (typeof office?.actions?.associate === "function")
    office.actions.associate("onMessageSendHandler", onMessageSendHandler);
  globalThis.tandemSendCheck = {
    BUDGET_MS,
    OPENED_KEY,
    decide,
    draftOf,
    messageFor,
    onMessageSendHandler,
  };
})();
