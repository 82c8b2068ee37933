// Rendering of the pane. Text goes in with textContent / text nodes only: item and server
// text is never parsed as HTML.
//
// Every state of the pane (starting, none, unknown, loading, the answer, a problem, an item
// gone) is a method of one View that shares its focus handling and status line; the actions
// card, which has a life of its own between renders, is controls.js.

// The server owns the permission table: it decodes the bits and decides every action
// (docs/api.md). The pane only labels what it is sent; before the answer arrives it may
// show the bits Office reported, decoded by officePermissions().

/**
 * @import { ShownAnswer } from "./actions.js"
 * @import { Explained } from "./api.js"
 * @import { SignInDescription } from "./auth.js"
 * @import { ItemContext, KnownMailbox, NoItem, UnknownMailbox } from "./context.js"
 * @import { PresenceLine } from "./presence.js"
 * @import { ActionDecision, Claim, GraphDateTime, Item, Permissions } from "./types/contract"
 */

/**
 * What h() takes as a child: a node, text, or nothing.
 * @typedef {Node | string | number | null | undefined | false} Child
 */

/**
 * The six delegate bits as Office.MailboxEnums.DelegatePermissions numbers them, in display order.
 * @type {ReadonlyArray<readonly [string, number]>}
 */
const PERMISSION_BITS = Object.freeze([
  ["read", 1],
  ["write", 2],
  ["deleteOwn", 4],
  ["deleteAll", 8],
  ["editOwn", 16],
  ["editAll", 32],
]);

/**
 * A person-readable name for each permission the server decodes.
 * @type {Readonly<Record<string, string>>}
 */
export const PERMISSION_LABELS = Object.freeze({
  read: "Read items",
  write: "Create items",
  deleteOwn: "Delete own items",
  deleteAll: "Delete all items",
  editOwn: "Edit own items",
  editAll: "Edit all items",
});

/**
 * A person-readable name for each action the server knows of, in the order they are shown.
 * @type {Readonly<Record<string, string>>}
 */
export const ACTION_LABELS = Object.freeze({
  claim: "Claim it for yourself",
  release: "Release your claim",
  respond: "Respond to the invitation",
  reply: "Reply",
  replyAll: "Reply all",
  forward: "Forward",
  categorize: "Categorize",
  flag: "Flag for follow-up",
  markRead: "Mark as read",
  markUnread: "Mark as unread",
  move: "Move to another folder",
  delete: "Delete",
});

/**
 * How an appointment's responseStatus reads.
 * @type {Readonly<Record<string, string>>}
 */
const RESPONSES = Object.freeze({
  accepted: "Accepted",
  tentativelyAccepted: "Tentatively accepted",
  declined: "Declined",
  notResponded: "Not answered yet",
  organizer: "The mailbox organizes it",
  none: "No response needed",
});

/**
 * How a message's flag reads.
 * @type {Readonly<Record<string, string>>}
 */
const FLAGS = Object.freeze({ flagged: "Flagged for follow-up", complete: "Flag complete" });

/**
 * Outlook's folder roles whose rights match a bitmask (Microsoft doesn't document this mapping).
 * @type {Readonly<Record<number, string>>}
 */
const ROLES = Object.freeze({
  1: "the rights of the Reviewer role",
  23: "the rights of the Author role",
  63: "all six, as for an Editor or a Full Access member",
});

/** Why the pane has nothing to act on, for the "none" state. */
const NONE_REASONS = Object.freeze({
  "nothing-selected":
    "No item is selected. Select a message or appointment and Tandem shows what you can do with it.",
  unsaved: "This item hasn't been saved yet. Save it as a draft, or select a received item.",
  "unsupported-item": "Tandem works with messages and appointments only. Select one of those.",
});

/** Why the mailbox is unknown, for the "unknown" state. */
const UNKNOWN_REASONS = Object.freeze({
  failed: "Outlook couldn't tell Tandem which mailbox this item belongs to.",
  timeout: "Outlook didn't say in time which mailbox this item belongs to.",
  empty: "Outlook answered without naming the mailbox this item belongs to.",
});

