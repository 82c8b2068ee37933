import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  draftBody,
  insertText,
  isCompose,
  noteOpened,
  OPENED_KEY,
  openReplyForm,
  readDraft,
  textToHtml,
} from "../compose.js";
import { eventText } from "../record.js";

/**
 * The pane's compose side (compose.js): what it reads of a draft, how it writes into one, how
 * it opens Outlook's reply form; and how the timeline tells a reply sent from Outlook.
 */

const CONVERSATION = "AAQkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAQAMs3ZXv3xKBBn5tEnN5kSdk=";
const SHARED = {
  targetMailbox: "support@contoso.com",
  targetRestUrl: "https://outlook.office.com/api",
  owner: "support@contoso.com",
  delegatePermissions: 63,
};

/**
 * @param {unknown} value
 * @param {boolean} [ok]
 */
const result = (value, ok = true) => ({
  status: ok ? "succeeded" : "failed",
  value,
  error: ok ? undefined : { message: "Outlook said no" },
});

/**
 * An Office whose item is `item`, for Lee.
 * @param {object} item
 * @returns {typeof Office}
 */
function officeWith(item) {
  const office = {
    context: {
      mailbox: {
        item,
        userProfile: { emailAddress: "lee@contoso.com", displayName: "Lee Gu" },
        restUrl: "https://outlook.office.com/api",
      },
    },
  };
  return /** @type {typeof Office} */ (/** @type {unknown} */ (office));
}

/**
 * A draft of a reply: its conversation, shared properties (or their failure), From, body and
 * sessionData, recording what was written.
 * @param {{shared?: object | null, from?: string, bodyType?: string, conversationId?: string}}
 *   [options]
 */
function draftItem({
  shared = SHARED,
  from = "support@contoso.com",
  bodyType = "html",
  conversationId = CONVERSATION,
} = {}) {
  /** @type {[string, unknown][]} */
  const written = [];
  /** @type {Map<string, string>} */
  const session = new Map();
  const item = {
    conversationId,
    written,
    session,
    /** @param {(r: object) => void} done */
    getSharedPropertiesAsync: (done) => done(result(shared, shared !== null)),
    from: {
      getAsync: (/** @type {(r: object) => void} */ done) => done(result({ emailAddress: from })),
    },
    body: {
      getTypeAsync: (/** @type {(r: object) => void} */ done) => done(result(bodyType)),
      /**
       * @param {string} data
       * @param {{coercionType: string}} options
       * @param {(r: object) => void} done
       */
      setSelectedDataAsync: (data, options, done) => {
        written.push([data, options.coercionType]);
        done(result(undefined));
      },
    },
    sessionData: {
      /**
       * @param {string} key
       * @param {(r: object) => void} done
       */
      getAsync: (key, done) =>
        done(session.has(key) ? result(session.get(key)) : result(null, false)),
      /**
       * @param {string} key
       * @param {string} value
       * @param {(r: object) => void} done
       */
      setAsync: (key, value, done) => {
        session.set(key, value);
        done(result(undefined));
      },
    },
  };
  return item;
}

