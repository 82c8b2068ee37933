// The team's record of the item's conversation, under the item: its owner and status with the
// controls to change them, the internal notes (never sent to anyone outside Tandem) with a box
// to add one, and the timeline of what Tandem did (the first five, the rest on demand). Every
// change is an action through the same runner as the item's actions (its key, its busy state,
// its conflicts); text goes in with text nodes only, never parsed as HTML.

import { h, when } from "./ui.js";

/**
 * @import { Outcome } from "./actions.js"
 * @import { ConversationRecord, RecordEvent, RecordNote, Upn } from "./types/contract"
 */

/**
 * What the record card calls (main.js's handlers, for the item shown).
 * @typedef {{act: (name: string, fields: Record<string, unknown>) => Promise<Outcome>}} RecordHandlers
 */

/** The longest note the server takes (backend mail/fields.py's MAX_NOTE), in code points. */
export const NOTE_LIMIT = 4000;

/** The actions the record card runs (their notice shows in it). */
export const RECORD_ACTIONS = new Set(["assign", "status", "note", "editNote", "deleteNote"]);

/** The timeline entries shown before "Show all". */
export const TIMELINE_SHOWN = 5;

/** What each status is called. @type {Readonly<Record<string, string>>} */
export const STATUS_LABELS = Object.freeze({
  open: "Open",
  pending: "Waiting on the customer",
  done: "Done",
});

let serial = 0;

/**
 * A unique id for label/aria wiring within the pane.
 * @param {string} prefix
 */
function uid(prefix) {
  serial += 1;
  return `${prefix}-${serial}`;
}

/**
 * Characters as the server counts them: code points.
 * @param {string | null | undefined} text
 */
function characters(text) {
  return [...String(text ?? "")].length;
}

/**
 * A person's name, else their address.
 * @param {Partial<Upn> | null | undefined} who
 */
function nameOf(who) {
  return String(who?.name || who?.upn || "").trim();
}

/**
 * How many recipients, in words.
 * @param {number} n
 */
function recipients(n) {
  return `${n} recipient${n === 1 ? "" : "s"}`;
}

/**
 * One timeline entry as a sentence: who did what (never a body or an address but the
 * mailbox's own).
 * @param {Pick<RecordEvent, "kind" | "actor" | "detail">} event
 * @returns {string}
 */
export function eventText(event) {
  const who = event.actor ? nameOf(event.actor) : "Tandem";
  const d = event.detail ?? {};
  switch (event.kind) {
    case "assigned": {
      if (!d.to || typeof d.to !== "object") return `${who} made it nobody's.`;
      const self =
        event.actor?.upn && String(d.to.upn ?? "").toLowerCase() === event.actor.upn.toLowerCase();
      return self ? `${who} took it.` : `${who} assigned it to ${nameOf(d.to)}.`;
    }
    case "status": {
      if (d.why === "customer_wrote") return "The customer wrote again: it is open again.";
      const to = String(d.to ?? "open");
      return `${who} set it to ${STATUS_LABELS[to] ?? to}.`;
    }
    case "note_added":
      return `${who} added a note.`;
    case "note_edited":
      return `${who} edited a note.`;
    case "note_deleted":
      return `${who} deleted a note.`;
    case "reply":
    case "replyAll":
    case "forward": {
      /** @type {Record<string, string>} */
      const whats = { reply: "replied", replyAll: "replied to all", forward: "forwarded it" };
      const what = whats[event.kind];
      if (d.via === "outlook") {
        // Found by its copy in the mailbox: its sender is whoever the send check named.
        const as = d.sentAs === "sendOnBehalf" ? "on behalf of" : "as";
        const mailbox = d.mailbox ? ` ${as} ${d.mailbox}` : "";
        return event.actor
          ? `${who} ${what}${mailbox} in Outlook.`
          : `Someone ${what}${mailbox} in Outlook (Tandem can't tell who).`;
      }
      if (d.outcome === "drafted")
        return `${who} saved a draft of a ${event.kind === "forward" ? "forward" : "reply"}.`;
      if (d.outcome === "unknown")
        return `${who} ${what}; Microsoft 365 didn't confirm it went out.`;
      const as = d.sentAs === "sendOnBehalf" ? "on behalf of" : "as";
      const mailbox = d.mailbox ? ` ${as} ${d.mailbox}` : "";
      const to = typeof d.recipients === "number" ? `, to ${recipients(d.recipients)}` : "";
      return `${who} ${what}${mailbox}${to}.`;
    }
    case "respond": {
      /** @type {Record<string, string>} */
      const verb = {
        accept: "accepted",
        tentativelyAccept: "tentatively accepted",
        decline: "declined",
      };
      return `${who} ${verb[String(d.response)] ?? "answered"} the meeting.`;
    }
    case "move":
      return `${who} moved it to ${typeof d.to === "string" ? d.to : "another folder"}.`;
    case "delete":
      return `${who} deleted it.`;
    case "flag":
      return d.flag === "notFlagged"
        ? `${who} cleared its flag.`
        : d.flag === "complete"
          ? `${who} marked its flag complete.`
          : `${who} flagged it.`;
    case "markRead":
      return `${who} marked it read.`;
    case "markUnread":
      return `${who} marked it unread.`;
    case "categorize":
      return d.categories?.length
        ? `${who} set its categories: ${d.categories.join("; ")}.`
        : `${who} removed its categories.`;
    default:
      return `${who}: ${event.kind}.`;
  }
}

