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
  /** A reply sent from Outlook's own window, found by its copy ("outlook"). */
  via?: "outlook" | "tandem";
  /** What the timeline keeps of such a reply's copy (a hash of its id). */
  copy?: string;
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

/** POST /api/items/sendcheck's answer: a warning to show before the draft is sent, or none. */
export interface SendCheckAnswer {
  warn: { code: "replied" | "held" | string; sentence: string } | null;
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

/** The queue's views (POST /api/mailbox/queue's `view`). */
export type QueueView = "unassigned" | "mine" | "pending" | "overdue" | "open";

/** One conversation of the queue. */
export interface QueueRow {
  itemId: string;
  conversationId: string;
  subject: string;
  from: Address;
  receivedDateTime: string | null;
  assignee: Upn | null;
  status: "open" | "pending" | "done";
  due: string | null;
  overdue: boolean;
}

/** POST /api/mailbox/queue's answer. */
export interface QueueAnswer {
  /** false: Exchange won't let the person list the mailbox's Inbox and Sent Items (no queue). */
  available?: boolean;
  mailbox: string;
  mailboxName?: string;
  view: QueueView;
  counts: Record<QueueView, number>;
  items: QueueRow[];
  page: number;
  pages: number;
  total: number;
  asOf: string | null;
}

/** POST /api/mailbox/next's answer: the conversation now the caller's, or null. */
export interface NextAnswer {
  taken: QueueRow | null;
}

/** One of the mailbox's reply templates. */
export interface Template {
  id: string;
  name: string;
  body: string;
  updatedBy?: Upn | null;
  updatedAt?: string;
}

/** POST /api/mailbox/templates's answer. */
export interface TemplatesAnswer {
  templates: Template[];
  placeholders: string[];
}

/** A mailbox's business hours. */
export interface BusinessHoursBody {
  days: string[];
  start: string;
  end: string;
  timeZone: string;
}

/** POST /api/mailbox/policy's answer. */
export interface PolicyAnswer {
  canEdit: boolean;
  policy: {
    firstResponseMinutes: number;
    businessHours: BusinessHoursBody;
    updatedBy?: Upn | null;
  } | null;
}

/** The numbers of one person, or of the mailbox. */
export interface Numbers {
  repliesSent: number;
  conversationsDone: number;
  firstResponses: number;
  firstResponseMedian: number | null;
  firstResponseP90: number | null;
}

/** POST /api/mailbox/stats's answer. */
export interface StatsAnswer {
  days: 7 | 30;
  mailbox: Numbers;
  people: (Numbers & Upn)[];
  daily: { day: string; replies: number; done: number }[];
}