describe("a draft, as the pane reads it", () => {
  it("tells a draft from a message being read", () => {
    assert.equal(isCompose(draftItem()), true);
    assert.equal(isCompose({ body: { getAsync() {} } }), false);
    assert.equal(isCompose(null), false);
  });

  it("takes the mailbox from Outlook's shared properties", async () => {
    const draft = await readDraft(officeWith(draftItem()));
    assert.equal(draft.state, "draft");
    assert.deepEqual(draftBody(/** @type {any} */ (draft)), {
      conversationId: CONVERSATION,
      itemType: "message",
      shared: SHARED,
    });
    assert.equal(/** @type {any} */ (draft).known, "shared");
  });

  it("else from the draft's From, when that isn't the person's own address", async () => {
    const draft = /** @type {any} */ (await readDraft(officeWith(draftItem({ shared: null }))));
    assert.equal(draft.known, "from");
    assert.deepEqual(draft.shared, { ...SHARED, delegatePermissions: 0 });
    const own = /** @type {any} */ (
      await readDraft(officeWith(draftItem({ shared: null, from: "LEE@contoso.com" })))
    );
    assert.equal(own.known, "own");
    assert.equal(own.shared, null);
    assert.deepEqual(draftBody(own), { conversationId: CONVERSATION, itemType: "message" });
  });

  it("says a new message has no conversation", async () => {
    const draft = await readDraft(officeWith(draftItem({ conversationId: "" })));
    assert.equal(draft.state, "new");
  });

  it("notes when the draft opened, once", async () => {
    const item = draftItem();
    const office = officeWith(item);
    const first = await noteOpened(office, () => new Date("2026-03-02T09:00:00Z"));
    const again = await noteOpened(office, () => new Date("2026-03-02T09:05:00Z"));
    assert.equal(first, "2026-03-02T09:00:00.000Z");
    assert.equal(again, first);
    assert.equal(item.session.get(OPENED_KEY), first);
  });
});

describe("writing into the draft", () => {
  it("inserts HTML that shows exactly the text, in an HTML body", async () => {
    const item = draftItem();
    assert.equal(await insertText(officeWith(item), "Hi <b>&\nbye"), "html");
    assert.deepEqual(item.written, [["Hi &lt;b&gt;&amp;<br>bye", "html"]]);
  });

  it("inserts text as it is, in a text body", async () => {
    const item = draftItem({ bodyType: "text" });
    assert.equal(await insertText(officeWith(item), "Hi <b>\nbye"), "text");
    assert.deepEqual(item.written, [["Hi <b>\nbye", "text"]]);
  });

  it("escapes quotes and every kind of line break", () => {
    assert.equal(textToHtml('a "b"\r\nc\rd'), "a &quot;b&quot;<br>c<br>d");
  });
});

describe("Outlook's own reply form", () => {
  /**
   * A read-mode message whose reply forms record what they were given.
   * @param {boolean} [ok]
   */
  function readItem(ok = true) {
    /** @type {[string, unknown][]} */
    const opened = [];
    /** @param {string} name */
    const form =
      (name) => (/** @type {unknown} */ data, /** @type {(r: object) => void} */ done) => {
        opened.push([name, data]);
        done(result(undefined, ok));
      };
    return { opened, displayReplyFormAsync: form("reply"), displayReplyAllFormAsync: form("all") };
  }

  it("opens with the starting text as HTML, or empty", async () => {
    const item = readItem();
    await openReplyForm(officeWith(item), false, "Hello,\nThanks.");
    await openReplyForm(officeWith(item), true, "  ");
    assert.deepEqual(item.opened, [
      ["reply", { htmlBody: "Hello,<br>Thanks." }],
      ["all", ""],
    ]);
  });

  it("says so when Outlook doesn't open it", async () => {
    await assert.rejects(openReplyForm(officeWith(readItem(false)), false, ""), /Outlook said no/);
    await assert.rejects(openReplyForm(officeWith({}), false, ""), /can't open its reply form/);
  });
});

describe("the timeline", () => {
  it("tells a reply sent from Outlook, and who sent it when Tandem knows", () => {
    const detail = { via: /** @type {const} */ ("outlook"), mailbox: "support@contoso.com" };
    const sam = { upn: "sam@contoso.com", name: "Sam Taylor" };
    assert.equal(
      eventText({ kind: "reply", actor: sam, detail: { ...detail, sentAs: "sendAs" } }),
      "Sam Taylor replied as support@contoso.com in Outlook.",
    );
    assert.equal(
      eventText({ kind: "reply", actor: sam, detail: { ...detail, sentAs: "sendOnBehalf" } }),
      "Sam Taylor replied on behalf of support@contoso.com in Outlook.",
    );
    assert.equal(
      eventText({ kind: "reply", actor: null, detail }),
      "Someone replied as support@contoso.com in Outlook (Tandem can't tell who).",
    );
  });
});