/**
 * A note's text as nodes: line breaks kept (CSS), and each `@upn` of a member marked.
 * @param {Document} d
 * @param {string} text
 * @param {Set<string>} members  the members' upns, lower case
 * @returns {Node[]}
 */
export function noteNodes(d, text, members) {
  /** @type {Node[]} */
  const nodes = [];
  const pattern = /@([^\s@<>()"',;]+@[^\s@<>()"',;]+[^\s@<>()"',;.!?])/g;
  let last = 0;
  for (const match of String(text).matchAll(pattern)) {
    const upn = (match[1] ?? "").toLowerCase();
    const at = match.index ?? 0;
    if (!members.has(upn)) continue;
    if (at > last) nodes.push(d.createTextNode(text.slice(last, at)));
    nodes.push(h(d, "mark", { class: "mention", "data-testid": "mention" }, match[0]));
    last = at + match[0].length;
  }
  if (last < text.length) nodes.push(d.createTextNode(text.slice(last)));
  return nodes;
}

/**
 * The record card of one shown item. handlers: act(name, fields) -> Promise<outcome> (the
 * runner of the item's actions: done re-renders the whole view).
 */
export class RecordCard {
  /**
   * @param {Document} doc
   * @param {{record: ConversationRecord, me: string, handlers: RecordHandlers,
   *   allowed?: (name: string) => boolean, notice?: {text: string}|null,
   *   readOnly?: boolean}} options  `readOnly`: shown beside a draft (no controls)
   */
  constructor(
    doc,
    { record, me, handlers, allowed = () => true, notice = null, readOnly = false },
  ) {
    this.doc = doc;
    this.readOnly = readOnly;
    this.record = record;
    this.me = String(me ?? "").toLowerCase();
    this.handlers = handlers;
    this.allowed = allowed;
    this.busy = false;
    this.showAll = false;
    /** @type {HTMLElement} where the last record action's notice shows */
    this.noticeSlot = h(doc, "div", { class: "notice-slot", "data-testid": "record-notice-slot" });
    this.element = this.build();
    if (notice) this.okNotice(notice.text);
  }

  /**
   * How the last record action went (a status, focused after the re-render).
   * @param {string} text
   */
  okNotice(text) {
    const d = this.doc;
    this.noticeSlot.replaceChildren(
      h(
        d,
        "div",
        {
          class: "notice notice-ok",
          role: "status",
          tabindex: "-1",
          "data-focus": true,
          "data-testid": "record-notice",
          "data-kind": "ok",
        },
        h(d, "p", { class: "notice-text", "data-testid": "record-notice-text" }, text),
      ),
    );
  }

