// The team's card for a shared mailbox, beside the item: the queue (counts for every view, a
// page of the chosen view oldest due first, late in red, a row opens the item in Outlook),
// "Take the next one", the mailbox's templates (any member edits them), its numbers (a chart
// drawn here as SVG with the table beside it) and its first-response target (a Tandem
// administrator sets it). One card lives per mailbox and person while the pane is open: it
// keeps its tab, view and page as the selection moves, and refreshes its queue when shown
// again after a while, every minute while visible, and on request. The other tabs are rooms of
// their own (templates.js, numbers.js, target.js) the card hands itself to (panel.js).

import { postNext, postQueue } from "./api.js";
import { minutesText, NumbersPanel } from "./numbers.js";
import { failed, fill, loadingLine, uid } from "./panel.js";
import { TargetPanel } from "./target.js";
import { TemplatesPanel } from "./templates.js";
import { h } from "./ui.js";

/**
 * @import { Seams } from "./api.js"
 * @import { KnownMailbox } from "./context.js"
 * @import { NextAnswer, QueueAnswer, QueueRow, QueueView } from "./types/contract"
 */

/** The queue's views, in the order the card shows them, with their names. */
export const VIEWS = /** @type {const} */ ([
  ["unassigned", "Unassigned"],
  ["mine", "Mine"],
  ["overdue", "Overdue"],
  ["pending", "Waiting"],
  ["open", "Open"],
]);

/** The card's tabs. */
export const TABS = /** @type {const} */ ([
  ["queue", "Queue"],
  ["templates", "Templates"],
  ["numbers", "Numbers"],
  ["target", "Target"],
]);

/** A shown queue older than this is asked again when the card is shown for another item. */
export const STALE_MS = 10_000;

/** While the pane is visible on the Queue tab, the queue is asked again this often. */
export const REFRESH_MS = 60_000;

/**
 * How long ago an instant was: "just now", "12 min ago", "3 h ago", "2 d ago".
 * @param {string | null | undefined} iso
 * @param {number} now  epoch milliseconds
 */
export function ageText(iso, now) {
  const at = Date.parse(String(iso ?? ""));
  if (Number.isNaN(at)) return "";
  const minutes = (now - at) / 60000;
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${Math.floor(minutes)} min ago`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ago`;
  return `${Math.floor(minutes / (24 * 60))} d ago`;
}

/**
 * A conversation's due time in words: "Late by 2 h 10 min", "Due in 35 min", "Due Tue 14:30",
 * or null without a target (answered, or no policy).
 * @param {Pick<QueueRow, "due" | "overdue">} row
 * @param {number} now  epoch milliseconds
 * @param {string} [locale]
 * @returns {{text: string, late: boolean} | null}
 */
