// What Office gives an event-based add-in that @types/office-js doesn't declare: OfficeRuntime
// (its auth, recommended in event-based runtimes); and what the
// OnMessageSend handler (launch/onsend.js, a classic script) puts on globalThis for its tests
// and the simulator.

/** OfficeRuntime.auth.getAccessToken's options (office-runtime's AuthOptions). */
interface OfficeRuntimeAuthOptions {
  allowSignInPrompt?: boolean;
  allowConsentPrompt?: boolean;
  forMSGraphAccess?: boolean;
}

/** The OfficeRuntime namespace, as far as the handler uses it. */
interface OfficeRuntimeApi {
  auth?: { getAccessToken(options?: OfficeRuntimeAuthOptions): Promise<string> };
}

/** What Office hands an OnMessageSend handler. */
interface SendEvent {
  completed(options?: Office.SmartAlertsEventCompletedOptions): void;
}

/** A draft as the send check posts it: its conversation, its mailbox, when it was opened. */
interface DraftBody {
  conversationId: string;
  itemType: "message";
  shared?: import("./contract").SharedBody;
  openedAt?: string;
}

/** The handler's parts (launch/onsend.js), on globalThis for the unit tests and the simulator. */
interface TandemSendCheck {
  BUDGET_MS: number;
  OPENED_KEY: string;
  decide(seams?: SendCheckSeams): Promise<Office.SmartAlertsEventCompletedOptions>;
  draftOf(office: typeof Office | undefined): Promise<DraftBody | null>;
  messageFor(sentence: string): string;
  onMessageSendHandler(event: SendEvent): Promise<void>;
}

/** MSAL.js's namespace and nested client, as the handler uses them (types/msal.d.ts). */
type SendCheckMsal = import("./msal").MsalApi;
type SendCheckClient = import("./msal").NaaClient;

/** The add-in's client id and the scope of Tandem's API, as the backend writes them in. */
interface SendCheckApp {
  clientId: string;
  scope: string;
}

/** What decide() uses, each replaceable in tests. */
interface SendCheckSeams {
  office?: typeof Office;
  runtime?: OfficeRuntimeApi;
  msal?: SendCheckMsal | null;
  app?: SendCheckApp | null;
  fetch?: typeof fetch;
  baseUrl?: string;
  budgetMs?: number;
}

declare var OfficeRuntime: OfficeRuntimeApi | undefined;
declare var tandemSendCheck: TandemSendCheck | undefined;
