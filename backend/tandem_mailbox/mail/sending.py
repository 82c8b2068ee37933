"""Replies, forwards and meeting responses: sent once, whatever fails (docs/api.md).

Tandem drafts in the item's own mailbox (createReply / createReplyAll / createForward) and
sends that draft, so a shared-mailbox member's copy lands in the shared mailbox's Sent Items;
when Exchange refuses the draft there (a delegate with folder rights only has no rights on the
owner's Drafts) it drafts in the person's own mailbox with `from` the owner.

Sending once: the action's record (idempotency.py) is written before /send is called, with the
draft's id and Message-ID. When /send gets no trustworthy answer (a timeout, a 5xx, a broken
connection after it was sent), Tandem looks: the draft gone means Exchange took it; the draft
still there may still be taken (Exchange can finish a request whose answer we gave up on), so
the outcome is `send_outcome_unknown` and nothing is sent again by itself. A replay with the
same key looks again: after SETTLE a draft still in Drafts was not sent and is sent now; a
draft gone with its copy in the right Sent Items was sent; anything else stays unknown.

A send is two Graph calls (the draft with the comment, then /send). How Exchange sent it (Send
As or Send on Behalf: Exchange tries Send As first, and the rights are the mailbox's, which
delegated Graph can't read) is read from the sent copy the first time a person sends through a
mailbox and remembered for SEND_MEMORY in the coordinator, where every worker finds it; so is a
mailbox whose Drafts Exchange refused the person (a delegate with folder rights only), whose
drafts then go to their own mailbox at once (docs/performance.md).

What the person typed is sent as they typed it: Exchange puts `comment` into the HTML body as
HTML (markup is interpreted and line breaks collapse, as reported by people using Graph's
`comment`), so both routes send it escaped, with `<br>` for each line break: no markup of
theirs is interpreted and no remote image is loaded.
"""

from __future__ import annotations

import hashlib
import html
import logging
import time
from datetime import UTC
from typing import Any
from urllib.parse import quote

from tandem_mailbox.errors import (
    ApiError,
    ItemNotFound,
    MailboxAccessDenied,
    SendAsDenied,
    SendOutcomeUnknown,
    UpstreamUnavailable,
)
from tandem_mailbox.mail import audit
from tandem_mailbox.mail.context import is_item_id
from tandem_mailbox.mail.operation import SEND_MARGIN, Act
from tandem_mailbox.microsoft.mailboxes import Route

log = logging.getLogger("tandem.sending")

# How long after /send was called a draft still in Drafts may yet be sent by Exchange, as a
# multiple of TANDEM_HTTP_TIMEOUT (the time Graph had to answer when we gave up on it).
SETTLE_TIMEOUTS = 2.0
# How long what Exchange showed of a person's sending through a mailbox stands for it. Exchange
# itself takes up to an hour to apply a change of Send As, Send on Behalf or Full Access.
SEND_MEMORY = 600.0
SENT_AS = ("sendAs", "sendOnBehalf", "self")
VERBS = {"reply": "createReply", "replyAll": "createReplyAll", "forward": "createForward"}
WRITTEN = {"reply": "reply", "replyAll": "reply", "forward": "forward"}


