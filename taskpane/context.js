// Reads Office.context.mailbox.item into one ItemContext: which mailbox the pane acts on,
// and what Office says the person may do there (DESIGN.md, "The flow" and "Facts").

/** How long getSharedPropertiesAsync may take before the context counts as unknown. */
export const SHARED_PROPERTIES_TIMEOUT_MS = 5000;

/** @import { Address, SharedBody } from "./types/contract" */

/**
 * @typedef {object} Person  the signed-in person, as Office's userProfile names them
 * @property {string} name
 * @property {string} address
 */

/**
 * @typedef {object} SelectedItem  a saved message or appointment Office has selected
 * @property {Person} person
 * @property {string} itemId  REST (v2.0) form, what Graph and the backend need
 * @property {string} ewsId   EWS form, as Office hands it over
 * @property {"message"|"appointment"} itemType
 * @property {string} subject
 * @property {Address|null} from  the sender (messages) or organizer (appointments)
 */

/**
 * @typedef {object} NoItem  nothing to act on: no selection, an unsaved item, another kind of item
 * @property {"none"} state
 * @property {"nothing-selected"|"unsaved"|"unsupported-item"} reason
 * @property {null} mailbox
 * @property {Person} person
 * @property {"message"|"appointment"|null} [itemType]  null for a kind Tandem doesn't handle
 * @property {string} [subject]
 * @property {Address|null} [from]
 * @property {string} [ewsId]
 * @property {string} [itemId]
 */

/**
 * @typedef {SelectedItem & {state: "unknown", reason: "failed"|"timeout"|"empty", detail: string,
 *   mailbox: null, shared: null}} UnknownMailbox  Office didn't say where the item lives (no actions)
 */

/**
 * @typedef {SelectedItem & {state: "own", mailbox: string|null, shared: null}} OwnMailbox
 *   the person's own mailbox (`mailbox` names it, null when Office gave no address)
 */

/**
 * @typedef {SelectedItem & {state: "shared", mailbox: string, shared: SharedBody}} SharedMailbox
 *   a shared mailbox or delegate folder: `shared` is what getSharedPropertiesAsync answered
 */

/** @typedef {OwnMailbox|SharedMailbox} KnownMailbox  the contexts the backend hears about */

/** @typedef {NoItem|UnknownMailbox|KnownMailbox} ItemContext */

/** @typedef {NonNullable<Office.Mailbox["item"]>} OfficeItem  the selected item as Office types it */

/**
 * Office's delegatePermissions as a number 0..63 (a numeric string counts; anything else is 0).
 * @param {unknown} value
 */
function bitsOf(value) {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < 0) return 0;
  return number & 63;
}

/**
 * "message" or "appointment" from Office's item type (null for anything else); Office's
 * documented literals where the enum is missing.
 * @param {typeof Office} office
 * @param {OfficeItem} item
 * @returns {"message"|"appointment"|null}
 */
function itemTypeOf(office, item) {
  const types = office?.MailboxEnums?.ItemType;
  const type = item.itemType;
  if (type === (types?.Message ?? "message")) return "message";
  if (type === (types?.Appointment ?? "appointment")) return "appointment";
  return null;
}

/**
 * The signed-in person as Office reports them.
 * @param {Office.Mailbox | undefined} mailbox
 * @returns {Person}
 */
function personOf(mailbox) {
  const profile = mailbox?.userProfile;
  return { name: String(profile?.displayName ?? ""), address: String(profile?.emailAddress ?? "") };
}

/**
 * The sender (messages) or organizer (appointments) Office reports, if any.
 * @param {OfficeItem} item
 * @returns {Address|null}
 */
function senderOf(item) {
  const who = item.from ?? item.organizer ?? null;
  if (!who || typeof who !== "object" || !who.emailAddress) return null;
  return { name: String(who.displayName ?? ""), address: String(who.emailAddress) };
}

/**
 * @typedef {{ok: true, value: Office.SharedProperties | undefined}
 *   | {ok: false, reason: "timeout"|"failed", detail: string}} SharedAnswer
 */

/**
 * getSharedPropertiesAsync as a promise of {ok, value} | {ok:false, reason, detail}, bounded in time.
 * @param {typeof Office} office
 * @param {OfficeItem} item
 * @param {number} timeoutMs
 * @returns {Promise<SharedAnswer>}
 */
