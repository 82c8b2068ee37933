// The simulated Outlook's compose window: a draft of a reply (from the item's mailbox, to its
// sender, its conversation) with an editable body the add-in writes into at the cursor
// (body.setSelectedDataAsync), and the Send button that does what Outlook does with a Smart
// Alerts add-in: start the OnMessageSend runtime (launch/onsend.html in a hidden frame, as
// Outlook on the web does), run the associated handler, and either send, or show Outlook's
// dialog with the handler's message, Send Anyway and Don't Send. PromptUser: when the add-in
// can't run the message is sent; after five seconds Outlook says the add-in is taking longer
// than expected and offers Send Anyway. Test and demo equipment.

/**
 * @import { LogEntry } from "../types/simulator"
 */

/** Outlook's "taking longer than expected" moment (Smart Alerts: five seconds). */
export const LONG_RUNNING_MS = 5000;

/** How long the runtime may take to load and associate its handler before it counts as
 * unavailable (then PromptUser sends). */
export const RUNTIME_LOAD_MS = 10000;

/** The handler name both manifests give OnMessageSend. */
export const SEND_HANDLER = "onMessageSendHandler";

/**
 * What the compose window was opened with.
 * @typedef {object} DraftSpec
 * @property {"reply" | "replyAll"} kind
 * @property {string} subject
 * @property {{name: string, address: string}} from  the mailbox the reply is sent as
 * @property {{name?: string, address?: string} | null} to
 * @property {string} quoted  the original's header line, under the body
 * @property {string} htmlBody  what displayReplyFormAsync was given (the add-in's HTML)
 */

/** Elements and attributes the body keeps of HTML an add-in inserts. */
const KEPT = new Set(["P", "BR", "DIV", "SPAN", "B", "STRONG", "I", "EM", "U", "UL", "OL", "LI"]);

/**
 * An add-in's HTML as nodes of `doc`, keeping only simple formatting (no script, no
 * attributes): Outlook's editor sanitises what it is given, and this page is the host's.
 * @param {Document} doc
 * @param {string} html
 * @returns {Node[]}
 */
export function cleanNodes(doc, html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  /**
   * @param {Node} node
   * @returns {Node[]}
   */
  const copy = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return [doc.createTextNode(node.textContent ?? "")];
    if (node.nodeType !== Node.ELEMENT_NODE) return [];
    const children = [...node.childNodes].flatMap(copy);
    const element = /** @type {Element} */ (node);
    if (!KEPT.has(element.tagName)) return children;
    const kept = doc.createElement(element.tagName.toLowerCase());
    kept.append(...children);
    return [kept];
  };
  return [...parsed.body.childNodes].flatMap(copy);
}

/** The compose window and its body, with the cursor as the person last left it. */
export class ComposeWindow {
  /**
   * @param {Document} doc
   * @param {DraftSpec} spec
   * @param {{onSend: () => void, onDiscard: () => void}} handlers
   */
  constructor(doc, spec, { onSend, onDiscard }) {
    this.doc = doc;
    this.spec = spec;
    /** @type {Range | null} where the cursor was last in the body */
    this.range = null;
    const el = (
      /** @type {string} */ tag,
      /** @type {Record<string, string>} */ attrs = {},
      /** @type {(Node | string)[]} */ ...children
    ) => {
      const node = doc.createElement(tag);
      for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
      node.append(...children);
      return node;
    };
    this.body = el("div", {
      class: "compose-body",
      contenteditable: "true",
      role: "textbox",
      "aria-multiline": "true",
      "aria-label": "Message body",
      "data-testid": "compose-body",
    });
    // What the add-in gave the form, at the top, as Outlook starts a reply's body.
    const text = el("div", { "data-testid": "compose-text" });
    text.append(...cleanNodes(doc, spec.htmlBody));
    if (!text.childNodes.length) text.append(doc.createElement("br"));
    this.body.append(text);
    const quote = el("div", { class: "compose-quote", "data-testid": "compose-quote" });
    quote.textContent = spec.quoted;
    this.body.append(doc.createElement("hr"), quote);
    const send = el(
      "button",
      { type: "button", class: "button", "data-testid": "compose-send" },
      "Send",
    );
    const discard = el(
      "button",
      { type: "button", class: "link-button", "data-testid": "compose-discard" },
      "Discard",
    );
    send.addEventListener("click", () => onSend());
    discard.addEventListener("click", () => onDiscard());
    this.status = el("p", {
      class: "compose-status",
      role: "status",
      "data-testid": "compose-status",
    });
    const to = spec.to?.address ? `${spec.to.name || spec.to.address} <${spec.to.address}>` : "";
    this.element = el(
      "section",
      { class: "compose", "data-testid": "compose", "data-kind": spec.kind, "aria-label": "Reply" },
      el("h3", { class: "reading-subject" }, spec.kind === "replyAll" ? "Reply all" : "Reply"),
      el(
        "dl",
        { class: "reading-facts" },
        el("dt", {}, "From"),
        el("dd", { "data-testid": "compose-from" }, `${spec.from.name} <${spec.from.address}>`),
        el("dt", {}, "To"),
        el("dd", { "data-testid": "compose-to" }, to),
        el("dt", {}, "Subject"),
        el("dd", { "data-testid": "compose-subject" }, spec.subject),
      ),
      this.body,
      el("p", { class: "compose-buttons" }, send, " ", discard),
      this.status,
    );
    this.keepCursor = () => {
      const selection = doc.getSelection();
      if (selection?.rangeCount && this.body.contains(selection.getRangeAt(0).startContainer))
        this.range = selection.getRangeAt(0).cloneRange();
    };
    doc.addEventListener("selectionchange", this.keepCursor);
  }

