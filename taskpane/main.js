// The pane's start: Office.onReady -> read the item's context -> render -> ask the backend ->
// render the item with a button for every action the server allows. A pinned pane follows the
// selection through ItemChanged; answers for an item that is no longer selected are dropped.
// While an item is shown the pane says so (presence.js) and lists the others on it. Beside a
// draft (compose mode) the pane is replying.js's: the conversation's record, insert a text.

import { ItemActions } from "./actions.js";
import { ApiProblem, explain, postContext, postFolders } from "./api.js";
import { AuthError, SignIn } from "./auth.js";
import { isCompose, openReplyForm } from "./compose.js";
import { readContext } from "./context.js";
import { ActionsCard } from "./controls.js";
import { Presence, presenceLines } from "./presence.js";
import { RECORD_ACTIONS, RecordCard } from "./record.js";
import { replyInOutlookCard, startCompose } from "./replying.js";
import { TeamCard } from "./team.js";
import { templateValues } from "./templates.js";
import { View } from "./ui.js";

/**
 * @import { Outcome, ShownAnswer } from "./actions.js"
 * @import { TokenRequest } from "./auth.js"
 * @import { ItemContext, KnownMailbox } from "./context.js"
 * @import { CardHandlers, Notice } from "./controls.js"
 */

const view = new View(document);
const signIn = new SignIn();
const getToken = (/** @type {TokenRequest} */ request) => signIn.token(request);
const seams = { getToken };
let generation = 0;
/** @type {ActionsCard | null} the shown item's actions card */
let card = null;
/** @type {RecordCard | null} the shown item's record card, when it has a conversation */
let recordCard = null;
/** @type {TeamCard | null} the team's card of the shared mailbox last shown (kept across items) */
let team = null;

const actions = new ItemActions({
  seams,
  onBusy: (busy) => {
    card?.setBusy(busy);
    recordCard?.setBusy(busy);
  },
  onProgress: (text) => card?.progress(text),
});
const presence = new Presence({
  // Presence refreshes every 10 s: it reuses the token the pane last had.
  seams: { getToken: (request) => signIn.reuse(request) },
  onOthers: (others, answered) => {
    view.presence(presenceLines(others));
    if (answered) count("presence");
  },
});

/**
 * Adds one to a counter on main for tests and diagnostics: data-stale counts answers dropped
 * because another item was selected meanwhile, data-presence the presence answers shown,
 * data-loads the loads that ended on screen (a test
 * waits for it to move past the value it read before selecting, not for aria-busy alone, which
 * is already "false" before the pane hears of the new selection).
 * @param {string} name
 */
function count(name) {
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  main.dataset[name] = String(Number(main.dataset[name] ?? 0) + 1);
}

/**
 * Whether `mine` is still the current generation (counting a stale answer when it isn't).
 * @param {number} mine
 */
function isCurrent(mine) {
  if (mine === generation) return true;
  count("stale");
  return false;
}

/**
 * Opens a link outside the add-in, as Outlook wants (Office.context.ui.openBrowserWindow).
 * @param {string} url
 */
function openLink(url) {
  const ui = globalThis.Office?.context?.ui;
  if (typeof ui?.openBrowserWindow === "function") ui.openBrowserWindow(url);
  else window.open(url, "_blank", "noopener");
}

/**
 * Opens an item of the mailbox in Outlook: displayMessageForm takes an EWS id, so the REST
 * (immutable) id the backend answers with is converted first.
 * @param {string} itemId
 */
function openItem(itemId) {
  const office = globalThis.Office;
  const mailbox = office?.context?.mailbox;
  if (!mailbox || typeof mailbox.displayMessageForm !== "function") return;
  const ews =
    typeof mailbox.convertToEwsId === "function"
      ? mailbox.convertToEwsId(itemId, office.MailboxEnums.RestVersion.v2_0)
      : itemId;
  mailbox.displayMessageForm(ews);
}

/**
 * The team's card for the shown item's shared mailbox: the one already open when it is the
 * same mailbox for the same person, else a new one (none outside shared mailboxes).
 * @param {KnownMailbox} ctx
 * @param {ShownAnswer} answer
 */
function teamFor(ctx, answer) {
  if (ctx.state !== "shared") return null;
  const key = `${answer.person?.upn ?? ""}\n${ctx.shared.targetMailbox}`.toLowerCase();
  if (team && team.element.dataset.key !== key) {
    team.stop();
    team = null;
  }
  if (!team) {
    // The card's calls (a refresh every minute among them) reuse the token the pane last had,
    // as presence does: Outlook is asked again only when the backend says it expired.
    const reuse = { getToken: (/** @type {TokenRequest} */ r) => signIn.reuse(r) };
    team = new TeamCard(document, { ctx, seams: reuse, open: openItem, count });
    team.element.dataset.key = key;
  }
  team.shown(ctx);
  return team;
}

/**
 * The handlers the actions card calls: each checks that its item is still the one shown.
 * @param {number} mine
 * @param {ShownAnswer | null} [answer]  the item's answer (its sender fills templates)
 * @returns {CardHandlers}
 */
