// Node's mock timers for the pane's unit tests: time moves only when a test says so, so no
// test waits for real time and none depends on how fast the machine is. Not a test file itself
// (node --test runs only *.test.js here).

import { afterEach, beforeEach, mock } from "node:test";

/** Mocks setTimeout, clearTimeout and Date for every test of the enclosing describe. */
export function useMockTimers() {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 }));
  afterEach(() => mock.timers.reset());
}

/**
 * Lets pending promise callbacks run (setImmediate is not mocked), a few rounds deep.
 * @param {number} [rounds]
 */
export async function settle(rounds = 5) {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves the mocked clock on by `ms`, letting the callbacks it fires finish their promises.
 * @param {number} ms
 */
export async function advance(ms) {
  await settle();
  mock.timers.tick(ms);
  await settle();
}
