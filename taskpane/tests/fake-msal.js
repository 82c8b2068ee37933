// A small fake of the MSAL.js surface the pane uses on the NAA path (createNestablePublicClientApplication
// and the client it answers), for the unit tests; the browser tests run the real library against
// the simulator's bridge. Not a test file itself (node --test runs only *.test.js here).

/** MSAL.js's error shape: name, errorCode, errorMessage, subError. */
export function msalError(name, errorCode, errorMessage = "", subError = "") {
  const error = new Error(errorMessage ? `${errorCode}: ${errorMessage}` : errorCode);
  error.name = name;
  error.errorCode = errorCode;
  error.errorMessage = errorMessage;
  error.subError = subError;
  return error;
}

/**
 * A fake msal namespace. `bridge: false` makes createNestablePublicClientApplication answer a
 * standard client, as MSAL.js does when it finds no bridge. `silent` and `popup` are queues of
 * answers: a string is an access token, an Error is thrown.
 */
export function fakeMsal({ bridge = true, silent = [], popup = [], accounts = {} } = {}) {
  const calls = [];
  const answer = (next, fallback) => {
    const value = next === undefined ? fallback : next;
    if (value instanceof Error) throw value;
    return { accessToken: value };
  };

  class InteractionRequiredAuthError extends Error {}

  class PublicClientApplication {
    /** Keeps what it was built with. */
    constructor(configuration, controller) {
      this.configuration = configuration;
      this.controller = controller;
    }

    /** The account the fake's cache knows for a user name, or null. */
    getAccountByUsername(upn) {
      calls.push(["getAccountByUsername", upn]);
      return accounts[upn] ?? null;
    }

    /** The next silent answer. */
    async acquireTokenSilent(request) {
      calls.push(["acquireTokenSilent", request]);
      return answer(silent.shift(), "naa-token");
    }

    /** The next popup answer. */
    async acquireTokenPopup(request) {
      calls.push(["acquireTokenPopup", request]);
      return answer(popup.shift(), "popup-token");
    }
  }

  return {
    calls,
    InteractionRequiredAuthError,
    PublicClientApplication,
    /** The nested client through the pane's factory when there is a bridge, else a standard one. */
    async createNestablePublicClientApplication(configuration, correlationId, factory) {
      calls.push(["createNestablePublicClientApplication", configuration, correlationId]);
      if (bridge) return factory(configuration, { nested: true });
      return new PublicClientApplication(configuration, null);
    },
  };
}

/** An InteractionRequiredAuthError as MSAL.js names it (the pane checks the name too). */
export function interactionRequired(errorCode = "interaction_required", message = "") {
  return msalError("InteractionRequiredAuthError", errorCode, message);
}
