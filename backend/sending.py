"""Replies and forwards, drafted where they belong and sent as the mailbox (README, "Sending").

Tandem drafts in the item's own mailbox (createReply / createReplyAll / createForward) and
sends that draft, so a shared-mailbox member's copy lands in the shared mailbox's Sent Items;
when Exchange refuses the draft there (a delegate with folder rights only has no rights on the
owner's Drafts) it drafts in the person's own mailbox with `from` the owner. A send is never
sent twice: a 5xx after `send` is checked by reading the draft (gone means sent).
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .context import is_item_id
from .errors import ApiError, ItemNotFound, MailboxAccessDenied, SendAsDenied, UpstreamUnavailable
from .graph import Route

if TYPE_CHECKING:
    from .actions import Act

log = logging.getLogger("tandem.sending")


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
    body = original.get("body") if isinstance(original.get("body"), dict) else {}
    content = str(body.get("content") or "")
    if body.get("contentType") != "html":
        content = f"<pre>{html.escape(content)}</pre>"
    text = html.escape(comment).replace("\n", "<br>")
    return {"contentType": "html", "content": f"<div>{text}</div>{header}{content}"}


def _own_draft(act: Act, action: str) -> tuple[Route, dict[str, Any]]:
    """A draft in the own mailbox, `from` the owner, the original quoted (the /me route)."""
    original = act.call(
        "GET",
        act.route,
        act.item_path,
        params={"$select": "subject,from,replyTo,toRecipients,ccRecipients,body,sentDateTime"},
    ).body
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
    verb = {"reply": "createReply", "replyAll": "createReplyAll", "forward": "createForward"}
    body: dict[str, Any] = {"comment": act.fields["comment"]}
    if act.ctx.target is not None:
        body["message"] = {"from": _recipient(act.ctx.target)}
    if action == "forward":
        body["toRecipients"] = [_recipient(a) for a in act.fields["toRecipients"]]
    return act.call("POST", act.route, f"{act.item_path}/{verb[action]}", body=body).body


def send(act: Act, action: str) -> dict[str, Any]:
    """Draft the reply where it belongs, send it if asked, and say as whom and where the copy is."""
    route, via = act.route, "mailbox"
    try:
        draft = _mailbox_draft(act, action)
    except MailboxAccessDenied:
        if act.ctx.target is None:
            raise
        # A delegate with folder rights only has none on the owner's Drafts (README).
        via = "me"
        route, draft = _own_draft(act, action)
    draft_id = str(draft.get("id", ""))
    if not is_item_id(draft_id):
        raise UpstreamUnavailable("Microsoft Graph answered no draft id.", status=502)
    copy_in = act.ctx.target if via == "mailbox" and act.ctx.target else act.caller.upn.lower()
    info = {"id": draft_id, "webLink": draft.get("webLink"), "mailbox": copy_in}
    if not act.fields["send"]:
        return {"sent": False, "draft": info, "route": via, "sentAs": None, "sentCopyIn": None}
    draft_path = "/messages/" + quote(draft_id, safe="")
    try:
        act.call("POST", route, draft_path + "/send")
    except SendAsDenied:
        _discard(act, route, draft_path)
        raise
    except UpstreamUnavailable as error:
        # Graph may have sent it before failing: a sent draft leaves Drafts. Never send twice.
        try:
            act.call("GET", route, draft_path, params={"$select": "id"})
        except ItemNotFound:
            log.info("send answered %s but the draft is gone: it was sent", error.status)
        else:
            raise UpstreamUnavailable(
                "Microsoft 365 may not have sent your reply; it is saved in Drafts. Check Sent "
                "Items before sending it again.",
                status=error.status,
            ) from error
    return {
        "sent": True,
        "draft": None,
        "route": via,
        "sentAs": _sent_as(act, route, draft),
        "sentCopyIn": copy_in,
    }


def _discard(act: Act, route: Route, draft_path: str) -> None:
    try:
        act.call("DELETE", route, draft_path)
    except ApiError as error:  # the refusal the person must hear is the send's, not this
        log.info("could not remove the unsent draft: %s", error.code)


def _sent_as(act: Act, route: Route, draft: dict[str, Any]) -> str | None:
    """sendAs, sendOnBehalf or self, read from the sent copy (Graph sets `sender` itself)."""
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
    if not found:
        return None
    sender, sent_from = _address(found[0].get("sender")), _address(found[0].get("from"))
    if sent_from == act.caller.upn.lower():
        return "self"
    return "sendAs" if sender == sent_from else "sendOnBehalf"