  /** The whole card. */
  build() {
    const d = this.doc;
    const headingId = uid("record-heading");
    return h(
      d,
      "section",
      { class: "card card-record", "aria-labelledby": headingId, "data-testid": "record" },
      h(d, "h2", { id: headingId }, "The team's record"),
      this.noticeSlot,
      this.ownerAndStatus(),
      this.notesPart(),
      this.timelinePart(),
      h(
        d,
        "p",
        { class: "small-print" },
        "Notes and the timeline stay in Tandem: they are never sent to anyone outside it.",
      ),
    );
  }

  /** The owner (a member picker) and the status, each with its button. */
  ownerAndStatus() {
    const d = this.doc;
    const conversation = this.record.conversation ?? {};
    const owner = conversation.assignee;
    const members = this.record.members ?? [];
    const ownerId = uid("owner");
    const picker = h(d, "select", { id: ownerId, "data-testid": "record-owner-select" });
    const choices = [{ upn: "", label: "Nobody" }];
    const seen = new Set();
    for (const member of members) {
      seen.add(member.upn.toLowerCase());
      const you = member.upn.toLowerCase() === this.me ? " (you)" : "";
      choices.push({ upn: member.upn, label: `${nameOf(member)}${you}` });
    }
    if (owner && !seen.has(owner.upn.toLowerCase()))
      choices.push({ upn: owner.upn, label: nameOf(owner) });
    for (const choice of choices) {
      const option = h(d, "option", { value: choice.upn }, choice.label);
      if ((owner?.upn ?? "").toLowerCase() === choice.upn.toLowerCase()) option.selected = true;
      picker.append(option);
    }
    const assign = this.button("Assign", "record-assign", () => {
      const upn = picker.value || null;
      this.run("assign", { assignee: upn });
    });
    const statusId = uid("status");
    const statusPicker = h(d, "select", { id: statusId, "data-testid": "record-status-select" });
    for (const [value, label] of Object.entries(STATUS_LABELS)) {
      const option = h(d, "option", { value }, label);
      if (conversation.status === value) option.selected = true;
      statusPicker.append(option);
    }
    const setStatus = this.button("Set status", "record-set-status", () =>
      this.run("status", { status: statusPicker.value }),
    );
    if (!this.allowed("assign")) {
      picker.disabled = true;
      assign.disabled = true;
    }
    const ownerText = owner ? nameOf(owner) : "Nobody";
    const summary = h(
      d,
      "p",
      { class: "record-summary", "data-testid": "record-summary" },
      h(d, "span", { "data-testid": "record-owner" }, `Owner: ${ownerText}`),
      " · ",
      h(
        d,
        "span",
        { "data-testid": "record-status", "data-status": conversation.status ?? "open" },
        `Status: ${STATUS_LABELS[conversation.status] ?? "Open"}`,
      ),
    );
    if (this.readOnly) return h(d, "div", { class: "record-state" }, summary);
    return h(
      d,
      "div",
      { class: "record-state" },
      summary,
      h(
        d,
        "div",
        { class: "field field-inline" },
        h(d, "label", { for: ownerId }, "Owner"),
        picker,
        assign,
      ),
      h(
        d,
        "div",
        { class: "field field-inline" },
        h(d, "label", { for: statusId }, "Status"),
        statusPicker,
        setStatus,
      ),
    );
  }