def comment_html(text: str) -> str:
    """The person's text as HTML that shows exactly it: escaped, line breaks as <br>."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(html.escape(line, quote=False) for line in lines)


def _address(value: Any) -> str:
    email = value.get("emailAddress") if isinstance(value, dict) else None
    return str(email.get("address", "")).lower() if isinstance(email, dict) else ""


def _recipient(address: str) -> dict[str, Any]:
    return {"emailAddress": {"address": address}}


def _quoted(comment: str, original: dict[str, Any]) -> dict[str, str]:
    """The comment above the original, as Outlook quotes it (HTML body)."""
    who = (
        original.get("from", {}).get("emailAddress", {})
        if isinstance(original.get("from"), dict)
        else {}
    )
    header = (
        f"<hr><p><b>From:</b> {html.escape(str(who.get('name') or who.get('address') or ''))}<br>"
        f"<b>Sent:</b> {html.escape(str(original.get('sentDateTime') or ''))}<br>"
        f"<b>Subject:</b> {html.escape(str(original.get('subject') or ''))}</p>"
    )
    body = original.get("body")
    body = body if isinstance(body, dict) else {}
    content = str(body.get("content") or "")
    if body.get("contentType") != "html":
        content = f"<pre>{html.escape(content)}</pre>"
    return {
        "contentType": "html",
        "content": f"<div>{comment_html(comment)}</div>{header}{content}",
    }


def _own_draft(act: Act, action: str) -> tuple[Route, dict[str, Any]]:
    """A draft in the own mailbox, `from` the owner, the original quoted (the /me route)."""
    original = act.call(
        "GET",
        act.route,
        act.item_path,
        params={
            "$select": "subject,from,replyTo,toRecipients,ccRecipients,body,sentDateTime,"
            "conversationId,parentFolderId"
        },
    ).body
    act.saw(original)
    me, owner = act.caller.upn.lower(), (act.ctx.target or "").lower()
    subject = str(original.get("subject") or "")
    prefix = "FW: " if action == "forward" else "RE: "
    to: list[str]
    cc: list[str] = []
    if action == "forward":
        to = list(act.fields["toRecipients"])
    else:
        reply_to = [_address(r) for r in original.get("replyTo") or []]
        to = [a for a in reply_to if a] or [_address(original.get("from"))]
        if action == "replyAll":
            to += [_address(r) for r in original.get("toRecipients") or []]
            cc = [_address(r) for r in original.get("ccRecipients") or []]
    skip = {me, owner, ""}
    # Replying to one's own message goes back to oneself, as Outlook does: never to nobody.
    to = list(dict.fromkeys(a for a in to if a not in skip)) or list(
        dict.fromkeys(a for a in to if a)
    )
    cc = [a for a in dict.fromkeys(cc) if a not in skip and a not in to]
    message = {
        "subject": subject if subject.upper().startswith(prefix.strip()) else prefix + subject,
        "body": _quoted(act.fields["comment"], original),
        "toRecipients": [_recipient(a) for a in to],
        "ccRecipients": [_recipient(a) for a in cc],
        "from": _recipient(owner),
    }
    route = act.graph.own_route(act.caller)
    draft = act.call("POST", route, "/messages", body=message).body
    return route, draft


def _mailbox_draft(act: Act, action: str) -> dict[str, Any]:
    """createReply / createReplyAll / createForward in the item's own mailbox."""
    body: dict[str, Any] = {"comment": comment_html(act.fields["comment"])}
    if act.ctx.target is not None:
        body["message"] = {"from": _recipient(act.ctx.target)}
    if action == "forward":
        body["toRecipients"] = [_recipient(a) for a in act.fields["toRecipients"]]
    return act.call("POST", act.route, f"{act.item_path}/{VERBS[action]}", body=body).body


def _route_of(act: Act, via: str) -> Route:
    return act.route if via == "mailbox" else act.graph.own_route(act.caller)


def _count(draft: dict[str, Any]) -> int:
    """How many recipients a draft has (never who they are)."""
    return sum(
        len(draft.get(name) or []) for name in ("toRecipients", "ccRecipients", "bccRecipients")
    )


def _memory(act: Act, what: str, via: str = "") -> str:
    """The coordinator's key of what Exchange showed of this person sending through this
    mailbox (hashed: no address in Redis's keys)."""
    who = f"{what}\n{act.caller.tid}\n{act.caller.oid}\n{act.route.key}\n{via}"
    return "sending:" + hashlib.sha256(who.encode()).hexdigest()


def _recall(act: Act, what: str, via: str = "") -> str | None:
    raw = act.coordinator.fetch(_memory(act, what, via))
    return raw.decode() if raw else None


def _remember(act: Act, what: str, value: str, via: str = "") -> None:
    # An empty value is forgotten within a second (the cache has no delete).
    act.coordinator.store(_memory(act, what, via), value.encode(), ttl=SEND_MEMORY if value else 1)


