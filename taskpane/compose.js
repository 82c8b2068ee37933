// Replying in Outlook itself. In read mode: "Reply in Outlook" opens Outlook's own reply form
// (displayReplyFormAsync / displayReplyAllFormAsync, Mailbox 1.9) with a starting text, after
// the pane takes the conversation when nobody holds it. In compose mode (the pane beside a
// draft): the conversation's record, read only, who else is on the conversation, and a text
// inserted at the cursor (body.setSelectedDataAsync, as HTML or text to match the body); the
// pane says "replying" while the draft is open and notes in the draft's sessionData when it
// opened, which the OnMessageSend handler (launch/onsend.js) sends with its check.
//
// The starting text is a template's filled text once templates exist (issue 20): the picker
// fills the text box of ReplyInOutlookCard and of the compose pane's InsertCard.

import { ApiProblem, explain, goneNow, request } from "./api.js";
import { presenceLines } from "./presence.js";
import { RecordCard } from "./record.js";
import { h } from "./ui.js";

/**
 * @import { Seams } from "./api.js"
 * @import { Person } from "./context.js"
 * @import { View } from "./ui.js"
 * @import { ConversationRecord, PresenceAnswer, SharedBody } from "./types/contract"
 */

/** The draft's sessionData key for when it opened (the handler reads the same key). */
export const OPENED_KEY = "tandem.openedAt";

/** How often the compose pane refreshes its "replying" (the backend forgets it after 30 s). */
export const DRAFT_PRESENCE_MS = 10000;

/**
 * A draft as Outlook describes it: its conversation, the mailbox it is sent from and how that
 * was learnt ("shared": Outlook's shared properties; "from": the draft's From), the person.
 * @typedef {{state: "draft", conversationId: string, shared: SharedBody | null,
 *   mailbox: string, known: "shared" | "from" | "own", person: Person}} Draft
 */

/** @typedef {Draft | {state: "new", person: Person}} DraftContext */

/**
 * Whether Outlook's item is a message being composed (its body can be written to).
 * @param {unknown} item
 */
export function isCompose(item) {
  const body = /** @type {{body?: {setSelectedDataAsync?: unknown}} | null} */ (item)?.body;
  return typeof body?.setSelectedDataAsync === "function";
}

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
    } catch {
      resolve(null);
    }
  });
}

/**
 * Whether Office answered with a value.
 * @template T
 * @param {Office.AsyncResult<T> | null} result
 * @returns {result is Office.AsyncResult<T>}
 */
function ok(result) {
  return result !== null && String(result.status) === "succeeded";
}

/**
 * Office's words for a failed call, if it gave any.
 * @param {Office.AsyncResult<unknown> | null} result
 */
function failure(result) {
  return String(result?.error?.message ?? "");
}

/**
 * The draft's conversation and mailbox. Outlook gives shared properties in compose only for
 * some ways of opening a shared mailbox (Microsoft's "Implement shared folders and shared
 * mailbox scenarios", Limitations): without them the draft's From names the mailbox, when it
 * is not the person's own address.
 * @param {typeof Office} office
 * @returns {Promise<DraftContext>}
 */
export async function readDraft(office) {
  const mailbox = office.context.mailbox;
  const profile = mailbox.userProfile;
  const person = {
    name: String(profile?.displayName ?? ""),
    address: String(profile?.emailAddress ?? ""),
  };
  const item = /** @type {Office.MessageCompose} */ (mailbox.item);
  const conversationId = item?.conversationId;
  if (typeof conversationId !== "string" || !conversationId) return { state: "new", person };
  if (typeof item.getSharedPropertiesAsync === "function") {
    const answer = await asked((done) => item.getSharedPropertiesAsync(done));
    const value = ok(answer) ? answer.value : null;
    if (value?.targetMailbox && value.targetRestUrl) {
      const shared = {
        targetMailbox: value.targetMailbox,
        targetRestUrl: value.targetRestUrl,
        owner: String(value.owner ?? ""),
        delegatePermissions: Number(value.delegatePermissions) & 63,
      };
      return {
        state: "draft",
        conversationId,
        shared,
        mailbox: value.targetMailbox,
        known: "shared",
        person,
      };
    }
  }
  const from =
    typeof item.from?.getAsync === "function"
      ? await asked((done) => item.from.getAsync(done))
      : null;
  const address = ok(from) ? String(from.value?.emailAddress ?? "") : "";
  if (address && address.toLowerCase() !== person.address.toLowerCase()) {
    const shared = {
      targetMailbox: address,
      targetRestUrl: String(mailbox.restUrl || "https://outlook.office.com/api"),
      owner: address,
      delegatePermissions: 0,
    };
    return { state: "draft", conversationId, shared, mailbox: address, known: "from", person };
  }
  return {
    state: "draft",
    conversationId,
    shared: null,
    mailbox: person.address,
    known: "own",
    person,
  };
}

/**
 * The body the backend takes for a draft (its record, its presence).
 * @param {Draft} draft
 */
