import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { kindText, personText, when } from "../ui.js";

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
    assert.equal(graph.iso, "2026-11-21T15:00:00.000Z");
    assert.equal(when("2026-11-16T08:25:00Z", "en-GB").iso, "2026-11-16T08:25:00.000Z");
    assert.equal(when(null), null);
    assert.deepEqual(when("not a date"), { iso: "not a date", text: "not a date" });
  });

  it("says 'shared mailbox or delegate folder' since Office can't tell them apart", () => {
    const shared = {
      state: "shared",
      shared: { owner: "adele@contoso.com", targetMailbox: "adele@contoso.com" },
    };
    assert.equal(kindText(shared), "Shared mailbox or delegate folder of adele@contoso.com");
    assert.equal(kindText({ state: "own" }), "Your own mailbox");
    assert.equal(kindText({ state: "unknown" }), "Unknown mailbox");
  });
});
