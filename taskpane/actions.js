// Acting on the item: one action at a time, posted with the etag the pane last saw; progress
// shown only when it takes longer than PROGRESS_DELAY_MS; the answer turned into a sentence and
// a fresh view of the item. The server decides what is allowed (the pane keeps no permission
// table): an action's answer is the item as it left it, what may be done next and the record
// of its conversation, which the pane renders as it is; only an answer without the item (a
// send: what Exchange did to the original is not in it) makes the pane ask for the context.

import {
  ApiProblem,
  actionTimeoutMs,
  explain,
  holderName,
  newIdempotencyKey,
  postAction,
  postContext,
  SENDING_ACTIONS,
} from "./api.js";
import { actionRows } from "./ui.js";

/**
 * @import { Explained, Seams } from "./api.js"
 * @import { KnownMailbox } from "./context.js"
 * @import { ActionAnswer, ActionDecision, ActionResult, ContextAnswer, Draft, Item, Upn }
 *   from "./types/contract"
 */

/**
 * A context answer as the pane shows it: the server's, or after an action whose context call
 * failed, the one before with the action's item, no actions and why (`refreshProblem`).
 * @typedef {Omit<ContextAnswer, "actions"> & {actions: ContextAnswer["actions"],
 *   refreshProblem?: Explained}} ShownAnswer
 */

/**
 * How an action went (ItemActions.perform).
 * @typedef {{kind: "done", ctx: KnownMailbox, answer: ShownAnswer, message: string,
 *     draft: Draft | null, gone: boolean}
 *   | {kind: "conflict", message: string, holder: Upn | null, explained: Explained}
 *   | {kind: "problem", explained: Explained}
 *   | {kind: "busy"}} Outcome
 */

/** @typedef {"categorize"|"move"|"reply"|"respond"} FormName */

/**
 * One button of the actions card.
 * @typedef {object} ButtonSpec
 * @property {string} name  the action
 * @property {string} key  unique within the card (flag has one per state)
 * @property {string} label
 * @property {boolean} allowed
 * @property {string|null} reason  the server's, when refused
 * @property {Record<string, unknown>|null} fields  what to post as it is (null: a form first)
 * @property {FormName|null} form
 * @property {boolean} known  whether this pane knows the action
 */

/**
 * Where the item lives and who the person is, for the result's sentence.
 * @typedef {{mailbox: string, me: string, own: boolean}} Where
 */

/** How long an action may run before the pane shows that it is working. */
export const PROGRESS_DELAY_MS = 300;

/**
 * The words shown while an action runs longer than PROGRESS_DELAY_MS.
 * @type {Readonly<Record<string, string>>}
 */
export const PROGRESS_TEXT = Object.freeze({
  claim: "Claiming the item…",
  release: "Releasing the claim…",
  categorize: "Saving the categories…",
  flag: "Changing the flag…",
  markRead: "Marking as read…",
  markUnread: "Marking as unread…",
  move: "Moving the item…",
  delete: "Deleting the item…",
  reply: "Working on your reply…",
  replyAll: "Working on your reply to all…",
  forward: "Working on your forward…",
  respond: "Sending your response…",
});

/**
 * Which actions open a small form first, and which form.
 * @type {Readonly<Record<string, FormName>>}
 */
export const FORMS = Object.freeze({
  categorize: "categorize",
  move: "move",
  reply: "reply",
  replyAll: "reply",
  forward: "reply",
  respond: "respond",
});

/** The flag buttons: the two states the item is not in. */
const FLAG_BUTTONS = Object.freeze({
  flagged: { label: "Flag", title: "Flag for follow-up" },
  complete: { label: "Mark complete", title: "Mark the flag complete" },
  notFlagged: { label: "Clear flag", title: "Clear the flag" },
});

/**
 * Button words, short enough for a 320 px pane; "…" where a form opens first.
 * @type {Readonly<Record<string, string>>}
 */
