// The mailbox's reply templates: in the reply form, a picker that fills a template's
// placeholders ({{customer.firstName}}, {{me.name}}, ...) from the item and the signed-in person
// and puts the text where the cursor is (a placeholder Tandem can't fill stays in the text, and
// the form won't send until it is replaced); in the team card, the tab where any member
// creates, edits and deletes them.

import { postDeleteTemplate, postSaveTemplate, postTemplates } from "./api.js";
import { failed, fill, loadingLine, saveProblem, uid } from "./panel.js";
import { h } from "./ui.js";

/**
 * @import { PanelHost } from "./panel.js"
 * @import { Address, Template, Upn } from "./types/contract"
 */

/** The templates are listed again after this long (the reply form and the tab share them). */
export const TEMPLATES_TTL_MS = 60_000;

/**
 * What a template's placeholders are filled with (null: unknown, left in the text).
 * @typedef {Record<string, string | null>} TemplateValues
 */

/**
 * What the reply form's picker asks main.js for.
 * @typedef {object} TemplateSource
 * @property {() => Promise<Template[]>} load  the mailbox's templates (cached a minute)
 * @property {() => TemplateValues} values  the placeholders' values for the item shown
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z.]+)\s*\}\}/g;

/**
 * A person's first name from how Exchange shows them: "Lee Gu" -> "Lee", "Gu, Lee" -> "Lee";
 * null when the name is only an address or empty.
 * @param {string | null | undefined} name
 */
export function firstName(name) {
  const text = String(name ?? "").trim();
  if (!text || text.includes("@")) return null;
  const comma = text.indexOf(",");
  const given = comma > 0 ? text.slice(comma + 1).trim() : text;
  return given.split(/\s+/)[0] || null;
}

/**
 * A person's full name, null when Exchange knows only their address.
 * @param {string | null | undefined} name
 */
function fullName(name) {
  const text = String(name ?? "").trim();
  return text && !text.includes("@") ? text : null;
}

/**
 * The placeholders' values for a reply to `customer` written by `me` from `mailbox`.
 * @param {{customer?: Partial<Address> | null, me?: Partial<Upn> | null, mailboxName?: string | null}} about
 * @returns {TemplateValues}
 */
export function templateValues({ customer = null, me = null, mailboxName = null }) {
  return {
    "customer.name": fullName(customer?.name),
    "customer.firstName": firstName(customer?.name),
    "me.name": fullName(me?.name),
    "me.firstName": firstName(me?.name),
    "mailbox.name": String(mailboxName ?? "").trim() || null,
  };
}

/**
 * A template's text with its placeholders filled; `missing` lists those left in (unknown value
 * or unknown name), each once, in the order they appear.
 * @param {string} text
 * @param {TemplateValues} values
 * @returns {{text: string, missing: string[]}}
 */
export function fillTemplate(text, values) {
  /** @type {string[]} */
  const missing = [];
  const filled = String(text ?? "").replace(PLACEHOLDER, (whole, name) => {
    const value = Object.hasOwn(values, name) ? values[name] : null;
    if (value) return value;
    if (!missing.includes(name)) missing.push(name);
    return whole;
  });
  return { text: filled, missing };
}

/**
 * The placeholders still in a message ({{...}}), each once.
 * @param {string} text
 */
