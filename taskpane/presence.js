// Who else has the item open in Tandem, and who is writing a reply: the pane says "viewing" when
// it shows an item and every PRESENCE_INTERVAL_MS after, "replying" while the reply or forward
// form is open, "gone" when the selection moves on or the pane unloads (docs/api.md,
// "POST /api/items/presence"). The backend forgets an entry 30 s after its last refresh, so a pane
// that dies without saying "gone" disappears by itself.

import { postPresence, presenceGoneNow } from "./api.js";

/**
 * @import { Seams } from "./api.js"
 * @import { KnownMailbox } from "./context.js"
 * @import { Other } from "./types/contract"
 */

/**
 * One other person as the pane lists them.
 * @typedef {{upn: string, state: "replying"|"viewing", text: string}} PresenceLine
 */

/** How often the pane refreshes its own entry (and so learns about the others). */
export const PRESENCE_INTERVAL_MS = 10000;

/**
 * How one other person reads in the pane: "Sam Taylor is replying", "Lee Gu is viewing this".
 * @param {Partial<Other> | null | undefined} other
 */
export function presenceText(other) {
  const who = String(other?.name || other?.upn || "Someone").trim();
  return other?.state === "replying" ? `${who} is replying` : `${who} is viewing this`;
}

/**
 * The others as the pane lists them: one line each, those replying first, one per person.
 * @param {(Partial<Other> | null)[] | null | undefined} others
 * @returns {PresenceLine[]}
 */
export function presenceLines(others) {
  const seen = new Set();
  /** @type {PresenceLine[]} */
  const rows = [];
  const list = Array.isArray(others) ? others : [];
  const sorted = [...list].sort(
    (a, b) => Number(a?.state !== "replying") - Number(b?.state !== "replying"),
  );
  for (const other of sorted) {
    const key = String(other?.upn || other?.name || "").toLowerCase();
    if (!key || seen.has(key)) continue;
    seen.add(key);
    rows.push({
      upn: String(other?.upn ?? ""),
      state: other?.state === "replying" ? "replying" : "viewing",
      text: presenceText(other),
    });
  }
  return rows;
}

/**
 * The pane's presence on the item it shows. Posts go out one after another (a "gone" never
 * overtakes the "viewing" before it); only the answer to the latest post for the current item
 * is shown; failures are quiet (presence is a courtesy, never in the way of the work).
 */
export class Presence {
  /**
   * @param {{seams?: Seams, intervalMs?: number,
   *   onOthers?: (others: Other[], answered?: boolean) => void}} [options]  `answered` is true
   *   when the list comes from the backend's answer (false: cleared as the pane moved on)
   */
  constructor({ seams = {}, onOthers = () => {}, intervalMs = PRESENCE_INTERVAL_MS } = {}) {
    this.seams = seams;
    this.onOthers = onOthers;
    this.intervalMs = intervalMs;
    /** @type {KnownMailbox | null} */
    this.ctx = null;
    /** @type {"viewing" | "replying"} */
    this.state = "viewing";
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    /** @type {Promise<void>} */
    this.queue = Promise.resolve();
    this.sequence = 0;
    /** @type {string | null} */
    this.token = null;
  }

  /**
   * The item now shown (a new one, or the same one at a new id after a move): "viewing".
   * @param {KnownMailbox} ctx
   */
  show(ctx) {
    if (this.ctx && this.ctx.itemId !== ctx.itemId) this.leave();
    this.ctx = ctx;
    this.state = "viewing";
    this.post("viewing");
  }

  /**
   * The reply or forward form opened (true) or closed (false).
   * @param {boolean} on
   */
  replying(on) {
    if (!this.ctx) return;
    const state = on ? "replying" : "viewing";
    if (state === this.state) return;
    this.state = state;
    this.post(state);
  }

  /** The selection moved on: "gone" for the item, no more refreshes, nobody listed. */
  leave() {
    this.stopTimer();
    const ctx = this.ctx;
    this.ctx = null;
    this.sequence += 1;
    this.onOthers([]);
    if (ctx) this.enqueue(ctx, "gone");
  }

  /** The page unloads: "gone" at once with the token the pane last used (keepalive fetch). */
  unload() {
    this.stopTimer();
    const ctx = this.ctx;
    this.ctx = null;
    this.sequence += 1;
    if (ctx && this.token) presenceGoneNow(ctx, this.token, this.seams);
  }

  /**
   * Posts the state now and schedules the next refresh one interval later.
   * @param {"viewing" | "replying"} state
   */
  post(state) {
    this.stopTimer();
    const ctx = this.ctx;
    const mine = ++this.sequence;
    this.enqueue(ctx, state, mine);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.ctx === ctx) this.post(this.state);
    }, this.intervalMs);
  }

  /**
   * Queues one POST; its answer is shown only if it is the latest for the current item.
   * @param {KnownMailbox | null} ctx
   * @param {"viewing" | "replying" | "gone"} state
   * @param {number | null} [mine]  the post's sequence number (null: nobody waits for its answer)
   */
  enqueue(ctx, state, mine = null) {
    /** @type {Seams} */
    const seams = { ...this.seams, keepalive: state === "gone", onToken: (t) => this.remember(t) };
    this.queue = this.queue
      .then(() => postPresence(ctx, state, seams))
      .then(
        (answer) => {
          if (mine !== null && mine === this.sequence && this.ctx === ctx)
            this.onOthers(Array.isArray(answer?.others) ? answer.others : [], true);
        },
        (error) => {
          if (mine !== null && mine === this.sequence && this.ctx === ctx) this.onOthers([]);
          console.warn("Tandem: presence", state, "failed:", error?.code ?? error);
        },
      );
    return this.queue;
  }

  /**
   * Keeps the last token a presence post went out with, for the unload's "gone".
   * @param {string} token
   */
  remember(token) {
    this.token = token;
  }

  /** Cancels the pending refresh. */
  stopTimer() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