  /** The notes, newest first (one's own with Edit and Delete), and the box to add one. */
  notesPart() {
    const d = this.doc;
    const notes = this.record.notes ?? [];
    const members = new Set((this.record.members ?? []).map((m) => m.upn.toLowerCase()));
    const headingId = uid("notes-heading");
    const list = h(d, "ol", {
      class: "notes",
      "aria-labelledby": headingId,
      "data-testid": "notes",
    });
    for (const note of notes) list.append(this.noteItem(note, members));
    const boxId = uid("note-box");
    const countId = uid("note-count");
    const box = h(d, "textarea", {
      id: boxId,
      rows: "3",
      "aria-describedby": countId,
      "data-testid": "note-text",
    });
    const count = h(d, "p", { class: "hint", id: countId, "aria-live": "polite" });
    const error = h(d, "p", { class: "form-error", role: "alert", hidden: true });
    const recount = () => {
      const used = characters(box.value);
      count.textContent = `${used.toLocaleString("en-US")} of ${NOTE_LIMIT.toLocaleString("en-US")} characters`;
      count.classList.toggle("over", used > NOTE_LIMIT);
    };
    box.addEventListener("input", recount);
    recount();
    const add = this.button("Add note", "note-add", () => {
      const text = box.value;
      if (!text.trim()) return this.showError(error, "Write the note first.");
      if (characters(text) > NOTE_LIMIT)
        return this.showError(
          error,
          `A note has at most ${NOTE_LIMIT.toLocaleString("en-US")} characters.`,
        );
      this.showError(error, null);
      this.run("note", { text });
    });
    const shown = [
      h(d, "h3", { id: headingId, class: "subheading" }, `Notes (${notes.length})`),
      notes.length ? list : h(d, "p", { class: "note" }, "No notes yet."),
    ];
    if (this.readOnly) return h(d, "div", { class: "record-notes" }, ...shown);
    return h(
      d,
      "div",
      { class: "record-notes" },
      ...shown,
      h(
        d,
        "div",
        { class: "field" },
        h(d, "label", { for: boxId }, "Add a note for the team"),
        box,
        count,
        error,
        h(d, "p", {}, add),
      ),
    );
  }

  /**
   * One note: author, time, text; Edit and Delete when it is one's own.
   * @param {RecordNote} note
   * @param {Set<string>} members
   * @returns {HTMLElement}
   */
  noteItem(note, members) {
    const d = this.doc;
    const at = when(note.createdAt);
    const edited = note.editedAt ? " (edited)" : "";
    const text = h(
      d,
      "p",
      { class: "note-text", "data-testid": "note-body" },
      noteNodes(d, note.text, members),
    );
    const item = h(
      d,
      "li",
      { class: "note-item", "data-testid": "note", "data-note-id": note.id },
      h(
        d,
        "p",
        { class: "note-meta" },
        h(d, "strong", {}, nameOf(note.author)),
        " · ",
        h(d, "time", { datetime: at?.iso ?? "" }, at?.text ?? ""),
        edited,
      ),
      text,
    );
    if (note.mine && !this.readOnly) {
      const edit = this.button("Edit", "note-edit", () => this.editNote(item, note), true);
      const remove = this.button(
        "Delete",
        "note-delete",
        () => this.run("deleteNote", { noteId: note.id }),
        true,
      );
      edit.setAttribute("aria-label", `Edit your note of ${at?.text ?? ""}`);
      remove.setAttribute("aria-label", `Delete your note of ${at?.text ?? ""}`);
      item.append(h(d, "p", { class: "note-buttons" }, edit, " ", remove));
    }
    return item;
  }

  /**
   * Turns one's note into a small form: its text, Save and Cancel.
   * @param {HTMLElement} item
   * @param {RecordNote} note
   */
  editNote(item, note) {
    if (this.busy) return;
    const d = this.doc;
    const id = uid("note-edit");
    const box = h(d, "textarea", { id, rows: "3", "data-testid": "note-edit-text" });
    box.value = note.text;
    const error = h(d, "p", { class: "form-error", role: "alert", hidden: true });
    const save = this.button("Save", "note-save", () => {
      if (!box.value.trim() || characters(box.value) > NOTE_LIMIT)
        return this.showError(
          error,
          `A note is 1 to ${NOTE_LIMIT.toLocaleString("en-US")} characters.`,
        );
      this.run("editNote", { noteId: note.id, text: box.value });
    });
    const cancel = this.button(
      "Cancel",
      "note-cancel",
      () => {
        item.replaceWith(
          this.noteItem(note, new Set((this.record.members ?? []).map((m) => m.upn.toLowerCase()))),
        );
      },
      true,
    );
    item.replaceChildren(
      h(d, "label", { for: id }, "Edit your note"),
      box,
      error,
      h(d, "p", { class: "note-buttons" }, save, " ", cancel),
    );
    box.focus();
  }