def _new_draft(act: Act, action: str) -> dict[str, Any]:
    """Draft the reply where it belongs; answers what the record keeps of it."""
    via = "mailbox"
    if act.ctx.target is not None and _recall(act, "drafts") == "refused":
        via = "me"
        _, draft = _own_draft(act, action)
    else:
        try:
            draft = _mailbox_draft(act, action)
        except MailboxAccessDenied:
            if act.ctx.target is None:
                raise
            # A delegate with folder rights only has none on the owner's Drafts (docs/api.md).
            _remember(act, "drafts", "refused")
            via = "me"
            _, draft = _own_draft(act, action)
    if via == "mailbox":
        act.saw(draft)  # a reply's draft is in its original's conversation
    draft_id = str(draft.get("id", ""))
    if not is_item_id(draft_id):
        raise UpstreamUnavailable("Microsoft Graph answered no draft id.", status=502)
    copy_in = act.ctx.target if via == "mailbox" and act.ctx.target else act.caller.upn.lower()
    message_id = draft.get("internetMessageId")
    return {
        "id": draft_id,
        "via": via,
        "mailbox": copy_in,
        "webLink": draft.get("webLink"),
        "internetMessageId": message_id if isinstance(message_id, str) else None,
        "recipients": _count(draft),
        "conversationId": act.conversation_id,  # the original's (the timeline's key)
    }


def send(act: Act, action: str) -> dict[str, Any]:
    """Draft the reply (or take up the record's draft), send it if asked, exactly once."""
    journal = act.journal
    stage = journal.stage if journal else None
    kept = journal.record.get("draft") if journal else None
    if isinstance(kept, dict) and kept.get("conversationId"):
        act.conversation_id = str(kept["conversationId"])
    if journal and stage in ("sending", "unknown"):
        return _resolve(act, action, journal.record)
    draft = journal.record.get("draft") if journal and stage == "drafted" else None
    if draft is not None and not _still_a_draft(act, draft):
        draft = None  # /send was never called for it: someone deleted it; start again
    if draft is None:
        draft = _new_draft(act, action)
        if journal:
            journal.note(stage="drafted", draft=draft)
    if not act.fields["send"]:
        act.sent = {"outcome": "drafted", "route": draft["via"], "recipients": draft["recipients"]}
        return _drafted(draft)
    return _send_draft(act, action, draft)


def _drafted(draft: dict[str, Any]) -> dict[str, Any]:
    info = {"id": draft["id"], "webLink": draft.get("webLink"), "mailbox": draft["mailbox"]}
    return {"sent": False, "draft": info, "route": draft["via"], "sentAs": None, "sentCopyIn": None}


def _sent(act: Act, draft: dict[str, Any], sent_as: str | None) -> dict[str, Any]:
    act.sent = {
        "outcome": "sent",
        "route": draft["via"],
        "sentAs": sent_as,
        "recipients": draft["recipients"],
    }
    return {
        "sent": True,
        "draft": None,
        "route": draft["via"],
        "sentAs": sent_as,
        "sentCopyIn": draft["mailbox"],
    }


def _send_draft(act: Act, action: str, draft: dict[str, Any]) -> dict[str, Any]:
    """/send for the draft: the record says so first; an unclear answer is said as such."""
    route = _route_of(act, draft["via"])
    draft_path = "/messages/" + quote(draft["id"], safe="")
    act.fence()  # a lock lost meanwhile (Redis flushed): someone else may be sending now
    if act.remaining() < SEND_MARGIN:
        error = UpstreamUnavailable(
            f"Tandem ran out of time before sending your {WRITTEN[action]}: it was not sent and "
            "is saved in Drafts. Try again to send it.",
            status=504,
        )
        error.reached = False
        raise error
    if act.journal:
        act.journal.note(stage="sending", sendAt=time.time())
    audit.event(
        "action",
        action=action,
        outcome="sending",
        **act.who(),
        send={"outcome": "sending", "route": draft["via"], "recipients": draft["recipients"]},
    )
    try:
        act.call("POST", route, draft_path + "/send")
    except SendAsDenied:
        _remember(act, "sentAs", "", draft["via"])
        _discard(act, route, draft_path)
        if act.journal:
            act.journal.note(stage=None, draft=None)
        raise
    except UpstreamUnavailable as error:
        if not error.reached:  # the request never left: the draft is there, unsent
            if act.journal:
                act.journal.note(stage="drafted")
            raise
        # Exchange may have sent it before the answer failed: a sent draft leaves Drafts.
        try:
            unsent = _still_a_draft(act, draft)
        except ApiError:
            raise _unknown(act, action, draft) from error
        if not unsent:
            log.info("send answered %s but the draft is gone: it was sent", error.status)
        elif error.answered:
            # Graph's answer is final and the draft is still a draft: surely not sent.
            if act.journal:
                act.journal.note(stage="drafted")
            raise UpstreamUnavailable(
                f"Microsoft 365 didn't send your {WRITTEN[action]}: it is saved in Drafts. Try "
                "again to send it.",
                status=error.status,
            ) from error
        else:  # no answer: Exchange may still be sending it
            raise _unknown(act, action, draft) from error
    return _sent(act, draft, _sent_as(act, route, draft))