const BUTTON_LABELS = Object.freeze({
  claim: "Claim",
  release: "Release claim",
  respond: "Respond…",
  reply: "Reply…",
  replyAll: "Reply all…",
  forward: "Forward…",
  categorize: "Categorize…",
  markRead: "Mark as read",
  markUnread: "Mark as unread",
  move: "Move…",
  delete: "Delete",
});

/**
 * The buttons for what the server sent: one per action (flag: one per state the item is not in;
 * mark read or unread: the one that applies to item.isRead), each allowed or not with the
 * server's reason. Actions this pane doesn't know are listed as such, never guessed at.
 * @param {Pick<Item, "isRead" | "flag"> | null | undefined} item
 * @param {Record<string, ActionDecision> | null | undefined} actions
 * @returns {ButtonSpec[]}
 */
export function buttonsFor(item, actions) {
  /** @type {ButtonSpec[]} */
  const buttons = [];
  for (const row of actionRows(actions)) {
    const base = { name: row.name, allowed: row.allowed, reason: row.reason };
    if (row.name === "markRead" && item?.isRead === true) continue;
    if (row.name === "markUnread" && item?.isRead === false) continue;
    if (row.name === "flag") {
      const flag = item?.flag;
      const now = flag && Object.hasOwn(FLAG_BUTTONS, flag) ? flag : "notFlagged";
      for (const [flag, words] of Object.entries(FLAG_BUTTONS)) {
        if (flag === now) continue;
        buttons.push({
          ...base,
          key: `flag-${flag}`,
          label: words.label,
          fields: { flag },
          form: null,
          known: true,
        });
      }
      continue;
    }
    const known = Object.hasOwn(BUTTON_LABELS, row.name);
    buttons.push({
      ...base,
      key: row.name,
      label: BUTTON_LABELS[row.name] ?? row.label,
      allowed: known && row.allowed,
      reason: known ? row.reason : "This version of Tandem's pane can't do this yet.",
      fields: FORMS[row.name] ? null : {},
      form: FORMS[row.name] ?? null,
      known,
    });
  }
  return buttons;
}

/**
 * "support@contoso.com's Sent Items", or "your own Sent Items" for the person's own mailbox.
 * @param {string | null | undefined} mailbox
 * @param {string} me
 * @param {string} folder
 */
function folderOf(mailbox, me, folder) {
  const box = String(mailbox ?? "").toLowerCase();
  if (!box || box === String(me ?? "").toLowerCase()) return `your own ${folder}`;
  return `${mailbox}'s ${folder}`;
}

/**
 * What to call the message written.
 * @type {Readonly<Record<string, string>>}
 */
const WRITTEN = Object.freeze({ reply: "reply", replyAll: "reply to all", forward: "forward" });

/**
 * The sentence for a reply, reply all or forward: drafted or sent, as whom, where the copy is.
 * @param {string} name
 * @param {ActionResult} result
 * @param {Where} where
 */
function sendingMessage(name, result, where) {
  const what = WRITTEN[name] ?? "message";
  const me = where.me;
  if (!result?.sent) {
    const box = result?.draft?.mailbox ?? where.mailbox;
    return `Your ${what} is saved as a draft in ${folderOf(box, me, "Drafts")}. Open it to finish it in Outlook.`;
  }
  const mailbox = where.mailbox;
  let how;
  if (result.sentAs === "sendAs") how = `Your ${what} was sent as ${mailbox} (Send As).`;
  else if (result.sentAs === "sendOnBehalf")
    how = `Your ${what} was sent on behalf of ${mailbox} (Send on Behalf): it shows you as the sender.`;
  else if (result.sentAs === "self") how = `Your ${what} was sent from your own address.`;
  else how = `Your ${what} was sent.`;
  let copy = "";
  if (result.route === "me" && String(mailbox).toLowerCase() !== String(me).toLowerCase())
    copy = ` The copy is in your own Sent Items, not in ${mailbox}'s.`;
  else if (result.sentCopyIn)
    copy = ` The copy is in ${folderOf(result.sentCopyIn, me, "Sent Items")}.`;
  return how + copy;
}