  /** The timeline, newest first: five, then the rest behind a button. */
  timelinePart() {
    const d = this.doc;
    const events = this.record.timeline ?? [];
    const headingId = uid("timeline-heading");
    const list = h(d, "ol", {
      class: "timeline",
      "aria-labelledby": headingId,
      "data-testid": "timeline",
    });
    const render = () => {
      list.replaceChildren();
      const shown = this.showAll ? events : events.slice(0, TIMELINE_SHOWN);
      for (const event of shown) {
        const at = when(event.at);
        list.append(
          h(
            d,
            "li",
            { "data-testid": "timeline-entry", "data-kind": event.kind },
            h(d, "time", { datetime: at?.iso ?? "" }, at?.text ?? ""),
            " ",
            eventText(event),
          ),
        );
      }
    };
    render();
    const part = h(
      d,
      "div",
      { class: "record-timeline" },
      h(d, "h3", { id: headingId, class: "subheading" }, "What happened"),
      events.length ? list : h(d, "p", { class: "note" }, "Nothing yet."),
    );
    if (events.length > TIMELINE_SHOWN) {
      const more = h(
        d,
        "button",
        {
          type: "button",
          class: "button button-secondary",
          "aria-expanded": "false",
          "data-testid": "timeline-more",
        },
        `Show all ${events.length}`,
      );
      more.addEventListener("click", () => {
        this.showAll = !this.showAll;
        more.setAttribute("aria-expanded", String(this.showAll));
        more.textContent = this.showAll ? "Show the last five" : `Show all ${events.length}`;
        render();
      });
      part.append(h(d, "p", {}, more));
    }
    return part;
  }

  /**
   * A button that runs `onClick` unless the card is busy.
   * @param {string} label
   * @param {string} testid
   * @param {() => void} onClick
   * @param {boolean} [secondary]
   * @returns {HTMLButtonElement}
   */
  button(label, testid, onClick, secondary = false) {
    const button = h(
      this.doc,
      "button",
      {
        type: "button",
        class: secondary ? "button button-secondary" : "button",
        "data-testid": testid,
      },
      label,
    );
    button.addEventListener("click", () => {
      if (!this.busy) onClick();
    });
    return button;
  }

  /**
   * An error line's text (null hides it).
   * @param {HTMLElement} line
   * @param {string | null} text
   */
  showError(line, text) {
    line.textContent = text ?? "";
    line.hidden = !text;
  }

  /**
   * While an action runs the card says so and its buttons do nothing.
   * @param {boolean} busy
   */
  setBusy(busy) {
    this.busy = busy;
    this.element.setAttribute("aria-busy", busy ? "true" : "false");
    for (const button of this.element.querySelectorAll("button")) {
      if (button.disabled) continue;
      if (busy) button.setAttribute("aria-disabled", "true");
      else button.removeAttribute("aria-disabled");
    }
  }

  /**
   * Runs a record action; success re-renders the view (main.js), anything else is said here.
   * @param {string} name
   * @param {Record<string, unknown>} fields
   * @returns {Promise<Outcome>}
   */
  async run(name, fields) {
    if (this.busy) return { kind: "busy" };
    this.noticeSlot.replaceChildren();
    const outcome = await this.handlers.act(name, fields);
    if (outcome.kind === "conflict" || outcome.kind === "problem") {
      const d = this.doc;
      const explained = outcome.explained;
      const box = h(
        d,
        "div",
        {
          class: `notice notice-${outcome.kind}`,
          role: "alert",
          tabindex: "-1",
          "data-testid": "record-notice",
          "data-code": explained?.code ?? null,
        },
        h(
          d,
          "p",
          { class: "notice-text" },
          explained?.message ?? ("message" in outcome ? outcome.message : ""),
        ),
        explained?.requestId
          ? h(d, "p", { class: "small-print" }, `Request id: ${explained.requestId}`)
          : null,
      );
      this.noticeSlot.replaceChildren(box);
      box.focus();
    }
    return outcome;
  }
}
