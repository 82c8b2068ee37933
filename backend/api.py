"""The API blueprint: thin views, token -> item context -> Graph -> JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import UnsupportedMediaType

from . import permissions
from .config import GUID, Settings
from .errors import InvalidRequest, TargetNotAllowed
from .identity import Caller

bp = Blueprint("api", __name__, url_prefix="/api")

# Graph's REST ids are base64 in the URL-safe alphabet ('-' and '_'), '=' padded.
ITEM_ID = re.compile(r"^[A-Za-z0-9_-]{16,512}={0,2}$")
SMTP = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251})\.[A-Za-z]{2,63}$"
)
ITEM_TYPES = {"message": "/messages/", "appointment": "/events/"}
MESSAGE_SELECT = ",".join(
    [
        "id",
        "subject",
        "from",
        "sender",
        "toRecipients",
        "receivedDateTime",
        "categories",
        "isRead",
        "flag",
        "importance",
        "hasAttachments",
        "bodyPreview",
        "conversationId",
        "parentFolderId",
        "changeKey",
    ]
)
EVENT_SELECT = ",".join(
    [
        "id",
        "subject",
        "organizer",
        "start",
        "end",
        "location",
        "categories",
        "isCancelled",
        "showAs",
        "importance",
        "bodyPreview",
        "changeKey",
    ]
)


@dataclass(frozen=True)
class ItemContext:
    """What the task pane says about the item: where it lives and what Office says may be done."""

    item_id: str
    item_type: str
    mailbox: str | None  # None: the person's own mailbox (/me)
    owner: str | None
    bits: int
    shared: bool


def parse_context(body: Any, settings: Settings, caller: Caller) -> ItemContext:
    """Validate the posted item context; nothing reaches Graph unless it passes."""
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    item_id = body.get("itemId")
    if not isinstance(item_id, str) or not item_id:
        raise InvalidRequest("itemId is required.", field="itemId")
    if "+" in item_id or "/" in item_id:
        raise InvalidRequest(
            "itemId is in EWS form; convert it with convertToRestId(id, RestVersion.v2_0).",
            field="itemId",
        )
    if not ITEM_ID.match(item_id):
        raise InvalidRequest("itemId is not a Graph item id.", field="itemId")
    item_type = body.get("itemType", "message")
    if item_type not in ITEM_TYPES:
        raise InvalidRequest("itemType must be 'message' or 'appointment'.", field="itemType")
    shared = body.get("shared")
    if shared is None:
        return ItemContext(item_id, item_type, None, None, permissions.ALL_BITS, False)
    if not isinstance(shared, dict):
        raise InvalidRequest("shared must be an object.", field="shared")
    target_rest_url = shared.get("targetRestUrl")
    if not isinstance(target_rest_url, str):
        raise InvalidRequest("shared.targetRestUrl is required.", field="shared.targetRestUrl")
    check_target(target_rest_url, settings)
    mailbox = shared.get("targetMailbox")
    if not isinstance(mailbox, str) or not (SMTP.match(mailbox) or GUID.match(mailbox)):
        raise InvalidRequest(
            "shared.targetMailbox must be an SMTP address or a mailbox id.",
            field="shared.targetMailbox",
        )
    bits = shared.get("delegatePermissions")
    if isinstance(bits, bool) or not isinstance(bits, int) or not 0 <= bits <= permissions.ALL_BITS:
        raise InvalidRequest(
            "shared.delegatePermissions must be an integer bitmask from 0 to 63.",
            field="shared.delegatePermissions",
        )
    owner = shared.get("owner")
    if owner is not None and not (isinstance(owner, str) and len(owner) <= 320):
        raise InvalidRequest("shared.owner must be a string.", field="shared.owner")
    if mailbox.lower() == caller.upn.lower():
        # Some clients report shared properties for the person's own mailbox.
        return ItemContext(item_id, item_type, None, owner, permissions.ALL_BITS, False)
    return ItemContext(item_id, item_type, mailbox.lower(), owner, bits, True)


def check_target(target_rest_url: str, settings: Settings) -> None:
    """Accept only the configured cloud's Outlook REST hosts (or TANDEM_EXTRA_REST_HOSTS)."""
    try:
        parts = urlsplit(target_rest_url)
        port = parts.port
    except ValueError:
        raise TargetNotAllowed(
            "targetRestUrl is not a URL.", field="shared.targetRestUrl"
        ) from None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise TargetNotAllowed("targetRestUrl must be an https URL.", field="shared.targetRestUrl")
    in_cloud = host in settings.cloud.rest_hosts and port in (None, 443)
    host_port = f"{host}:{port}" if port else host
    if not (in_cloud or host_port in settings.extra_rest_hosts):
        raise TargetNotAllowed(
            f"targetRestUrl host '{host_port}' is not an Outlook host of the "
            f"'{settings.cloud.name}' cloud this add-in runs in.",
            field="shared.targetRestUrl",
        )