function sharedProperties(office, item, timeoutMs) {
  return new Promise((resolve) => {
    let settled = false;
    /** @param {SharedAnswer} answer */
    const finish = (answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const timer = setTimeout(
      () =>
        finish({ ok: false, reason: "timeout", detail: `no answer within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
    const succeeded = office?.AsyncResultStatus?.Succeeded ?? "succeeded";
    try {
      item.getSharedPropertiesAsync((result) => {
        if (result?.status === succeeded) {
          finish({ ok: true, value: result.value });
        } else {
          const error = result?.error;
          const words = [error?.name, error?.code, error?.message].filter(
            (part) => part != null && part !== "",
          );
          finish({ ok: false, reason: "failed", detail: words.join(" ") || "no error given" });
        }
      });
    } catch (error) {
      const message = /** @type {{message?: unknown} | null | undefined} */ (error)?.message;
      finish({ ok: false, reason: "failed", detail: String(message ?? error) });
    }
  });
}

/**
 * The REST (v2.0) form of an EWS item id, as Graph needs it.
 * @param {typeof Office} office
 * @param {string} ewsId
 */
export function restIdOf(office, ewsId) {
  const v2 = office?.MailboxEnums?.RestVersion?.v2_0 ?? "v2.0";
  const convert = office?.context?.mailbox?.convertToRestId;
  if (typeof convert === "function") return convert.call(office.context.mailbox, ewsId, v2);
  // Office always offers convertToRestId in Outlook; this is the same mapping for other hosts.
  return ewsId.replace(/\//g, "-").replace(/\+/g, "_");
}

/**
 * Reads the selected item and where it lives. Never treats a failed or empty answer as the
 * person's own mailbox: that is the "unknown" state, which offers no actions.
 * @param {typeof Office} office  the Office namespace (window.Office)
 * @param {{timeoutMs?: number}} [options]
 * @returns {Promise<ItemContext>}
 */
export async function readContext(office, { timeoutMs = SHARED_PROPERTIES_TIMEOUT_MS } = {}) {
  const mailbox = office?.context?.mailbox;
  const person = personOf(mailbox);
  const item = mailbox?.item ?? null;
  // Null when nothing is selected, for a mailbox hidden from the address list, and in a
  // pinned pane between items.
  if (!item) return { state: "none", reason: "nothing-selected", mailbox: null, person };

  const itemType = itemTypeOf(office, item);
  const base = {
    person,
    itemType,
    subject: typeof item.subject === "string" ? item.subject : "",
    from: senderOf(item),
  };
  if (!item.itemId) {
    // A new message, reply or forward has no id until it is saved.
    return { ...base, state: "none", reason: "unsaved", mailbox: null };
  }
  const ewsId = String(item.itemId);
  const itemId = restIdOf(office, ewsId);
  if (!itemType) {
    return { ...base, ewsId, itemId, state: "none", reason: "unsupported-item", mailbox: null };
  }
  /** @type {SelectedItem} */
  const withIds = { ...base, itemType, ewsId, itemId };

  if (typeof item.getSharedPropertiesAsync !== "function") {
    // Microsoft's rule: no getSharedPropertiesAsync means the person's own mailbox. The pane
    // names that mailbox so a misdetection (some clients lack the method) is visible.
    return { ...withIds, state: "own", mailbox: person.address || null, shared: null };
  }

  const answer = await sharedProperties(office, item, timeoutMs);
  if (!answer.ok) {
    return {
      ...withIds,
      state: "unknown",
      reason: answer.reason,
      detail: answer.detail,
      mailbox: null,
      shared: null,
    };
  }
  /** @type {Partial<Office.SharedProperties>} */
  const value = answer.value ?? {};
  const targetMailbox = typeof value.targetMailbox === "string" ? value.targetMailbox.trim() : "";
  const targetRestUrl = typeof value.targetRestUrl === "string" ? value.targetRestUrl.trim() : "";
  if (!targetMailbox || !targetRestUrl) {
    return {
      ...withIds,
      state: "unknown",
      reason: "empty",
      detail: `Outlook answered without a ${targetMailbox ? "target REST URL" : "target mailbox"}`,
      mailbox: null,
      shared: null,
    };
  }
  const shared = {
    targetMailbox,
    targetRestUrl,
    owner: String(value.owner ?? ""),
    delegatePermissions: bitsOf(value.delegatePermissions),
  };
  return { ...withIds, state: "shared", mailbox: targetMailbox, shared };
}
