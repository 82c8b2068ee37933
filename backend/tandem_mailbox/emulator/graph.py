"""Microsoft Graph, emulated over the in-memory Exchange, with Exchange's rules and Graph's errors.

The wire: the token check, scopes, the mailbox gate, injected faults, request bodies parsed
as Graph parses them, and every route of the mail and calendar API the backend calls.
Exchange's decisions live in `exchange.py`.

Error bodies: {"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}} (learn.microsoft.com/graph/errors). Codes and messages are the ones
Exchange Online answers: ErrorAccessDenied, ErrorItemNotFound, ErrorInvalidUser,
ErrorInvalidMailboxItemId, ErrorInvalidIdMalformed, MailboxNotEnabledForRESTAPI,
ErrorSendAsDenied, ErrorIrresolvableConflict, and 429 ApplicationThrottled when an app has
more than 4 requests in flight on one mailbox. Status codes follow the API reference: GET and
PATCH 200, create and move 201, DELETE 204, send, reply and event responses 202.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import quote, urlencode

import jwt
from flask import Blueprint, Response, g, jsonify, request

from tandem_mailbox.emulator import queries, shapes
from tandem_mailbox.emulator.exchange import (
    ID_FORMATS,
    ROOT,
    Call,
    Exchange,
    ExchangeError,
    Folder,
    Item,
    Mailbox,
    Person,
    access_denied,
    decode_id,
    is_immutable,
    not_found,
)
from tandem_mailbox.emulator.faults import Faults, RequestLog, Stats
from tandem_mailbox.emulator.identity import GRAPH_APP_ID, GRAPH_RESOURCES, Entra

MAILBOX_CONCURRENCY = 4
PAGE_SIZE = 10  # Graph's default page of a collection
# Every member Graph's message and event types have (schema/graph-v1.0-mail.json), and `id`.
MESSAGE_FIELDS = {"id", *shapes.properties("message")}
# What PATCH may set (message-update); the rest of MESSAGE_FIELDS is read-only.
MESSAGE_WRITABLE = {
    "bccRecipients",
    "body",
    "categories",
    "ccRecipients",
    "flag",
    "from",
    "importance",
    "inferenceClassification",
    "isDeliveryReceiptRequested",
    "isRead",
    "isReadReceiptRequested",
    "replyTo",
    "sender",
    "subject",
    "toRecipients",
}
EVENT_FIELDS = {"id", *shapes.properties("event")}
EVENT_WRITABLE = {
    "categories",
    "subject",
    "body",
    "location",
    "showAs",
    "importance",
    "sensitivity",
}
FOLDER_FIELDS = {"id", *shapes.properties("mailFolder")}
FLAG_STATUSES = ("notFlagged", "flagged", "complete")
READ_MAIL = {"Mail.Read", "Mail.ReadWrite", "Mail.Read.Shared", "Mail.ReadWrite.Shared"}
READ_MAIL_SHARED = {"Mail.Read.Shared", "Mail.ReadWrite.Shared"}
WRITE_MAIL = {"Mail.ReadWrite", "Mail.ReadWrite.Shared"}
WRITE_MAIL_SHARED = {"Mail.ReadWrite.Shared"}
SEND_MAIL = {"Mail.Send", "Mail.Send.Shared"}
SEND_MAIL_SHARED = {"Mail.Send.Shared"}
READ_CAL = {
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite.Shared",
}
READ_CAL_SHARED = {"Calendars.Read.Shared", "Calendars.ReadWrite.Shared"}
WRITE_CAL = {"Calendars.ReadWrite", "Calendars.ReadWrite.Shared"}
WRITE_CAL_SHARED = {"Calendars.ReadWrite.Shared"}
# translateExchangeIds: User.ReadBasic.All at least, or a higher User permission
# (learn.microsoft.com/graph/api/user-translateexchangeids, Permissions).
READ_USER = {
    "User.Read",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite",
    "User.ReadWrite.All",
}
SCOPES = {
    # need -> (own mailbox, another's)
    "readUser": (READ_USER, READ_USER),
    "readMail": (READ_MAIL, READ_MAIL_SHARED),
    "writeMail": (WRITE_MAIL, WRITE_MAIL_SHARED),
    "send": (SEND_MAIL, SEND_MAIL_SHARED),
    "readCalendar": (READ_CAL, READ_CAL_SHARED),
    "writeCalendar": (WRITE_CAL, WRITE_CAL_SHARED),
}
FAULT_CODES = {
    401: "InvalidAuthenticationToken",  # a token Graph no longer accepts (revoked, say)
    429: "ApplicationThrottled",
    503: "ServiceUnavailable",
    502: "BadGateway",
    504: "GatewayTimeout",
    500: "InternalServerError",
    412: "ErrorIrresolvableConflict",
}


class GraphError(ExchangeError):
    """An error answer in Graph's shape that Graph itself gives (tokens, parsing, throttling)."""