def _json_body() -> Any:
    """The JSON body, or 415 / 400 as problem+json."""
    if not request.is_json:
        raise UnsupportedMediaType("The body must be application/json.")
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidRequest("The body is not valid JSON.")
    return body


def _tandem() -> Any:
    return current_app.extensions["tandem"]


def _summary(item: dict[str, Any], item_type: str) -> dict[str, Any]:
    """The item as the task pane shows it."""

    def address(value: Any) -> dict[str, str] | None:
        email = (value or {}).get("emailAddress") if isinstance(value, dict) else None
        if not email:
            return None
        return {"name": str(email.get("name", "")), "address": str(email.get("address", ""))}

    summary: dict[str, Any] = {
        "id": item.get("id"),
        "type": item_type,
        "subject": item.get("subject") or "",
        "categories": item.get("categories") or [],
        "importance": item.get("importance"),
        "etag": item.get("@odata.etag"),
        "changeKey": item.get("changeKey"),
        "preview": item.get("bodyPreview") or "",
    }
    if item_type == "message":
        summary.update(
            {
                "from": address(item.get("from")),
                "sender": address(item.get("sender")),
                "receivedDateTime": item.get("receivedDateTime"),
                "isRead": item.get("isRead"),
                "flag": (item.get("flag") or {}).get("flagStatus", "notFlagged"),
                "hasAttachments": item.get("hasAttachments"),
                "conversationId": item.get("conversationId"),
                "folderId": item.get("parentFolderId"),
            }
        )
    else:
        summary.update(
            {
                "organizer": address(item.get("organizer")),
                "start": item.get("start"),
                "end": item.get("end"),
                "location": (item.get("location") or {}).get("displayName"),
                "isCancelled": item.get("isCancelled"),
            }
        )
    return summary


@bp.post("/items/context")
def item_context() -> ResponseReturnValue:
    """What may be done with this item, and its summary."""
    tandem = _tandem()
    caller = tandem.validator.caller(request.headers.get("Authorization"))
    ctx = parse_context(_json_body(), tandem.settings, caller)
    token = tandem.obo.graph_token(caller)
    select = MESSAGE_SELECT if ctx.item_type == "message" else EVENT_SELECT
    item = tandem.mailbox.get(
        token, ctx.mailbox, ITEM_TYPES[ctx.item_type] + ctx.item_id, **{"$select": select}
    )
    return jsonify(
        {
            "mailbox": {
                "address": ctx.mailbox or caller.upn,
                "kind": "shared" if ctx.shared else "own",
                "owner": ctx.owner or (ctx.mailbox or caller.upn),
            },
            "person": {"name": caller.name, "upn": caller.upn},
            "permissions": dict(permissions.decode(ctx.bits), bits=ctx.bits),
            "item": _summary(item, ctx.item_type),
            "actions": permissions.describe(ctx.bits),
        }
    )