/**
 * Creates an element: props are attributes (class, id, data-*, aria-*), children are nodes or
 * strings (added as text nodes, never parsed).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {Document} doc
 * @param {K} tag
 * @param {Record<string, unknown>} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(doc, tag, props = {}, ...children) {
  const node = doc.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(
      typeof child === "string" || typeof child === "number"
        ? doc.createTextNode(String(child))
        : child,
    );
  }
  return node;
}

/**
 * "Maria Lopez <maria@adatum.com>", or whichever half is known.
 * @param {{name?: unknown, address?: unknown} | null | undefined} who
 */
export function personText(who) {
  if (!who) return "";
  const name = String(who.name ?? "").trim();
  const address = String(who.address ?? "").trim();
  if (name && address && name.toLowerCase() !== address.toLowerCase())
    return `${name} <${address}>`;
  return name || address;
}

/**
 * "Claimed by you" or "Claimed by Lee Gu" for an item's claim, or null when nobody holds it.
 * @param {Partial<Claim> | null | undefined} claim
 */
export function claimText(claim) {
  if (!claim || typeof claim !== "object") return null;
  if (claim.mine) return "Claimed by you";
  const who = String(claim.name || claim.upn || "").trim();
  return who ? `Claimed by ${who}` : "Claimed";
}

/**
 * A date-time string (ISO, or Graph's {dateTime, timeZone}) formatted for the reader, with its ISO form.
 * @param {string | GraphDateTime | null | undefined} value
 * @param {string} [locale]
 * @returns {{iso: string, text: string} | null}
 */
