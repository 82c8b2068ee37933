// A draft and Outlook's reply forms, as Office.js offers them: whether the item is a draft,
// which conversation and mailbox it belongs to (the shared properties, else its From), when it
// opened (noted in its sessionData, which the OnMessageSend handler launch/onsend.js reads),
// text inserted at its cursor (body.setSelectedDataAsync, as HTML or text to match the body),
// and Outlook's own reply form opened with a starting text (displayReplyFormAsync /
// displayReplyAllFormAsync, Mailbox 1.9). The pane's side of it is replying.js.

/**
 * @import { Person } from "./context.js"
 * @import { SharedBody } from "./types/contract"
 */

/** The draft's sessionData key for when it opened (the handler reads the same key). */
export const OPENED_KEY = "tandem.openedAt";

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