/**
 * What to say when a send's request got no answer at all (the pane gave up, or the network).
 * @type {Readonly<Record<string, string>>}
 */
const UNANSWERED = Object.freeze({
  reply:
    "Tandem's server didn't answer, so your reply may or may not have gone out. Choose Check again: Tandem looks and sends it only if it surely wasn't sent.",
  replyAll:
    "Tandem's server didn't answer, so your reply to all may or may not have gone out. Choose Check again: Tandem looks and sends it only if it surely wasn't sent.",
  forward:
    "Tandem's server didn't answer, so your forward may or may not have gone out. Choose Check again: Tandem looks and sends it only if it surely wasn't sent.",
  respond:
    "Tandem's server didn't answer, so your response may or may not have been sent. Choose Check again: Tandem looks and responds only if it surely wasn't recorded.",
});

/**
 * The answer's verbs for a meeting response.
 * @type {Readonly<Record<string, string>>}
 */
const RESPONDED = Object.freeze({
  accept: "accepted",
  tentativelyAccept: "tentatively accepted",
  decline: "declined",
});

/**
 * The sentence announcing what an action did, from the server's answer.
 * @param {string} name  the action
 * @param {Partial<ActionAnswer> | null | undefined} answer  the action's answer
 * @param {Where} where  the mailbox and the person's upn
 */
export function resultMessage(name, answer, where) {
  /** @type {ActionResult} */
  const result = answer?.result ?? {};
  const changed = result.changed !== false;
  switch (name) {
    case "claim":
      return changed
        ? "You claimed this item: everyone in the mailbox sees that you are on it."
        : "You already hold the claim on this item.";
    case "release": {
      if (!changed) return "Nobody held a claim on this item.";
      const released = result.released;
      const mine = String(released?.upn ?? "").toLowerCase() === String(where.me).toLowerCase();
      return mine || !released
        ? "You released your claim on this item."
        : `You released ${holderName(released)}'s claim on this item.`;
    }
    case "categorize": {
      if (!changed) return "No category changed.";
      const names = (result.categories ?? []).filter((c) => !/^tandem:/i.test(c));
      return names.length ? `Categories saved: ${names.join("; ")}.` : "Categories removed.";
    }
    case "flag": {
      /** @type {Record<string, string>} */
      const words = {
        flagged: "flagged for follow-up",
        complete: "marked complete",
        notFlagged: "cleared",
      };
      if (result.flag === "notFlagged") return changed ? "Flag cleared." : "It wasn't flagged.";
      return changed
        ? `The item is ${words[String(result.flag)]}.`
        : `It was already ${words[String(result.flag)]}.`;
    }
    case "markRead":
    case "markUnread": {
      const state = result.isRead ? "read" : "unread";
      return changed ? `Marked as ${state}.` : `It was already ${state}.`;
    }
    case "move": {
      const folder = result.movedTo?.name || "the folder";
      return result.id && result.id === result.previousId
        ? `It is already in ${folder}.`
        : `Moved to ${folder}.`;
    }
    case "delete":
      return `Deleted: it went to ${folderOf(where.own ? where.me : where.mailbox, where.me, "Deleted Items")}.`;
    case "reply":
    case "replyAll":
    case "forward":
      return sendingMessage(name, result, where);
    case "assign":
      if (!changed) return "It already had that owner.";
      return result.assignee
        ? `Assigned to ${holderName(result.assignee)}: Outlook shows them as its owner.`
        : "The conversation is nobody's now.";
    case "status": {
      /** @type {Record<string, string>} */
      const words = { open: "Open", pending: "Waiting on the customer", done: "Done" };
      const status = result.status ?? "open";
      return changed ? `Status set to ${words[status] ?? status}.` : "It already had that status.";
    }
    case "note":
      return "Your note is saved: the team sees it; nobody outside Tandem does.";
    case "editNote":
      return "Your note is changed.";
    case "deleteNote":
      return "Your note is deleted.";
    case "respond": {
      const verb = (result.response && RESPONDED[result.response]) ?? "answered";
      const forWhom = where.own ? "" : ` for ${where.mailbox}`;
      return result.sent
        ? `You ${verb} the meeting${forWhom}; the organizer was sent your response.`
        : `You ${verb} the meeting${forWhom}; no response was sent to the organizer.`;
    }
    default:
      return "Done.";
  }
}