  /** Stops following the cursor (the window closes). */
  close() {
    this.doc.removeEventListener("selectionchange", this.keepCursor);
    this.element.remove();
  }

  /** The body's coercion type, as body.getTypeAsync answers. */
  bodyType() {
    return "html";
  }

  /**
   * body.setSelectedDataAsync: the data at the cursor (the start of the body if it was never
   * in it), as HTML or text; the cursor then follows what was inserted.
   * @param {string} data
   * @param {string} coercion  "html" or "text"
   */
  insert(data, coercion) {
    const range = this.range ?? this.doc.createRange();
    if (!this.range) range.setStart(this.body, 0);
    range.deleteContents();
    const nodes =
      coercion === "html" ? cleanNodes(this.doc, data) : [this.doc.createTextNode(data)];
    const fragment = this.doc.createDocumentFragment();
    fragment.append(...nodes);
    const last = fragment.lastChild;
    range.insertNode(fragment);
    if (last) {
      range.setStartAfter(last);
      range.collapse(true);
    }
    this.range = range;
  }

  /** The body's HTML as sent. */
  html() {
    return this.body.innerHTML;
  }

  /**
   * A line under the buttons (what Send is doing).
   * @param {string} text
   */
  say(text) {
    this.status.textContent = text;
  }
}

/**
 * Outlook's Smart Alerts dialog: the add-in's message, Send Anyway and Don't Send; answers
 * what the person chose (Esc and closing are Don't Send).
 * @param {{dialog: HTMLDialogElement, title: HTMLElement, text: HTMLElement,
 *   send: HTMLButtonElement, dont: HTMLButtonElement}} parts
 * @param {string} title
 * @param {string} message
 * @param {string} [dontLabel]  the event's cancelLabel, if the add-in set one
 * @returns {Promise<"send" | "dont">}
 */
export function smartAlert(parts, title, message, dontLabel = "Don't Send") {
  const { dialog } = parts;
  parts.title.textContent = title;
  parts.text.textContent = message;
  parts.dont.textContent = dontLabel;
  return new Promise((resolve) => {
    /** @param {"send" | "dont"} answer */
    const done = (answer) => {
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onClose = () => done("dont");
    parts.send.onclick = () => done("send");
    parts.dont.onclick = () => done("dont");
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    parts.dont.focus();
  });
}

/**
 * Starts the OnMessageSend runtime in a hidden frame and waits for its handler.
 * @param {Document} doc
 * @param {(name: string) => ((event: unknown) => unknown) | null} associated
 * @param {string} page  the runtime's page (the manifests' SendCheck.Page)
 * @returns {Promise<((event: unknown) => unknown) | null>}  null: the add-in is unavailable
 */
export async function startRuntime(doc, associated, page) {
  doc.getElementById("sim-event-runtime")?.remove();
  const frame = doc.createElement("iframe");
  frame.id = "sim-event-runtime";
  frame.title = "Tandem's OnMessageSend runtime";
  frame.hidden = true;
  frame.src = page;
  doc.body.append(frame);
  const started = Date.now();
  while (Date.now() - started < RUNTIME_LOAD_MS) {
    const handler = associated(SEND_HANDLER);
    if (handler) return handler;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return null;
}

/**
 * What the send came to: sent (by the check, or Send Anyway), or not sent (Don't Send).
 * @typedef {{send: boolean, why: string}} SendDecision
 */

/**
 * Runs the handler as Outlook does with SendMode PromptUser and answers whether to send.
 * @param {{handler: ((event: unknown) => unknown) | null, log: (call: string, args?: unknown,
 *   outcome?: string) => LogEntry, alert: (message: string, dontLabel?: string) =>
 *   Promise<"send" | "dont">, longRunningMs?: number}} options
 * @returns {Promise<SendDecision>}
 */
export async function sendCheck({ handler, log, alert, longRunningMs = LONG_RUNNING_MS }) {
  const entry = log("OnMessageSend", { sendMode: "PromptUser", handler: SEND_HANDLER });
  if (!handler) {
    entry.outcome("the add-in is unavailable: sent (PromptUser)");
    return { send: true, why: "unavailable" };
  }
  /** @type {(options: {allowEvent?: boolean, errorMessage?: string, cancelLabel?: string}) => void} */
  let complete = () => {};
  /** @type {Promise<{allowEvent?: boolean, errorMessage?: string, cancelLabel?: string}>} */
  const completed = new Promise((resolve) => {
    complete = resolve;
  });
  try {
    handler({ completed: (/** @type {any} */ options) => complete(options ?? {}) });
  } catch (error) {
    entry.outcome(`the handler threw (${String(error)}): sent (PromptUser)`);
    return { send: true, why: "unavailable" };
  }
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<"long">} */
  const long = new Promise((resolve) => {
    timer = setTimeout(() => resolve("long"), longRunningMs);
  });
  const first = await Promise.race([completed, long]);
  clearTimeout(timer);
  if (first === "long") {
    entry.outcome("taking longer than expected");
    const choice = await Promise.race([
      alert("Tandem is taking longer than expected to check your message."),
      completed.then(() => /** @type {const} */ ("done")),
    ]);
    if (choice === "send") return { send: true, why: "send anyway (long-running)" };
    if (choice === "dont") return { send: false, why: "don't send (long-running)" };
  }
  const options = await completed;
  if (options.allowEvent !== false) {
    entry.outcome("completed: allowEvent true (sent)");
    return { send: true, why: "allowed" };
  }
  entry.outcome(`completed: allowEvent false: ${options.errorMessage ?? ""}`);
  const choice = await alert(String(options.errorMessage ?? ""), options.cancelLabel);
  return choice === "send"
    ? { send: true, why: "send anyway" }
    : { send: false, why: "don't send" };
}
