// Reads Office.context.mailbox.item into one ItemContext: which mailbox the pane acts on,
// and what Office says the person may do there (DESIGN.md, "The flow" and "Facts").

/** How long getSharedPropertiesAsync may take before the context counts as unknown. */
export const SHARED_PROPERTIES_TIMEOUT_MS = 5000;

/**
 * @typedef {object} SharedContext
 * @property {string} targetMailbox  the mailbox Graph is called on (an address or an id)
 * @property {string} targetRestUrl  what Office reports as the REST base (the backend maps it to Graph)
 * @property {string} owner          the owner's address
 * @property {number} delegatePermissions  the six-bit mask Office reports
 */

/**
 * @typedef {object} ItemContext
 * @property {"none"|"own"|"shared"|"unknown"} state
 * @property {string} [reason]      why the state is none or unknown (nothing-selected, unsaved,
 *                                  failed, timeout, empty)
 * @property {string} [detail]      Office's own words for a failure
 * @property {string|null} mailbox  the address the pane acts on (null when unknown or none)
 * @property {{name: string, address: string}} person  the signed-in person, from userProfile
 * @property {string} [itemId]      REST (v2.0) form, what Graph and the backend need
 * @property {string} [ewsId]       EWS form, as Office hands it over
 * @property {"message"|"appointment"} [itemType]
 * @property {string} [subject]
 * @property {{name: string, address: string}|null} [from]
 * @property {SharedContext|null} [shared]
 */

/** Office's delegatePermissions as a number 0..63 (a numeric string counts; anything else is 0). */
function bitsOf(value) {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < 0) return 0;
  return number & 63;
}

/** The Office.MailboxEnums value, or Office's documented literal when the enum is missing. */
function enumValue(office, group, name, fallback) {
  return office?.MailboxEnums?.[group]?.[name] ?? fallback;
}

/** "message" or "appointment" from Office's item type (null for anything else). */
function itemTypeOf(office, item) {
  const type = item.itemType;
  if (type === enumValue(office, "ItemType", "Message", "message")) return "message";
  if (type === enumValue(office, "ItemType", "Appointment", "appointment")) return "appointment";
  return null;
}

/** The signed-in person as Office reports them. */
function personOf(mailbox) {
  const profile = mailbox?.userProfile ?? {};
  return { name: String(profile.displayName ?? ""), address: String(profile.emailAddress ?? "") };
}

/** The sender (messages) or organizer (appointments) Office reports, if any. */
function senderOf(item) {
  const who = item.from ?? item.organizer ?? null;
  if (!who || typeof who !== "object" || !who.emailAddress) return null;
  return { name: String(who.displayName ?? ""), address: String(who.emailAddress) };
}

/** getSharedPropertiesAsync as a promise of {ok, value} | {ok:false, reason, detail}, bounded in time. */
function sharedProperties(office, item, timeoutMs) {
  return new Promise((resolve) => {
    let settled = false;
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
          const error = result?.error ?? {};
          const words = [error.name, error.code, error.message].filter(
            (part) => part != null && part !== "",
          );
          finish({ ok: false, reason: "failed", detail: words.join(" ") || "no error given" });
        }
      });
    } catch (error) {
      finish({ ok: false, reason: "failed", detail: String(error?.message ?? error) });
    }
  });
}

/** The REST (v2.0) form of an EWS item id, as Graph needs it. */
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
 * @param {any} office  the Office namespace (window.Office)
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

  const base = {
    person,
    itemType: itemTypeOf(office, item),
    subject: typeof item.subject === "string" ? item.subject : "",
    from: senderOf(item),
  };
  if (!item.itemId) {
    // A new message, reply or forward has no id until it is saved.
    return { ...base, state: "none", reason: "unsaved", mailbox: null };
  }
  const ewsId = String(item.itemId);
  const withIds = { ...base, ewsId, itemId: restIdOf(office, ewsId) };
  if (!base.itemType) {
    return { ...withIds, state: "none", reason: "unsupported-item", mailbox: null };
  }

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