def bad_body(message: str) -> GraphError:
    """400 RequestBodyRead: the body does not parse as the type Graph expects."""
    return GraphError(400, "RequestBodyRead", message)


def unknown_property(name: str, kind: str) -> GraphError:
    """400 RequestBodyRead for a member the type does not have, in Graph's words."""
    return bad_body(
        f"The property '{name}' does not exist on type 'Microsoft.OutlookServices.{kind}'. Make "
        "sure to only use property names that are defined by the type or mark the type as "
        "open type."
    )


def normalise_flag(value: Any) -> dict[str, Any]:
    """A followupFlag from a flag object or its status alone."""
    if isinstance(value, str):
        value = {"flagStatus": value}
    if not isinstance(value, dict) or value.get("flagStatus") not in FLAG_STATUSES:
        raise bad_body(
            "Cannot convert the literal to the expected type 'Microsoft.OutlookServices."
            "FollowupFlagStatus'."
        )
    return dict(value)


def _recipients(name: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(
        isinstance(r, dict) and isinstance(r.get("emailAddress"), dict) for r in value
    ):
        raise bad_body(f"The property '{name}' must be a collection of recipients.")
    return [
        {
            "emailAddress": {
                k: str(v) for k, v in r["emailAddress"].items() if k in ("name", "address")
            }
        }
        for r in value
    ]


def parse_fields(
    body: dict[str, Any], kind: str, writable: set[str], known: set[str]
) -> dict[str, Any]:
    """A message or event body as Graph reads it: known members, right types, writable ones."""
    type_name = "Message" if kind == "message" else "Event"
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name.startswith("@odata."):
            continue
        if name not in known:
            raise unknown_property(name, type_name)
        if name not in writable:
            raise GraphError(400, "ErrorInvalidPropertySet", "Set action is invalid for property.")
        if name == "categories":
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise bad_body("The property 'categories' must be a collection of strings.")
        elif name == "flag":
            value = normalise_flag(value)
        elif name in ("isRead", "isReadReceiptRequested", "isDeliveryReceiptRequested"):
            if not isinstance(value, bool):
                raise bad_body(
                    f"Cannot convert the literal to the expected type 'Edm.Boolean' ({name})."
                )
        elif name in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
            value = _recipients(name, value)
        elif name in ("from", "sender"):
            value = (
                _recipients(name, [value])[0]
                if isinstance(value, dict)
                else _recipients(name, value)
            )
        elif name == "body":
            if not isinstance(value, dict):
                raise bad_body("The property 'body' must be an itemBody.")
            value = {
                "contentType": str(value.get("contentType") or "text").lower(),
                "content": str(value.get("content", "")),
            }
        elif name == "subject" and not isinstance(value, str):
            raise bad_body("The property 'subject' must be a string.")
        changes[name] = value
    return changes


class Graph:
    """The Graph half of the emulator."""

    def __init__(
        self, exchange: Exchange, entra: Entra, faults: Faults, stats: Stats, requests: RequestLog
    ):
        self.exchange = exchange
        self.entra = entra
        self.faults = faults
        self.stats = stats
        self.requests = requests

    # -- plumbing -------------------------------------------------------------------------
    def answer(self, error: ExchangeError) -> Response:
        """The Graph error body and headers."""
        request_id = g.get("request_id") or str(uuid.uuid4())
        response = jsonify(
            {
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "innerError": {
                        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                        "request-id": request_id,
                        "client-request-id": request.headers.get("client-request-id", request_id),
                    },
                }
            }
        )
        response.status_code = error.status
        response.headers["request-id"] = request_id
        response.headers.update(error.headers)
        return response

    def caller(self) -> tuple[Person, set[str]]:
        """The person and delegated scopes of the Graph token, or 401 InvalidAuthenticationToken."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Access token is empty.",
                {"WWW-Authenticate": self._challenge()},
            )
        try:
            claims = self.entra.verify(token.strip(), audience=[*GRAPH_RESOURCES, GRAPH_APP_ID])
        except jwt.InvalidAudienceError:
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.",
                {"WWW-Authenticate": self._challenge()},
            ) from None
        except jwt.InvalidTokenError:
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure.",
                {"WWW-Authenticate": self._challenge()},
            ) from None
        now = time.time()
        if not claims.get("nbf", 0) - 300 <= now < claims.get("exp", 0) + 300:
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
                {"WWW-Authenticate": self._challenge()},
            )
        person = self.exchange.person(str(claims.get("oid", "")))
        if person is None or person.tenant_id != claims.get("tid"):
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.")
        g.caller = person.upn
        return person, set(str(claims.get("scp", "")).split())

    def _challenge(self) -> str:
        return (
            f'Bearer realm="", authorization_uri="{self.entra.base_url}/common/oauth2/'
            f'authorize", client_id="{GRAPH_APP_ID}"'
        )

    def mailbox(self, person: Person, user: str) -> Mailbox:
        """The mailbox a /users/{id} or /me segment names, in the caller's tenant."""
        mailbox = self.exchange.mailbox(person.upn if user == "me" else user)
        if mailbox is None or mailbox.tenant_id != person.tenant_id:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        if not mailbox.enabled:
            raise GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        g.mailbox = mailbox.address
        return mailbox

    def open(self, user: str, need: str) -> tuple[Person, Mailbox, Call]:
        """The caller, the mailbox, and the scope check: 403 ErrorAccessDenied without it."""
        person, scopes = self.caller()
        g.scopes = scopes
        mailbox = self.mailbox(person, user)
        own, others = SCOPES[need]
        if not scopes & (own if mailbox.owner_upn == person.upn.lower() else others):
            raise access_denied()
        call = Call(
            person=person,
            if_match=request.headers.get("If-Match"),
            client_request_id=request.headers.get("client-request-id", ""),
        )
        return person, mailbox, call

    @staticmethod
    def sending_as_another(person: Person, sender: str) -> None:
        """Sending with `from` another address needs Mail.Send.Shared ("Send Outlook messages
        from another user"), even through /me."""
        if sender != person.upn.lower() and not g.scopes & SEND_MAIL_SHARED:
            raise access_denied()

    @contextmanager
    def on_mailbox(self, mailbox: Mailbox) -> Iterator[None]:
        """Count the request in flight on the mailbox; refuse a fifth one as Exchange does."""
        key = mailbox.address
        in_flight = self.stats.enter(key)
        try:
            if in_flight > MAILBOX_CONCURRENCY:
                self.stats.bump("throttledByConcurrency")
                raise GraphError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    {"Retry-After": "1"},
                )
            self.inject(mailbox)
            yield
        finally:
            self.stats.leave(key)

    def inject(self, mailbox: Mailbox) -> None:
        """Apply a queued Graph fault: latency, then an error status now or after the work.

        `outsideChange` is staged for the item the request names (applied when it is found);
        `after` stages the status for after the operation was done.
        """
        fault = self.faults.take(
            "graph",
            mailbox=mailbox.address,
            method=request.method,
            path=self.fault_path(),
            person=str(g.get("caller", "")),
        )
        if fault is None:
            return
        delay = float(fault.get("delayMs", 0)) / 1000
        if delay:
            time.sleep(delay)
        if isinstance(fault.get("outsideChange"), dict):
            g.outside_change = fault["outsideChange"]
        if fault.get("reset"):
            # The connection is cut without an answer (a load balancer resetting it mid-way):
            # before the work, or with `after` once it was done.
            if fault.get("after"):
                g.reset_after = True
                return
            cut_connection()
        status = int(fault.get("status", 0))
        if not status:
            return
        headers = {}
        if fault.get("retryAfter") is not None:
            headers["Retry-After"] = str(fault["retryAfter"])
        if status == 401:
            headers["WWW-Authenticate"] = self._challenge()
        code = fault.get("code") or FAULT_CODES.get(status, "UnknownError")
        message = fault.get("message") or {
            401: "Access token validation failure.",
            429: "Application is over its MailboxConcurrency limit.",
            412: "The send or update operation could not be performed because the change key "
            "passed in the request does not match the current change key for the item.",
        }.get(status, "The service is temporarily unavailable.")
        error = GraphError(status, code, message, headers)
        if fault.get("after"):
            g.after_fault = error
            return
        raise error

    def fault_path(self) -> str:
        """The request path a fault's `path` is matched against, with every other id of the
        item it names appended: a fault aimed at an item by its REST id still finds it when
        the request names it by its immutable id (or a later id), and the other way round."""
        parts = request.path.split("/")
        for n, part in enumerate(parts[:-1]):
            if part in ("messages", "events"):
                item = self.exchange.item(parts[n + 1])
                if item is not None:
                    return " ".join([request.path, *item.ids, item.immutable_id])
        return request.path

    def locate(self, person: Person, mailbox: Mailbox, item_id: str, kind: str) -> Item:
        """The item an id names in this mailbox, with Exchange's checks in Exchange's order."""
        guid = decode_id(item_id)
        if guid is None:
            raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        if not self.exchange.any_access(person, mailbox):
            raise access_denied()
        if guid != mailbox.guid:
            raise GraphError(
                404, "ErrorInvalidMailboxItemId", "Item Id doesn't belong to the current mailbox."
            )
        if is_immutable(item_id):
            # Graph takes either form as input, whatever the Prefer header says.
            item = self.exchange.item(item_id)
            if item is not None and mailbox.items.get(item.id) is not item:
                item = None  # deleted for good, or in another mailbox
        else:
            item = mailbox.items.get(item_id)
        if item is None or item.kind != kind:
            raise not_found()
        folder = mailbox.folders[item.folder_id]
        if not self.exchange.rights(person, mailbox, folder) & 1:
            raise access_denied()
        change = g.pop("outside_change", None)
        if change is not None:
            self.outside_change(item, change)
        return item

    def outside_change(self, item: Item, change: dict[str, Any]) -> Item:
        """Change an item as a person in Outlook would: any of categories, flag, isRead."""
        fields: dict[str, Any] = {}
        if "categories" in change:
            fields["categories"] = [str(c) for c in change["categories"]]
        if "flag" in change:
            fields["flag"] = normalise_flag(change["flag"])
        if "isRead" in change:
            fields["isRead"] = bool(change["isRead"])
        upn = str(change.get("by") or item.mailbox)
        return self.exchange.outlook_change(upn, item, fields)

    def folder(self, person: Person, mailbox: Mailbox, ref: str) -> Folder | None:
        """A mail folder by id or well-known name; None for the root. 404 when unknown."""
        if ref.lower() == ROOT or ref == mailbox.root_id:
            return None
        folder = self.exchange.folder(mailbox, ref)
        if folder is None or folder.kind != "mail":
            if decode_id(ref) is None and ref.lower() not in WELL_KNOWN_NAMES:
                raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
            raise not_found()
        if not self.exchange.any_access(person, mailbox):
            raise access_denied()
        return folder

    def readable(self, person: Person, mailbox: Mailbox, folder: Folder | None) -> bool:
        """Whether the person may see the folder (the root: owner and Full Access only)."""
        if folder is None:
            return self.exchange.full_rights(person, mailbox)
        return bool(self.exchange.rights(person, mailbox, folder) & 1)

    # -- rendering ------------------------------------------------------------------------
    def render(self, mailbox: Mailbox, item: Item, select: str | None) -> dict[str, Any]:
        """The item as Graph serialises it, honouring $select."""
        collection = "messages" if item.kind == "message" else "events"
        base = self.entra.base_url
        body: dict[str, Any] = {
            "@odata.context": f"{base}/v1.0/$metadata#users('{quote(mailbox.address)}')/"
            f"{collection}/$entity",
        }
        body.update(self.fields(item, select))
        return body

    def fields(self, item: Item, select: str | None) -> dict[str, Any]:
        """The item as Graph's type has it: every default member (null or [] when unset), or
        exactly the `$select`ed ones, with `@odata.etag` and `id` (immutable when preferred)."""
        type_name = item.kind
        data = dict(item.data)
        encoded = quote(item.id, safe="")
        if item.kind == "message":
            data["parentFolderId"] = item.folder_id
            data["webLink"] = (
                f"https://outlook.office.com/owa/?ItemID={encoded}&exvsurl=1"
                "&viewmodel=ReadMessageItem"
            )
            data["uniqueBody"] = data.get("body")
            data["internetMessageHeaders"] = (
                [{"name": "Message-ID", "value": data["internetMessageId"]}]
                if data.get("internetMessageId") and not data.get("isDraft")
                else []
            )
        else:
            data["webLink"] = (
                f"https://outlook.office.com/owa/?itemid={encoded}&exvsurl=1&path=/calendar/item"
            )
        known = MESSAGE_FIELDS if item.kind == "message" else EVENT_FIELDS
        wanted = _select(select, known, type_name)
        names = (
            shapes.default_members(type_name)
            if wanted is None
            else [n for n in shapes.properties(type_name) if n in wanted]
        )
        body: dict[str, Any] = {"@odata.etag": f'W/"{item.change_key}"', "id": self.shown_id(item)}
        for name in names:
            if name != "id":
                body[name] = copy.deepcopy(data.get(name, shapes.unset(type_name, name)))
        return body

    @staticmethod
    def shown_id(item: Item) -> str:
        """The id an answer gives: the immutable one when the request prefers it."""
        return item.immutable_id if prefers_immutable() else item.id

    def render_folder(
        self, person: Person, mailbox: Mailbox, folder: Folder, select: str | None
    ) -> dict[str, Any]:
        """A mailFolder: counts, and the root's id as the parent of top-level folders."""
        items = [i for i in mailbox.items.values() if i.folder_id == folder.id]
        children = [
            f
            for f in mailbox.folders.values()
            if f.parent_id == folder.id and self.readable(person, mailbox, f)
        ]
        data = {
            "id": folder.id,
            "displayName": folder.name,
            "parentFolderId": folder.parent_id or mailbox.root_id,
            "childFolderCount": len(children),
            "unreadItemCount": sum(1 for i in items if not i.data.get("isRead", True)),
            "totalItemCount": len(items),
            "isHidden": False,
        }
        wanted = _select(select, FOLDER_FIELDS, "mailFolder")
        if wanted is not None:
            data = {k: v for k, v in data.items() if k in wanted or k == "id"}
        return data

    def page(self, values: list[dict[str, Any]], context: str) -> dict[str, Any]:
        """A collection page: $top (default 10) and $skip, with @odata.nextLink when more."""
        top = _int_arg("$top", PAGE_SIZE)
        skip = _int_arg("$skip", 0)
        body: dict[str, Any] = {
            "@odata.context": f"{self.entra.base_url}/v1.0/$metadata#{context}",
            "value": values[skip : skip + top],
        }
        if skip + top < len(values):
            args = dict(request.args)
            args.update({"$top": str(top), "$skip": str(skip + top)})
            body["@odata.nextLink"] = f"{self.entra.base_url}{request.path}?{urlencode(args)}"
        return body