export function dueText(row, now, locale = undefined) {
  const at = Date.parse(String(row.due ?? ""));
  if (Number.isNaN(at)) return null;
  if (row.overdue || at <= now)
    return { text: `Late by ${minutesText((now - at) / 60000)}`, late: true };
  const minutes = (at - now) / 60000;
  if (minutes < 12 * 60) return { text: `Due in ${minutesText(minutes)}`, late: false };
  const format = new Intl.DateTimeFormat(locale, {
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
  return { text: `Due ${format.format(new Date(at))}`, late: false };
}

/**
 * What the card needs from main.js.
 * @typedef {object} TeamOptions
 * @property {KnownMailbox} ctx  an item of the mailbox (it says which mailbox)
 * @property {Seams} seams  how calls get their token
 * @property {(itemId: string) => void} open  opens an item in Outlook (displayMessageForm)
 * @property {() => number} [now]  epoch milliseconds (tests hold the clock)
 * @property {(name: string) => void} [count]  counts an event for tests (data-<name>)
 */

/** The team's card for one mailbox. */
export class TeamCard {
  /**
   * @param {Document} doc
   * @param {TeamOptions} options
   */
  constructor(doc, { ctx, seams, open, now = () => Date.now(), count = () => {} }) {
    this.doc = doc;
    this.ctx = ctx;
    this.seams = seams;
    this.open = open;
    this.now = now;
    this.count = count;
    /** @type {"queue"|"templates"|"numbers"|"target"} */
    this.tab = "queue";
    /** @type {QueueView} */
    this.view = "unassigned";
    this.page = 1;
    /** @type {QueueAnswer | null} */
    this.queue = null;
    this.askedAt = 0;
    this.busy = false;
    /** Whether the mailbox turned out to have no queue for this person. */
    this.unavailable = false;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
    /** @type {Record<string, HTMLElement>} */
    this.panels = {};
    /** @type {Record<string, HTMLButtonElement>} */
    this.tabs = {};
    this.element = this.build();
    this.element.hidden = true; // until the queue's first answer says there is one
    this.templates = new TemplatesPanel(this, this.panels.templates);
    this.numbers = new NumbersPanel(this, this.panels.numbers);
    this.target = new TargetPanel(this, this.panels.target, () => {
      this.askedAt = 0;
    });
  }

  /** The mailbox's templates (listed at most once a minute), for the reply form too. */
  loadTemplates() {
    return this.templates.load();
  }

  /** The mailbox's address as the card names it. */
  get address() {
    return this.ctx.state === "shared" ? this.ctx.shared.targetMailbox : this.ctx.mailbox;
  }

  /** The mailbox's display name, once the queue said it. */
  get mailboxName() {
    return this.queue?.mailboxName || this.address;
  }

  /**
   * The card is shown (again) for an item of its mailbox: that item says which mailbox from now
   * on, and a queue older than STALE_MS is asked again.
   * @param {KnownMailbox} ctx
   */
  shown(ctx) {
    this.ctx = ctx;
    if (this.unavailable) return;
    this.startTimer();
    if (this.tab === "queue" && this.now() - this.askedAt > STALE_MS) this.refresh();
  }

  /** Asks for the queue every REFRESH_MS while the pane is visible and on the Queue tab. */
  startTimer() {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      const visible = this.doc.visibilityState !== "hidden" && this.element.isConnected;
      if (visible && this.tab === "queue" && !this.busy) this.refresh();
    }, REFRESH_MS);
  }

  /** Stops the timer (the card is dropped). */
  stop() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The whole card: its heading, the tab list and the four panels. */
  build() {
    const d = this.doc;
    const headingId = uid("team-heading");
    const tablist = h(d, "div", {
      role: "tablist",
      class: "tabs",
      "aria-labelledby": headingId,
    });
    for (const [key, label] of TABS) {
      const tabId = uid(`team-tab-${key}`);
      const panelId = uid(`team-panel-${key}`);
      const tab = /** @type {HTMLButtonElement} */ (
        h(
          d,
          "button",
          {
            type: "button",
            role: "tab",
            id: tabId,
            class: "tab",
            "aria-controls": panelId,
            "aria-selected": key === this.tab ? "true" : "false",
            tabindex: key === this.tab ? "0" : "-1",
            "data-testid": `team-tab-${key}`,
          },
          label,
        )
      );
      tab.addEventListener("click", () => this.choose(key));
      tab.addEventListener("keydown", (event) => this.tabKey(event, key));
      tablist.append(tab);
      this.tabs[key] = tab;
      const panel = h(d, "div", {
        role: "tabpanel",
        id: panelId,
        class: "tab-panel",
        "aria-labelledby": tabId,
        "data-testid": `team-panel-${key}`,
        hidden: key !== this.tab,
      });
      this.panels[key] = panel;
    }
    this.panels.queue.replaceChildren(loadingLine(this.doc, "Loading the queue…"));
    return h(
      d,
      "section",
      { class: "card card-team", "aria-labelledby": headingId, "data-testid": "team" },
      h(d, "h2", { id: headingId }, `Team: ${this.address}`),
      tablist,
      ...Object.values(this.panels),
    );
  }

  /**
   * Arrow keys, Home and End move between the tabs (the ARIA tabs pattern).
   * @param {KeyboardEvent} event
   * @param {string} key
   */
  tabKey(event, key) {
    const keys = TABS.map(([k]) => k);
    const at = keys.indexOf(/** @type {typeof keys[number]} */ (key));
    const to = {
      ArrowRight: (at + 1) % keys.length,
      ArrowLeft: (at - 1 + keys.length) % keys.length,
      Home: 0,
      End: keys.length - 1,
    }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    this.choose(keys[to]);
    this.tabs[keys[to]].focus();
  }

  /**
   * Shows a tab, loading what it shows.
   * @param {string} key
   */
  choose(key) {
    const tab = /** @type {"queue"|"templates"|"numbers"|"target"} */ (key);
    this.tab = tab;
    for (const [k] of TABS) {
      const selected = k === tab;
      this.tabs[k].setAttribute("aria-selected", selected ? "true" : "false");
      this.tabs[k].setAttribute("tabindex", selected ? "0" : "-1");
      this.panels[k].hidden = !selected;
    }
    if (tab === "queue" && this.now() - this.askedAt > STALE_MS) this.refresh();
    if (tab === "templates") this.templates.show();
    if (tab === "numbers") this.numbers.show();
    if (tab === "target") this.target.show();
  }

  // -- the queue -----------------------------------------------------------------------------
  /** Asks for the counts and the chosen view's page, and shows them. */
  async refresh() {
    if (this.busy) return;
    this.busy = true;
    this.panels.queue.setAttribute("aria-busy", "true");
    try {
      const answer = await postQueue(this.ctx, this.view, this.page, this.seams);
      this.askedAt = this.now();
      if (answer.available === false) {
        // Exchange won't let this person list the mailbox's Inbox and Sent Items (a delegate
        // of some folders): no queue here, and nothing to say about it.
        this.unavailable = true;
        this.element.hidden = true;
        this.stop();
        return;
      }
      this.queue = answer;
      this.page = answer.page;
      this.element.hidden = false;
      this.renderQueue();
      this.count("queue");
    } catch (error) {
      this.element.hidden = false;
      failed(this.doc, this.panels.queue, error, () => this.refresh());
    } finally {
      this.busy = false;
      this.panels.queue.setAttribute("aria-busy", "false");
    }
  }

  /**
   * Chooses a view (its first page).
   * @param {QueueView} view
   */
  chooseView(view) {
    this.view = view;
    this.page = 1;
    this.refresh();
  }

  /**
   * The queue panel: the views with their counts, Take the next one, the page's rows, paging.
   * @param {{kind: "ok"|"none", text: string} | null} [notice]
   */
  renderQueue(notice = null) {
    const d = this.doc;
    const answer = this.queue;
    if (!answer) return;
    const now = this.now();
    const views = h(d, "div", {
      class: "queue-views",
      role: "group",
      "aria-label": "Views of the queue",
    });
    for (const [key, label] of VIEWS) {
      const n = answer.counts?.[key] ?? 0;
      const button = h(
        d,
        "button",
        {
          type: "button",
          class: `queue-view${key === "overdue" && n > 0 ? " queue-view-late" : ""}`,
          "aria-pressed": key === answer.view ? "true" : "false",
          "data-testid": `queue-view-${key}`,
          "data-count": n,
        },
        h(d, "span", { class: "queue-view-name" }, label),
        " ",
        h(d, "span", { class: "queue-count", "data-testid": `queue-count-${key}` }, String(n)),
      );
      button.addEventListener("click", () => this.chooseView(key));
      views.append(button);
    }
    const next = h(
      d,
      "button",
      { type: "button", class: "button", "data-testid": "queue-next" },
      "Take the next one",
    );
    next.addEventListener("click", () => this.takeNext());
    const again = h(
      d,
      "button",
      { type: "button", class: "button button-secondary", "data-testid": "queue-refresh" },
      "Refresh",
    );
    again.addEventListener("click", () => this.refresh());
    const asOf = answer.asOf ? new Date(answer.asOf) : null;
    const clock = asOf
      ? new Intl.DateTimeFormat(undefined, {
          hour: "2-digit",
          minute: "2-digit",
          second: "2-digit",
        }).format(asOf)
      : "";
    const viewName = VIEWS.find(([k]) => k === answer.view)?.[1] ?? answer.view;
    const listId = uid("queue-list");
    const list = h(d, "ul", {
      class: "queue-list",
      id: listId,
      "aria-label": `${viewName}: ${answer.total} conversation${answer.total === 1 ? "" : "s"}`,
      "data-testid": "queue-list",
    });
    for (const row of answer.items ?? []) list.append(this.row(row, now));
    const empty =
      answer.items?.length === 0
        ? h(
            d,
            "p",
            { class: "note", "data-testid": "queue-empty" },
            EMPTY[answer.view] ?? "Nothing here.",
          )
        : null;
    fill(
      this.panels.queue,
      views,
      h(d, "div", { class: "queue-tools" }, next, again),
      notice
        ? h(
            d,
            "div",
            {
              class: `notice ${notice.kind === "ok" ? "notice-ok" : "notice-conflict"}`,
              role: "status",
              "data-testid": "queue-notice",
              "data-kind": notice.kind,
            },
            h(d, "p", { class: "notice-text" }, notice.text),
          )
        : null,
      empty ?? list,
      answer.pages > 1 ? this.paging(answer) : null,
      h(
        d,
        "p",
        { class: "small-print", "data-testid": "queue-as-of" },
        clock ? `Updated ${clock}` : "",
      ),
    );
  }

  /**
   * One conversation of the page: a button that opens its newest item in Outlook.
   * @param {QueueRow} row
   * @param {number} now
   */
  row(row, now) {
    const d = this.doc;
    const due = dueText(row, now);
    const owner = row.assignee ? row.assignee.name || row.assignee.upn : "Nobody";
    const sender = row.from?.name || row.from?.address || "Unknown sender";
    const button = h(
      d,
      "button",
      {
        type: "button",
        class: "queue-row",
        "data-testid": "queue-row",
        "data-item": row.itemId,
        "data-late": row.overdue ? "true" : "false",
      },
      h(d, "span", { class: "queue-subject" }, row.subject || "(no subject)"),
      h(d, "span", { class: "queue-meta" }, `${sender} · ${ageText(row.receivedDateTime, now)}`),
      due
        ? h(
            d,
            "span",
            { class: due.late ? "queue-due queue-late" : "queue-due", "data-testid": "queue-due" },
            due.text,
          )
        : null,
      h(d, "span", { class: "queue-meta", "data-testid": "queue-owner" }, `Owner: ${owner}`),
    );
    button.addEventListener("click", () => {
      this.open(row.itemId);
      this.count("opened");
    });
    return h(d, "li", {}, button);
  }

  /**
   * Previous and next page, and where one is.
   * @param {QueueAnswer} answer
   */
  paging(answer) {
    const d = this.doc;
    /**
     * @param {string} label
     * @param {number} page
     * @param {boolean} disabled
     * @param {string} testid
     */
    const go = (label, page, disabled, testid) => {
      const button = h(
        d,
        "button",
        { type: "button", class: "button button-secondary", disabled, "data-testid": testid },
        label,
      );
      button.addEventListener("click", () => {
        this.page = page;
        this.refresh();
      });
      return button;
    };
    return h(
      d,
      "nav",
      { class: "queue-paging", "aria-label": "Pages of the queue" },
      go("Previous", answer.page - 1, answer.page <= 1, "queue-previous"),
      h(d, "span", { "data-testid": "queue-page" }, `Page ${answer.page} of ${answer.pages}`),
      go("Next", answer.page + 1, answer.page >= answer.pages, "queue-next-page"),
    );
  }

  /** Take the next one: the conversation due soonest nobody owns becomes mine, and opens. */
  async takeNext() {
    if (this.busy) return;
    this.busy = true;
    /** @type {NextAnswer | null} */
    let answer = null;
    try {
      answer = await postNext(this.ctx, this.seams);
    } catch (error) {
      this.busy = false;
      failed(this.doc, this.panels.queue, error, () => this.refresh());
      return;
    }
    this.busy = false;
    const taken = answer.taken;
    if (taken) this.open(taken.itemId);
    this.count("taken");
    await this.refresh();
    const from = taken?.from?.name || taken?.from?.address;
    this.renderQueue(
      taken
        ? {
            kind: "ok",
            text: `“${taken.subject || "(no subject)"}”${from ? ` from ${from}` : ""} is yours now; Outlook opens it.`,
          }
        : { kind: "none", text: "Nobody is waiting: every open conversation has an owner." },
    );
  }
}

/** What each view says when it is empty. @type {Readonly<Record<string, string>>} */
const EMPTY = Object.freeze({
  unassigned: "Nothing unassigned: every open conversation has an owner.",
  mine: "Nothing is yours right now. Take the next one when you are ready.",
  overdue: "Nothing is late.",
  pending: "Nobody is waiting on a customer.",
  open: "No open conversations: the queue is empty.",
});
