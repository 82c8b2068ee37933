import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  AUTH_MESSAGES,
  AuthError,
  authMessage,
  identityApiSupported,
  RETRY_DELAY_MS,
  SignIn,
  UNSUPPORTED,
} from "../auth.js";
import { advance, useMockTimers } from "./clock.js";
import { fakeOffice, officeError } from "./fake-office.js";

/** @import { FakeOffice } from "./fake-office.js" */

/**
 * The getAccessToken calls the fake Office saw: ["getAccessToken", options].
 * @param {FakeOffice} office
 */
const tokenCalls = (office) => office.calls.filter((c) => c[0] === "getAccessToken");

describe("SignIn, legacy path: getAccessToken", () => {
  it("asks Office with sign-in and consent prompts allowed, never forMSGraphAccess", async () => {
    const office = fakeOffice({ tokens: ["sso-token"] });
    assert.equal(await new SignIn({ office }).token({}), "sso-token");
    const calls = tokenCalls(office);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0][1], { allowSignInPrompt: true, allowConsentPrompt: true });
    assert.ok(!("forMSGraphAccess" in calls[0][1]));
  });

  it("passes the claims challenge as authChallenge", async () => {
    const office = fakeOffice({ tokens: ["stepped-up"] });
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    assert.equal(await new SignIn({ office }).token({ authChallenge: claims }), "stepped-up");
    assert.deepEqual(tokenCalls(office)[0][1], {
      allowSignInPrompt: true,
      allowConsentPrompt: true,
      authChallenge: claims,
    });
  });

  it("checks IdentityAPI 1.3 at run time and explains when it is missing", async () => {
    const office = fakeOffice({ identity: false });
    assert.equal(identityApiSupported(office), false);
    await assert.rejects(new SignIn({ office }).token({}), (error) => {
      assert.ok(error instanceof AuthError);
      assert.equal(error.code, UNSUPPORTED);
      assert.match(error.message, /IdentityAPI 1\.3/);
      return true;
    });
    assert.equal(tokenCalls(office).length, 0);
    const checked = office.calls.filter((c) => c[0] === "isSetSupported").map((c) => c.slice(1));
    assert.deepEqual(
      new Set(checked.map(String)),
      new Set(["IdentityAPI,1.3", "NestedAppAuth,1.1"]),
    );
  });

  for (const code of [13000, 13001, 13002, 13003, 13005, 13007, 13012, 13013, 50001]) {
    it(`does not retry ${code}, and explains it`, async () => {
      const office = fakeOffice({ tokens: [officeError(code), "unused"] });
      await assert.rejects(new SignIn({ office }).token({}), (error) => {
        assert.ok(error instanceof AuthError);
        assert.equal(error.code, code);
        assert.equal(error.message, AUTH_MESSAGES[code]);
        return true;
      });
      assert.equal(tokenCalls(office).length, 1);
    });
  }

  it("shares one call between callers while it is in flight", async () => {
    const office = fakeOffice({ tokens: ["shared"] });
    const signIn = new SignIn({ office });
    const [a, b] = await Promise.all([signIn.token({}), signIn.token({})]);
    assert.equal(a, "shared");
    assert.equal(b, "shared");
    assert.equal(tokenCalls(office).length, 1);
  });

  it("lets background calls reuse the last token, and asks Office again when told", async () => {
    const office = fakeOffice({ tokens: ["first", "fresh"] });
    const signIn = new SignIn({ office });
    assert.equal(await signIn.token({}), "first");
    assert.equal(await signIn.reuse({}), "first");
    assert.equal(tokenCalls(office).length, 1);
    assert.equal(await signIn.reuse({ fresh: true }), "fresh");
    assert.equal(await signIn.reuse({}), "fresh");
    assert.equal(tokenCalls(office).length, 2);
  });

  it("refuses an empty token", async () => {
    const office = fakeOffice({ tokens: [""] });
    await assert.rejects(
      new SignIn({ office }).token({}),
      (error) => error instanceof AuthError && error.code === "empty-token",
    );
  });
});

describe("SignIn, legacy path: getAccessToken after 13008", () => {
  useMockTimers();

  it("retries silently once, RETRY_DELAY_MS after a call still in progress", async () => {
    const office = fakeOffice({ tokens: [officeError(13008), "second-time-lucky"] });
    const pending = new SignIn({ office }).token({});
    await advance(RETRY_DELAY_MS - 1);
    assert.equal(tokenCalls(office).length, 1, "waits before asking again");
    await advance(1);
    assert.equal(await pending, "second-time-lucky");
    assert.equal(tokenCalls(office).length, 2);
  });

  it("retries 13008 only once", async () => {
    const office = fakeOffice({ tokens: [officeError(13008), officeError(13008), "never"] });
    const pending = new SignIn({ office }).token({});
    const checked = assert.rejects(
      pending,
      (error) => error instanceof AuthError && error.code === 13008,
    );
    await advance(RETRY_DELAY_MS);
    await checked;
    assert.equal(tokenCalls(office).length, 2);
  });
});

describe("AUTH_MESSAGES", () => {
  const codes = [
    13000, 13001, 13002, 13003, 13004, 13005, 13006, 13007, 13008, 13009, 13010, 13011, 13012,
    13013, 50001,
  ];

  it("has a distinct sentence for every code 13000–13013 and 50001", () => {
    const sentences = codes.map((code) => AUTH_MESSAGES[code]);
    for (const [i, sentence] of sentences.entries()) {
      assert.equal(typeof sentence, "string", `code ${codes[i]}`);
      assert.ok(sentence.length > 40, `code ${codes[i]} is too short to act on`);
      assert.match(sentence, /\.$/, `code ${codes[i]} ends as a sentence`);
    }
    assert.equal(new Set(sentences).size, sentences.length);
  });

  it("says what to do, not only what happened", () => {
    assert.match(AUTH_MESSAGES[13001], /Sign in/);
    assert.match(AUTH_MESSAGES[13004], /manifest/);
    assert.match(AUTH_MESSAGES[13012], /Windows|Mac|web/);
    assert.match(AUTH_MESSAGES[50001], /Restart Outlook/);
  });

  it("falls back to a sentence naming an undocumented code", () => {
    assert.match(authMessage(13999), /error 13999/);
    assert.match(authMessage("unknown"), /no error code/);
  });

  it("marks which failures are worth trying again", () => {
    assert.equal(new AuthError(13002).retryable, true);
    assert.equal(new AuthError(13004).retryable, false);
    assert.equal(new AuthError(UNSUPPORTED).retryable, false);
  });
});
