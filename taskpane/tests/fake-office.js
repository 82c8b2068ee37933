// A small fake of the Office.js surface the pane touches, for the unit tests. Not a test file
// itself (node --test runs only *.test.js here).

/**
 * The fake, as the pane's functions take it (Office's own type), with the calls it recorded.
 * @typedef {typeof Office & {calls: unknown[][]}} FakeOffice
 */

/**
 * How the fake item's getSharedPropertiesAsync answers: {value} succeeds, {error} fails,
 * {never: true} never calls back, {throws} throws; after delayMs on the mocked clock if given.
 * @typedef {{value?: object, error?: {name?: string, code?: number, message?: string},
 *   never?: boolean, throws?: string, delayMs?: number}} SharedAnswer
 */

export const EWS_ID =
  "AAMkADQxNmU5OWIwLWUxM2UtNDEzZS1iZGFhLWVhMDBhMDFkNjE2ZgBGAAD/6rbIfRYM4WYc+uJj1WbdjieipwyiRfVMrTn64mDQX/ARJg36YN0Mm";
export const REST_ID =
  "AAMkADQxNmU5OWIwLWUxM2UtNDEzZS1iZGFhLWVhMDBhMDFkNjE2ZgBGAAD-6rbIfRYM4WYc_uJj1WbdjieipwyiRfVMrTn64mDQX-ARJg36YN0Mm";

/** Office's enums, as Office.js defines them. */
const ENUMS = {
  AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
  EventType: { ItemChanged: "olkItemSelectedChanged" },
  HostType: { Outlook: "Outlook" },
  MailboxEnums: {
    ItemType: { Message: "message", Appointment: "appointment" },
    RestVersion: { v1_0: "v1.0", v2_0: "v2.0", Beta: "beta" },
  },
};

/**
 * A read-mode message (or appointment) as Outlook exposes it.
 * @param {Record<string, unknown>} [overrides]
 * @returns {Record<string, unknown>}
 */
export function message(overrides = {}) {
  return {
    itemId: EWS_ID,
    itemType: "message",
    subject: "Printer on the 3rd floor jams",
    from: { displayName: "Maria Lopez", emailAddress: "maria.lopez@adatum.com" },
    ...overrides,
  };
}

/**
 * A fake Office namespace. `shared` adds getSharedPropertiesAsync to the item:
 * {value} succeeds, {error} fails, {never: true} never calls back, {throws} throws.
 * `tokens` is a queue of answers for getAccessToken: a string resolves, an object rejects.
 * @param {{item?: Record<string, unknown> | null, shared?: SharedAnswer | null,
 *   identity?: boolean, naa?: boolean, tokens?: (string | object)[], profile?: object}} [options]
 * @returns {FakeOffice}
 */
export function fakeOffice({
  item = message(),
  shared = null,
  identity = true,
  naa = false,
  tokens = [],
  profile,
} = {}) {
  /** @type {unknown[][]} */
  const calls = [];
  const office = {
    ...ENUMS,
    calls,
    context: {
      mailbox: {
        userProfile: profile ?? { displayName: "Lee Gu", emailAddress: "lee@contoso.com" },
        /**
         * EWS -> REST id, recording the call.
         * @param {string} id
         * @param {string} version
         */
        convertToRestId(id, version) {
          calls.push(["convertToRestId", id, version]);
          return id.replace(/\//g, "-").replace(/\+/g, "_");
        },
        /** @type {Record<string, unknown> | null} */
        item: null,
      },
      requirements: {
        /**
         * IdentityAPI and NestedAppAuth as the test says; Mailbox always.
         * @param {string} name
         * @param {string} [version]
         */
        isSetSupported(name, version) {
          calls.push(["isSetSupported", name, version]);
          if (name === "NestedAppAuth") return naa;
          return name === "IdentityAPI" ? identity : name === "Mailbox";
        },
      },
    },
    auth: {
      /**
       * The next queued answer: a string resolves, an object rejects.
       * @param {Office.AuthOptions} [options]
       * @returns {Promise<string>}
       */
      getAccessToken(options) {
        calls.push(["getAccessToken", options]);
        const next = tokens.length ? tokens.shift() : "token";
        return typeof next === "string" ? Promise.resolve(next) : Promise.reject(next);
      },
    },
  };
  if (item) {
    /** @type {Record<string, unknown>} */
    const copy = { ...item };
    if (shared) {
      /** @param {(result: {status: string, value?: object, error?: object}) => void} callback */
      copy.getSharedPropertiesAsync = (callback) => {
        calls.push(["getSharedPropertiesAsync"]);
        if (shared.throws) throw new Error(shared.throws);
        if (shared.never) return;
        const result = shared.error
          ? { status: "failed", error: shared.error }
          : { status: "succeeded", value: shared.value };
        // Office calls back later, never synchronously: after delayMs on the (mocked) clock, or
        // as a microtask when the test gives no delay.
        if (shared.delayMs) setTimeout(() => callback(result), shared.delayMs);
        else queueMicrotask(() => callback(result));
      };
    }
    office.context.mailbox.item = copy;
  }
  // The fake has the members the pane touches, not all of Office.js: the pane takes it as Office.
  return /** @type {FakeOffice} */ (/** @type {unknown} */ (office));
}

/**
 * Office's getAccessToken rejection.
 * @param {number} code
 * @param {string} [name]
 * @param {string} [message]
 */
export function officeError(code, name = "Error", message = "failed") {
  return { code, name, message };
}
