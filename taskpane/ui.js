// Rendering of the pane. Text goes in with textContent / text nodes only: item and server
// text is never parsed as HTML.

import {
  ACTION_LABELS,
  BITS,
  decode,
  LABELS,
  missing,
  reason as reasonFor,
  toBits,
} from "./permissions.js";

/** Outlook's folder roles whose rights match a bitmask (Microsoft doesn't document this mapping). */
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

/** "Maria Lopez <maria@adatum.com>", or whichever half is known. */
export function personText(who) {
  if (!who) return "";
  const name = String(who.name ?? "").trim();
  const address = String(who.address ?? "").trim();
  if (name && address && name.toLowerCase() !== address.toLowerCase())
    return `${name} <${address}>`;
  return name || address;
}

/** A date-time string (ISO, or Graph's {dateTime, timeZone}) formatted for the reader, with its ISO form. */
export function when(value, locale = undefined) {
  if (!value) return null;
  let iso = value;
  if (typeof value === "object") {
    iso = value.dateTime;
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

/** The sentence describing the mailbox's kind. */
export function kindText(ctx, answer) {
  if (ctx.state === "own") return "Your own mailbox";
  if (ctx.state === "shared") {
    const owner = answer?.mailbox?.owner || ctx.shared?.owner || ctx.shared?.targetMailbox;
    // Office's shared properties look the same for a delegate folder and a shared mailbox.
    return `Shared mailbox or delegate folder of ${owner}`;
  }
  return "Unknown mailbox";
}

/** The pane's renderer over one document: every method replaces the view. */
export class View {
  /** Binds to the pane's main, status line and view container. */
  constructor(doc) {
    this.doc = doc;
    this.focusPending = false;
    this.main = doc.getElementById("main");
    this.status = doc.getElementById("status");
    this.view = doc.getElementById("view");
  }

  /** Replaces the view's content; keeps keyboard focus inside the pane if it was there. */
  replace(busy, status, ...sections) {
    // Focus inside the view (say on Try again) would fall to the body when the view is
    // replaced: move it to the new view's first control or heading, now or on the next render.
    const hadFocus = this.focusPending || this.view.contains(this.doc.activeElement);
    this.main.setAttribute("aria-busy", busy ? "true" : "false");
    this.status.textContent = status;
    this.view.replaceChildren(...sections.filter(Boolean));
    this.focusPending = false;
    if (hadFocus) {
      const target = this.view.querySelector("[data-focus]") ?? this.view.querySelector("h2");
      if (target) {
        if (!target.matches("button, a[href]")) target.setAttribute("tabindex", "-1");
        target.focus();
      } else {
        this.focusPending = true;
      }
    }
  }

  /** A titled section (a region landmark) with a stable test id. */
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

  /** The "Acting on" section: the mailbox the pane acts on, its kind and the signed-in person. */
  mailboxSection(ctx, answer = null) {
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
    return this.section("mailbox", "Acting on", ...children);
  }

  /** The item: subject, sender and time, from the backend's answer or, while loading, from Office. */
  itemSection(ctx, item = null) {
    const d = this.doc;
    const type = item?.type ?? ctx.itemType;
    const subject = (item ? item.subject : ctx.subject) || "(no subject)";
    const rows = [];
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
    } else {
      row("From", "item-from", personText(item ? (item.from ?? item.sender) : ctx.from));
      const received = when(item?.receivedDateTime);
      if (received) row("Received", "item-received", received.text, received.iso);
      if (item?.categories?.length)
        row("Categories", "item-categories", item.categories.join(", "));
    }
    return this.section(
      "item",
      type === "appointment" ? "Appointment" : "Message",
      h(d, "p", { class: "subject", "data-testid": "item-subject" }, subject),
      rows.length ? h(d, "dl", { class: "facts" }, rows) : null,
    );
  }

  /** The six permissions decoded from the bits, each granted or not. */
  permissionsSection(ctx, bitsValue) {
    const d = this.doc;
    const bits = toBits(bitsValue);
    const granted = decode(bits);
    const items = Object.keys(BITS).map((name) =>
      h(
        d,
        "li",
        {
          class: granted[name] ? "granted" : "denied",
          "data-permission": name,
          "data-granted": String(granted[name]),
        },
        h(d, "span", { class: "mark", "aria-hidden": "true" }, granted[name] ? "✓" : "✕"),
        h(d, "span", { class: "label" }, LABELS[name]),
        h(d, "span", { class: "state" }, granted[name] ? "Granted" : "Not granted"),
      ),
    );
    let summary;
    if (ctx.state === "own") summary = "Your own mailbox: every permission.";
    else {
      const role = ROLES[bits];
      summary = `Outlook reports ${bits}${role ? `: ${role}` : ""}.`;
    }
    return this.section(
      "permissions",
      "Your permissions here",
      h(
        d,
        "p",
        { class: "note", "data-testid": "permission-bits", "data-bits": String(bits) },
        summary,
      ),
      h(d, "ul", { class: "permission-list", "aria-label": "Permissions" }, items),
    );
  }

  /** What may be done with the item: informational, each refusal with the permission it lacks. */
  actionsSection(actions, bits) {
    const d = this.doc;
    const items = Object.keys(ACTION_LABELS)
      .filter((name) => actions?.[name])
      .map((name) => {
        const action = actions[name];
        const allowed = action.allowed === true;
        const why = allowed
          ? null
          : action.reason || reasonFor(action.missing ?? missing(name, bits));
        return h(
          d,
          "li",
          {
            class: allowed ? "allowed" : "not-allowed",
            "data-action": name,
            "data-allowed": String(allowed),
          },
          h(d, "span", { class: "mark", "aria-hidden": "true" }, allowed ? "✓" : "–"),
          h(
            d,
            "span",
            { class: "action-text" },
            h(d, "span", { class: "label" }, ACTION_LABELS[name]),
            h(d, "span", { class: "state" }, allowed ? "Allowed" : "Not allowed"),
            why ? h(d, "span", { class: "reason" }, why) : null,
          ),
        );
      });
    return this.section(
      "actions",
      "What you can do here",
      h(d, "p", { class: "note" }, "From your permissions; Exchange has the final say."),
      h(d, "ul", { class: "action-list", "aria-label": "Actions" }, items),
    );
  }

  /** A problem: the sentence with its fix, a link if any, Try again, and the request id. */
  problemSection(explained, onRetry) {
    const d = this.doc;
    const children = [
      h(d, "p", { class: "problem-message", "data-testid": "problem-message" }, explained.message),
    ];
    if (explained.link) {
      const link = h(
        d,
        "a",
        {
          href: explained.link.href,
          target: "_blank",
          rel: "noopener noreferrer",
          "data-testid": "problem-link",
        },
        explained.link.text,
      );
      link.addEventListener("click", (event) => {
        const office = globalThis.Office;
        if (typeof office?.context?.ui?.openBrowserWindow === "function") {
          event.preventDefault();
          office.context.ui.openBrowserWindow(explained.link.href);
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

  /** Nothing to act on: no selection, an unsaved item, or an item type Tandem doesn't handle. */
  none(ctx) {
    const d = this.doc;
    const text = NONE_REASONS[ctx.reason] ?? NONE_REASONS["nothing-selected"];
    this.replace(
      false,
      "No item to act on.",
      this.section("none", "No item", h(d, "p", { "data-testid": "none-message" }, text)),
    );
  }

  /** The mailbox is unknown: said so, with no actions at all. */
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

  /** Context known, backend call under way. */
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
    this.replace(
      true,
      "Loading the item…",
      this.mailboxSection(ctx),
      this.itemSection(ctx),
      waiting,
    );
  }

  /** Before Office has said anything. */
  starting() {
    this.replace(true, "Reading the selected item…");
  }

  /** The backend's answer: mailbox, item, the permissions decoded here from its bits, and the actions. */
  answer(ctx, answer) {
    const bits = toBits(answer?.permissions?.bits);
    const subject = answer?.item?.subject || "(no subject)";
    this.replace(
      false,
      `Showing what you can do with “${subject}” in ${answer?.mailbox?.address ?? ctx.mailbox}.`,
      this.mailboxSection(ctx, answer),
      this.itemSection(ctx, answer.item),
      this.permissionsSection(ctx, bits),
      this.actionsSection(answer.actions, bits),
    );
  }

  /** A failure after the context was read: the mailbox section stays, so it's clear where it failed. */
  problem(ctx, explained, onRetry) {
    this.replace(
      false,
      "Tandem couldn't load this item.",
      ctx && (ctx.state === "own" || ctx.state === "shared") ? this.mailboxSection(ctx) : null,
      this.problemSection(explained, onRetry),
      ctx?.itemId ? this.itemSection(ctx) : null,
    );
  }
}
