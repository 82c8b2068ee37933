import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readContext, restIdOf, SHARED_PROPERTIES_TIMEOUT_MS } from "../context.js";
import { advance, useMockTimers } from "./clock.js";
import { EWS_ID, fakeOffice, message, REST_ID } from "./fake-office.js";

/** @import { ItemContext } from "../context.js" */

const SUPPORT = {
  owner: "support@contoso.com",
  targetMailbox: "support@contoso.com",
  targetRestUrl: "https://outlook.office.com/api",
  delegatePermissions: 63,
};

describe("readContext", () => {
  it("answers none when nothing is selected (item is null)", async () => {
    const ctx = await readContext(fakeOffice({ item: null }));
    assert.equal(ctx.state, "none");
    assert.equal(ctx.reason, "nothing-selected");
    assert.equal(ctx.mailbox, null);
    assert.equal(ctx.person.address, "lee@contoso.com");
  });

  it("answers none for an unsaved compose item (no itemId)", async () => {
    const ctx = await readContext(fakeOffice({ item: message({ itemId: undefined }) }));
    assert.equal(ctx.state, "none");
    assert.equal(ctx.reason, "unsaved");
  });

  it("answers own when getSharedPropertiesAsync is missing, naming the person's mailbox", async () => {
    const office = fakeOffice({
      profile: { displayName: "Adele Vance", emailAddress: "adele@contoso.com" },
    });
    const ctx = await readContext(office);
    assert.equal(ctx.state, "own");
    assert.equal(ctx.mailbox, "adele@contoso.com");
    assert.equal(ctx.shared, null);
    assert.equal(ctx.itemType, "message");
    assert.equal(ctx.subject, "Printer on the 3rd floor jams");
    assert.deepEqual(ctx.from, { name: "Maria Lopez", address: "maria.lopez@adatum.com" });
  });

  it("converts the EWS id with convertToRestId and RestVersion v2.0", async () => {
    const office = fakeOffice();
    const ctx = await readContext(office);
    assert.equal(ctx.ewsId, EWS_ID);
    assert.equal(ctx.itemId, REST_ID);
    assert.deepEqual(
      office.calls.find((c) => c[0] === "convertToRestId"),
      ["convertToRestId", EWS_ID, "v2.0"],
    );
    assert.doesNotMatch(ctx.itemId, /[+/]/);
  });

  it("answers shared with Office's four properties when the call succeeds", async () => {
    const ctx = await readContext(fakeOffice({ shared: { value: { ...SUPPORT } } }));
    assert.equal(ctx.state, "shared");
    assert.equal(ctx.mailbox, "support@contoso.com");
    assert.deepEqual(ctx.shared, SUPPORT);
  });

  it("keeps the delegate's bits as a number", async () => {
    const value = {
      owner: "adele@contoso.com",
      targetMailbox: "adele@contoso.com",
      targetRestUrl: SUPPORT.targetRestUrl,
      delegatePermissions: 23,
    };
    const ctx = await readContext(fakeOffice({ shared: { value } }));
    assert.equal(ctx.state, "shared");
    assert.equal(ctx.shared.delegatePermissions, 23);
    assert.equal(ctx.shared.owner, "adele@contoso.com");
  });

  it("answers unknown, never own, when the call fails", async () => {
    const error = {
      code: 9018,
      name: "GenericTokenError",
      message: "An internal error has occurred.",
    };
    const ctx = await readContext(fakeOffice({ shared: { error } }));
    assert.equal(ctx.state, "unknown");
    assert.equal(ctx.reason, "failed");
    assert.equal(ctx.mailbox, null);
    assert.match(ctx.detail, /9018/);
    assert.match(ctx.detail, /GenericTokenError/);
  });

  it("answers unknown when the call throws", async () => {
    const ctx = await readContext(fakeOffice({ shared: { throws: "not available in compose" } }));
    assert.equal(ctx.state, "unknown");
    assert.equal(ctx.reason, "failed");
  });

  /** @type {[string, object | undefined][]} */
  const answers = [
    ["an empty object", {}],
    ["no value", undefined],
    ["an empty target mailbox", { ...SUPPORT, targetMailbox: "" }],
    ["a blank target mailbox", { ...SUPPORT, targetMailbox: "   " }],
    ["no target REST URL", { ...SUPPORT, targetRestUrl: "" }],
  ];
  for (const [label, value] of answers) {
    it(`answers unknown when the call answers ${label}`, async () => {
      const ctx = await readContext(fakeOffice({ shared: { value } }));
      assert.equal(ctx.state, "unknown");
      assert.equal(ctx.reason, "empty");
      assert.equal(ctx.shared, null);
    });
  }

  it("reads an appointment's type and organizer", async () => {
    const item = {
      itemId: EWS_ID,
      itemType: "appointment",
      subject: "Team stand-up",
      organizer: { displayName: "Contoso Support", emailAddress: "support@contoso.com" },
    };
    const ctx = await readContext(fakeOffice({ item, shared: { value: SUPPORT } }));
    assert.equal(ctx.state, "shared");
    assert.equal(ctx.itemType, "appointment");
    assert.deepEqual(ctx.from, { name: "Contoso Support", address: "support@contoso.com" });
  });

  it("answers none for an item type Tandem does not handle", async () => {
    const ctx = await readContext(fakeOffice({ item: message({ itemType: "note" }) }));
    assert.equal(ctx.state, "none");
    assert.equal(ctx.reason, "unsupported-item");
  });
});

describe("readContext's time limit", () => {
  useMockTimers();

  it("answers unknown after the timeout when Office never calls back", async () => {
    /** @type {ItemContext[]} */
    const answered = [];
    readContext(fakeOffice({ shared: { never: true } })).then((answer) => {
      answered.push(answer);
    });
    await advance(SHARED_PROPERTIES_TIMEOUT_MS - 1);
    assert.equal(answered.length, 0, "still waiting for Office");
    await advance(1);
    const [ctx] = answered;
    assert.equal(ctx.state, "unknown");
    assert.equal(ctx.reason, "timeout");
    assert.match(ctx.detail, /5 s/);
  });

  it("takes an answer that comes just in time", async () => {
    const office = fakeOffice({ shared: { value: SUPPORT, delayMs: 999 } });
    const pending = readContext(office, { timeoutMs: 1000 });
    await advance(999);
    assert.equal((await pending).state, "shared");
  });

  it("ignores an answer that arrives after the timeout", async () => {
    const office = fakeOffice({ shared: { value: SUPPORT, delayMs: 60 } });
    const pending = readContext(office, { timeoutMs: 10 });
    await advance(10);
    const ctx = await pending;
    assert.equal(ctx.state, "unknown");
    assert.equal(ctx.reason, "timeout");
    await advance(50); // the late answer: dropped
    assert.equal(ctx.state, "unknown");
  });
});

describe("restIdOf", () => {
  it("maps the EWS alphabet to the URL-safe one when convertToRestId is absent", () => {
    // A host without Office's mailbox, standing in for Office.
    const bare = /** @type {typeof Office} */ (/** @type {unknown} */ ({}));
    assert.equal(restIdOf(bare, "a/b+c"), "a-b_c");
  });
});
