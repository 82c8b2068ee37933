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

import datetime as dt
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import quote, urlencode

import jwt
from flask import Blueprint, Response, g, jsonify, request

from tandem_mailbox.emulator.exchange import (
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
    not_found,
)
from tandem_mailbox.emulator.faults import Faults, RequestLog, Stats
from tandem_mailbox.emulator.identity import GRAPH_APP_ID, GRAPH_RESOURCES, Entra

MAILBOX_CONCURRENCY = 4
PAGE_SIZE = 10  # Graph's default page of a collection
MESSAGE_FIELDS = {
    "id",
    "subject",
    "bodyPreview",
    "body",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "receivedDateTime",
    "sentDateTime",
    "createdDateTime",
    "lastModifiedDateTime",
    "isRead",
    "isDraft",
    "importance",
    "hasAttachments",
    "categories",
    "flag",
    "conversationId",
    "internetMessageId",
    "parentFolderId",
    "changeKey",
    "webLink",
    "inferenceClassification",
    "uniqueBody",
    "isReadReceiptRequested",
    "isDeliveryReceiptRequested",
    "conversationIndex",
}
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
EVENT_FIELDS = {
    "id",
    "subject",
    "bodyPreview",
    "body",
    "start",
    "end",
    "location",
    "organizer",
    "attendees",
    "categories",
    "isCancelled",
    "showAs",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "importance",
    "isAllDay",
    "sensitivity",
    "responseStatus",
    "webLink",
    "type",
    "isOrganizer",
}
EVENT_WRITABLE = {
    "categories",
    "subject",
    "body",
    "location",
    "showAs",
    "importance",
    "sensitivity",
}
FOLDER_FIELDS = {
    "id",
    "displayName",
    "parentFolderId",
    "childFolderCount",
    "unreadItemCount",
    "totalItemCount",
    "isHidden",
}
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
SCOPES = {
    # need -> (own mailbox, another's)
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
            path=request.path,
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
        """The item's members with its etag, id and computed members, honouring $select."""
        known = MESSAGE_FIELDS if item.kind == "message" else EVENT_FIELDS
        data = dict(item.data)
        if item.kind == "message":
            data["parentFolderId"] = item.folder_id
        encoded = quote(item.id, safe="")
        data["webLink"] = (
            f"https://outlook.office.com/owa/?ItemID={encoded}&exvsurl=1&viewmodel=ReadMessageItem"
            if item.kind == "message"
            else f"https://outlook.office.com/owa/?itemid={encoded}&exvsurl=1&path=/calendar/item"
        )
        wanted = _select(select, known, "message" if item.kind == "message" else "event")
        if wanted is not None:
            data = {k: v for k, v in data.items() if k in wanted}
        return {"@odata.etag": f'W/"{item.change_key}"', "id": item.id, **data}

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


def _filter_message_id(expression: str | None) -> str | None:
    """The value of `internetMessageId eq '<...>'`, the one $filter this emulator reads."""
    if expression is None:
        return None
    name, _, rest = expression.strip().partition(" eq ")
    rest = rest.strip()
    if name.strip() != "internetMessageId" or len(rest) < 2 or rest[0] != "'" or rest[-1] != "'":
        raise GraphError(400, "BadRequest", "Invalid filter clause")
    return rest[1:-1].replace("''", "'")


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
        destination = _text(_json_body(), "destinationId")
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
        body = _json_body()
        for name in body:
            if name not in ("comment", "message", "toRecipients"):
                raise bad_body(
                    f"The parameter '{name}' is not in the function or action '{action}'."
                )
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
        if "toRecipients" in body:
            if not action.lower().endswith("forward"):
                raise bad_body(f"The parameter 'toRecipients' is not in the action '{action}'.")
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
        with graph.on_mailbox(mailbox), ex.lock:
            draft = graph.locate(person, mailbox, item_id, "message")
            graph.sending_as_another(person, ex.sending_from(mailbox, draft.data))
            ex.send(call, mailbox, draft)
            return Response(status=202)

    @route("/sendMail", ["POST"])
    def send_mail(user: str) -> Response:
        person, mailbox, call = graph.open(user, "send")
        body = _json_body()
        raw = body.get("message")
        if not isinstance(raw, dict):
            raise bad_body("The parameter 'message' is required and must be a message.")
        message = parse_fields(raw, "message", MESSAGE_WRITABLE, MESSAGE_FIELDS)
        save = _flag(body, "saveToSentItems", True)
        graph.sending_as_another(person, ex.sending_from(mailbox, message))
        with graph.on_mailbox(mailbox), ex.lock:
            ex.send_mail(call, mailbox, message, save=save)
            return Response(status=202)

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

    @route("/mailFolders/<folder_id>/messages", ["GET"])
    def folder_messages(user: str, folder_id: str) -> Response:
        person, mailbox, _ = graph.open(user, "readMail")
        wanted = _filter_message_id(request.args.get("$filter"))
        with graph.on_mailbox(mailbox), ex.lock:
            folder = graph.folder(person, mailbox, folder_id)
            if folder is None or not graph.readable(person, mailbox, folder):
                raise access_denied()
            items = [
                i
                for i in mailbox.items.values()
                if i.folder_id == folder.id
                and i.kind == "message"
                and (wanted is None or i.data.get("internetMessageId") == wanted)
            ]
            items.sort(key=lambda i: str(i.data.get("receivedDateTime", "")), reverse=True)
            select = request.args.get("$select")
            values = [graph.fields(i, select) for i in items]
            context = f"users('{quote(mailbox.address)}')/mailFolders('{folder.id}')/messages"
            return jsonify(graph.page(values, context))

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
        body = _json_body()
        for name in body:
            if name not in ("comment", "sendResponse", "proposedNewTime"):
                raise bad_body(f"The parameter '{name}' is not in the action '{action}'.")
        comment = _text(body, "comment") or ""
        send = _flag(body, "sendResponse", True)
        with graph.on_mailbox(mailbox), ex.lock:
            event = graph.locate(person, mailbox, item_id, "event")
            ex.respond(call, mailbox, event, action, comment=comment, send_response=send)
            return Response(status=202)

    return bp
