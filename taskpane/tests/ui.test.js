import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ACTION_LABELS,
  actionRows,
  kindText,
  officePermissions,
  PERMISSION_LABELS,
  permissionRows,
  personText,
  readableName,
  when,
} from "../ui.js";

describe("ui helpers", () => {
  it("writes a person as name and address, or whichever is known", () => {
    assert.equal(
      personText({ name: "Maria Lopez", address: "maria@adatum.com" }),
      "Maria Lopez <maria@adatum.com>",
    );
    assert.equal(personText({ name: "", address: "maria@adatum.com" }), "maria@adatum.com");
    assert.equal(
      personText({ name: "support@contoso.com", address: "support@contoso.com" }),
      "support@contoso.com",
    );
    assert.equal(personText(null), "");
  });

  it("reads Graph's UTC {dateTime, timeZone} and ISO strings alike", () => {
    const graph = when({ dateTime: "2026-11-21T15:00:00.0000000", timeZone: "UTC" }, "en-GB");
    assert.equal(graph?.iso, "2026-11-21T15:00:00.000Z");
    assert.equal(when("2026-11-16T08:25:00Z", "en-GB")?.iso, "2026-11-16T08:25:00.000Z");
    assert.equal(when(null), null);
    assert.deepEqual(when("not a date"), { iso: "not a date", text: "not a date" });
  });

  it("says 'shared mailbox or delegate folder' since Office can't tell them apart", () => {
    const shared = { owner: "adele@contoso.com", targetMailbox: "adele@contoso.com" };
    assert.equal(
      kindText({ state: "shared", shared }),
      "Shared mailbox or delegate folder of adele@contoso.com",
    );
    assert.equal(kindText({ state: "own" }), "Your own mailbox");
    assert.equal(kindText({ state: "unknown" }), "Unknown mailbox");
  });
});

describe("what the server decided", () => {
  it("lists the server's permissions in the pane's order with its labels", () => {
    const sent = { editAll: false, read: true, bits: 1, write: false };
    assert.deepEqual(permissionRows(sent), [
      { name: "read", label: "Read items", granted: true },
      { name: "write", label: "Create items", granted: false },
      { name: "editAll", label: "Edit all items", granted: false },
    ]);
  });

  it("decodes Office's bits only into the server's shape, for the wait", () => {
    assert.deepEqual(officePermissions(23), {
      read: true,
      write: true,
      deleteOwn: true,
      deleteAll: false,
      editOwn: true,
      editAll: false,
      bits: 23,
    });
    assert.equal(officePermissions(undefined).bits, 0);
    assert.deepEqual(Object.keys(PERMISSION_LABELS), Object.keys(officePermissions(0)).slice(0, 6));
  });

  it("renders every action as sent, in a stable order, with the server's reason", () => {
    const sent = {
      forward: { allowed: true },
      flag: {
        allowed: false,
        missing: ["editOwn or editAll"],
        reason: "Needs the permission: Edit own items or Edit all items",
      },
      claim: { allowed: true },
    };
    assert.deepEqual(actionRows(sent), [
      { name: "claim", label: "Claim it for yourself", allowed: true, reason: null },
      { name: "forward", label: "Forward", allowed: true, reason: null },
      {
        name: "flag",
        label: "Flag for follow-up",
        allowed: false,
        reason: "Needs the permission: Edit own items or Edit all items",
      },
    ]);
  });

  it("gives an appointment's respond a label, and an unknown action a readable name", () => {
    const sent = {
      snoozeUntilMonday: { allowed: true },
      respond: { allowed: true },
      release: { allowed: false, missing: [], reason: "You hold no claim on this item" },
      archive_all: { allowed: false, missing: [] },
    };
    const rows = actionRows(sent);
    assert.deepEqual(
      rows.map((row) => [row.name, row.label]),
      [
        ["release", "Release your claim"],
        ["respond", "Respond to the invitation"],
        ["archive_all", "Archive all"],
        ["snoozeUntilMonday", "Snooze until monday"],
      ],
    );
    assert.equal(rows[0].reason, "You hold no claim on this item");
    assert.equal(rows[2].reason, "Not available for this item.");
    assert.equal(readableName("markUnread"), "Mark unread");
  });

  it("has a label for every action name of the README's context answer", () => {
    const message = ["claim", "release", "categorize", "flag", "markRead", "markUnread", "move"];
    const more = ["delete", "reply", "replyAll", "forward", "respond"];
    for (const name of [...message, ...more]) assert.ok(ACTION_LABELS[name], name);
  });

  it("keeps no table of its own: nothing is shown that the server did not send", () => {
    assert.deepEqual(actionRows({}), []);
    assert.deepEqual(actionRows(null), []);
    assert.deepEqual(permissionRows(undefined), []);
  });
});