/**
 * The item's actions for one shown item: posts them one at a time, says when one takes long,
 * and answers an outcome the view renders:
 *   {kind: "done", ctx, answer, message, draft, gone} — the action worked; `answer` is a fresh
 *     context answer (or, when it couldn't be had, the old one with the action's item and
 *     `refreshProblem`); `gone` when the item can't be read any more (Graph's DELETE);
 *   {kind: "conflict", message, holder, explained} — someone's claim or change was in the way;
 *   {kind: "problem", explained} — any other failure, in the words of api.js's explain;
 *   {kind: "busy"} — another action is still running: nothing was sent.
 */
export class ItemActions {
  /**
   * @param {{seams?: Seams, onBusy?: (busy: boolean, name: string) => void,
   *   onProgress?: (text: string|null) => void, delayMs?: number}} [options]
   */
  constructor({
    seams = {},
    onBusy = () => {},
    onProgress = () => {},
    delayMs = PROGRESS_DELAY_MS,
  } = {}) {
    this.seams = seams;
    this.onBusy = onBusy;
    this.onProgress = onProgress;
    this.delayMs = delayMs;
    /** @type {KnownMailbox | null} */
    this.ctx = null;
    /** @type {ShownAnswer | null} */
    this.answer = null;
    /** @type {string | null} the action under way */
    this.running = null;
    /**
     * The submission whose outcome isn't known for sure, with its Idempotency-Key.
     * @type {{name: string, fields: Record<string, unknown>, same: string, key: string} | null}
     */
    this.pending = null;
  }

  /**
   * The item now shown: its context and the server's context answer.
   * @param {KnownMailbox} ctx
   * @param {ShownAnswer} answer
   */
  show(ctx, answer) {
    if (ctx?.itemId !== this.ctx?.itemId) this.pending = null;
    this.ctx = ctx;
    this.answer = answer;
  }

  /**
   * The submission of `name` with `fields`: the one still pending (the same action and fields,
   * whose outcome the pane doesn't know for sure) keeps its Idempotency-Key, so the server does
   * it once; anything else is a new submission with a new key.
   * @param {string} name
   * @param {Record<string, unknown>} fields
   */
  submission(name, fields) {
    const same = JSON.stringify([name, fields]);
    if (this.pending?.same !== same)
      this.pending = { name, fields, same, key: newIdempotencyKey() };
    return this.pending;
  }

  /**
   * Whether a submission's outcome is known for sure (a replay would answer the same).
   * @param {unknown} error
   */
  static settled(error) {
    if (!(error instanceof ApiProblem)) return false;
    return [400, 403, 404, 422].includes(error.status) && error.code !== "send_outcome_unknown";
  }

  /**
   * The pending submission again, with its key: the server looks before it sends anything.
   * @returns {Promise<Outcome>}
   */
  async check() {
    if (!this.pending) return { kind: "busy" };
    return this.perform(this.pending.name, this.pending.fields);
  }

  /** Whether an action is under way. */
  get busy() {
    return this.running !== null;
  }

  /**
   * Where the item lives and who the person is, for the result's sentence.
   * @returns {Where}
   */
  where() {
    const me = this.answer?.person?.upn ?? this.ctx?.person?.address ?? "";
    const mailbox = this.answer?.mailbox?.address ?? this.ctx?.mailbox ?? me;
    return { mailbox, me, own: this.ctx?.state === "own" };
  }

