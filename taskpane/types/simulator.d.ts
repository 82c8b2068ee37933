// The Office host simulator's own surface: the host object simulator/host.js puts on its window
// for simulator/office.js (the pane's stand-in for Office.js, in the frame), and the NAA bridge
// that stand-in gives the pane. The bridge and its envelopes are MSAL.js's own types (from its
// declarations: not exported by the package, so named by path), so tsc checks that the
// simulator still speaks the protocol the vendored MSAL.js expects.

import type { AuthBridge } from "../node_modules/@azure/msal-browser/types/naa/AuthBridge.js";
import type { BridgeRequestEnvelope } from "../node_modules/@azure/msal-browser/types/naa/BridgeRequestEnvelope.js";
import type { BridgeResponseEnvelope } from "../node_modules/@azure/msal-browser/types/naa/BridgeResponseEnvelope.js";

export type { AuthBridge, BridgeRequestEnvelope, BridgeResponseEnvelope };

declare global {
  interface Window {
    /** The simulator host's object, on the simulator page's window (host.js). */
    tandemSimulatorHost?: SimulatorHost;
    /** Outlook's NAA bridge, which MSAL.js looks for on the add-in's window (office.js). */
    nestedAppAuthBridge?: AuthBridge;
  }
}

/** How the simulated Outlook answers nested app authentication (host.js's NAA_SCENARIOS). */
export type NaaScenario =
  | "supported"
  | "unsupported"
  | "unavailable"
  | "interaction"
  | "consent"
  | "cancel"
  | "network";

/** How getSharedPropertiesAsync behaves. */
export type SharedPropertiesMode = "normal" | "missing" | "fails" | "empty" | "timeout";

/** The scenario switches of the host page. */
export interface Scenario {
  tokenVersion: 1 | 2;
  sharedProperties: SharedPropertiesMode;
  /** A getAccessToken error code the next call fails with. */
  nextTokenError: number | null;
  naa: NaaScenario;
  identityApi: boolean;
}

/** The selected item as the host describes it to office.js, which makes Office's item of it. */
export interface ItemDescriptor {
  /** "compose": a draft of a reply in the compose window (no ids until it is saved). */
  mode?: "compose";
  /** A draft's conversation (item.conversationId). */
  conversationId?: string | null;
  /** A draft's recipient (its To). */
  to?: { name?: string; address?: string } | null;
  ewsId: string;
  restId: string;
  itemType: "message" | "appointment";
  subject: string;
  from: { name?: string; address?: string } | null;
  receivedDateTime: string | null;
  start: string | null;
  createdDateTime: string | null;
  /** What getSharedPropertiesAsync answers; null in the persona's own mailbox. */
  shared: {
    owner: string;
    targetMailbox: string;
    targetRestUrl: string;
    delegatePermissions: number;
  } | null;
}

/** One Office API call in the host's log. */
export interface CallRecord {
  call: string;
  args: unknown;
  outcome: string | null;
}

/** A logged call, whose outcome may come later. */
export interface LogEntry {
  outcome(text: string): void;
}

/** What ItemChanged handlers are called with. */
export type ItemChangedHandler = (event: { type: string }) => void;

/** window.tandemSimulatorHost: everything office.js asks the simulated Outlook. */
export interface SimulatorHost {
  /** Resolves once the host has loaded the emulator's world. */
  ready: Promise<void>;
  latency(): number;
  scenario(): Scenario;
  profile(): { name: string; upn: string };
  currentItem(): { version: number; item: ItemDescriptor | null };
  log(call: string, args?: unknown, outcome?: string): LogEntry;
  calls(): CallRecord[];
  addItemChangedHandler(handler: ItemChangedHandler, doc: Document): void;
  removeItemChangedHandlers(doc: Document): void;
  openBrowserWindow(url: string): void;
  bridgeRequest(text: string): Promise<BridgeResponseEnvelope | null>;
  displayMessageForm(ewsId: string): void;
  getAccessToken(options: unknown): Promise<string>;
  displayReplyForm(kind: "reply" | "replyAll", htmlBody: string): void;
  associate(name: string, handler: (event: unknown) => unknown): void;
  composeBodyType(): string;
  composeInsert(data: string, coercion: string): void;
  sessionGet(key: string): string | null;
  sessionSet(key: string, value: string): void;
}