WELL_KNOWN_NAMES = {
    "inbox",
    "drafts",
    "sentitems",
    "deleteditems",
    "junkemail",
    "archive",
    "outbox",
    "clutter",
    "conversationhistory",
    "msgfolderroot",
    "recoverableitemsdeletions",
    "scheduled",
    "searchfolders",
}


def _select(select: str | None, known: set[str], type_name: str) -> set[str] | None:
    if not select:
        return None
    wanted = {s.strip() for s in select.split(",") if s.strip()}
    for name in sorted(wanted):
        if name not in known:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.",
            )
    return wanted


_PREFERENCE = re.compile(r'\s*([^=,\s]+)\s*(?:=\s*("[^"]*"|[^,]*))?')


def preferences() -> dict[str, str]:
    """The request's Prefer header(s) as {name (lower case): value}: RFC 7240, comma-separated."""
    found: dict[str, str] = {}
    for header in request.headers.getlist("Prefer"):
        for match in _PREFERENCE.finditer(header):
            name, value = match.group(1), (match.group(2) or "").strip().strip('"')
            if name and name != ",":
                found[name.lower()] = value
    return found


def prefers_immutable() -> bool:
    """`Prefer: IdType="ImmutableId"` on this request (learn.microsoft.com/graph/
    outlook-immutable-id: the header applies to the request it is sent with)."""
    return preferences().get("idtype", "").lower() == "immutableid"


