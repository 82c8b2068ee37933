// The actions card: a button for every action the server sent (allowed ones to press, refused
// ones disabled beside the server's reason), the small forms some of them open (categories, the
// folder picker, a reply, a meeting response), the progress line, and the notice that says how
// the last action went. Text goes in with text nodes only (h), never parsed as HTML.
//
// The four forms share the card's busy state, its notice and its focus handling.

import { buttonsFor, FORMS } from "./actions.js";
import { explain, safeHttpsUrl } from "./api.js";
import { templatePicker, unfilled } from "./templates.js";
import { h } from "./ui.js";

/**
 * @import { ButtonSpec, Outcome, ShownAnswer } from "./actions.js"
 * @import { Explained } from "./api.js"
 * @import { KnownMailbox } from "./context.js"
 * @import { TemplateSource } from "./templates.js"
 * @import { Draft, Folder, Limits } from "./types/contract"
 */

/**
 * What the card's buttons and forms call (main.js's, for the item shown).
 * @typedef {object} CardHandlers
 * @property {(name: string, fields: Record<string, unknown>) => Promise<Outcome>} act
 *   ItemActions.perform, then the view's render of a success
 * @property {() => Promise<Outcome>} check  the pending submission again (Check again)
 * @property {() => Promise<Folder[]>} folders  the mailbox's folders, for the move picker
 * @property {(open: boolean) => void} replying  the reply form opened or closed (presence)
 * @property {() => void} reload  the context call again
 * @property {(url: string) => void} openLink  opens a page outside the add-in
 * @property {TemplateSource | null} [templates]  the mailbox's templates for the reply form
 *   (a shared mailbox's), or none
 */

/**
 * How the last action went, as the card says it: a status, a conflict (with Reload), or a
 * problem (with Check again when the outcome of a send is unknown).
 * @typedef {{kind: "ok", text: string, draft?: Draft | null, explained?: undefined,
 *     reload?: boolean}
 *   | {kind: "conflict", text: string, explained?: Explained, draft?: undefined, reload?: boolean}
 *   | {kind: "problem", explained: Explained, draft?: undefined, reload?: boolean}} Notice
 */

/**
 * A form of the card, with its error line.
 * @typedef {HTMLFormElement & {showError: (text: string | null) => void}} ActionForm
 */

/**
 * Tandem's claim categories ("Tandem: Lee Gu (lee@contoso.com)"): changed by claim and release only.
 * @param {unknown} name
 */
export function isClaimCategory(name) {
  return /^\s*tandem:/i.test(String(name));
}

/**
 * The names typed into the categorize form, one per line: trimmed, without duplicates; or the
 * sentence saying what is wrong with them (the server refuses the same, but later and in its own
 * words).
 * @param {unknown} text
 * @returns {{names: string[], error: string|null}}
 */
export function parseCategoryNames(text) {
  /** @type {string[]} */
  const names = [];
  for (const line of String(text ?? "").split(/\r?\n/)) {
    const name = line.trim();
    if (!name) continue;
    if (name.includes(",")) {
      return {
        names: [],
        error: `“${name}” has a comma: Outlook splits category names at commas. Put each name on its own line.`,
      };
    }
    if (isClaimCategory(name))
      return { names: [], error: "Tandem's claim categories change only with Claim and Release." };
    if (name.length > 255)
      return { names: [], error: "A category name has at most 255 characters." };
    if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name);
  }
  return { names, error: null };
}

/**
 * The addresses of a forward's To line (separated by semicolons, commas or spaces), or why not.
 * @param {unknown} text
 * @returns {{addresses: string[], error: string|null}}
 */
