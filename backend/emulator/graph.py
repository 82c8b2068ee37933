"""Microsoft Graph, emulated over the in-memory Exchange, with Exchange's rules and Graph's errors.

Error bodies: {"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}} (learn.microsoft.com/graph/errors). Codes and messages are the ones
Exchange Online answers: ErrorAccessDenied, ErrorItemNotFound, ErrorInvalidUser,
ErrorInvalidMailboxItemId, ErrorInvalidIdMalformed, MailboxNotEnabledForRESTAPI, and 429
ApplicationThrottled when an app has more than 4 requests in flight on one mailbox.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import jwt
from flask import Blueprint, Response, jsonify, request

from .exchange import Exchange, Item, Mailbox, Person, decode_id
from .identity import GRAPH_APP_ID, GRAPH_RESOURCES, Entra, Faults, Stats

MAILBOX_CONCURRENCY = 4
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
READ_MAIL = {"Mail.Read", "Mail.ReadWrite", "Mail.Read.Shared", "Mail.ReadWrite.Shared"}
READ_MAIL_SHARED = {"Mail.Read.Shared", "Mail.ReadWrite.Shared"}
READ_CAL = {
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite.Shared",
}
READ_CAL_SHARED = {"Calendars.Read.Shared", "Calendars.ReadWrite.Shared"}


class GraphError(Exception):
    """An error answer in Graph's shape."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def access_denied() -> GraphError:
    """403 ErrorAccessDenied, Exchange's answer to anything the caller may not do."""
    return GraphError(
        403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
    )


def not_found() -> GraphError:
    """404 ErrorItemNotFound."""
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


class Graph:
    """The Graph half of the emulator."""

    def __init__(self, exchange: Exchange, entra: Entra, faults: Faults, stats: Stats):
        self.exchange = exchange
        self.entra = entra
        self.faults = faults
        self.stats = stats

    # -- plumbing -------------------------------------------------------------------------
    def answer(self, error: GraphError) -> Response:
        """The Graph error body and headers."""
        request_id = str(uuid.uuid4())
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
        return mailbox

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
        """Apply a queued Graph fault: latency, then an error status."""
        fault = self.faults.take(
            "graph", mailbox=mailbox.address, method=request.method, path=request.path
        )
        if fault is None:
            return
        delay = float(fault.get("delayMs", 0)) / 1000
        if delay:
            time.sleep(delay)
        status = int(fault.get("status", 0))
        if not status:
            return
        headers = {}
        if fault.get("retryAfter") is not None:
            headers["Retry-After"] = str(fault["retryAfter"])
        code = fault.get("code") or {
            429: "ApplicationThrottled",
            503: "ServiceUnavailable",
            502: "BadGateway",
            504: "GatewayTimeout",
            500: "InternalServerError",
            412: "ErrorIrresolvableConflict",
        }.get(status, "UnknownError")
        message = fault.get("message") or {
            429: "Application is over its MailboxConcurrency limit.",
            412: "The send or update operation could not be performed because the change key "
            "passed in the request does not match the current change key for the item.",
        }.get(status, "The service is temporarily unavailable.")
        raise GraphError(status, code, message, headers)

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
        return item

    def render(self, mailbox: Mailbox, item: Item, select: str | None) -> dict[str, Any]:
        """The item as Graph serialises it, honouring $select."""
        collection = "messages" if item.kind == "message" else "events"
        known = MESSAGE_FIELDS if item.kind == "message" else EVENT_FIELDS
        base = self.entra.base_url
        body: dict[str, Any] = {
            "@odata.context": f"{base}/v1.0/$metadata#users('{quote(mailbox.address)}')/"
            f"{collection}/$entity",
            "@odata.etag": f'W/"{item.change_key}"',
            "id": item.id,
        }
        data = (
            dict(item.data, parentFolderId=item.folder_id)
            if item.kind == "message"
            else dict(item.data)
        )
        if select:
            wanted = [s.strip() for s in select.split(",") if s.strip()]
            for name in wanted:
                if name not in known:
                    kind = "message" if item.kind == "message" else "event"
                    raise GraphError(
                        400,
                        "RequestBroker--ParseUri",
                        f"Could not find a property named '{name}' on type "
                        f"'microsoft.graph.{kind}'.",
                    )
            data = {k: v for k, v in data.items() if k in wanted}
        body.update(data)
        return body


def blueprint(graph: Graph) -> Blueprint:
    """The Graph routes."""
    bp = Blueprint("graph", __name__, url_prefix="/v1.0")

    def handle(work: Callable[[], Response]) -> Response:
        try:
            return work()
        except GraphError as error:
            return graph.answer(error)

    def get_item(user: str, item_id: str, kind: str) -> Response:
        def work() -> Response:
            person, scopes = graph.caller()
            mailbox = graph.mailbox(person, user)
            own = mailbox.owner_upn == person.upn.lower()
            needed = (
                (READ_MAIL if own else READ_MAIL_SHARED)
                if kind == "message"
                else (READ_CAL if own else READ_CAL_SHARED)
            )
            if not scopes & needed:
                raise access_denied()
            with graph.on_mailbox(mailbox), graph.exchange.lock:
                item = graph.locate(person, mailbox, item_id, kind)
                return jsonify(graph.render(mailbox, item, request.args.get("$select")))

        return handle(work)

    @bp.get("/users/<user>/messages/<item_id>")
    def user_message(user: str, item_id: str) -> Response:
        return get_item(user, item_id, "message")

    @bp.get("/me/messages/<item_id>")
    def my_message(item_id: str) -> Response:
        return get_item("me", item_id, "message")

    @bp.get("/users/<user>/events/<item_id>")
    def user_event(user: str, item_id: str) -> Response:
        return get_item(user, item_id, "event")

    @bp.get("/me/events/<item_id>")
    def my_event(item_id: str) -> Response:
        return get_item("me", item_id, "event")

    return bp