export function draftBody(draft) {
  /** @type {{conversationId: string, itemType: "message", shared?: SharedBody}} */
  const body = { conversationId: draft.conversationId, itemType: "message" };
  if (draft.shared) body.shared = draft.shared;
  return body;
}

/**
 * Notes in the draft's sessionData when it opened (kept if already noted); answers it.
 * @param {typeof Office} office
 * @param {() => Date} [now]
 * @returns {Promise<string | null>}
 */
export async function noteOpened(office, now = () => new Date()) {
  const data = /** @type {Office.MessageCompose} */ (office.context.mailbox.item)?.sessionData;
  if (typeof data?.getAsync !== "function") return null;
  const kept = await asked((done) => data.getAsync(OPENED_KEY, done));
  if (ok(kept) && typeof kept.value === "string" && kept.value) return kept.value;
  const opened = now().toISOString();
  await asked((done) => data.setAsync(OPENED_KEY, opened, done));
  return opened;
}

/**
 * Text as HTML that shows exactly it: escaped, each line break a <br>.
 * @param {string} text
 */
export function textToHtml(text) {
  const escaped = String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
  return escaped.replace(/\r\n|\r|\n/g, "<br>");
}

/**
 * Inserts text at the cursor of the draft's body, as HTML or text to match the body
 * (body.getTypeAsync); rejects with Office's message when Outlook refuses.
 * @param {typeof Office} office
 * @param {string} text
 */
export async function insertText(office, text) {
  const body = /** @type {Office.MessageCompose} */ (office.context.mailbox.item).body;
  const type = await asked((done) => body.getTypeAsync(done));
  const html = ok(type) && String(type.value).toLowerCase() === "html";
  const coercionType = /** @type {Office.CoercionType} */ (html ? "html" : "text");
  const done = await asked((callback) =>
    body.setSelectedDataAsync(html ? textToHtml(text) : text, { coercionType }, callback),
  );
  if (!ok(done)) throw new Error(failure(done) || "Outlook didn't insert the text.");
  return html ? "html" : "text";
}

/**
 * Opens Outlook's own reply (or reply all) form for the item shown, starting with `text`.
 * @param {typeof Office} office
 * @param {boolean} all
 * @param {string} text
 */
export async function openReplyForm(office, all, text) {
  const item = /** @type {Office.MessageRead} */ (office.context.mailbox.item);
  const open = all ? item?.displayReplyAllFormAsync : item?.displayReplyFormAsync;
  if (typeof open !== "function")
    throw new Error("This Outlook can't open its reply form for an add-in.");
  /** @type {string | Office.ReplyFormData} */
  const formData = text.trim() ? { htmlBody: textToHtml(text) } : "";
  const answer = await asked((done) => open.call(item, formData, done));
  if (!ok(answer)) throw new Error(failure(answer) || "Outlook didn't open its reply form.");
}

let serial = 0;

/**
 * A unique id for label wiring.
 * @param {string} prefix
 */
function uid(prefix) {
  serial += 1;
  return `${prefix}-${serial}`;
}

/**
 * A card with a text box and buttons: the text is a template's filled text (issue 20's
 * picker fills the box) or the person's own.
 * @param {Document} doc
 * @param {{id: string, title: string, label: string, text?: string, note: string,
 *   buttons: {label: string, testid: string, run: (text: string) => Promise<string | null>}[]}}
 *   options  each button's run answers the sentence to show (null: nothing to say)
 */
function textCard(doc, { id, title, label, text = "", note, buttons }) {
  const d = doc;
  const boxId = uid(`${id}-text`);
  const box = h(d, "textarea", { id: boxId, rows: "3", "data-testid": `${id}-text` });
  box.value = text;
  const said = h(d, "p", { class: "hint", role: "status", "data-testid": `${id}-notice` });
  let busy = false;
  const row = buttons.map(({ label: words, testid, run }) => {
    const button = h(
      d,
      "button",
      { type: "button", class: "button", "data-testid": testid },
      words,
    );
    button.addEventListener("click", async () => {
      if (busy) return;
      busy = true;
      said.textContent = "";
      try {
        said.textContent = (await run(box.value)) ?? "";
      } catch (error) {
        said.textContent = String(/** @type {{message?: unknown}} */ (error)?.message ?? error);
      } finally {
        busy = false;
      }
    });
    return button;
  });
  const headingId = uid(`${id}-heading`);
  return h(
    d,
    "section",
    { class: `card card-${id}`, "aria-labelledby": headingId, "data-testid": `${id}-card` },
    h(d, "h2", { id: headingId }, title),
    h(d, "div", { class: "field" }, h(d, "label", { for: boxId }, label), box),
    h(d, "p", { class: "button-row" }, ...row.flatMap((b, i) => (i ? [" ", b] : [b]))),
    said,
    h(d, "p", { class: "small-print" }, note),
  );
}

/**
 * Read mode: Reply / Reply all in Outlook's own form, with a starting text.
 * @param {Document} doc
 * @param {{open: (all: boolean, text: string) => Promise<string | null>, text?: string}} options
 *   open answers what to say (a conflict's sentence), or null once the form opened
 */