export function when(value, locale = undefined) {
  if (!value) return null;
  let iso = typeof value === "object" ? value.dateTime : value;
  if (typeof value === "object") {
    if (iso && /^utc$/i.test(value.timeZone ?? "") && !/[zZ]|[+-]\d\d:?\d\d$/.test(iso))
      iso = `${iso}Z`;
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return { iso: String(iso), text: String(iso) };
  const text = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(
    date,
  );
  return { iso: date.toISOString(), text };
}

/**
 * The sentence describing the mailbox's kind.
 * @param {{state: ItemContext["state"], shared?: {owner?: string, targetMailbox?: string} | null}} ctx
 * @param {ShownAnswer | null} [answer]
 */
export function kindText(ctx, answer) {
  if (ctx.state === "own") return "Your own mailbox";
  if (ctx.state === "shared") {
    const owner = answer?.mailbox?.owner || ctx.shared?.owner || ctx.shared?.targetMailbox;
    // Office's shared properties look the same for a delegate folder and a shared mailbox.
    return `Shared mailbox or delegate folder of ${owner}`;
  }
  return "Unknown mailbox";
}

/**
 * "markUnread" -> "Mark unread": a readable name for an action or permission the pane has no label for.
 * @param {unknown} name
 */
export function readableName(name) {
  const words = String(name)
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .trim()
    .toLowerCase();
  return words ? words[0].toUpperCase() + words.slice(1) : "(unnamed)";
}

/**
 * Office's six bits in the shape of the server's `permissions`, for the wait before its answer.
 * @param {unknown} bits
 */
export function officePermissions(bits) {
  const value = typeof bits === "number" && Number.isInteger(bits) && bits >= 0 ? bits : 0;
  /** @type {Permissions} */
  const permissions = {};
  for (const [name, bit] of PERMISSION_BITS) permissions[name] = (value & bit) !== 0;
  permissions.bits = value;
  return permissions;
}

/**
 * Names in the pane's display order: known ones first as listed, then the others sorted.
 * @param {string[]} names
 * @param {object} known  a table whose keys are in display order
 */
function ordered(names, known) {
  const order = Object.keys(known);
  /** @param {string} name */
  const rank = (name) => (order.includes(name) ? order.indexOf(name) : order.length);
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The server's `permissions` as rows to show: every boolean member, labelled, in a stable order.
 * @param {Permissions | null | undefined} permissions
 */
export function permissionRows(permissions) {
  const table = permissions ?? {};
  const names = Object.keys(table).filter((name) => typeof table[name] === "boolean");
  return ordered(names, PERMISSION_LABELS).map((name) => ({
    name,
    label: PERMISSION_LABELS[name] ?? readableName(name),
    granted: table[name] === true,
  }));
}

/**
 * The server's `actions` as rows to show: every action it sent, labelled, in a stable order.
 * @param {Record<string, ActionDecision> | null | undefined} actions
 */
export function actionRows(actions) {
  const table = actions ?? {};
  const names = Object.keys(table).filter((name) => table[name] && typeof table[name] === "object");
  return ordered(names, ACTION_LABELS).map((name) => {
    const action = table[name];
    const allowed = action.allowed === true;
    return {
      name,
      label: ACTION_LABELS[name] ?? readableName(name),
      allowed,
      reason: allowed ? null : String(action.reason || "Not available for this item."),
    };
  });
}

/** The pane's renderer over one document: every method replaces the view. */
export class View {
  /**
   * Binds to the pane's main, status line and view container (taskpane.html has all three).
   * @param {Document} doc
   */
  constructor(doc) {
    this.doc = doc;
    this.focusPending = false;
    this.main = /** @type {HTMLElement} */ (doc.getElementById("main"));
    this.status = /** @type {HTMLElement} */ (doc.getElementById("status"));
    this.view = /** @type {HTMLElement} */ (doc.getElementById("view"));
    /** @type {HTMLElement | null} the item's list of the others on it, while shown */
    this.presenceList = null;
    /** @type {HTMLElement | null} where a change of that list is announced */
    this.presenceLive = null;
  }

  /**
   * Replaces the view's content; keeps keyboard focus inside the pane if it was there.
   * @param {boolean} busy
   * @param {string} status  what the live status line announces
   * @param {...(HTMLElement | null)} sections
   */
  replace(busy, status, ...sections) {
    // Focus inside the view (say on Try again) would fall to the body when the view is
    // replaced: move it to the new view's first control or heading, now or on the next render.
    const hadFocus = this.focusPending || this.view.contains(this.doc.activeElement);
    this.main.setAttribute("aria-busy", busy ? "true" : "false");
    this.status.textContent = status;
    this.view.replaceChildren(...sections.filter((section) => section !== null));
    this.focusPending = false;
    if (hadFocus) {
      const focus = /** @type {HTMLElement | null} */ (this.view.querySelector("[data-focus]"));
      const target = focus ?? this.view.querySelector("h2");
      if (target) {
        if (!target.matches("button, a[href]")) target.setAttribute("tabindex", "-1");
        target.focus();
      } else {
        this.focusPending = true;
      }
    }
  }

  /**
   * A titled section (a region landmark) with a stable test id.
   * @param {string} id
   * @param {string} title
   * @param {...(Child | Child[])} children
   */
  section(id, title, ...children) {
    const headingId = `${id}-heading`;
    return h(
      this.doc,
      "section",
      { class: `card card-${id}`, "aria-labelledby": headingId, "data-testid": id },
      h(this.doc, "h2", { id: headingId }, title),
      ...children,
    );
  }

  /**
   * The "Acting on" section: the mailbox the pane acts on, its kind and the signed-in person.
   * @param {KnownMailbox} ctx
   * @param {ShownAnswer | null} [answer]
   * @param {SignInDescription | null} [signIn]
   */
  mailboxSection(ctx, answer = null, signIn = null) {
    const d = this.doc;
    const address = answer?.mailbox?.address || ctx.mailbox;
    const person = answer?.person
      ? { name: answer.person.name, address: answer.person.upn }
      : ctx.person;
    const children = [
      h(
        d,
        "p",
        { class: "mailbox-address", "data-testid": "mailbox-address" },
        address || "Unknown",
      ),
      h(
        d,
        "p",
        { class: "mailbox-kind", "data-testid": "mailbox-kind", "data-kind": ctx.state },
        kindText(ctx, answer),
      ),
    ];
    if (ctx.state === "own") {
      children.push(
        h(
          d,
          "p",
          { class: "note" },
          "Outlook reported no shared-mailbox details for this item, so Tandem acts on your own mailbox. " +
            "If the item is really in someone else's mailbox, don't act on it here.",
        ),
      );
    }
    if (person?.address || person?.name) {
      children.push(
        h(
          d,
          "p",
          { class: "person", "data-testid": "person" },
          "Signed in as ",
          personText(person),
        ),
      );
    }
    if (signIn?.path) {
      const why = signIn.fallback
        ? ` Nested app authentication wasn't used: ${signIn.fallback}.`
        : "";
      children.push(
        h(
          d,
          "p",
          { class: "small-print", "data-testid": "sign-in-path", "data-path": signIn.path },
          signIn.text + why,
        ),
      );
    }
    return this.section("mailbox", "Acting on", ...children);
  }

  /**
   * The item: subject, claim, sender and time, from the backend's answer or, while loading, from
   * Office; `extra` rows (label, testid, text) are added last (such as "In Deleted Items").
   * @param {ItemContext} ctx
   * @param {Item | null} [item]
   * @param {[string, string, string][]} [extra]
   */
  itemSection(ctx, item = null, extra = []) {
    const d = this.doc;
    const type = item?.type ?? ctx.itemType;
    const subject = (item ? item.subject : ctx.subject) || "(no subject)";
    /** @type {HTMLElement[]} */
    const rows = [];
    /**
     * @param {string} label
     * @param {string} testid
     * @param {string} value
     * @param {string | null} [iso]
     */
    const row = (label, testid, value, iso = null) => {
      if (!value) return;
      rows.push(h(d, "dt", {}, label));
      const content = iso ? h(d, "time", { datetime: iso }, value) : value;
      rows.push(h(d, "dd", { "data-testid": testid }, content));
    };
    if (type === "appointment") {
      row("Organizer", "item-from", personText(item ? item.organizer : ctx.from));
      const start = when(item?.start);
      const end = when(item?.end);
      if (start) row("Starts", "item-start", start.text, start.iso);
      if (end) row("Ends", "item-end", end.text, end.iso);
      row("Location", "item-location", item?.location ?? "");
      if (item?.isCancelled) row("Status", "item-cancelled", "Cancelled");
      if (item?.responseStatus)
        row(
          "Response",
          "item-response",
          RESPONSES[item.responseStatus] ?? readableName(item.responseStatus),
        );
    } else {
      row("From", "item-from", personText(item ? (item.from ?? item.sender) : ctx.from));
      const received = when(item?.receivedDateTime);
      if (received) row("Received", "item-received", received.text, received.iso);
      const status = [];
      if (typeof item?.isRead === "boolean") status.push(item.isRead ? "Read" : "Unread");
      if (item?.flag && FLAGS[item.flag]) status.push(FLAGS[item.flag]);
      row("Status", "item-status", status.join(" · "));
    }
    const own = (item?.categories ?? []).filter((c) => !/^\s*tandem:/i.test(c));
    if (own.length) row("Categories", "item-categories", own.join("; "));
    for (const [label, testid, value] of extra) row(label, testid, value);
    const claim = claimText(item?.claim);
    this.presenceList = h(d, "ul", {
      class: "presence",
      "data-testid": "presence",
      "aria-label": "Also on this item",
      hidden: true,
    });
    this.presenceLive = h(d, "p", {
      class: "visually-hidden",
      "aria-live": "polite",
      "data-testid": "presence-live",
    });
    const section = this.section(
      "item",
      type === "appointment" ? "Appointment" : "Message",
      h(d, "p", { class: "subject", "data-testid": "item-subject" }, subject),
      claim
        ? h(
            d,
            "p",
            {
              class: `claim${item?.claim?.mine ? " claim-mine" : ""}`,
              "data-testid": "item-claim",
              "data-mine": String(Boolean(item?.claim?.mine)),
            },
            claim,
          )
        : null,
      rows.length ? h(d, "dl", { class: "facts" }, rows) : null,
      item ? this.presenceList : null,
      item ? this.presenceLive : null,
    );
    // The id later calls use (a move gives the item a new one), for diagnostics and tests.
    section.dataset.itemId = item?.id ?? ctx.itemId ?? "";
    return section;
  }

  /**
   * Who else is on the item (presence.js's lines), updated in place so a form being typed in
   * is never re-rendered; a change of words is announced politely.
   * @param {PresenceLine[]} lines
   */
  presence(lines) {
    const list = this.presenceList;
    if (!list?.isConnected) return;
    const text = lines.map((line) => line.text).join(". ");
    if (list.dataset.text === text) return;
    list.dataset.text = text;
    list.replaceChildren(
      ...lines.map((line) =>
        h(
          this.doc,
          "li",
          { class: `presence-${line.state}`, "data-upn": line.upn, "data-state": line.state },
          h(this.doc, "span", { class: "presence-dot", "aria-hidden": "true" }),
          line.text,
        ),
      ),
    );
    list.hidden = lines.length === 0;
    if (this.presenceLive) this.presenceLive.textContent = text ? `${text}.` : "";
  }

  /**
   * The permissions as the server decoded them (or, while it is asked, as Office reported them),
   * each granted or not.
   * @param {KnownMailbox} ctx
   * @param {Permissions | null | undefined} permissions
   * @param {{reported?: boolean}} [options]  `reported`: Office's bits, not yet the server's
   */
  permissionsSection(ctx, permissions, { reported = false } = {}) {
    const d = this.doc;
    const items = permissionRows(permissions).map((row) =>
      h(
        d,
        "li",
        {
          class: row.granted ? "granted" : "denied",
          "data-permission": row.name,
          "data-granted": String(row.granted),
        },
        h(d, "span", { class: "mark", "aria-hidden": "true" }, row.granted ? "✓" : "✕"),
        h(d, "span", { class: "label" }, row.label),
        h(d, "span", { class: "state" }, row.granted ? "Granted" : "Not granted"),
      ),
    );
    const sent = permissions?.bits;
    const bits = typeof sent === "number" && Number.isInteger(sent) ? sent : null;
    let summary;
    if (ctx.state === "own") summary = "Your own mailbox: every permission.";
    else if (bits === null) summary = "Outlook reported no permission bits.";
    else {
      const role = ROLES[bits];
      summary = `Outlook reports ${bits}${role ? `: ${role}` : ""}.`;
    }
    if (reported) summary += " Tandem's server hasn't checked them yet.";
    return this.section(
      "permissions",
      "Your permissions here",
      h(
        d,
        "p",
        { class: "note", "data-testid": "permission-bits", "data-bits": String(bits ?? "") },
        summary,
      ),
      h(d, "ul", { class: "permission-list", "aria-label": "Permissions" }, items),
    );
  }

  /**
   * A problem: the sentence with its fix, a link if any, Try again, and the request id.
   * @param {Explained} explained
   * @param {(() => void) | null} [onRetry]
   */
  problemSection(explained, onRetry) {
    const d = this.doc;
    const children = [
      h(d, "p", { class: "problem-message", "data-testid": "problem-message" }, explained.message),
    ];
    const target = explained.link;
    if (target) {
      const link = h(
        d,
        "a",
        {
          href: target.href,
          target: "_blank",
          rel: "noopener noreferrer",
          "data-testid": "problem-link",
        },
        target.text,
      );
      link.addEventListener("click", (event) => {
        const office = globalThis.Office;
        if (typeof office?.context?.ui?.openBrowserWindow === "function") {
          event.preventDefault();
          office.context.ui.openBrowserWindow(target.href);
        }
      });
      children.push(h(d, "p", {}, link));
    }
    if (explained.retry && onRetry) {
      const button = h(
        d,
        "button",
        { type: "button", class: "button", "data-testid": "retry", "data-focus": true },
        "Try again",
      );
      button.addEventListener("click", () => onRetry());
      if (explained.retryAfter) {
        button.disabled = true;
        setTimeout(() => {
          button.disabled = false;
        }, explained.retryAfter * 1000);
      }
      children.push(h(d, "p", {}, button));
    }
    if (explained.officeCode) {
      children.push(
        h(
          d,
          "p",
          { class: "small-print", "data-testid": "office-code" },
          `Office error code: ${explained.officeCode}`,
        ),
      );
    }
    if (explained.msalCode) {
      children.push(
        h(
          d,
          "p",
          { class: "small-print", "data-testid": "msal-code" },
          `MSAL.js error code: ${explained.msalCode}`,
        ),
      );
    }
    if (explained.serverSaid) {
      children.push(
        h(
          d,
          "p",
          { class: "small-print", "data-testid": "server-said" },
          `Tandem's server said: ${explained.serverSaid}`,
        ),
      );
    }
    if (explained.requestId) {
      children.push(
        h(
          d,
          "p",
          { class: "small-print", "data-testid": "request-id" },
          `Request id: ${explained.requestId}`,
        ),
      );
    }
    const section = this.section("problem", explained.title || "Something went wrong", ...children);
    section.setAttribute("role", "alert");
    section.setAttribute("data-code", explained.code);
    return section;
  }

  /** Office.js isn't talking to Outlook: the page was opened outside it. */
  notOutlook() {
    const d = this.doc;
    this.replace(
      false,
      "Tandem runs inside Outlook.",
      this.section(
        "none",
        "Open Tandem from Outlook",
        h(
          d,
          "p",
          {},
          "This page is Tandem's task pane. Select a message in Outlook and choose Tandem on the ribbon.",
        ),
      ),
    );
  }

  /**
   * Nothing to act on: no selection, an unsaved item, or an item type Tandem doesn't handle.
   * @param {NoItem} ctx
   */
  none(ctx) {
    const d = this.doc;
    const text = NONE_REASONS[ctx.reason] ?? NONE_REASONS["nothing-selected"];
    this.replace(
      false,
      "No item to act on.",
      this.section("none", "No item", h(d, "p", { "data-testid": "none-message" }, text)),
    );
  }

  /**
   * The mailbox is unknown: said so, with no actions at all.
   * @param {UnknownMailbox} ctx
   * @param {(() => void) | null} [onRetry]
   */
  unknown(ctx, onRetry) {
    const d = this.doc;
    const lines = [
      h(d, "p", { class: "mailbox-address", "data-testid": "mailbox-address" }, "Unknown"),
      h(
        d,
        "p",
        { class: "mailbox-kind", "data-testid": "mailbox-kind", "data-kind": "unknown" },
        UNKNOWN_REASONS[ctx.reason] ?? UNKNOWN_REASONS.failed,
      ),
      h(
        d,
        "p",
        { "data-testid": "unknown-message" },
        "Tandem won't guess, so it offers no actions on this item. Select the item again, or open it from the mailbox's own folder list.",
      ),
    ];
    if (ctx.detail)
      lines.push(
        h(
          d,
          "p",
          { class: "small-print", "data-testid": "unknown-detail" },
          `Outlook said: ${ctx.detail}`,
        ),
      );
    if (ctx.person?.address)
      lines.push(
        h(
          d,
          "p",
          { class: "person", "data-testid": "person" },
          "Signed in as ",
          personText(ctx.person),
        ),
      );
    if (onRetry) {
      const button = h(
        d,
        "button",
        { type: "button", class: "button", "data-testid": "retry" },
        "Try again",
      );
      button.addEventListener("click", () => onRetry());
      lines.push(h(d, "p", {}, button));
    }
    const section = this.section("mailbox", "Acting on", ...lines);
    section.classList.add("card-unknown");
    this.replace(
      false,
      "The mailbox of this item is unknown; no actions are offered.",
      section,
      this.itemSection(ctx),
    );
  }

  /**
   * Context known, backend call under way.
   * @param {KnownMailbox} ctx
   */
  loading(ctx) {
    const d = this.doc;
    const waiting = this.section(
      "loading",
      "Checking with Microsoft 365",
      h(
        d,
        "p",
        { class: "spinner-line" },
        h(d, "span", { class: "spinner", "aria-hidden": "true" }),
        "Signing in and reading the item…",
      ),
    );
    const reported =
      ctx.state === "shared"
        ? this.permissionsSection(ctx, officePermissions(ctx.shared.delegatePermissions), {
            reported: true,
          })
        : null;
    this.replace(
      true,
      "Loading the item…",
      this.mailboxSection(ctx),
      this.itemSection(ctx),
      waiting,
      reported,
    );
  }

  /** Before Office has said anything. */
  starting() {
    this.replace(true, "Reading the selected item…");
  }

  /**
   * The backend's answer: mailbox, item, permissions and the actions card (controls.js's
   * ActionsCard element, built by main.js), rendered as the server sent them; `signIn`
   * (SignIn.describe()) says in small print which path signed the person in; `status` is what
   * the live status line announces (an action's result, or what is shown).
   * @param {KnownMailbox} ctx
   * @param {ShownAnswer} answer
   * @param {SignInDescription | null} [signIn]
   * @param {{card?: HTMLElement | null, record?: HTMLElement | null, team?: HTMLElement | null,
   *   outlook?: HTMLElement | null, status?: string | null}} [options]  `outlook`: Reply in
   *   Outlook's card (compose.js)
   */
  answer(
    ctx,
    answer,
    signIn = null,
    { card = null, record = null, team = null, outlook = null, status = null } = {},
  ) {
    const subject = answer?.item?.subject || "(no subject)";
    if (status) this.focusPending = true;
    this.replace(
      false,
      status ??
        `Showing what you can do with “${subject}” in ${answer?.mailbox?.address ?? ctx.mailbox}.`,
      this.mailboxSection(ctx, answer, signIn),
      this.itemSection(ctx, answer.item),
      record,
      outlook,
      card,
      team,
      this.permissionsSection(ctx, answer.permissions),
    );
  }

  /**
   * The item went away under an action (Graph's DELETE moved it to Deleted Items at an id
   * nobody was told): what it was, where it went, and no actions.
   * @param {KnownMailbox} ctx
   * @param {ShownAnswer | null} answer
   * @param {string} message
   * @param {SignInDescription | null} [signIn]
   */
  gone(ctx, answer, message, signIn = null) {
    const d = this.doc;
    this.focusPending = true;
    const notice = h(
      d,
      "div",
      {
        class: "notice notice-ok",
        role: "status",
        tabindex: "-1",
        "data-focus": true,
        "data-testid": "action-notice",
        "data-kind": "ok",
      },
      h(d, "p", { class: "notice-text", "data-testid": "notice-text" }, message),
      h(
        d,
        "p",
        { class: "note" },
        "Select it in that folder to act on it again, or select another item.",
      ),
    );
    this.replace(
      false,
      message,
      this.mailboxSection(ctx, answer, signIn),
      this.itemSection(ctx, answer?.item ?? null, [["Now", "item-gone", "In Deleted Items"]]),
      this.section("actions", "What you can do here", notice),
    );
  }

  /**
   * A failure after the context was read: the mailbox section stays, so it's clear where it failed.
   * @param {ItemContext | null} ctx
   * @param {Explained} explained
   * @param {(() => void) | null} onRetry
   * @param {SignInDescription | null} [signIn]
   */
  problem(ctx, explained, onRetry, signIn = null) {
    this.replace(
      false,
      "Tandem couldn't load this item.",
      ctx && (ctx.state === "own" || ctx.state === "shared")
        ? this.mailboxSection(ctx, null, signIn)
        : null,
      this.problemSection(explained, onRetry),
      ctx?.itemId ? this.itemSection(ctx) : null,
    );
  }
}