def _unknown(act: Act, action: str, draft: dict[str, Any], *, recheck: float = 0) -> ApiError:
    """send_outcome_unknown: what to tell the person, and the record left for a replay."""
    if act.journal:
        act.journal.note(stage="unknown")
    act.sent = {"outcome": "unknown", "route": draft["via"], "recipients": draft["recipients"]}
    where = f"{draft['mailbox']}'s Sent Items" if draft["via"] == "mailbox" else "your Sent Items"
    what = WRITTEN[action]
    detail = (
        f"Microsoft 365 didn't confirm your {what}, so it may or may not have gone out. Tandem "
        f"won't send it again by itself. Look in {where}; choose Check again and Tandem will "
        "look for you and send it only if it surely wasn't sent."
    )
    error = SendOutcomeUnknown(detail, retryAfter=max(1, round(recheck)) if recheck else None)
    if recheck:
        error.headers["Retry-After"] = str(max(1, round(recheck)))
    return error


def _still_a_draft(act: Act, draft: dict[str, Any]) -> bool:
    """Whether the draft is in its mailbox, unsent (ItemNotFound: it is not)."""
    route = _route_of(act, draft["via"])
    try:
        found = act.call(
            "GET", route, "/messages/" + quote(draft["id"], safe=""), params={"$select": "isDraft"}
        ).body
    except ItemNotFound:
        return False
    return found.get("isDraft") is not False


def _resolve(act: Act, action: str, record: dict[str, Any]) -> dict[str, Any]:
    """A replay of a send whose outcome was unknown: look, and send only if surely unsent."""
    draft = record["draft"]
    settle = SETTLE_TIMEOUTS * act.graph_timeout
    waited = time.time() - float(record.get("sendAt") or 0)
    try:
        unsent = _still_a_draft(act, draft)
    except ApiError:
        raise _unknown(act, action, draft) from None
    if unsent:
        if waited < settle:  # Exchange may still be taking it
            raise _unknown(act, action, draft, recheck=settle - waited)
        log.info("a send left unknown is still a draft after %.0f s: it was not sent", waited)
        return _send_draft(act, action, draft)
    route = _route_of(act, draft["via"])
    copy = _sent_copy(act, route, draft)
    if copy is None:
        # Gone from Drafts, no copy (yet) in Sent Items: it may have gone out. Never resend.
        raise _unknown(act, action, draft, recheck=settle - waited if waited < settle else 0)
    return _sent(act, draft, _learnt(act, draft, copy))


def _discard(act: Act, route: Route, draft_path: str) -> None:
    try:
        act.call("DELETE", route, draft_path)
    except ApiError as error:  # the refusal the person must hear is the send's, not this
        log.info("could not remove the unsent draft: %s", error.code)


def _sent_copy(act: Act, route: Route, draft: dict[str, Any]) -> dict[str, Any] | None:
    """The sent copy in the route's Sent Items, found by Message-ID, or None."""
    message_id = draft.get("internetMessageId")
    if not isinstance(message_id, str) or "'" in message_id:
        return None
    try:
        found = (
            act.call(
                "GET",
                route,
                "/mailFolders/sentitems/messages",
                params={
                    "$filter": f"internetMessageId eq '{message_id}'",
                    "$select": "from,sender",
                    "$top": "1",
                },
            ).body.get("value")
            or []
        )
    except ApiError as error:
        log.info("could not read the sent copy: %s", error.code)
        return None
    return found[0] if found else None


def _sent_as(act: Act, route: Route, draft: dict[str, Any]) -> str | None:
    """sendAs, sendOnBehalf or self: as Exchange sent the last time through this mailbox,
    else read from the sent copy (Graph sets `sender` itself)."""
    known = _recall(act, "sentAs", draft["via"])
    if known in SENT_AS:
        return known
    if act.remaining() < SEND_MARGIN:
        return None  # sent: the answer matters more than how
    copy = _sent_copy(act, route, draft)
    return _learnt(act, draft, copy) if copy is not None else None


