// A small fake of the MSAL.js surface the pane uses on the NAA path (createNestablePublicClientApplication
// and the client it answers), for the unit tests; the browser tests run the real library against
// the simulator's bridge. Not a test file itself (node --test runs only *.test.js here).

/**
 * @import { AccountInfo, Configuration, IController, PopupRequest, SilentRequest }
 *   from "@azure/msal-browser"
 * @import { MsalApi } from "../types/msal"
 */

/**
 * MSAL.js's error shape: name, errorCode, errorMessage, subError.
 * @param {string} name
 * @param {string} errorCode
 * @param {string} [errorMessage]
 * @param {string} [subError]
 */
export function msalError(name, errorCode, errorMessage = "", subError = "") {
  const error = new Error(errorMessage ? `${errorCode}: ${errorMessage}` : errorCode);
  return Object.assign(error, { name, errorCode, errorMessage, subError });
}

/**
 * A fake msal namespace. `bridge: false` makes createNestablePublicClientApplication answer a
 * standard client, as MSAL.js does when it finds no bridge. `silent` and `popup` are queues of
 * answers: a string is an access token, an Error is thrown.
 * @param {{bridge?: boolean, silent?: (string | Error)[], popup?: (string | Error)[],
 *   accounts?: Record<string, AccountInfo>}} [options]
 * @returns {MsalApi & {calls: unknown[][]}}
 */
export function fakeMsal({ bridge = true, silent = [], popup = [], accounts = {} } = {}) {
  /** @type {unknown[][]} */
  const calls = [];
  /**
   * @param {string | Error | undefined} next
   * @param {string} fallback
   */
  const answer = (next, fallback) => {
    const value = next === undefined ? fallback : next;
    if (value instanceof Error) throw value;
    return { accessToken: value };
  };

  class InteractionRequiredAuthError extends Error {
    /**
     * MSAL.js's constructor's first two arguments.
     * @param {string} errorCode
     * @param {string} _correlationId
     */
    constructor(errorCode, _correlationId) {
      super(errorCode);
    }
  }

  class PublicClientApplication {
    /**
     * Keeps what it was built with.
     * @param {Configuration} configuration
     * @param {IController | null} controller
     */
    constructor(configuration, controller) {
      this.configuration = configuration;
      this.controller = controller;
    }

    /**
     * The account the fake's cache knows for a user name, or null.
     * @param {string} upn
     */
    getAccountByUsername(upn) {
      calls.push(["getAccountByUsername", upn]);
      return accounts[upn] ?? null;
    }

    /**
     * The next silent answer.
     * @param {SilentRequest} request
     */
    async acquireTokenSilent(request) {
      calls.push(["acquireTokenSilent", request]);
      return answer(silent.shift(), "naa-token");
    }

    /**
     * The next popup answer.
     * @param {PopupRequest} request
     */
    async acquireTokenPopup(request) {
      calls.push(["acquireTokenPopup", request]);
      return answer(popup.shift(), "popup-token");
    }
  }

  return {
    calls,
    InteractionRequiredAuthError,
    // MSAL.js's builds a whole IPublicClientApplication; the fake's client has the members the
    // pane calls (NaaClient), which is all the pane may use of it.
    PublicClientApplication: /** @type {MsalApi["PublicClientApplication"]} */ (
      /** @type {unknown} */ (PublicClientApplication)
    ),
    /** The nested client through the pane's factory when there is a bridge, else a standard one. */
    async createNestablePublicClientApplication(configuration, correlationId, factory) {
      calls.push(["createNestablePublicClientApplication", configuration, correlationId]);
      // The fake's controller says only that the client is the nested one.
      const controller = /** @type {IController} */ (/** @type {unknown} */ ({ nested: true }));
      if (bridge) return factory(configuration, controller);
      return new PublicClientApplication(configuration, null);
    },
  };
}

/**
 * An InteractionRequiredAuthError as MSAL.js names it (the pane checks the name too).
 * @param {string} [errorCode]
 * @param {string} [message]
 */
export function interactionRequired(errorCode = "interaction_required", message = "") {
  return msalError("InteractionRequiredAuthError", errorCode, message);
}
