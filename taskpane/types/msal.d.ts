// MSAL.js as the pane meets it. vendor/msal-browser.min.js (tools/vendor.js copies it from
// @azure/msal-browser, the version package-lock.json pins) is the package's browser build: a
// classic script whose globalThis.msal holds the package's exports, so the package's own
// declarations type it. The pane calls a few members of it, named here; auth.js hands the
// real namespace to code typed with MsalApi, so tsc checks that MSAL.js still has them.

import type * as Msal from "@azure/msal-browser";

declare global {
  /** MSAL.js's namespace, once vendor/msal-browser.min.js has run (auth.js loads it for NAA). */
  var msal: typeof Msal | undefined;
}

/** What a token request answers that the pane reads. */
export interface TokenResult {
  accessToken: string;
}

/** The members of MSAL.js's IPublicClientApplication the pane calls. */
export interface NaaClient {
  acquireTokenSilent(request: Msal.SilentRequest): Promise<TokenResult>;
  acquireTokenPopup(request: Msal.PopupRequest): Promise<TokenResult>;
  getAccountByUsername?(username: string): Msal.AccountInfo | null;
}

/**
 * The members of MSAL.js's namespace the pane uses. The factory MSAL.js calls when it finds
 * Outlook's bridge must answer a whole IPublicClientApplication: the pane's answers what
 * PublicClientApplication builds.
 */
export interface MsalApi {
  createNestablePublicClientApplication(
    configuration: Msal.Configuration,
    correlationId: string | undefined,
    factory: (
      configuration: Msal.Configuration,
      controller: Msal.IController,
    ) => Msal.IPublicClientApplication,
  ): Promise<NaaClient>;
  PublicClientApplication: new (
    configuration: Msal.Configuration,
    controller: Msal.IController,
  ) => Msal.IPublicClientApplication;
  InteractionRequiredAuthError: new (errorCode: string, correlationId: string) => Error;
}