def action_arguments(binding: str, action: str) -> dict[str, Any]:
    """A bound action's parameters, matched to Graph's metadata case-insensitively, keyed by
    their camelCase names; an unknown or repeated one refused as OData's reader refuses it."""
    body = _json_body()
    by_lower = {name.lower(): name for name in shapes.parameters(binding, action)}
    found: dict[str, Any] = {}
    for name, value in body.items():
        if name.startswith("@odata."):
            continue
        canonical = by_lower.get(name.lower())
        if canonical is None:
            raise bad_body(
                f"The parameter '{name}' in the request payload is not a valid parameter for "
                f"the operation '{action}'."
            )
        key = shapes.camel(canonical)
        if key in found:
            raise bad_body(
                f"Multiple parameters with the name '{canonical}' were found in the request "
                "payload."
            )
        found[key] = value
    return found


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or (name == "$top" and not 1 <= int(raw) <= 1000):
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option {name}.")
    return int(raw)


def _json_body() -> dict[str, Any]:
    """The request body as a JSON object ({} when empty); 400 when it is not one."""
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_body("The request body is not a valid JSON object.")
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_body(f"The parameter '{name}' must be a string.")
    return value


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # Graph's own sendMail sample sends "false"
    if not isinstance(value, bool):
        raise bad_body(f"Cannot convert the literal to the expected type 'Edm.Boolean' ({name}).")
    return value