function handlersFor(mine, answer = null) {
  /**
   * Renders an action's outcome when it worked (the card shows the others itself); a record
   * action's notice shows in the record card.
   * @param {Outcome} outcome
   * @param {string|null} [name]
   */
  const finish = (outcome, name = null) => {
    if (!isCurrent(mine) || outcome.kind !== "done") return outcome;
    if (outcome.gone) {
      presence.leave();
      card = null;
      recordCard = null;
      view.gone(outcome.ctx, outcome.answer, outcome.message, signIn.describe());
    } else {
      /** @type {Extract<Notice, {kind: "ok"}>} */
      const notice = { kind: "ok", text: outcome.message, draft: outcome.draft };
      const where = name !== null && RECORD_ACTIONS.has(name) ? "record" : "actions";
      show(mine, outcome.ctx, outcome.answer, notice, where);
    }
    return outcome;
  };
  return {
    act: async (name, fields) => finish(await actions.perform(name, fields), name),
    check: async () => finish(await actions.check()),
    folders: () => postFolders(actions.ctx, seams),
    replying: (open) => presence.replying(open),
    reload: () => reload(mine),
    openLink,
    templates:
      team && answer
        ? {
            load: () => /** @type {TeamCard} */ (team).loadTemplates(),
            values: () =>
              templateValues({
                customer: answer.item?.from ?? null,
                me: answer.person ?? null,
                mailboxName: team?.mailboxName ?? null,
              }),
          }
        : null,
  };
}

/**
 * Reply in Outlook's own form: first takes the conversation when nobody holds it (a claim
 * makes the caller its owner); someone else taking it meanwhile stops here, with their name.
 * Answers what to say in the card, or null once the form opened.
 * @param {number} mine
 * @param {boolean} all
 * @param {string} text  the reply's start (a template's text, once templates are chosen here)
 * @returns {Promise<string | null>}
 */
async function replyInOutlook(mine, all, text) {
  if (!isCurrent(mine)) return null;
  const answer = actions.answer;
  const holder = answer?.record?.conversation?.assignee ?? answer?.item?.claim ?? null;
  if (!holder && answer?.actions?.claim?.allowed) {
    const outcome = await handlersFor(mine).act("claim", {});
    if (outcome.kind === "conflict")
      return `${outcome.message} Choose Reply in Outlook again to answer anyway.`;
    if (outcome.kind === "problem") return outcome.explained.message;
    if (outcome.kind === "busy") return "Another action is still running. Try again in a moment.";
  }
  await openReplyForm(globalThis.Office, all, text);
  return null;
}

/**
 * Whether Outlook can open its own reply form for the item shown (Mailbox 1.9, read mode).
 * @param {ShownAnswer} answer
 */
function replyFormOffered(answer) {
  const item = globalThis.Office?.context?.mailbox?.item;
  return (
    answer.item?.type !== "appointment" &&
    typeof (/** @type {Office.MessageRead | undefined} */ (item)?.displayReplyFormAsync) ===
      "function"
  );
}

/**
 * Renders a context answer (with a notice after an action, in the card it belongs to) and says
 * "viewing" for the item.
 * @param {number} mine
 * @param {KnownMailbox} ctx
 * @param {ShownAnswer} answer
 * @param {Extract<Notice, {kind: "ok"}> | null} [notice]
 * @param {"actions"|"record"} [noticeIn]
 */
function show(mine, ctx, answer, notice = null, noticeIn = "actions") {
  actions.show(ctx, answer);
  const teamCard = teamFor(ctx, answer);
  const handlers = handlersFor(mine, answer);
  card = new ActionsCard(document, {
    ctx,
    answer,
    handlers,
    notice: noticeIn === "actions" ? notice : null,
  });
  recordCard = answer.record
    ? new RecordCard(document, {
        record: answer.record,
        me: answer.person?.upn ?? "",
        handlers,
        allowed: (name) => answer.record?.actions?.[name]?.allowed !== false,
        notice: noticeIn === "record" ? notice : null,
      })
    : null;
  const outlook = replyFormOffered(answer)
    ? replyInOutlookCard(document, {
        open: (all, text) => replyInOutlook(mine, all, text),
        templates: handlers.templates ?? null,
      })
    : null;
  view.answer(ctx, answer, signIn.describe(), {
    card: card.element,
    record: recordCard?.element ?? null,
    team: teamCard?.element ?? null,
    outlook,
    status: notice?.text ?? null,
  });
  presence.show(ctx);
}

/**
 * The context call again for the item at its current id (after a conflict, or on request).
 * @param {number} mine
 */
async function reload(mine) {
  const ctx = actions.ctx;
  if (!isCurrent(mine) || !ctx || actions.busy) return;
  card?.setBusy(true);
  try {
    const answer = await postContext(ctx, seams);
    if (isCurrent(mine)) show(mine, ctx, answer);
  } catch (error) {
    if (!isCurrent(mine)) return;
    card?.setBusy(false);
    card?.notice({ kind: "problem", explained: explain(error) });
  }
}

/** Reads the selected item and shows what may be done with it; stale answers are ignored. */
async function load() {
  const mine = ++generation;
  const current = () => isCurrent(mine);
  const office = globalThis.Office;
  presence.leave();
  card = null;
  view.starting();
  /** @type {ItemContext | null} */
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
    const answer = await postContext(ctx, seams);
    if (current()) show(mine, ctx, answer);
  } catch (error) {
    if (!current()) return;
    if (!(error instanceof ApiProblem || error instanceof AuthError))
      console.error("Tandem:", error);
    view.problem(ctx, explain(error), load, signIn.describe());
  } finally {
    if (mine === generation) count("loads");
  }
}

/**
 * Office.context.mailbox.addHandlerAsync as a promise; resolves false when it fails.
 * @param {typeof Office} office
 * @param {() => void} handler
 * @returns {Promise<boolean>}
 */
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
  if (isCompose(office.context.mailbox.item)) {
    // Beside a draft: compose.js's pane (the insert box will take a chosen template's text).
    await startCompose({ office, view, seams });
    return;
  }
  // The pane closes or reloads: "gone" for the item, with the token already held.
  window.addEventListener("pagehide", () => presence.unload());
  // Pinned pane: Outlook keeps it open and reports each newly selected item.
  onItemChanged(office, () => load()).then((registered) => {
    if (!registered)
      console.warn("Tandem: ItemChanged is not available; the pane won't follow the selection.");
  });
  await load();
}

start();
