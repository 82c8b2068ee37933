"""What the pane is answered: the item as it shows it, and the context answer (mailbox, person,
permissions, item, what may be done, the limits)."""

from __future__ import annotations

from typing import Any

from tandem_mailbox.config import Settings
from tandem_mailbox.mail import claim_category, fields, permissions
from tandem_mailbox.mail.context import ItemContext
from tandem_mailbox.microsoft.identity import Caller


def summary(item: dict[str, Any], item_type: str, *, me: str) -> dict[str, Any]:
    """The item as the task pane shows it; `me` is the caller's upn (for `claim.mine`)."""

    def address(value: Any) -> dict[str, str] | None:
        email = value.get("emailAddress") if isinstance(value, dict) else None
        if not isinstance(email, dict):
            return None
        return {"name": str(email.get("name", "")), "address": str(email.get("address", ""))}

    categories = [str(c) for c in item.get("categories") or [] if isinstance(c, str)]
    holder = claim_category.holder(categories)
    result: dict[str, Any] = {
        "id": item.get("id"),
        "type": item_type,
        "subject": item.get("subject") or "",
        "categories": categories,
        "claim": dict(holder, mine=holder["upn"] == me.lower()) if holder else None,
        "importance": item.get("importance"),
        "etag": item.get("@odata.etag"),
        "changeKey": item.get("changeKey"),
        "preview": item.get("bodyPreview") or "",
        "webLink": item.get("webLink"),
    }
    if item_type == "message":
        flag = _member(item, "flag")
        result.update(
            {
                "from": address(item.get("from")),
                "sender": address(item.get("sender")),
                "receivedDateTime": item.get("receivedDateTime"),
                "isRead": item.get("isRead"),
                "isDraft": item.get("isDraft"),
                "flag": flag.get("flagStatus", "notFlagged"),
                "hasAttachments": item.get("hasAttachments"),
                "conversationId": item.get("conversationId"),
                "folderId": item.get("parentFolderId"),
            }
        )
    else:
        location = _member(item, "location")
        status = _member(item, "responseStatus")
        result.update(
            {
                "organizer": address(item.get("organizer")),
                "start": item.get("start"),
                "end": item.get("end"),
                "location": location.get("displayName"),
                "isCancelled": item.get("isCancelled"),
                "isOrganizer": item.get("isOrganizer"),
                "responseStatus": status.get("response"),
            }
        )
    return result


def _member(item: dict[str, Any], name: str) -> dict[str, Any]:
    """The item's object `name`, or {} when Graph left it out or sent something else."""
    value = item.get(name)
    return value if isinstance(value, dict) else {}


def _actions(caller: Caller, ctx: ItemContext, item: dict[str, Any]) -> dict[str, Any]:
    """What may be done with the item, and why not, for this person."""
    return permissions.describe(
        ctx.bits,
        ctx.item_type,
        holder=item.get("claim"),
        me=caller.upn,
        owner=not ctx.shared,
        organizer=bool(item.get("isOrganizer")),
    )


def context(
    caller: Caller, ctx: ItemContext, raw: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """The context answer: mailbox, person, permissions, item and what may be done with it."""
    item = summary(raw, ctx.item_type, me=caller.upn)
    return {
        "mailbox": {
            "address": ctx.target or caller.upn,
            "kind": ctx.kind,
            "owner": ctx.owner or (ctx.target or caller.upn),
        },
        "person": {"name": caller.name, "upn": caller.upn},
        "permissions": dict(permissions.decode(ctx.bits), bits=ctx.bits),
        "item": item,
        "actions": _actions(caller, ctx, item),
        # What the pane must know before it sends: a comment's limit in characters (code
        # points), and the longest a request may take here (the pane waits longer).
        "limits": {
            "commentCharacters": fields.MAX_COMMENT,
            "requestSeconds": round(settings.longest_request),
        },
    }


def action(
    name: str,
    caller: Caller,
    ctx: ItemContext,
    item: dict[str, Any] | None,
    result: dict[str, Any],
) -> dict[str, Any]:
    """An action's answer: the item as it is now, what the action did, and what may be done
    next (a claim changes it): the pane needs no second call (actions.py adds the record)."""
    answer: dict[str, Any] = {"action": name, "item": item, "result": result}
    if item is not None:
        answer["actions"] = _actions(caller, ctx, item)
    return answer


def record_actions(bits: int) -> dict[str, dict[str, object]]:
    """What the record card may do here (the permission bits; Exchange still judges the
    owner's claim category)."""
    return {name: {"allowed": not permissions.missing(name, bits)} for name in permissions.RECORD}


def refreshed(caller: Caller, ctx: ItemContext, item: dict[str, Any]) -> dict[str, Any]:
    """The item and what may be done with it, after Tandem itself changed it."""
    return {"item": item, "actions": _actions(caller, ctx, item)}