def _learnt(act: Act, draft: dict[str, Any], copy: dict[str, Any]) -> str:
    """How a sent copy shows Exchange sent it, remembered for the person and mailbox."""
    kind = _sender_kind(act, copy)
    _remember(act, "sentAs", kind, draft["via"])
    return kind


def _sender_kind(act: Act, copy: dict[str, Any]) -> str:
    sender, sent_from = _address(copy.get("sender")), _address(copy.get("from"))
    if sent_from == act.caller.upn.lower():
        return "self"
    return "sendAs" if sender == sent_from else "sendOnBehalf"


# -- meeting responses ------------------------------------------------------------------------
RESPONSE_STATUS = {
    "accept": "accepted",
    "tentativelyAccept": "tentativelyAccepted",
    "decline": "declined",
}


def respond(act: Act) -> dict[str, Any]:
    """accept / tentativelyAccept / decline once: an unclear answer is said as such."""
    journal = act.journal
    if journal and journal.stage in ("responding", "unknown"):
        return _resolve_response(act, journal.record)
    return _respond_now(act)


def _respond_now(act: Act) -> dict[str, Any]:
    fields = act.fields
    act.fence()
    started = time.time()
    if act.journal:
        act.journal.note(stage="responding", sendAt=started)
    audit.event(
        "action",
        action="respond",
        outcome="sending",
        **act.who(),
        send={
            "outcome": "sending",
            "route": "mailbox",
            "recipients": 1 if fields["sendResponse"] else 0,
        },
    )
    try:
        act.call(
            "POST",
            act.route,
            f"{act.item_path}/{fields['response']}",
            body={"comment": fields["comment"], "sendResponse": fields["sendResponse"]},
        )
    except UpstreamUnavailable as error:
        if not error.reached:
            if act.journal:
                act.journal.note(stage=None)
            raise
        try:
            done = _responded(act, started)
        except ApiError:
            raise _response_unknown(act) from error
        if done:
            return _responded_result(act)
        if not error.answered:  # no answer: Exchange may still be recording it
            raise _response_unknown(act) from error
        if act.journal:
            act.journal.note(stage=None)
        raise UpstreamUnavailable(
            "Microsoft 365 didn't record your response to the meeting; nothing was sent to the "
            "organizer. Try again.",
            status=error.status,
        ) from error
    return _responded_result(act)


def _responded(act: Act, since: float) -> bool:
    """Whether the event says the person's response was recorded at `since` or later."""
    status = act.read().get("responseStatus") or {}
    if status.get("response") != RESPONSE_STATUS[act.fields["response"]]:
        return False
    when = _epoch(status.get("time"))
    return when is not None and when >= since - 5  # Exchange's clock against ours


def _epoch(value: Any) -> float | None:
    from datetime import datetime

    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _responded_result(act: Act) -> dict[str, Any]:
    sent = bool(act.fields["sendResponse"])
    act.sent = {
        "outcome": "sent" if sent else "recorded",
        "route": "mailbox",
        "recipients": int(sent),
    }
    return {"response": act.fields["response"], "sent": sent}


def _response_unknown(act: Act, *, recheck: float = 0) -> ApiError:
    if act.journal:
        act.journal.note(stage="unknown")
    act.sent = {
        "outcome": "unknown",
        "route": "mailbox",
        "recipients": int(act.fields["sendResponse"]),
    }
    detail = (
        "Microsoft 365 didn't confirm your response to the meeting, so the organizer may or may "
        "not have been sent it. Tandem won't send it again by itself. Choose Check again and "
        "Tandem will look at the meeting and respond only if it surely wasn't recorded."
    )
    error = SendOutcomeUnknown(detail, retryAfter=max(1, round(recheck)) if recheck else None)
    if recheck:
        error.headers["Retry-After"] = str(max(1, round(recheck)))
    return error


def _resolve_response(act: Act, record: dict[str, Any]) -> dict[str, Any]:
    since = float(record.get("sendAt") or 0)
    try:
        if _responded(act, since):
            return _responded_result(act)
    except ApiError:
        raise _response_unknown(act) from None
    waited = time.time() - since
    settle = SETTLE_TIMEOUTS * act.graph_timeout
    if waited < settle:
        raise _response_unknown(act, recheck=settle - waited)
    log.info("a response left unknown isn't on the event after %.0f s: responding now", waited)
    return _respond_now(act)
