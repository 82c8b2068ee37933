// The six delegate permission bits Office reports (Office.MailboxEnums.DelegatePermissions,
// Mailbox 1.8) and which action needs which. Mirrors backend/permissions.py: the backend's
// permissions.table() and this module's ACTIONS must stay equal (a test compares them).

/** The bit of each permission, as Office.MailboxEnums.DelegatePermissions numbers them. */
export const BITS = Object.freeze({
  read: 1,
  write: 2,
  deleteOwn: 4,
  deleteAll: 8,
  editOwn: 16,
  editAll: 32,
});

/** Every bit set: what the person has in their own mailbox. */
export const ALL_BITS = 63;

/** A person-readable name for each permission. */
export const LABELS = Object.freeze({
  read: "Read items",
  write: "Create items",
  deleteOwn: "Delete own items",
  deleteAll: "Delete all items",
  editOwn: "Edit own items",
  editAll: "Edit all items",
});

/** Builds one frozen need: every permission of allOf and at least one of anyOf. */
function need(allOf, anyOf = []) {
  return Object.freeze({ allOf: Object.freeze([...allOf]), anyOf: Object.freeze([...anyOf]) });
}

/** What each action needs, in the shape of the backend's permissions.table(). */
export const ACTIONS = Object.freeze({
  claim: need(["read"], ["editOwn", "editAll"]),
  release: need(["read"], ["editOwn", "editAll"]),
  categorize: need(["read"], ["editOwn", "editAll"]),
  flag: need(["read"], ["editOwn", "editAll"]),
  markRead: need(["read"], ["editOwn", "editAll"]),
  markUnread: need(["read"], ["editOwn", "editAll"]),
  move: need(["read", "write"], ["deleteOwn", "deleteAll"]),
  delete: need(["read"], ["deleteOwn", "deleteAll"]),
  reply: need(["read"]),
  replyAll: need(["read"]),
  forward: need(["read"]),
});

/** A person-readable name for each action. */
export const ACTION_LABELS = Object.freeze({
  claim: "Claim it for yourself",
  release: "Release your claim",
  categorize: "Categorize",
  flag: "Flag for follow-up",
  markRead: "Mark as read",
  markUnread: "Mark as unread",
  move: "Move to another folder",
  delete: "Delete",
  reply: "Reply",
  replyAll: "Reply all",
  forward: "Forward",
});

/** Normalises anything Office may hand over (a number, a numeric string, nothing) to 0..63. */
export function toBits(value) {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < 0) return 0;
  return number & ALL_BITS;
}

/** The bitmask as one boolean per permission. */
export function decode(bits) {
  const value = toBits(bits);
  const result = {};
  for (const [name, bit] of Object.entries(BITS)) result[name] = (value & bit) !== 0;
  return result;
}

/** The permissions `bits` lack for `action`, like backend/permissions.py: empty when it may be tried. */
export function missing(action, bits) {
  const needed = ACTIONS[action];
  if (!needed) throw new RangeError(`unknown action: ${action}`);
  const have = decode(bits);
  const lacking = needed.allOf.filter((name) => !have[name]);
  if (needed.anyOf.length && !needed.anyOf.some((name) => have[name])) {
    lacking.push(needed.anyOf.join(" or "));
  }
  return lacking;
}

/** The sentence naming what an action lacks, as the backend words it. */
export function reason(lacking) {
  const words = lacking.map((item) =>
    item
      .split(" or ")
      .map((name) => LABELS[name] ?? name)
      .join(" or "),
  );
  return `Needs the permission: ${words.join("; ")}`;
}

/** For every action whether it is allowed and, if not, what it lacks (the backend's describe()). */
export function describe(bits) {
  const result = {};
  for (const action of Object.keys(ACTIONS)) {
    const lacking = missing(action, bits);
    result[action] = lacking.length
      ? { allowed: false, missing: lacking, reason: reason(lacking) }
      : { allowed: true };
  }
  return result;
}