class ConnectionCut(Exception):
    """Raised after the client's connection was shut: there is nobody left to answer."""


def cut_connection() -> None:
    """Shut the client's connection without an answer (the `reset` fault)."""
    connection = request.environ.get("werkzeug.socket")
    if connection is not None:
        with suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionCut


def raw_path() -> str:
    """The request's path as the client sent it (percent-encoding kept)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
    return str(raw).split("?", 1)[0]


def blueprint(graph: Graph) -> Blueprint:
    """The Graph routes, each under /users/{id | userPrincipalName} and /me."""
    bp = Blueprint("graph", __name__, url_prefix="/v1.0")
    ex = graph.exchange

    @bp.before_request
    def start() -> None:
        g.request_id = str(uuid.uuid4())
        g.started = time.perf_counter()

    @bp.after_request
    def finish(response: Response) -> Response:
        response.headers["request-id"] = g.request_id
        if prefers_immutable() and response.status_code < 400:
            response.headers["Preference-Applied"] = 'IdType="ImmutableId"'
        client = request.headers.get("client-request-id")
        if client:
            response.headers["client-request-id"] = client
        graph.requests.add(
            {
                "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "method": request.method,
                "path": request.path,
                # The URI as sent, before percent-decoding: what tests check for path tricks.
                "rawPath": raw_path(),
                "query": request.query_string.decode(),
                "mailbox": g.get("mailbox"),
                "caller": g.get("caller"),
                "status": response.status_code,
                "clientRequestId": client,
                "preferImmutable": prefers_immutable(),
                "requestId": g.request_id,
                "durationMs": round((time.perf_counter() - g.started) * 1000, 2),
            }
        )
        return response

    @bp.errorhandler(ConnectionCut)
    def connection_cut(error: ConnectionCut) -> Response:
        # Nobody reads this: the connection is already shut.
        return Response(status=502)

    def route(rule: str, methods: list[str]) -> Callable[[Callable[..., Response]], None]:
        """Register a view on /users/<user><rule> and /me<rule>, each answering Graph errors."""

        def register(view: Callable[..., Response]) -> None:
            def handled(**kwargs: Any) -> Response:
                try:
                    response = view(**kwargs)
                except ExchangeError as error:
                    return graph.answer(error)
                if g.pop("reset_after", False):
                    cut_connection()
                after = g.pop("after_fault", None)
                return graph.answer(after) if after is not None else response

            def mine(**kwargs: Any) -> Response:
                return handled(user="me", **kwargs)

            bp.add_url_rule(f"/users/<user>{rule}", view.__name__, handled, methods=methods)
            bp.add_url_rule(f"/me{rule}", f"{view.__name__}_me", mine, methods=methods)

        return register

    def created(body: dict[str, Any]) -> Response:
        response = jsonify(body)
        response.status_code = 201
        return response

    # -- messages ---------------------------------------------------------------------------
    @route("/messages/<item_id>", ["GET"])
    def get_message(user: str, item_id: str) -> Response:
        person, mailbox, _ = graph.open(user, "readMail")
        with graph.on_mailbox(mailbox), ex.lock:
            item = graph.locate(person, mailbox, item_id, "message")
            return jsonify(graph.render(mailbox, item, request.args.get("$select")))

    @route("/messages/<item_id>", ["PATCH"])
    def update_message(user: str, item_id: str) -> Response:
        person, mailbox, call = graph.open(user, "writeMail")
        changes = parse_fields(_json_body(), "message", MESSAGE_WRITABLE, MESSAGE_FIELDS)
        with graph.on_mailbox(mailbox), ex.lock:
            item = graph.locate(person, mailbox, item_id, "message")
            ex.update(call, mailbox, item, changes)
            return jsonify(graph.render(mailbox, item, None))

    @route("/messages/<item_id>", ["DELETE"])
    def delete_message(user: str, item_id: str) -> Response:
        person, mailbox, call = graph.open(user, "writeMail")
        with graph.on_mailbox(mailbox), ex.lock:
            item = graph.locate(person, mailbox, item_id, "message")
            ex.delete(call, mailbox, item)
            return Response(status=204)

    @route("/messages", ["POST"])
    def create_message(user: str) -> Response:
        _, mailbox, call = graph.open(user, "writeMail")
        fields = parse_fields(_json_body(), "message", MESSAGE_WRITABLE, MESSAGE_FIELDS)
        with graph.on_mailbox(mailbox), ex.lock:
            drafts = ex.well_known(mailbox, "drafts")
            assert drafts is not None
            item = ex.create(call, mailbox, drafts, ex.new_message(mailbox, fields), "message")
            return created(graph.render(mailbox, item, None))

    @route("/messages/<item_id>/move", ["POST"])
    def move_message(user: str, item_id: str) -> Response:
        person, mailbox, call = graph.open(user, "writeMail")
        destination = _text(action_arguments("message", "move"), "destinationId")
        if not destination:
            raise bad_body("The parameter 'destinationId' is required.")
        with graph.on_mailbox(mailbox), ex.lock:
            item = graph.locate(person, mailbox, item_id, "message")
            folder = graph.folder(person, mailbox, destination)
            if folder is None:
                raise access_denied()  # nothing may be moved into the root of the mailbox
            ex.move(call, mailbox, item, folder)
            return created(graph.render(mailbox, item, None))

    def response_arguments(action: str) -> tuple[str | None, dict[str, Any], list | None]:
        body = action_arguments("message", action)
        comment = _text(body, "comment")
        raw = body.get("message") or {}
        if not isinstance(raw, dict):
            raise bad_body("The parameter 'message' must be a message.")
        message = parse_fields(raw, "message", MESSAGE_WRITABLE, MESSAGE_FIELDS)
        if comment is not None and "body" in message:
            # message-createreply: "Specifying both will return an HTTP 400 Bad Request error."
            raise GraphError(
                400, "BadRequest", "Specify either a comment or the body property of the message."
            )
        to = None
        if "toRecipients" in body:  # only createForward and forward have the parameter
            to = _recipients("toRecipients", body["toRecipients"])
            if "toRecipients" in message:
                # message-createforward: either the parameter or the message's property.
                raise GraphError(
                    400,
                    "BadRequest",
                    "Specify either the toRecipients parameter or the toRecipients property of "
                    "the message.",
                )
        return comment, message, to

    @route("/messages/<item_id>/<any(createReply, createReplyAll, createForward):action>", ["POST"])
    def create_response(user: str, item_id: str, action: str) -> Response:
        person, mailbox, call = graph.open(user, "writeMail")
        comment, message, to = response_arguments(action)
        with graph.on_mailbox(mailbox), ex.lock:
            original = graph.locate(person, mailbox, item_id, "message")
            draft = ex.response_draft(
                call, mailbox, original, action, comment=comment, message=message, to=to
            )
            return created(graph.render(mailbox, draft, None))

    @route("/messages/<item_id>/<any(reply, replyAll, forward):action>", ["POST"])
    def send_response(user: str, item_id: str, action: str) -> Response:
        person, mailbox, call = graph.open(user, "send")
        comment, message, to = response_arguments(action)
        if action == "forward" and not (to or message.get("toRecipients")):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        with graph.on_mailbox(mailbox), ex.lock:
            original = graph.locate(person, mailbox, item_id, "message")
            graph.sending_as_another(person, ex.sending_from(mailbox, message))
            ex.send_now(call, mailbox, original, action, comment=comment, message=message, to=to)
            return Response(status=202)

    @route("/messages/<item_id>/send", ["POST"])
    def send_draft(user: str, item_id: str) -> Response:
        person, mailbox, call = graph.open(user, "send")
        action_arguments("message", "send")  # send has no parameters
        with graph.on_mailbox(mailbox), ex.lock:
            draft = graph.locate(person, mailbox, item_id, "message")
            graph.sending_as_another(person, ex.sending_from(mailbox, draft.data))
            ex.send(call, mailbox, draft)
            return Response(status=202)

    @route("/sendMail", ["POST"])
    def send_mail(user: str) -> Response:
        person, mailbox, call = graph.open(user, "send")
        body = action_arguments("user", "sendMail")
        raw = body.get("message")
        if not isinstance(raw, dict):
            raise bad_body("The parameter 'message' is required and must be a message.")
        message = parse_fields(raw, "message", MESSAGE_WRITABLE, MESSAGE_FIELDS)
        save = _flag(body, "saveToSentItems", True)
        graph.sending_as_another(person, ex.sending_from(mailbox, message))
        with graph.on_mailbox(mailbox), ex.lock:
            ex.send_mail(call, mailbox, message, save=save)
            return Response(status=202)

    @route("/translateExchangeIds", ["POST"])
    def translate_ids(user: str) -> Response:
        """Ids of this mailbox's items from one format to another (user-translateexchangeids):
        200 with a convertIdResult per input id, `errorDetails` for one it cannot convert."""
        person, mailbox, _ = graph.open(user, "readUser")
        args = action_arguments("user", "translateExchangeIds")
        inputs = args.get("inputIds")
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise bad_body("The parameter 'InputIds' is required and must be strings.")
        if len(inputs) > 1000:  # "Maximum size of this collection is 1000 strings."
            raise GraphError(400, "ErrorInvalidParameter", "Too many ids: at most 1000.")
        forms = {}
        for name in ("sourceIdType", "targetIdType"):
            value = args.get(name)
            if value not in ID_FORMATS:
                raise bad_body(
                    f"The parameter '{name[0].upper() + name[1:]}' must be one of "
                    f"{', '.join(ID_FORMATS)}."
                )
            forms[name] = value
        with graph.on_mailbox(mailbox), ex.lock:
            if not ex.any_access(person, mailbox):
                raise access_denied()
            results: list[dict[str, Any]] = []
            for value in inputs:
                try:
                    target = ex.translate(
                        mailbox, value, forms["sourceIdType"], forms["targetIdType"]
                    )
                    results.append({"sourceId": value, "targetId": target})
                except ExchangeError as error:
                    results.append(
                        {
                            "sourceId": value,
                            "errorDetails": {"code": error.code, "message": error.message},
                        }
                    )
        return jsonify(
            {
                "@odata.context": f"{graph.entra.base_url}/v1.0/$metadata#Collection("
                "microsoft.graph.convertIdResult)",
                "value": results,
            }
        )

    # -- mail folders -------------------------------------------------------------------------
    def folder_list(person: Person, mailbox: Mailbox, parent: Folder | None) -> Response:
        parent_id = parent.id if parent else None
        folders = [
            graph.render_folder(person, mailbox, f, request.args.get("$select"))
            for f in mailbox.folders.values()
            if f.kind == "mail" and f.parent_id == parent_id and graph.readable(person, mailbox, f)
        ]
        folders.sort(key=lambda f: str(f.get("displayName", "")).lower())
        where = "mailFolders" if parent is None else f"mailFolders('{parent.id}')/childFolders"
        return jsonify(graph.page(folders, f"users('{quote(mailbox.address)}')/{where}"))

    @route("/mailFolders", ["GET"])
    def list_folders(user: str) -> Response:
        person, mailbox, _ = graph.open(user, "readMail")
        with graph.on_mailbox(mailbox), ex.lock:
            if not ex.any_access(person, mailbox):
                raise access_denied()
            return folder_list(person, mailbox, None)

    @route("/mailFolders/<folder_id>", ["GET"])
    def get_folder(user: str, folder_id: str) -> Response:
        person, mailbox, _ = graph.open(user, "readMail")
        with graph.on_mailbox(mailbox), ex.lock:
            folder = graph.folder(person, mailbox, folder_id)
            if not graph.readable(person, mailbox, folder):
                raise access_denied()
            if folder is None:
                top = [
                    f for f in mailbox.folders.values() if f.parent_id is None and f.kind == "mail"
                ]
                return jsonify(
                    {
                        "id": mailbox.root_id,
                        "displayName": "Top of Information Store",
                        "parentFolderId": None,
                        "childFolderCount": len(top),
                        "unreadItemCount": 0,
                        "totalItemCount": 0,
                        "isHidden": False,
                    }
                )
            body = {
                "@odata.context": f"{graph.entra.base_url}/v1.0/$metadata#users("
                f"'{quote(mailbox.address)}')/mailFolders/$entity",
                **graph.render_folder(person, mailbox, folder, request.args.get("$select")),
            }
            return jsonify(body)

    @route("/mailFolders/<folder_id>/childFolders", ["GET"])
    def child_folders(user: str, folder_id: str) -> Response:
        person, mailbox, _ = graph.open(user, "readMail")
        with graph.on_mailbox(mailbox), ex.lock:
            folder = graph.folder(person, mailbox, folder_id)
            if not graph.readable(person, mailbox, folder):
                raise access_denied()
            return folder_list(person, mailbox, folder)

    def message_list(person: Person, mailbox: Mailbox, folder: Folder | None) -> Response:
        """A page of the folder's (or, for None, the whole mailbox's) messages under $filter,
        $orderby, $top, $skip, $count and $select, as Exchange answers them."""
        raw_filter = request.args.get("$filter")
        query = queries.parse_filter(raw_filter) if raw_filter is not None else None
        order = queries.parse_orderby(request.args.get("$orderby") or "receivedDateTime desc")
        if request.args.get("$orderby") is not None:
            queries.check_combination(query, order)
        count = request.args.get("$count")
        if count is not None and count not in ("true", "false"):
            raise GraphError(400, "BadRequest", f"Invalid value '{count}' for query option $count.")
        items = [
            i
            for i in mailbox.items.values()
            if i.kind == "message"
            and (
                i.folder_id == folder.id
                if folder is not None
                else mailbox.folders[i.folder_id].kind == "mail"
            )
        ]

        def data(item: Item) -> dict[str, Any]:
            return {**item.data, "parentFolderId": item.folder_id}

        if query is not None:
            items = [i for i in items if query.test(data(i))]
        queries.sort(items, order, data)
        select = request.args.get("$select")
        values = [graph.fields(i, select) for i in items]
        where = f"mailFolders('{folder.id}')/messages" if folder is not None else "messages"
        body = graph.page(values, f"users('{quote(mailbox.address)}')/{where}")
        if count == "true":
            context = body.pop("@odata.context")
            body = {"@odata.context": context, "@odata.count": len(items), **body}
        return jsonify(body)

    @route("/mailFolders/<folder_id>/messages", ["GET"])
    def folder_messages(user: str, folder_id: str) -> Response:
        person, mailbox, _ = graph.open(user, "readMail")
        with graph.on_mailbox(mailbox), ex.lock:
            folder = graph.folder(person, mailbox, folder_id)
            if folder is None or not graph.readable(person, mailbox, folder):
                raise access_denied()
            return message_list(person, mailbox, folder)

    @route("/messages", ["GET"])
    def list_messages(user: str) -> Response:
        """Every message of the mailbox's mail folders (Deleted Items too, as Graph lists).

        The whole mailbox is searched, so folder-level delegate rights are not enough:
        owner or Full Access, else ErrorAccessDenied.
        """
        person, mailbox, _ = graph.open(user, "readMail")
        with graph.on_mailbox(mailbox), ex.lock:
            if not ex.full_rights(person, mailbox):
                raise access_denied()
            return message_list(person, mailbox, None)

    # -- events ---------------------------------------------------------------------------
    @route("/events/<item_id>", ["GET"])
    def get_event(user: str, item_id: str) -> Response:
        person, mailbox, _ = graph.open(user, "readCalendar")
        with graph.on_mailbox(mailbox), ex.lock:
            item = graph.locate(person, mailbox, item_id, "event")
            return jsonify(graph.render(mailbox, item, request.args.get("$select")))

    @route("/events/<item_id>", ["PATCH"])
    def update_event(user: str, item_id: str) -> Response:
        person, mailbox, call = graph.open(user, "writeCalendar")
        changes = parse_fields(_json_body(), "event", EVENT_WRITABLE, EVENT_FIELDS)
        with graph.on_mailbox(mailbox), ex.lock:
            item = graph.locate(person, mailbox, item_id, "event")
            ex.update(call, mailbox, item, changes)
            return jsonify(graph.render(mailbox, item, None))

    @route("/events/<item_id>/<any(accept, tentativelyAccept, decline):action>", ["POST"])
    def respond(user: str, item_id: str, action: str) -> Response:
        person, mailbox, call = graph.open(user, "writeCalendar")
        body = action_arguments("event", action)
        comment = _text(body, "comment") or ""
        send = _flag(body, "sendResponse", True)
        with graph.on_mailbox(mailbox), ex.lock:
            event = graph.locate(person, mailbox, item_id, "event")
            ex.respond(call, mailbox, event, action, comment=comment, send_response=send)
            return Response(status=202)

    return bp