export function parseRecipients(text) {
  const parts = String(text ?? "")
    .split(/[;,\s]+/)
    .map((part) => part.trim())
    .filter(Boolean);
  if (!parts.length) return { addresses: [], error: "Type at least one address to forward to." };
  const bad = parts.find((part) => !/^[^@\s<>()]+@[^@\s<>()]+\.[^@\s<>()]+$/.test(part));
  if (bad) return { addresses: [], error: `“${bad}” isn't an email address.` };
  /** @type {string[]} */
  const addresses = [];
  for (const part of parts)
    if (!addresses.some((a) => a.toLowerCase() === part.toLowerCase())) addresses.push(part);
  if (addresses.length > 50) return { addresses: [], error: "Forward to at most 50 addresses." };
  return { addresses, error: null };
}

/** The longest comment the server takes when it doesn't say (mail/fields.py's MAX_COMMENT). */
export const COMMENT_LIMIT = 32000;

/**
 * A reply's comment limit, as the server's context answer says it.
 * @param {{limits?: Limits} | null | undefined} answer
 */
export function commentLimit(answer) {
  const limit = Number(answer?.limits?.commentCharacters);
  return Number.isInteger(limit) && limit > 0 ? limit : COMMENT_LIMIT;
}

/**
 * Characters as the server counts them: code points (an emoji is one, not two).
 * @param {unknown} text
 */
export function characters(text) {
  return [...String(text ?? "")].length;
}

/**
 * Form headings, by action.
 * @type {Readonly<Record<string, string>>}
 */
const FORM_TITLES = Object.freeze({
  categorize: "Categorize",
  move: "Move to another folder",
  reply: "Reply",
  replyAll: "Reply all",
  forward: "Forward",
  respond: "Respond to the invitation",
});