  /**
   * Runs one action with its fields; a second call while one runs is refused (`busy`), so a
   * double click sends one request.
   * @param {string} name
   * @param {Record<string, unknown>} [fields]
   * @returns {Promise<Outcome>}
   */
  async perform(name, fields = {}) {
    if (this.running) return { kind: "busy" };
    const ctx = this.ctx;
    const before = this.answer;
    const submission = this.submission(name, fields);
    this.running = name;
    this.onBusy(true, name);
    const timer = setTimeout(() => {
      this.onProgress(PROGRESS_TEXT[name] ?? "Working…");
    }, this.delayMs);
    try {
      // show() sets both: without them there is no item to act on (postAction refuses it too).
      if (!ctx || !before) throw new RangeError("no item is shown");
      const answer = await postAction(
        ctx,
        name,
        {
          etag: before?.item?.etag ?? null,
          fields,
          key: submission.key,
          timeoutMs: actionTimeoutMs(before?.limits),
        },
        this.seams,
      );
      this.pending = null;
      return await this.after(name, ctx, before, answer);
    } catch (error) {
      if (ItemActions.settled(error)) this.pending = null;
      return this.failed(error, before, name);
    } finally {
      clearTimeout(timer);
      this.running = null;
      this.onProgress(null);
      this.onBusy(false, name);
    }
  }

  /**
   * The outcome of a successful action: the item at its (new) id, and what may be done now, as
   * the action's answer says; the context call only when the answer has no item (a send) or
   * doesn't say what may be done.
   * @param {string} name
   * @param {KnownMailbox} ctx
   * @param {ShownAnswer} before
   * @param {ActionAnswer} answer
   * @returns {Promise<Outcome>}
   */
  async after(name, ctx, before, answer) {
    const message = resultMessage(name, answer, this.where());
    const draft = answer?.result?.draft?.webLink ? answer.result.draft : null;
    const item = answer?.item ?? null;
    if (!item && !SENDING_ACTIONS.has(name)) {
      // Graph's DELETE: Exchange moved the item to Deleted Items at an id nobody was told.
      return { kind: "done", ctx, answer: before, message, draft, gone: true };
    }
    const shown = item ?? before.item;
    const next = shown?.id && shown.id !== ctx.itemId ? { ...ctx, itemId: shown.id } : ctx;
    // The record the answer carries (null: none, as the context would say); absent: as before.
    const record = answer?.record === undefined ? before.record : answer.record;
    /** @type {ShownAnswer} */
    let fresh;
    if (item && answer?.actions) {
      fresh = { ...before, item, actions: answer.actions, record };
    } else {
      try {
        fresh = await postContext(next, this.seams);
      } catch (error) {
        fresh = { ...before, item: shown, actions: null, record, refreshProblem: explain(error) };
      }
    }
    // Another item may have been selected meanwhile: its state is not this one's to replace.
    if (this.ctx === ctx) this.show(next, fresh);
    return { kind: "done", ctx: next, answer: fresh, message, draft, gone: false };
  }

  /**
   * A conflict names who holds the item (the problem's holder, or a claim that the item the
   * conflict carries shows and the pane's copy didn't: the backend reports a changed etag
   * before it looks at claims) or says it changed; anything else is explained.
   * @param {unknown} error
   * @param {ShownAnswer | null} [before]
   * @param {string | null} [name]
   * @returns {Outcome}
   */
  failed(error, before = null, name = null) {
    if (error instanceof ApiProblem && error.code === "conflict") {
      const claim = error.item?.claim;
      const seen = before?.item?.claim?.upn ?? null;
      if (!error.holder && claim && !claim.mine && claim.upn !== seen)
        error.holder = { upn: claim.upn, name: claim.name };
      const explained = explain(error, { action: name });
      return { kind: "conflict", message: explained.message, holder: error.holder, explained };
    }
    if (
      name !== null &&
      SENDING_ACTIONS.has(name) &&
      error instanceof ApiProblem &&
      (error.code === "timeout" || error.code === "network_error")
    ) {
      // The request may have reached the server, which may have sent it: never "Try again".
      const explained = explain(
        new ApiProblem({ code: "send_outcome_unknown", detail: UNANSWERED[name] }, 0),
      );
      return { kind: "problem", explained };
    }
    return { kind: "problem", explained: explain(error, { action: name }) };
  }
}
