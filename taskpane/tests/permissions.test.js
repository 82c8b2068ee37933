import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ACTIONS,
  BITS,
  decode,
  describe as describeActions,
  LABELS,
  missing,
  toBits,
} from "../permissions.js";

describe("permissions", () => {
  it("numbers the six bits as Office.MailboxEnums.DelegatePermissions does", () => {
    assert.deepEqual(
      { ...BITS },
      { read: 1, write: 2, deleteOwn: 4, deleteAll: 8, editOwn: 16, editAll: 32 },
    );
    assert.deepEqual(Object.keys(LABELS), Object.keys(BITS));
  });

  it("decodes Reviewer (1), Author (23) and Editor (63)", () => {
    assert.deepEqual(decode(1), {
      read: true,
      write: false,
      deleteOwn: false,
      deleteAll: false,
      editOwn: false,
      editAll: false,
    });
    assert.deepEqual(decode(23), {
      read: true,
      write: true,
      deleteOwn: true,
      deleteAll: false,
      editOwn: true,
      editAll: false,
    });
    assert.ok(Object.values(decode(63)).every(Boolean));
    assert.ok(Object.values(decode(0)).every((v) => !v));
  });

  it("treats anything but a non-negative integer as no permission", () => {
    for (const value of [undefined, null, -1, 1.5, "x", NaN, {}]) assert.equal(toBits(value), 0);
    assert.equal(toBits("23"), 23);
    assert.equal(toBits(64 + 1), 1);
  });

  it("has every action in the backend's table shape: {allOf, anyOf}", () => {
    assert.deepEqual(Object.keys(ACTIONS), [
      "claim",
      "release",
      "categorize",
      "flag",
      "markRead",
      "markUnread",
      "move",
      "delete",
      "reply",
      "replyAll",
      "forward",
    ]);
    for (const need of Object.values(ACTIONS)) {
      assert.deepEqual(Object.keys(need), ["allOf", "anyOf"]);
      for (const name of [...need.allOf, ...need.anyOf]) assert.ok(name in BITS, name);
    }
    assert.equal(
      JSON.stringify(ACTIONS.move),
      '{"allOf":["read","write"],"anyOf":["deleteOwn","deleteAll"]}',
    );
  });

  it("names what is missing as the Python side does", () => {
    assert.deepEqual(missing("flag", 1), ["editOwn or editAll"]);
    assert.deepEqual(missing("flag", 17), []);
    assert.deepEqual(missing("move", 1), ["write", "deleteOwn or deleteAll"]);
    assert.deepEqual(missing("move", 23), []);
    assert.deepEqual(missing("delete", 3), ["deleteOwn or deleteAll"]);
    assert.deepEqual(missing("reply", 0), ["read"]);
    assert.deepEqual(missing("claim", 0), ["read", "editOwn or editAll"]);
    assert.throws(() => missing("explode", 63), RangeError);
  });

  it("words the reasons like the backend's describe()", () => {
    const described = describeActions(1);
    assert.deepEqual(described.reply, { allowed: true });
    assert.deepEqual(described.claim, {
      allowed: false,
      missing: ["editOwn or editAll"],
      reason: "Needs the permission: Edit own items or Edit all items",
    });
    assert.equal(
      described.move.reason,
      "Needs the permission: Create items; Delete own items or Delete all items",
    );
  });

  it("cannot be changed at run time", () => {
    assert.throws(() => {
      ACTIONS.claim.allOf.push("write");
    }, TypeError);
  });
});
