"""The item context the pane posts, validated into an ItemContext (mirrors taskpane/context.js).

Nothing reaches Graph unless it passes here: ids in the base64url alphabet with bounded length,
the target mailbox as an SMTP address or a GUID, the permission bits as an integer 0..63, and
`targetRestUrl` on the configured cloud's Outlook hosts (`Cloud.accepts`). Every pattern is
matched with `fullmatch`, so a trailing newline is not "the end".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from tandem_mailbox.config import GUID, Settings
from tandem_mailbox.errors import InvalidRequest
from tandem_mailbox.mail import permissions
from tandem_mailbox.microsoft.identity import Caller

# Graph's REST ids are base64 in the URL-safe alphabet ('-' and '_'), '=' padded.
ITEM_ID = re.compile(r"[A-Za-z0-9_-]{16,512}={0,2}")
SMTP = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251})\.[A-Za-z]{2,63}"
)
ITEM_TYPES = ("message", "appointment")
CONTEXT_FIELDS = frozenset({"itemId", "itemType", "shared"})
SHARED_FIELDS = frozenset({"targetMailbox", "targetRestUrl", "owner", "delegatePermissions"})


@dataclass(frozen=True)
class ItemContext:
    """Where the item lives and what Office says may be done there."""

    item_id: str
    item_type: str  # "message" or "appointment"
    target: str | None  # the target mailbox's address or id; None: the person's own (/me)
    owner: str | None  # what Office reported as the owner (display only, never trusted)
    bits: int  # the delegate permission bits Office reported (all of them for one's own)

    @property
    def shared(self) -> bool:
        """True when the item is in another mailbox than the person's own."""
        return self.target is not None

    @property
    def kind(self) -> str:
        """`own` or `shared` (Office's shared properties look alike for delegates and members)."""
        return "shared" if self.shared else "own"


def is_item_id(value: Any) -> TypeGuard[str]:
    """Whether a value has the shape of a Graph (REST) item or folder id."""
    return isinstance(value, str) and ITEM_ID.fullmatch(value) is not None


def is_address(value: Any) -> TypeGuard[str]:
    """Whether a value has the shape of an SMTP address Graph can be asked about."""
    return isinstance(value, str) and SMTP.fullmatch(value) is not None


def parse_context(
    body: Any, settings: Settings, caller: Caller, *, extra: frozenset[str] = frozenset()
) -> ItemContext:
    """Validate the posted item context; `extra` names the members an action may add."""
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    unknown = sorted(str(k) for k in body if k not in CONTEXT_FIELDS and k not in extra)
    if unknown:
        raise InvalidRequest(f"Unknown member '{unknown[0][:64]}'.", field=unknown[0][:64])
    item_id = body.get("itemId")
    if not isinstance(item_id, str) or not item_id:
        raise InvalidRequest("itemId is required.", field="itemId")
    if "+" in item_id or "/" in item_id:
        raise InvalidRequest(
            "itemId is in EWS form; convert it with convertToRestId(id, RestVersion.v2_0).",
            field="itemId",
        )
    if not is_item_id(item_id):
        raise InvalidRequest("itemId is not a Graph item id.", field="itemId")
    item_type = body.get("itemType", "message")
    if not isinstance(item_type, str) or item_type not in ITEM_TYPES:
        raise InvalidRequest("itemType must be 'message' or 'appointment'.", field="itemType")
    target, owner, bits = parse_shared(body.get("shared"), settings, caller)
    return ItemContext(item_id, item_type, target, owner, bits)


def parse_shared(
    shared: Any, settings: Settings, caller: Caller
) -> tuple[str | None, str | None, int]:
    """The `shared` member (absent: the person's own mailbox), validated: the target mailbox
    (lower case; None for the person's own), the owner Office named, and the bits."""
    if shared is None:
        return None, None, permissions.ALL_BITS
    if not isinstance(shared, dict):
        raise InvalidRequest("shared must be an object.", field="shared")
    unknown = sorted(str(k) for k in shared if k not in SHARED_FIELDS)
    if unknown:
        name = f"shared.{unknown[0][:64]}"
        raise InvalidRequest(f"Unknown member '{name}'.", field=name)
    target_rest_url = shared.get("targetRestUrl")
    if not isinstance(target_rest_url, str):
        raise InvalidRequest("shared.targetRestUrl is required.", field="shared.targetRestUrl")
    settings.cloud.accepts(target_rest_url, extra_hosts=settings.extra_rest_hosts)
    target = shared.get("targetMailbox")
    if not (is_address(target) or (isinstance(target, str) and GUID.fullmatch(target))):
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
    if target.lower() == caller.upn.lower():
        # Some clients report shared properties for the person's own mailbox.
        return None, owner, permissions.ALL_BITS
    return target.lower(), owner, bits