/** The actions that stand out among the buttons: taking the item on. */
const PRIMARY = new Set(["claim", "respond"]);

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
 * The actions card of one shown item.
 * handlers: act(name, fields) → Promise<outcome> (actions.js's ItemActions.perform), folders()
 * → Promise<folder[]>, replying(open), reload(), openLink(url).
 */
export class ActionsCard {
  /**
   * @param {Document} doc
   * @param {{ctx: KnownMailbox, answer: ShownAnswer, handlers: CardHandlers,
   *   notice?: Notice | null}} options
   */
  constructor(doc, { ctx, answer, handlers, notice = null }) {
    const d = doc;
    this.doc = doc;
    this.ctx = ctx;
    this.answer = answer;
    this.handlers = handlers;
    this.busy = false;
    /** @type {string | null} the action whose form is open */
    this.openName = null;
    /** @type {HTMLButtonElement | null} the button that opened it */
    this.opener = null;
    this.noticeSlot = h(d, "div", { class: "notice-slot", "data-testid": "action-notice-slot" });
    this.progressText = h(d, "span", { class: "progress-text" });
    this.progressLine = h(
      d,
      "p",
      { class: "spinner-line progress", "data-testid": "action-progress", hidden: true },
      h(d, "span", { class: "spinner", "aria-hidden": "true" }),
      this.progressText,
    );
    this.formSlot = h(d, "div", { class: "form-slot", "data-testid": "action-form-slot" });
    /** @type {Map<string, HTMLButtonElement>} the allowed actions' buttons, by key */
    this.buttons = new Map();
    this.element = this.build();
    if (notice) this.notice(notice);
  }

  /** Builds the section: notice, allowed buttons, progress line, form slot, refused buttons. */
  build() {
    const d = this.doc;
    const headingId = uid("actions-heading");
    /** @type {HTMLLIElement[]} */
    const allowed = [];
    /** @type {HTMLLIElement[]} */
    const refused = [];
    for (const spec of buttonsFor(this.answer.item, this.answer.actions)) {
      (spec.allowed ? allowed : refused).push(this.row(spec));
    }
    /** @type {HTMLElement[]} */
    const children = [h(d, "h2", { id: headingId }, "What you can do here"), this.noticeSlot];
    if (this.answer.refreshProblem) {
      children.push(
        h(
          d,
          "p",
          { class: "note", "data-testid": "actions-unknown" },
          "Tandem couldn't check what you can do with the item now. Choose Reload to ask again.",
        ),
        this.reloadButton(),
      );
    } else if (allowed.length) {
      children.push(h(d, "ul", { class: "action-buttons", "aria-label": "Actions" }, allowed));
    } else {
      children.push(h(d, "p", { class: "note" }, "Nothing here is open to you on this item."));
    }
    children.push(this.progressLine, this.formSlot);
    if (refused.length) {
      const refusedId = uid("refused-heading");
      children.push(
        h(d, "h3", { id: refusedId, class: "subheading" }, "Not available to you"),
        h(d, "ul", { class: "refused-list", "aria-labelledby": refusedId }, refused),
      );
    }
    children.push(
      h(d, "p", { class: "small-print" }, "From your permissions; Exchange has the final say."),
    );
    return h(
      d,
      "section",
      { class: "card card-actions", "aria-labelledby": headingId, "data-testid": "actions" },
      children,
    );
  }

  /**
   * One action's list entry: its button and, when refused, the server's reason.
   * @param {ButtonSpec} spec
   */
  row(spec) {
    const d = this.doc;
    const reasonId = spec.reason ? uid("reason") : null;
    const button = h(
      d,
      "button",
      {
        type: "button",
        class: `button button-action${spec.allowed && PRIMARY.has(spec.name) ? " button-primary" : ""}`,
        "data-testid": `action-${spec.key}`,
        "data-action": spec.name,
        "aria-describedby": reasonId,
        "aria-haspopup": spec.form ? "true" : null,
        "aria-expanded": spec.form && spec.allowed ? "false" : null,
      },
      spec.label,
    );
    button.disabled = !spec.allowed;
    if (spec.allowed) {
      button.addEventListener("click", () => {
        if (this.busy) return;
        if (spec.form) this.toggleForm(spec.name, button);
        else this.run(spec.name, spec.fields ?? {});
      });
      this.buttons.set(spec.key, button);
    }
    return h(
      d,
      "li",
      {
        class: spec.allowed ? "allowed" : "not-allowed",
        "data-action": spec.name,
        "data-key": spec.key,
        "data-allowed": String(spec.allowed),
      },
      button,
      spec.reason ? h(d, "span", { class: "reason", id: reasonId }, spec.reason) : null,
    );
  }

  /** A Reload button: the context call again, for the item at its current id. */
  reloadButton() {
    const button = h(
      this.doc,
      "button",
      { type: "button", class: "button button-secondary", "data-testid": "reload" },
      "Reload",
    );
    button.addEventListener("click", () => this.handlers.reload());
    return button;
  }

  /** Every button the card has now (forms included): the ones busy marks. */
  allButtons() {
    return [...this.element.querySelectorAll("button")];
  }

  /**
   * While an action runs every button says so (aria-disabled keeps focus where it is; clicks are
   * ignored) and the card is aria-busy.
   * @param {boolean} busy
   */
  setBusy(busy) {
    this.busy = busy;
    this.element.setAttribute("aria-busy", busy ? "true" : "false");
    for (const button of this.allButtons()) {
      if (button.disabled) continue;
      if (busy) button.setAttribute("aria-disabled", "true");
      else button.removeAttribute("aria-disabled");
    }
  }

  /**
   * Shows (text) or hides (null) the progress line.
   * @param {string | null} text
   */
  progress(text) {
    this.progressText.textContent = text ?? "";
    this.progressLine.hidden = !text;
  }

  /**
   * Shows how the last action went: {kind: "ok", text, draft?} (a status, focused after the
   * re-render), {kind: "conflict", text} (an alert with Reload), {kind: "problem", explained}.
   * @param {Notice} notice
   */
  notice(notice) {
    const d = this.doc;
    const children = [];
    let role = "status";
    let kind = notice.kind;
    if (notice.kind === "problem") {
      role = "alert";
      children.push(
        h(d, "p", { class: "notice-text", "data-testid": "notice-text" }, notice.explained.message),
      );
      if (notice.explained.check) {
        // Never "Try again" here: the same submission asks the server to look first.
        const check = h(
          d,
          "button",
          { type: "button", class: "button", "data-testid": "check-again", "data-focus": true },
          "Check again",
        );
        check.addEventListener("click", () => {
          if (!this.busy) this.check();
        });
        children.push(h(d, "p", {}, check));
      }
      if (notice.explained.requestId)
        children.push(
          h(
            d,
            "p",
            { class: "small-print", "data-testid": "notice-request-id" },
            `Request id: ${notice.explained.requestId}`,
          ),
        );
    } else {
      if (kind === "conflict") role = "alert";
      else kind = "ok";
      children.push(h(d, "p", { class: "notice-text", "data-testid": "notice-text" }, notice.text));
    }
    const link = notice.draft ? safeHttpsUrl(notice.draft.webLink) : null;
    if (link) {
      const open = h(
        d,
        "button",
        { type: "button", class: "button button-secondary", "data-testid": "open-draft" },
        "Open the draft in Outlook",
      );
      open.addEventListener("click", () => this.handlers.openLink(link));
      children.push(h(d, "p", {}, open));
    }
    if (kind === "conflict" || notice.reload) children.push(h(d, "p", {}, this.reloadButton()));
    const box = h(
      d,
      "div",
      {
        class: `notice notice-${kind}`,
        role,
        "data-testid": "action-notice",
        "data-kind": kind,
        "data-code": notice.explained?.code ?? null,
        tabindex: "-1",
        "data-focus": kind === "ok" ? true : null,
      },
      children,
    );
    this.noticeSlot.replaceChildren(box);
    return box;
  }

  /** Clears the notice (a new action starts). */
  clearNotice() {
    this.noticeSlot.replaceChildren();
  }

  /**
   * Runs one action through the handlers; a problem or conflict is shown in the card and the
   * open form stays (with what was typed); success re-renders the whole view (main.js).
   * Answers the outcome.
   * @param {string} name
   * @param {Record<string, unknown>} fields
   * @returns {Promise<Outcome>}
   */
  async run(name, fields) {
    if (this.busy) return { kind: "busy" };
    this.clearNotice();
    return this.shown(await this.handlers.act(name, fields));
  }

  /**
   * Asks again about the submission whose outcome is unknown (its key: nothing sent twice).
   * @returns {Promise<Outcome>}
   */
  async check() {
    if (this.busy) return { kind: "busy" };
    this.clearNotice();
    return this.shown(await this.handlers.check());
  }

  /**
   * Shows an outcome that didn't re-render the view. An unknown send closes its form: what was
   * typed is in the draft Exchange holds, and a changed text would be a second message.
   * @param {Outcome} outcome
   */
  shown(outcome) {
    if (outcome.kind === "problem" && outcome.explained?.check) this.closeForm();
    if (outcome.kind === "conflict") {
      this.notice({ kind: "conflict", text: outcome.message, explained: outcome.explained });
    } else if (outcome.kind === "problem") {
      const box = this.notice({ kind: "problem", explained: outcome.explained });
      // The form that held the focus is gone: the focus goes to what to do next.
      if (outcome.explained?.check)
        /** @type {HTMLElement | null} */ (box.querySelector("[data-testid=check-again]"))?.focus();
    } else if (outcome.kind === "busy") {
      this.notice({ kind: "ok", text: "Another action is still running. Try again in a moment." });
    }
    return outcome;
  }

  /**
   * Opens the action's form (closing another), or closes it when it is the one open.
   * @param {string} name
   * @param {HTMLButtonElement} button
   */
  toggleForm(name, button) {
    if (this.openName === name) {
      this.closeForm();
      button.focus();
      return;
    }
    this.closeForm();
    const build = {
      categorize: () => this.categorizeForm(),
      move: () => this.moveForm(),
      reply: () => this.replyForm(name),
      respond: () => this.respondForm(),
    }[FORMS[name]];
    const form = build();
    this.openName = name;
    this.opener = button;
    button.setAttribute("aria-expanded", "true");
    this.formSlot.replaceChildren(form);
    if (FORMS[name] === "reply") this.handlers.replying(true);
    /** @type {HTMLElement | null} */ (form.querySelector("[data-first]"))?.focus();
  }

  /** Closes the open form (Cancel, Escape, or another form opening). */
  closeForm() {
    if (!this.openName) return;
    if (FORMS[this.openName] === "reply") this.handlers.replying(false);
    this.opener?.setAttribute("aria-expanded", "false");
    this.openName = null;
    this.formSlot.replaceChildren();
  }

  /**
   * The frame of every form: heading, fields, an error line, the buttons, Escape to cancel.
   * @param {string} name
   * @param {(HTMLElement | null)[]} fields
   * @param {[string, string, () => void][]} submits  label, test id and what it does; the
   *   first is the form's submit
   * @returns {ActionForm}
   */
  form(name, fields, submits) {
    const d = this.doc;
    const headingId = uid("form-heading");
    const error = h(d, "p", {
      class: "form-error",
      role: "alert",
      "data-testid": "form-error",
      hidden: true,
    });
    const cancel = h(
      d,
      "button",
      { type: "button", class: "button button-secondary", "data-testid": "form-cancel" },
      "Cancel",
    );
    const buttons = submits.map(([label, testid, onClick], n) => {
      const button = h(
        d,
        "button",
        {
          type: n === 0 ? "submit" : "button",
          class: n === 0 ? "button" : "button button-secondary",
          "data-testid": testid,
        },
        label,
      );
      if (n > 0)
        button.addEventListener("click", () => {
          if (!this.busy) onClick();
        });
      return button;
    });
    const form = Object.assign(
      h(
        d,
        "form",
        {
          class: "action-form",
          "aria-labelledby": headingId,
          "data-testid": `form-${name}`,
          "data-action": name,
          novalidate: true,
        },
        h(d, "h3", { id: headingId, class: "subheading" }, FORM_TITLES[name] ?? name),
        fields,
        error,
        h(d, "div", { class: "form-buttons" }, buttons, cancel),
      ),
      {
        /** @param {string | null} text  the error line's words (null hides it) */
        showError: (text) => {
          error.textContent = text ?? "";
          error.hidden = !text;
        },
      },
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!this.busy) submits[0][2]();
    });
    cancel.addEventListener("click", () => {
      if (this.busy) return;
      const opener = this.opener;
      this.closeForm();
      opener?.focus();
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.busy) {
        event.preventDefault();
        cancel.click();
      }
    });
    return form;
  }

  /** Categories: the item's own to remove (claims listed but locked), new ones to add. */
  categorizeForm() {
    const d = this.doc;
    const categories = this.answer.item?.categories ?? [];
    const claims = categories.filter(isClaimCategory);
    const removable = categories.filter((c) => !isClaimCategory(c));
    const boxes = removable.map((name) => {
      const id = uid("category");
      return h(
        d,
        "div",
        { class: "check" },
        h(d, "input", { type: "checkbox", id, value: name, "data-testid": "category-remove" }),
        h(d, "label", { for: id }, `Remove “${name}”`),
      );
    });
    const addId = uid("category-add");
    const hintId = uid("category-hint");
    const add = h(d, "textarea", {
      id: addId,
      rows: "2",
      "aria-describedby": hintId,
      "data-testid": "category-add",
      "data-first": removable.length ? null : true,
    });
    if (boxes.length) boxes[0].querySelector("input")?.setAttribute("data-first", "");
    const fields = [
      boxes.length
        ? h(d, "fieldset", { class: "field" }, h(d, "legend", {}, "The item's categories"), boxes)
        : h(d, "p", { class: "note" }, "The item has no categories of its own yet."),
      claims.length
        ? h(
            d,
            "p",
            { class: "note", "data-testid": "claim-categories" },
            `Tandem's claim (${claims.join("; ")}) stays: it changes only with Claim and Release.`,
          )
        : null,
      h(
        d,
        "div",
        { class: "field" },
        h(d, "label", { for: addId }, "Categories to add"),
        add,
        h(
          d,
          "p",
          { class: "hint", id: hintId },
          "One name per line, without commas (Outlook splits names at commas).",
        ),
      ),
    ];
    const form = this.form("categorize", fields, [
      [
        "Save categories",
        "form-submit",
        () => {
          const parsed = parseCategoryNames(add.value);
          if (parsed.error) return form.showError(parsed.error);
          /** @type {NodeListOf<HTMLInputElement>} */
          const checked = form.querySelectorAll("[data-testid=category-remove]:checked");
          const remove = [...checked].map((box) => box.value);
          if (!parsed.names.length && !remove.length)
            return form.showError("Choose a category to remove, or type one to add.");
          form.showError(null);
          this.run("categorize", { add: parsed.names, remove });
        },
      ],
    ]);
    return form;
  }

  /** The folder picker, filled from POST /api/mailbox/folders; the item's own folder is marked. */
  moveForm() {
    const d = this.doc;
    const selectId = uid("folder");
    const select = h(
      d,
      "select",
      { id: selectId, "data-testid": "folder-picker", "data-first": true, disabled: true },
      h(d, "option", { value: "" }, "Loading the folders…"),
    );
    const mailbox = this.answer.mailbox?.address ?? this.ctx.mailbox;
    const fields = [
      h(
        d,
        "div",
        { class: "field" },
        h(d, "label", { for: selectId }, `Folder of ${mailbox}`),
        select,
      ),
    ];
    const form = this.form("move", fields, [
      [
        "Move",
        "form-submit",
        () => {
          if (!select.value) return form.showError("Choose the folder to move the item to.");
          form.showError(null);
          this.run("move", { folder: select.value });
        },
      ],
    ]);
    const here = this.answer.item?.folderId ?? null;
    this.handlers.folders().then(
      (folders) => {
        const options = [h(d, "option", { value: "" }, "Choose a folder")];
        for (const folder of folders) {
          const current = folder.id === here;
          options.push(
            h(
              d,
              "option",
              { value: folder.id, disabled: current, "data-path": folder.path },
              current ? `${folder.path} (it is here)` : folder.path,
            ),
          );
        }
        select.replaceChildren(...options);
        select.disabled = false;
        if (form.contains(d.activeElement) || d.activeElement === d.body) select.focus();
        form.dataset.loaded = "true";
      },
      (error) => {
        select.replaceChildren(h(d, "option", { value: "" }, "No folders"));
        form.showError(explain(error).message);
      },
    );
    return form;
  }

  /**
   * Reply, reply all or forward: recipients (forward), a comment, Send now or Save as draft.
   * @param {string} name
   */
  replyForm(name) {
    const d = this.doc;
    const mailbox = this.answer.mailbox?.address ?? this.ctx.mailbox;
    const commentId = uid("comment");
    const comment = h(d, "textarea", {
      id: commentId,
      rows: "5",
      "data-testid": "reply-comment",
      "data-first": name === "forward" ? null : true,
    });
    /** @type {HTMLInputElement | null} */
    let to = null;
    /** @type {HTMLElement[]} */
    const fields = [
      h(
        d,
        "p",
        { class: "note" },
        `It goes out from ${mailbox}, with your own rights on it; Tandem says afterwards as whom it was sent and where the copy is.`,
      ),
    ];
    if (name === "forward") {
      const toId = uid("to");
      const hintId = uid("to-hint");
      to = h(d, "input", {
        id: toId,
        type: "text",
        autocomplete: "email",
        "aria-describedby": hintId,
        "data-testid": "forward-to",
        "data-first": true,
      });
      fields.push(
        h(
          d,
          "div",
          { class: "field" },
          h(d, "label", { for: toId }, "To"),
          to,
          h(d, "p", { class: "hint", id: hintId }, "Email addresses, separated by semicolons."),
        ),
      );
    }
    const limit = commentLimit(this.answer);
    const countId = uid("comment-count");
    const count = h(d, "p", {
      class: "hint",
      id: countId,
      "data-testid": "comment-count",
      "aria-live": "polite",
    });
    comment.setAttribute("aria-describedby", countId);
    const recount = () => {
      const used = characters(comment.value);
      count.textContent = `${used.toLocaleString("en-US")} of ${limit.toLocaleString("en-US")} characters`;
      count.classList.toggle("over", used > limit);
    };
    comment.addEventListener("input", recount);
    recount();
    if (this.handlers.templates && name !== "forward")
      fields.push(templatePicker(d, comment, this.handlers.templates));
    fields.push(
      h(
        d,
        "div",
        { class: "field" },
        h(d, "label", { for: commentId }, "Your message"),
        comment,
        count,
      ),
    );
    /** @param {boolean} send */
    const submit = (send) => {
      if (characters(comment.value) > limit)
        return form.showError(
          `Your message is longer than the ${limit.toLocaleString("en-US")} characters a reply may have: shorten it, then send.`,
        );
      const left = this.handlers.templates ? unfilled(comment.value) : [];
      if (send && left.length)
        return form.showError(
          `Your message still holds ${left.map((p) => `{{${p}}}`).join(", ")}: replace it with the words you mean, then send.`,
        );
      /** @type {Record<string, unknown>} */
      const body = { comment: comment.value, send };
      if (to) {
        const parsed = parseRecipients(to.value);
        if (parsed.error) return form.showError(parsed.error);
        body.toRecipients = parsed.addresses;
      }
      form.showError(null);
      this.run(name, body);
    };
    const form = this.form(name, fields, [
      ["Send now", "form-send", () => submit(true)],
      ["Save as draft", "form-draft", () => submit(false)],
    ]);
    return form;
  }

  /** A meeting response: accept, tentative or decline, a comment, and whether to send it. */
  respondForm() {
    const d = this.doc;
    const name = uid("response");
    const choices = [
      ["accept", "Accept"],
      ["tentativelyAccept", "Tentative"],
      ["decline", "Decline"],
    ].map(([value, label], n) => {
      const id = `${name}-${value}`;
      return h(
        d,
        "div",
        { class: "check" },
        h(d, "input", {
          type: "radio",
          name,
          id,
          value,
          checked: n === 0,
          "data-testid": `respond-${value}`,
          "data-first": n === 0 ? true : null,
        }),
        h(d, "label", { for: id }, label),
      );
    });
    const commentId = uid("comment");
    const comment = h(d, "textarea", {
      id: commentId,
      rows: "3",
      "data-testid": "respond-comment",
    });
    const sendId = uid("send-response");
    const sendBox = h(d, "input", {
      type: "checkbox",
      id: sendId,
      checked: true,
      "data-testid": "respond-send",
    });
    const fields = [
      h(d, "fieldset", { class: "field" }, h(d, "legend", {}, "Your response"), choices),
      h(
        d,
        "div",
        { class: "field" },
        h(d, "label", { for: commentId }, "Comment (optional)"),
        comment,
      ),
      h(
        d,
        "div",
        { class: "check" },
        sendBox,
        h(d, "label", { for: sendId }, "Send the response to the organizer"),
      ),
    ];
    const form = this.form("respond", fields, [
      [
        "Respond",
        "form-submit",
        () => {
          /** @type {HTMLInputElement | null} */
          const picked = form.querySelector(`input[name="${name}"]:checked`);
          this.run("respond", {
            response: picked?.value ?? "accept",
            comment: comment.value,
            sendResponse: sendBox.checked,
          });
        },
      ],
    ]);
    return form;
  }
}