export function unfilled(text) {
  return [...new Set([...String(text ?? "").matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

/**
 * What a placeholder is, in words.
 * @type {Readonly<Record<string, string>>}
 */
export const PLACEHOLDER_WORDS = Object.freeze({
  "customer.name": "the customer's name",
  "customer.firstName": "the customer's first name",
  "me.name": "your name",
  "me.firstName": "your first name",
  "mailbox.name": "the mailbox's name",
});

/**
 * Puts `text` into a textarea where its cursor is (replacing the selection), says so to the
 * form's character count (an input event), and leaves the cursor after it.
 * @param {HTMLTextAreaElement} area
 * @param {string} text
 */
export function insertAtCursor(area, text) {
  const start = area.selectionStart ?? area.value.length;
  const end = area.selectionEnd ?? start;
  area.value = area.value.slice(0, start) + text + area.value.slice(end);
  const after = start + text.length;
  area.setSelectionRange(after, after);
  area.dispatchEvent(new Event("input", { bubbles: true }));
}

/**
 * The reply form's template row: a picker (loaded when the form opens) and Insert, with a line
 * saying what was inserted and which placeholders are still to be replaced.
 * @param {Document} d
 * @param {HTMLTextAreaElement} area  the message box the text goes into
 * @param {TemplateSource} source
 * @returns {HTMLElement}
 */
export function templatePicker(d, area, source) {
  const pickerId = uid("template");
  const picker = /** @type {HTMLSelectElement} */ (
    h(d, "select", { id: pickerId, "data-testid": "template-select", disabled: true })
  );
  picker.append(h(d, "option", { value: "" }, "Loading templates…"));
  const said = h(d, "p", { class: "hint", "aria-live": "polite", "data-testid": "template-said" });
  const insert = /** @type {HTMLButtonElement} */ (
    h(
      d,
      "button",
      {
        type: "button",
        class: "button button-secondary",
        "data-testid": "template-insert",
        disabled: true,
      },
      "Insert",
    )
  );
  /** @type {Template[]} */
  let templates = [];
  source.load().then(
    (found) => {
      templates = found;
      picker.replaceChildren(
        h(d, "option", { value: "" }, found.length ? "Choose a template…" : "No templates yet"),
        ...found.map((t) => h(d, "option", { value: t.id }, t.name)),
      );
      picker.disabled = found.length === 0;
      insert.disabled = found.length === 0;
      if (!found.length) said.textContent = "Add the team's templates under Team ▸ Templates.";
    },
    () => {
      picker.replaceChildren(h(d, "option", { value: "" }, "Templates didn't load"));
      said.textContent = "Tandem couldn't load the templates; write your message yourself.";
    },
  );
  insert.addEventListener("click", () => {
    const chosen = templates.find((t) => t.id === picker.value);
    if (!chosen) {
      said.textContent = "Choose a template first.";
      return;
    }
    const { text, missing } = fillTemplate(chosen.body, source.values());
    insertAtCursor(area, text);
    area.focus();
    said.textContent = missing.length
      ? `Inserted “${chosen.name}”. Replace ${missing.map((m) => `{{${m}}}`).join(", ")} before sending: Tandem doesn't know ${missing.map((m) => PLACEHOLDER_WORDS[m] ?? m).join(" or ")}.`
      : `Inserted “${chosen.name}”.`;
  });
  return h(
    d,
    "div",
    { class: "field field-inline template-row", "data-testid": "template-row" },
    h(d, "label", { for: pickerId }, "Template"),
    picker,
    insert,
    said,
  );
}

/** The Templates tab: the mailbox's templates, each with Edit and Delete, and New template. */
export class TemplatesPanel {
  /**
   * @param {PanelHost} host
   * @param {HTMLElement} panel
   */
  constructor(host, panel) {
    this.host = host;
    this.panel = panel;
    /** @type {Template[] | null} the templates as last listed */
    this.templates = null;
    this.templatesAt = 0;
  }
  // -- templates -------------------------------------------------------------------------------
  /**
   * The mailbox's templates, listed at most once a minute (the reply form asks too).
   * @param {boolean} [fresh]
   * @returns {Promise<Template[]>}
   */
  async load(fresh = false) {
    if (!fresh && this.templates && this.host.now() - this.templatesAt < TEMPLATES_TTL_MS)
      return this.templates;
    const answer = await postTemplates(this.host.ctx, this.host.seams);
    this.templates = answer.templates;
    this.templatesAt = this.host.now();
    return this.templates;
  }

  /**
   * The templates panel: each with Edit and Delete, and New template.
   * @param {string | null} [said]  what the last change did
   */
  async show(said = null) {
    const panel = this.panel;
    if (!this.templates) panel.replaceChildren(loadingLine(this.host.doc, "Loading templates…"));
    /** @type {Template[]} */
    let found;
    try {
      found = await this.load(said !== null);
    } catch (error) {
      failed(this.host.doc, panel, error, () => this.show());
      return;
    }
    const d = this.host.doc;
    const list = h(d, "ul", { class: "template-list", "data-testid": "template-list" });
    for (const template of found) {
      const edit = h(
        d,
        "button",
        { type: "button", class: "button button-secondary", "data-testid": "template-edit" },
        "Edit",
      );
      edit.addEventListener("click", () => panel.replaceChildren(this.templateForm(template)));
      const remove = h(
        d,
        "button",
        { type: "button", class: "button button-secondary", "data-testid": "template-delete" },
        "Delete",
      );
      remove.addEventListener("click", () => this.confirmDelete(item, template));
      const by = template.updatedBy?.name ? `Last changed by ${template.updatedBy.name}` : "";
      const item = h(
        d,
        "li",
        { class: "template", "data-testid": "template", "data-name": template.name },
        h(d, "p", { class: "template-name" }, template.name),
        h(d, "p", { class: "template-body" }, template.body),
        by ? h(d, "p", { class: "small-print" }, by) : null,
        h(d, "div", { class: "form-buttons" }, edit, remove),
      );
      list.append(item);
    }
    const add = h(
      d,
      "button",
      { type: "button", class: "button", "data-testid": "template-new" },
      "New template",
    );
    add.addEventListener("click", () => panel.replaceChildren(this.templateForm(null)));
    fill(
      panel,
      said
        ? h(
            d,
            "p",
            { class: "notice notice-ok", role: "status", "data-testid": "template-said" },
            said,
          )
        : null,
      found.length
        ? list
        : h(d, "p", { class: "note" }, "No templates yet: the team's canned replies go here."),
      add,
      h(
        d,
        "p",
        { class: "small-print" },
        "Every member of the mailbox sees and may change these. Insert one from a reply's form.",
      ),
    );
  }

  /**
   * Asks before deleting a template (inline: Delete it / Keep it).
   * @param {HTMLElement} item
   * @param {Template} template
   */
  confirmDelete(item, template) {
    const d = this.host.doc;
    const yes = h(
      d,
      "button",
      { type: "button", class: "button", "data-testid": "template-delete-yes" },
      "Delete it",
    );
    const no = h(
      d,
      "button",
      { type: "button", class: "button button-secondary", "data-testid": "template-delete-no" },
      "Keep it",
    );
    const ask = h(
      d,
      "div",
      { class: "notice notice-conflict", role: "alert" },
      h(d, "p", { class: "notice-text" }, `Delete “${template.name}” for the whole team?`),
      h(d, "div", { class: "form-buttons" }, yes, no),
    );
    yes.addEventListener("click", async () => {
      try {
        await postDeleteTemplate(this.host.ctx, template.id, this.host.seams);
        await this.show(`Deleted “${template.name}”.`);
      } catch (error) {
        failed(this.host.doc, this.panel, error, () => this.show());
      }
    });
    no.addEventListener("click", () => {
      ask.remove();
    });
    item.append(ask);
    yes.focus();
  }

  /**
   * A template's form: its name, its text with the placeholders to insert, Save and Cancel.
   * @param {Template | null} template  null for a new one
   */
  templateForm(template) {
    const d = this.host.doc;
    const nameId = uid("template-name");
    const bodyId = uid("template-body");
    const name = /** @type {HTMLInputElement} */ (
      h(d, "input", {
        id: nameId,
        type: "text",
        maxlength: "100",
        "data-testid": "template-name",
        value: template?.name ?? "",
      })
    );
    const body = /** @type {HTMLTextAreaElement} */ (
      h(d, "textarea", { id: bodyId, rows: "6", "data-testid": "template-body" })
    );
    body.value = template?.body ?? "";
    const error = h(d, "p", { class: "form-error", role: "alert", hidden: true });
    const chips = h(d, "div", {
      class: "placeholders",
      role: "group",
      "aria-label": "Insert a placeholder",
    });
    for (const [key, words] of Object.entries(PLACEHOLDER_WORDS)) {
      const chip = h(
        d,
        "button",
        { type: "button", class: "chip", title: words, "data-placeholder": key },
        `{{${key}}}`,
      );
      chip.addEventListener("click", () => {
        const at = body.selectionStart ?? body.value.length;
        const end = body.selectionEnd ?? at;
        const text = `{{${key}}}`;
        body.value = body.value.slice(0, at) + text + body.value.slice(end);
        body.setSelectionRange(at + text.length, at + text.length);
        body.focus();
      });
      chips.append(chip);
    }
    const save = h(
      d,
      "button",
      { type: "button", class: "button", "data-testid": "template-save" },
      "Save",
    );
    const cancel = h(
      d,
      "button",
      { type: "button", class: "button button-secondary", "data-testid": "template-cancel" },
      "Cancel",
    );
    cancel.addEventListener("click", () => this.show());
    save.addEventListener("click", async () => {
      if (!name.value.trim() || !body.value.trim()) {
        error.textContent = "A template needs a name and a text.";
        error.hidden = false;
        (name.value.trim() ? body : name).focus();
        return;
      }
      save.setAttribute("aria-disabled", "true");
      try {
        const saved = await postSaveTemplate(
          this.host.ctx,
          { id: template?.id ?? null, name: name.value, body: body.value },
          this.host.seams,
        );
        await this.show(`Saved “${saved.name}” for the team.`);
      } catch (failure) {
        save.removeAttribute("aria-disabled");
        error.textContent = saveProblem(failure);
        error.hidden = false;
      }
    });
    const heading = h(
      d,
      "h3",
      { class: "subheading", tabindex: "-1", "data-focus": true },
      template ? `Edit “${template.name}”` : "New template",
    );
    const form = h(
      d,
      "div",
      { class: "action-form", "data-testid": "template-form" },
      heading,
      h(d, "div", { class: "field" }, h(d, "label", { for: nameId }, "Name"), name),
      h(
        d,
        "div",
        { class: "field" },
        h(d, "label", { for: bodyId }, "Text"),
        body,
        h(
          d,
          "p",
          { class: "hint" },
          "Placeholders are filled from the item and from you when the template is inserted:",
        ),
        chips,
      ),
      error,
      h(d, "div", { class: "form-buttons" }, save, cancel),
    );
    queueMicrotask(() => heading.focus());
    return form;
  }
}
