// Replying in Outlook itself, as the pane shows it. In read mode: the Reply in Outlook card,
// whose buttons open Outlook's own reply form with a starting text (main.js takes the
// conversation first when nobody holds it). In compose mode (the pane beside a draft): the
// mailbox it is sent from, the conversation's record (read only), who else is on the
// conversation, and a text inserted at the cursor; the pane says "replying" while the draft
// is open. The Office calls are compose.js's.
//
// Both text boxes have the mailbox's templates above them (templates.js's picker): in read mode
// from the team card's list, beside a draft from the draft's mailbox, filled from the draft's
// To (the customer), its From (the mailbox's name) and the signed-in person.

import { ApiProblem, explain, goneNow, request } from "./api.js";
import { draftBody, insertText, noteOpened, readDraft } from "./compose.js";
import { presenceLines } from "./presence.js";
import { RecordCard } from "./record.js";
import { templatePicker, templateValues } from "./templates.js";
import { h } from "./ui.js";

/**
 * @import { Seams } from "./api.js"
 * @import { TemplateSource } from "./templates.js"
 * @import { View } from "./ui.js"
 * @import { Address, ConversationRecord, PresenceAnswer, TemplatesAnswer }
 *   from "./types/contract"
 */

/** How often the compose pane refreshes its "replying" (the backend forgets it after 30 s). */
export const DRAFT_PRESENCE_MS = 10000;

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
 *   buttons: {label: string, testid: string, run: (text: string) => Promise<string | null>}[],
 *   templates?: TemplateSource | null}} options  each button's run answers the sentence to
 *   show (null: nothing to say); `templates`: a picker above the box
 */
function textCard(doc, { id, title, label, text = "", note, buttons, templates = null }) {
  const d = doc;
  const boxId = uid(`${id}-text`);
  const box = h(d, "textarea", { id: boxId, rows: "3", "data-testid": `${id}-text` });
  box.value = text;
  const picker = templates ? templatePicker(d, box, templates) : null;
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
    picker,
    h(d, "div", { class: "field" }, h(d, "label", { for: boxId }, label), box),
    h(d, "p", { class: "button-row" }, ...row.flatMap((b, i) => (i ? [" ", b] : [b]))),
    said,
    h(d, "p", { class: "small-print" }, note),
  );
}

/**
 * Read mode: Reply / Reply all in Outlook's own form, with a starting text.
 * @param {Document} doc
 * @param {{open: (all: boolean, text: string) => Promise<string | null>, text?: string,
 *   templates?: TemplateSource | null}} options  open answers what to say (a conflict's
 *   sentence), or null once the form opened; `templates`: the mailbox's, for the picker
 */
export function replyInOutlookCard(doc, { open, text = "", templates = null }) {
  return textCard(doc, {
    templates,
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
 * The first recipient of a compose item's field (To, From), as Office gives it, or null.
 * @param {{getAsync?: (callback: (result: Office.AsyncResult<any>) => void) => void} | undefined} field
 * @returns {Promise<Address | null>}
 */
function firstOf(field) {
  return new Promise((resolve) => {
    if (typeof field?.getAsync !== "function") {
      resolve(null);
      return;
    }
    field.getAsync((result) => {
      const value = String(result?.status) === "succeeded" ? result.value : null;
      const one = Array.isArray(value) ? value[0] : value;
      resolve(
        one?.emailAddress
          ? { name: String(one.displayName ?? ""), address: String(one.emailAddress) }
          : null,
      );
    });
  });
}

/**
 * The draft's mailbox's templates, filled from the draft: its To (the customer), its From (the
 * mailbox, by name) and the signed-in person.
 * @param {typeof Office} office
 * @param {Extract<Awaited<ReturnType<typeof readDraft>>, {state: "draft"}>} draft
 * @param {Seams} seams
 * @returns {Promise<TemplateSource>}
 */
async function draftTemplates(office, draft, seams) {
  const item = /** @type {Office.MessageCompose} */ (office.context.mailbox.item);
  const customer = await firstOf(item?.to);
  const from = await firstOf(item?.from);
  const mailboxName =
    from && from.address.toLowerCase() === draft.mailbox.toLowerCase() ? from.name : null;
  /** @type {TemplatesAnswer["templates"] | null} */
  let listed = null;
  return {
    load: async () => {
      if (!listed) {
        const answer = /** @type {Partial<TemplatesAnswer>} */ (
          await request("/api/mailbox/templates", draftBody(draft), seams)
        );
        listed = Array.isArray(answer.templates) ? answer.templates : [];
      }
      return listed;
    },
    values: () =>
      templateValues({
        customer,
        me: { name: draft.person.name, upn: draft.person.address },
        mailboxName,
      }),
  };
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
  const templates = draft.state === "draft" ? await draftTemplates(office, draft, seams) : null;
  const insert = textCard(d, {
    templates,
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
