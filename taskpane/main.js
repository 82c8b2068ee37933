// The pane's start: Office.onReady -> read the item's context -> render -> ask the backend ->
// render. A pinned pane follows the selection through ItemChanged; answers for an item that is
// no longer selected are dropped.

import { ApiProblem, explain, postContext } from "./api.js";
import { AuthError, SignIn } from "./auth.js";
import { readContext } from "./context.js";
import { View } from "./ui.js";

const view = new View(document);
const signIn = new SignIn();
const getToken = (request) => signIn.token(request);
let generation = 0;

/**
 * Adds one to a counter on main for tests and diagnostics: data-stale counts answers dropped
 * because another item was selected meanwhile, data-loads the loads that ended on screen (a test
 * waits for it to move past the value it read before selecting, not for aria-busy alone, which
 * is already "false" before the pane hears of the new selection).
 */
function count(name) {
  const main = document.getElementById("main");
  main.dataset[name] = String(Number(main.dataset[name] ?? 0) + 1);
}

/** Reads the selected item and shows what may be done with it; stale answers are ignored. */
async function load() {
  const mine = ++generation;
  const current = () => {
    if (mine === generation) return true;
    count("stale");
    return false;
  };
  const office = globalThis.Office;
  view.starting();
  let ctx = null;
  try {
    ctx = await readContext(office);
    if (!current()) return;
    if (ctx.state === "none") {
      view.none(ctx);
      return;
    }
    if (ctx.state === "unknown") {
      view.unknown(ctx, load);
      return;
    }
    view.loading(ctx);
    const answer = await postContext(ctx, { getToken });
    if (current()) view.answer(ctx, answer, signIn.describe());
  } catch (error) {
    if (!current()) return;
    if (!(error instanceof ApiProblem || error instanceof AuthError))
      console.error("Tandem:", error);
    view.problem(ctx, explain(error), load, signIn.describe());
  } finally {
    if (mine === generation) count("loads");
  }
}

/** Office.context.mailbox.addHandlerAsync as a promise; resolves false when it fails. */
function onItemChanged(office, handler) {
  return new Promise((resolve) => {
    const mailbox = office.context.mailbox;
    if (typeof mailbox?.addHandlerAsync !== "function") {
      resolve(false);
      return;
    }
    mailbox.addHandlerAsync(office.EventType.ItemChanged, handler, (result) => {
      resolve(result?.status === office.AsyncResultStatus.Succeeded);
    });
  });
}

/** Starts the pane once Office is ready. */
async function start() {
  const office = globalThis.Office;
  if (!office?.onReady) {
    view.notOutlook();
    return;
  }
  const info = await office.onReady();
  if (info?.host !== office.HostType.Outlook || !office.context?.mailbox) {
    view.notOutlook();
    return;
  }
  // Pinned pane: Outlook keeps it open and reports each newly selected item.
  onItemChanged(office, () => load()).then((registered) => {
    if (!registered)
      console.warn("Tandem: ItemChanged is not available; the pane won't follow the selection.");
  });
  await load();
}

start();
