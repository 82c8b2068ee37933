// The backend's HTTP contract as the pane reads it (README, "HTTP API"): the bodies the pane
// posts and the answers it renders. Types only; the pane's modules import them with @import.

/** What Office's getSharedPropertiesAsync said, as the backend takes it. */
export interface SharedBody {
  targetMailbox: string;
  targetRestUrl: string;
  owner: string;
  delegatePermissions: number;
}

/** The body of every item call: the item, and where it lives when that isn't the own mailbox. */
export interface ContextBody {
  itemId: string;
  itemType: "message" | "appointment";
  shared?: SharedBody;
}

/** A person as the backend names them. */
export interface Upn {
  upn: string;
  name: string;
}

/** A Tandem claim on an item: who holds it, and whether that is the signed-in person. */
export interface Claim extends Upn {
  mine: boolean;
}

/** A sender, recipient or organizer as the backend summarises it. */
export interface Address {
  name: string;
  address: string;
}

/** Graph's dateTimeTimeZone. */
export interface GraphDateTime {
  dateTime: string;
  timeZone?: string;
}

/** The item as the context answer and an action's answer carry it (messages or appointments). */
export interface Item {
  id: string;
  etag?: string;
  type?: "message" | "appointment";
  subject?: string;
  categories?: string[];
  claim?: Claim | null;
  folderId?: string;
  webLink?: string;
  // messages
  from?: Address | null;
  sender?: Address | null;
  receivedDateTime?: string;
  isRead?: boolean | null;
  flag?: "flagged" | "complete" | "notFlagged";
  // appointments
  organizer?: Address | null;
  start?: string | GraphDateTime | null;
  end?: string | GraphDateTime | null;
  location?: string | null;
  isCancelled?: boolean | null;
  responseStatus?: string | null;
}

/** The server's decision on one action. */
export interface ActionDecision {
  allowed: boolean;
  missing?: string[];
  reason?: string;
}

/** The permissions the server decoded: six booleans (and any it adds) and Office's bits. */
export type Permissions = { bits?: number } & Record<string, boolean | number | undefined>;

/** The server's limits the pane says before sending. */
export interface Limits {
  commentCharacters?: number;
  requestSeconds?: number;
}

/** A note of the team's record. */
export interface RecordNote {
  id: string;
  author: Upn;
  text: string;
  createdAt: string | null;
  editedAt: string | null;
  mine: boolean;
}

/** What a timeline entry says an action did; which members are there depends on its kind. */
export interface EventDetail {
  /** assigned: the new owner; status: the new status; move: the folder's name. */
  to?: Upn | string | null;
  from?: Upn | string | null;
  why?: string;
  outcome?: "sent" | "drafted" | "unknown" | "sending" | string;
  route?: "mailbox" | "me";
  sentAs?: "sendAs" | "sendOnBehalf" | "self" | null;
  recipients?: number;
  mailbox?: string;
  response?: string;
  sent?: string | boolean | null;
  wellKnownName?: string | null;
  categories?: string[];
  flag?: string;
  isRead?: boolean;
  note?: string;
}

/** An entry of a conversation's timeline: what Tandem did (never a body or an address). */
export interface RecordEvent {
  id: number;
  at: string | null;
  actor: Upn | null;
  kind: string;
  detail: EventDetail;
}

/** The team's record of the item's conversation (the context answer's `record`). */
export interface ConversationRecord {
  conversation: {
    id: string;
    assignee: Upn | null;
    status: "open" | "pending" | "done";
    customerSince: string | null;
    answeredAt: string | null;
    firstResponseDue: string | null;
    overdue: boolean;
  };
  notes: RecordNote[];
  timeline: RecordEvent[];
  members: Upn[];
  actions?: Record<string, { allowed: boolean }>;
}

/** POST /api/items/context's answer. */
export interface ContextAnswer {
  mailbox: { address: string; kind: string; owner?: string };
  person: Upn;
  permissions: Permissions;
  item: Item;
  actions: Record<string, ActionDecision> | null;
  limits?: Limits;
  record?: ConversationRecord | null;
}

/** A draft an action left in a mailbox's Drafts. */
export interface Draft {
  id?: string;
  webLink?: string;
  mailbox?: string;
}

/** An action's `result`: the members of every action, each present for its own (README). */
export interface ActionResult {
  changed?: boolean;
  holder?: Upn | null;
  released?: Upn | null;
  categories?: string[];
  flag?: "flagged" | "complete" | "notFlagged";
  isRead?: boolean;
  id?: string | null;
  previousId?: string;
  movedTo?: { id: string; name: string; wellKnownName?: string | null } | null;
  sent?: boolean;
  draft?: Draft | null;
  route?: "mailbox" | "me";
  sentAs?: "sendAs" | "sendOnBehalf" | "self" | null;
  sentCopyIn?: string | null;
  response?: "accept" | "tentativelyAccept" | "decline";
  assignee?: Upn | null;
  status?: "open" | "pending" | "done";
}

/**
 * POST /api/items/actions/<action>'s answer: `item` is the item as the action left it, null
 * when it can't be read any more or, after a send or a meeting response, was not read;
 * `record` the record of its conversation with the action on its timeline.
 */
export interface ActionAnswer {
  action: string;
  item: Item | null;
  result: ActionResult;
  actions?: Record<string, ActionDecision>;
  record?: ConversationRecord | null;
}

/** One folder of POST /api/mailbox/folders. */
export interface Folder {
  id: string;
  name: string;
  path: string;
  wellKnownName?: string | null;
  parentId?: string | null;
}

/** One other person on the item, as POST /api/items/presence answers. */
export interface Other {
  upn: string;
  name?: string;
  state: "viewing" | "replying" | string;
  /** When they came (epoch seconds). */
  since?: number;
}

/** POST /api/items/presence's answer. */
export interface PresenceAnswer {
  others: Other[];
  ttl?: number;
}

/** An application/problem+json body (RFC 9457) with the contract's members. */
export interface ProblemBody {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  requestId?: string;
  field?: string;
  claims?: string;
  consentUrl?: string;
  holder?: Upn | null;
  etag?: string;
  item?: Item | null;
  retryAfter?: number;
}