export function replyInOutlookCard(doc, { open, text = "" }) {
  return textCard(doc, {
    id: "outlook-reply",
    title: "Reply in Outlook",
    label: "Start the reply with (optional)",
    text,
    note:
      "Opens Outlook's own reply, with your signature, formatting and the thread below. Tandem " +
      "takes the conversation for you first when nobody holds it.",
    buttons: [
      { label: "Reply in Outlook", testid: "outlook-reply", run: (t) => open(false, t) },
      { label: "Reply all in Outlook", testid: "outlook-reply-all", run: (t) => open(true, t) },
    ],
  });
}

/**
 * The compose pane: the draft's mailbox and conversation, its record (read only), who else is
 * on it, and text to insert; "replying" while the draft is open.
 * @param {{office: typeof Office, view: View, seams: Seams, text?: string,
 *   intervalMs?: number}} options  `text`: what the insert box starts with (a template's)
 */
export async function startCompose({
  office,
  view,
  seams,
  text = "",
  intervalMs = DRAFT_PRESENCE_MS,
}) {
  const d = view.doc;
  view.replace(true, "Reading the draft…");
  const draft = await readDraft(office);
  const insert = textCard(d, {
    id: "insert",
    title: "Insert text",
    label: "Text to insert at the cursor",
    text,
    note: "Inserted where the cursor is in your message, as formatted or plain text to match it.",
    buttons: [
      {
        label: "Insert at the cursor",
        testid: "insert-button",
        run: async (t) => {
          if (!t.trim()) return "Write or choose the text first.";
          await insertText(office, t);
          return "Inserted in your message.";
        },
      },
    ],
  });
  if (draft.state === "new") {
    view.replace(
      false,
      "A new message: no conversation yet.",
      view.section(
        "draft",
        "A new message",
        h(d, "p", { class: "note" }, "Tandem shows a conversation's record when you reply to one."),
      ),
      insert,
    );
    return;
  }
  await noteOpened(office);
  const body = draftBody(draft);
  const others = h(d, "ul", {
    class: "presence",
    "data-testid": "presence",
    "aria-label": "Also on this conversation",
    hidden: true,
  });
  const live = h(d, "p", {
    class: "visually-hidden",
    "aria-live": "polite",
    "data-testid": "presence-live",
  });
  const how = {
    shared: "Outlook's shared-mailbox details",
    from: "the draft's From (Outlook gave no shared-mailbox details here)",
    own: "your own mailbox (Outlook gave no shared-mailbox details, and the From is yours)",
  }[draft.known];
  const mailbox = view.section(
    "draft",
    "Replying from",
    h(d, "p", { class: "mailbox-address", "data-testid": "compose-mailbox" }, draft.mailbox),
    h(
      d,
      "p",
      { class: "small-print", "data-testid": "compose-known", "data-known": draft.known },
      `Known from ${how}.`,
    ),
    others,
    live,
  );
  /** @type {HTMLElement} */
  let recordPart;
  try {
    const record = /** @type {ConversationRecord} */ (
      await request("/api/items/record", body, seams)
    );
    recordPart = new RecordCard(d, {
      record,
      me: draft.person.address,
      handlers: { act: async () => ({ kind: "busy" }) },
      readOnly: true,
    }).element;
  } catch (error) {
    if (!(error instanceof ApiProblem)) console.error("Tandem:", error);
    const explained = explain(error);
    recordPart = view.section(
      "record",
      "The team's record",
      h(
        d,
        "p",
        { class: "note", "data-testid": "record-problem", "data-code": explained.code },
        explained.message,
      ),
    );
  }
  const note = h(
    d,
    "p",
    { class: "small-print", "data-testid": "sendcheck-note" },
    "When you press Send, Tandem checks whether someone else answered this conversation since you " +
      "opened this draft, or holds it, and tells you before the message goes. " +
      "If Tandem can't be reached, the message is sent.",
  );
  view.replace(false, `Replying from ${draft.mailbox}.`, mailbox, recordPart, insert, note);
  view.presenceList = others;
  view.presenceLive = live;
  draftPresence(body, view, seams, intervalMs);
}

/**
 * "replying" for the draft now and every interval, "gone" as the pane unloads.
 * @param {object} body
 * @param {View} view
 * @param {Seams} seams
 * @param {number} intervalMs
 */
function draftPresence(body, view, seams, intervalMs) {
  /** @type {string | null} */
  let token = null;
  const post = async () => {
    try {
      const answer = /** @type {PresenceAnswer} */ (
        await request(
          "/api/items/presence",
          { ...body, state: "replying" },
          {
            ...seams,
            onToken: (t) => {
              token = t;
            },
          },
        )
      );
      view.presence(presenceLines(answer.others));
    } catch (error) {
      console.warn(
        "Tandem: presence replying failed:",
        /** @type {ApiProblem} */ (error)?.code ?? error,
      );
    }
  };
  post();
  const timer = setInterval(post, intervalMs);
  globalThis.addEventListener?.("pagehide", () => {
    clearInterval(timer);
    if (token) goneNow({ ...body, state: "gone" }, token, seams);
  });
}
