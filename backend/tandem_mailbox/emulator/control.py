"""The /_emulator/* control routes (emulator only) and the description of the world they give."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

from cryptography import x509
from flask import Blueprint, Response, jsonify, request

from tandem_mailbox.emulator import seed
from tandem_mailbox.emulator.exchange import (
    WELL_KNOWN_MAIL,
    Call,
    ExchangeError,
    Item,
    Mailbox,
    Person,
    ews_id,
    recipient,
)
from tandem_mailbox.emulator.graph import GraphError, normalise_flag
from tandem_mailbox.emulator.identity import AADSTS, DELEGATED_SCOPES, OFFICE_DESKTOP
from tandem_mailbox.emulator.world import Emulator

FAULT_TARGETS = ("token", "graph", "jwks")
# What /_emulator/graph-token grants when no scopes are asked for: the backend's default.
DEFAULT_SCOPES = [
    "Mail.ReadWrite.Shared",
    "Mail.Send.Shared",
    "Calendars.ReadWrite.Shared",
    "User.Read",
]


def world(emulator: Emulator) -> dict[str, Any]:
    """People, mailboxes, folders, item ids (REST and EWS form) and rights."""
    ex = emulator.exchange
    with ex.lock:
        mailboxes = []
        for mailbox in ex.mailboxes.values():
            folders = []
            for folder in mailbox.folders.values():
                items = [
                    _item_summary(item)
                    for item in mailbox.items.values()
                    if item.folder_id == folder.id
                ]
                items.sort(key=lambda i: i["receivedDateTime"] or "", reverse=True)
                folders.append(
                    {
                        "id": folder.id,
                        "name": folder.name,
                        "kind": folder.kind,
                        "wellKnownName": folder.well_known,
                        "parentId": folder.parent_id,
                        "permissions": dict(folder.permissions),
                        "items": items,
                    }
                )
            mailboxes.append(
                {
                    "address": mailbox.address,
                    "id": mailbox.guid,
                    "displayName": mailbox.display_name,
                    "kind": mailbox.kind,
                    "tenantId": mailbox.tenant_id,
                    "owner": mailbox.owner_upn,
                    "fullAccess": sorted(mailbox.full_access),
                    "sendAs": sorted(mailbox.send_as),
                    "sendOnBehalf": sorted(mailbox.send_on_behalf),
                    "rootFolderId": mailbox.root_id,
                    "wellKnownFolders": _well_known(emulator, mailbox),
                    "folders": folders,
                }
            )
        people = [
            {
                "upn": p.upn,
                "name": p.name,
                "oid": p.oid,
                "tenantId": p.tenant_id,
                "persona": p.persona,
                "description": p.description,
                "mailbox": p.upn,
            }
            for p in ex.people.values()
        ]
    return {
        "tenants": [dict(info, id=tid) for tid, info in seed.TENANTS.items()],
        "homeTenant": seed.CONTOSO,
        "app": {
            "clientId": emulator.entra.app.client_id,
            "identifierUris": list(emulator.entra.app.identifier_uris),
        },
        "authorityHost": emulator.entra.host,
        "graphUrl": f"{emulator.base_url}/v1.0",
        "people": people,
        "mailboxes": mailboxes,
    }


def _well_known(emulator: Emulator, mailbox: Mailbox) -> dict[str, str]:
    found = {}
    for name in WELL_KNOWN_MAIL:
        folder = emulator.exchange.well_known(mailbox, name)
        if folder is not None:
            found[name] = folder.id
    return found


def _item_summary(item: Item) -> dict[str, Any]:
    data = item.data
    message = item.kind == "message"
    return {
        "id": item.id,
        "ewsId": ews_id(item.id),
        "itemType": "message" if message else "appointment",
        "subject": data.get("subject", ""),
        "from": (data.get("from") or data.get("organizer") or {}).get("emailAddress", {}),
        "sender": (data.get("sender") or {}).get("emailAddress") if message else None,
        "receivedDateTime": data.get("receivedDateTime") or data.get("start", {}).get("dateTime"),
        "isRead": data.get("isRead", True),
        "isDraft": bool(data.get("isDraft", False)),
        "flag": (data.get("flag") or {}).get("flagStatus") if message else None,
        "internetMessageId": data.get("internetMessageId"),
        "conversationId": data.get("conversationId") if message else None,
        "immutableId": item.immutable_id,
        "categories": list(data.get("categories", [])),
        "createdBy": item.created_by,
    }


def item_state(emulator: Emulator, item: Item) -> dict[str, Any]:
    """Everything about an item: where it is, every Graph field, who created it, its history."""
    ex = emulator.exchange
    mailbox = ex.mailbox(item.mailbox)
    assert mailbox is not None
    folder = None if item.deleted else mailbox.folders.get(item.folder_id)
    return {
        "id": item.id,
        "ids": list(item.ids),
        "immutableId": item.immutable_id,
        "kind": item.kind,
        "mailbox": mailbox.address,
        "folderId": folder.id if folder else None,
        "folderName": folder.name if folder else None,
        "folderWellKnownName": folder.well_known if folder else None,
        "deleted": item.deleted,
        "createdBy": item.created_by,
        "changeKey": item.change_key,
        "item": emulator.graph.fields(item, None),
        "history": list(item.history),
    }


def blueprint(emulator: Emulator) -> Blueprint:
    """The control routes; their shapes are in docs/emulator.md."""
    bp = Blueprint("control", __name__, url_prefix="/_emulator")
    ex = emulator.exchange
    entra = emulator.entra

    @bp.post("/sso-token")
    def sso_token() -> Response:
        body = _body()
        person = ex.person(str(body.get("user", "")))
        if person is None:
            return _bad("unknown user; see GET /_emulator/world")
        version = int(body.get("version") or entra.access_token_version)
        if version not in (1, 2):
            return _bad("version must be 1 or 2")
        token = entra.sso_token(
            person,
            version=version,
            lifetime=int(body.get("lifetime", 3600)),
            client_app=str(body.get("clientApp", OFFICE_DESKTOP)),
            overrides=body.get("claims") or {},
            remove=list(body.get("remove") or []),
        )
        return jsonify({"token": token})

    @bp.post("/graph-token")
    def graph_token() -> Response:
        body = _body()
        person = ex.person(str(body.get("user", "")))
        if person is None:
            return _bad("unknown user; see GET /_emulator/world")
        scopes = body.get("scopes", DEFAULT_SCOPES)
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            return _bad("scopes must be a list of delegated Graph scope names")
        names = [s.rsplit("/", 1)[-1] for s in scopes]
        unknown = sorted(set(names) - DELEGATED_SCOPES)
        if unknown:
            return _bad(f"unknown scopes {unknown}; known: {sorted(DELEGATED_SCOPES)}")
        return jsonify({"token": entra.graph_token(person, names)})

    @bp.get("/world")
    def get_world() -> Response:
        return jsonify(world(emulator))

    @bp.get("/config")
    def config() -> Response:
        return jsonify({"settings": emulator.settings(), "baseUrl": emulator.base_url})

    @bp.get("/stats")
    def stats() -> Response:
        with ex.lock:
            handed_to_transport = len(ex.deliveries)
        return jsonify(dict(emulator.stats.snapshot(), deliveries=handed_to_transport))

    @bp.get("/requests")
    def requests_log() -> Response:
        raw = request.args.get("limit", "100")
        if not raw.isdigit():
            return _bad("limit must be a whole number")
        return jsonify({"requests": emulator.requests.last(int(raw))})

    @bp.get("/deliveries")
    def deliveries() -> Response:
        with ex.lock:
            return jsonify({"deliveries": list(ex.deliveries)})

    @bp.get("/items/<item_id>")
    def get_item(item_id: str) -> Response:
        with ex.lock:
            item = ex.item(item_id)
            if item is None:
                return _bad("no item has ever had that id", status=404)
            return jsonify(item_state(emulator, item))

    @bp.post("/items/<item_id>/change")
    def change_item(item_id: str) -> Response:
        body = _body()
        unknown = sorted(set(body) - {"by", "categories", "flag", "isRead"})
        if unknown:
            return _bad(f"unknown members {unknown}: by, categories, flag, isRead")
        if "categories" in body and not (
            isinstance(body["categories"], list)
            and all(isinstance(c, str) for c in body["categories"])
        ):
            return _bad("categories must be a list of names")
        if "flag" in body:
            try:
                normalise_flag(body["flag"])
            except GraphError:
                return _bad("flag must be notFlagged, flagged or complete (or a followupFlag)")
        with ex.lock:
            item = ex.item(item_id)
            if item is None or item.deleted:
                return _bad("no live item has that id", status=404)
            emulator.graph.outside_change(item, body)
            return jsonify(item_state(emulator, item))

    @bp.post("/items/<item_id>/move")
    def move_item(item_id: str) -> Response:
        """Move an item as a person would in Outlook: {"folder": id, well-known or display
        name, "by": upn}; the item gets a new REST id and keeps its immutable id."""
        body = _body()
        unknown = sorted(set(body) - {"by", "folder"})
        if unknown or not isinstance(body.get("folder"), str):
            return _bad("members: folder (an id, a well-known or a display name), by")
        with ex.lock:
            item = ex.item(item_id)
            mailbox = ex.mailbox(item.mailbox) if item is not None else None
            if item is None or item.deleted or mailbox is None:
                return _bad("no live item has that id", status=404)
            name = body["folder"]
            folder = ex.folder(mailbox, name) or next(
                (f for f in mailbox.folders.values() if f.name.lower() == name.lower()), None
            )
            if folder is None or folder.kind != ("mail" if item.kind == "message" else "calendar"):
                return _bad("no such folder of the item's kind in its mailbox")
            ex.outlook_move(str(body.get("by") or item.mailbox), item, folder)
            return jsonify(item_state(emulator, item))

    @bp.get("/faults")
    def list_faults() -> Response:
        return jsonify({"faults": emulator.faults.list()})

    @bp.post("/faults")
    def add_faults() -> Response:
        body = request.get_json(silent=True)
        faults: list[Any] = body if isinstance(body, list) else [body]
        for fault in faults:
            if not isinstance(fault, dict) or fault.get("target") not in FAULT_TARGETS:
                return _bad("each fault needs target: token, graph or jwks")
            if "aadsts" in fault and int(fault["aadsts"]) not in AADSTS:
                return _bad(f"aadsts must be one of {sorted(AADSTS)}")
            if "outsideChange" in fault and not isinstance(fault["outsideChange"], dict):
                return _bad("outsideChange must be an object: by, categories, flag, isRead")
            if fault.get("after") and not (fault.get("status") or fault.get("reset")):
                return _bad("after needs a status (or reset) once the operation is done")
        for fault in faults:
            emulator.faults.add(fault)
        return _json({"faults": emulator.faults.list()}, 201)

    @bp.delete("/faults")
    def clear_faults() -> Response:
        emulator.faults.clear()
        return Response(status=204)

    @bp.post("/keys/rotate")
    def rotate() -> Response:
        key = entra.rotate(retire_old=bool(_body().get("retireOld")))
        return jsonify({"kid": key.kid})

    @bp.post("/app/certificates")
    def add_certificate() -> Response:
        try:
            cert = x509.load_pem_x509_certificate(str(_body().get("pem", "")).encode())
        except ValueError:
            return _bad("pem must be a PEM certificate")
        entra.app.certificates.append(cert)
        return _json({"registered": len(entra.app.certificates)}, 201)

    @bp.post("/mailboxes/<address>/conversations")
    def new_conversation(address: str) -> Response:
        """A thread written now: a customer's messages and the members' answers, each so many
        minutes ago (the queue's tests and the demo make their conversations so)."""
        body = _body()
        customer = body.get("customer") or {}
        steps = body.get("steps")
        subject = body.get("subject")
        if not (isinstance(customer, dict) and isinstance(customer.get("address"), str)):
            return _bad("customer is {name, address}")
        if not isinstance(subject, str) or not subject or not isinstance(steps, list) or not steps:
            return _bad("subject and steps [{who, minutesAgo, text}] are required")
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        timed = []
        for step in steps:
            if not isinstance(step, dict) or not isinstance(step.get("minutesAgo"), int):
                return _bad("each step is {who: 'customer' or a member's upn, minutesAgo, text}")
            who = str(step.get("who", "customer")).lower()
            if who != "customer" and ex.person(who) is None:
                return _bad(f"no person {who[:80]}")
            when = now - dt.timedelta(minutes=step["minutesAgo"])
            timed.append((who, when, str(step.get("text") or subject)))
        with ex.lock:
            mailbox = ex.mailboxes.get(address.lower())
            if mailbox is None:
                return _bad("no mailbox at that address", status=404)
            made = seed.add_conversation(
                ex,
                mailbox,
                customer=(str(customer.get("name") or ""), customer["address"]),
                subject=subject,
                steps=timed,
                read=bool(body.get("read", False)),
                claim=body.get("claim"),
            )
            return _json(
                {
                    "conversationId": made[0].data.get("conversationId"),
                    "items": [_item_summary(item) for item in made],
                },
                201,
            )

    @bp.post("/mailboxes/<address>/members")
    def new_member(address: str) -> Response:
        """An administrator grants a person Full Access and Send As on a shared mailbox (the
        person is made in the mailbox's tenant if new): a team of any size, for the queue's
        benchmark. Exchange's hour before a new grant works is not emulated."""
        body = _body()
        upn, name = body.get("upn"), body.get("name")
        if not (isinstance(upn, str) and "@" in upn and isinstance(name, str) and name.strip()):
            return _bad("upn and name are required")
        with ex.lock:
            mailbox = ex.mailboxes.get(address.lower())
            if mailbox is None or mailbox.kind != "shared":
                return _bad("no shared mailbox at that address", status=404)
            person = ex.person(upn.lower())
            if person is None:
                oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{mailbox.tenant_id}/{upn.lower()}"))
                person = ex.add_person(Person(oid, upn.lower(), name.strip(), mailbox.tenant_id))
            elif person.tenant_id != mailbox.tenant_id:
                return _bad("that person is of another tenant")
            mailbox.full_access.add(person.upn)
            mailbox.send_as.add(person.upn)
            return _json({"upn": person.upn, "name": person.name, "oid": person.oid}, 201)

    @bp.post("/items/<item_id>/follow-up")
    def follow_up(item_id: str) -> Response:
        """The message's sender writes again: a new message in the same mailbox's Inbox and
        conversation, received now (the customer's follow-up)."""
        body = _body()
        text = body.get("text", "Any news on this? Thanks.")
        if not isinstance(text, str) or len(text) > 4000:
            return _bad("text must be a string of at most 4000 characters")
        with ex.lock:
            original = ex.item(item_id)
            if original is None or original.deleted or original.kind != "message":
                return _bad("no live message has that id", status=404)
            mailbox = ex.mailboxes[original.mailbox]
            inbox = ex.well_known(mailbox, "inbox")
            assert inbox is not None
            data = ex.new_message(mailbox, {})
            sender = copy.deepcopy(original.data.get("from") or {})
            subject = str(original.data.get("subject", ""))
            data.update(
                {
                    "subject": subject if subject.upper().startswith("RE:") else "RE: " + subject,
                    "from": sender,
                    "sender": copy.deepcopy(sender),
                    "toRecipients": [
                        {"emailAddress": {"name": mailbox.display_name, "address": mailbox.address}}
                    ],
                    "isDraft": False,
                    "isRead": False,
                    "body": {"contentType": "text", "content": text},
                    "bodyPreview": text[:255],
                    "conversationId": original.data.get("conversationId"),
                }
            )
            address = str(sender.get("emailAddress", {}).get("address", "")).lower()
            item = ex.add_item(mailbox, inbox, "message", address or mailbox.address, data)
            return _json(_item_summary(item), 201)

    @bp.post("/items/<item_id>/outlook-reply")
    def outlook_reply(item_id: str) -> Response:
        """A reply sent from a person's own Outlook window, not through Graph: {"by": upn,
        "action": "reply" | "replyAll", "from": the address sent as (default: the item's
        mailbox), "body": {"contentType", "content"}}. Exchange's rules hold (Full Access,
        Send As or Send on Behalf); the copy lands in the mailbox's Sent Items."""
        body = _body()
        unknown = sorted(set(body) - {"by", "action", "from", "body"})
        if unknown or not isinstance(body.get("by"), str):
            return _bad("members: by (a upn), action, from, body")
        action = body.get("action", "reply")
        if action not in ("reply", "replyAll"):
            return _bad("action must be reply or replyAll")
        content = body.get("body") or {"contentType": "text", "content": ""}
        if not (
            isinstance(content, dict)
            and content.get("contentType") in ("text", "html")
            and isinstance(content.get("content"), str)
            and len(content["content"]) <= 100_000
        ):
            return _bad("body must be {contentType: text | html, content: a string}")
        with ex.lock:
            person = ex.person(body["by"])
            original = ex.item(item_id)
            if person is None or original is None or original.deleted:
                return _bad("no such person, or no live message with that id", status=404)
            mailbox = ex.mailboxes[original.mailbox]
            sent_as = str(body.get("from") or mailbox.address).lower()
            target = ex.mailbox(sent_as)
            shown = target.display_name if target is not None else sent_as
            message = {"from": recipient(shown, sent_as), "body": dict(content)}
            try:
                copy_ = ex.send_now(
                    Call(person=person, via="outlook"),
                    mailbox,
                    original,
                    action,
                    comment=None,
                    message=message,
                    to=None,
                )
            except ExchangeError as error:
                return _json({"error": error.code, "message": error.message}, error.status)
            return _json(_item_summary(copy_) if copy_ is not None else {}, 201)

    @bp.post("/settings")
    def settings() -> Response:
        body = _body()
        if "graphTokenLifetime" in body:
            entra.graph_token_lifetime = int(body["graphTokenLifetime"])
        if "accessTokenAcceptedVersion" in body:
            if body["accessTokenAcceptedVersion"] not in (1, 2):
                return _bad("accessTokenAcceptedVersion must be 1 or 2")
            entra.access_token_version = int(body["accessTokenAcceptedVersion"])
        if "ifMatch" in body:
            if body["ifMatch"] not in ("honour", "ignore"):
                return _bad("ifMatch must be honour or ignore")
            ex.if_match = body["ifMatch"]
        return jsonify(
            {
                "graphTokenLifetime": entra.graph_token_lifetime,
                "accessTokenAcceptedVersion": entra.access_token_version,
                "ifMatch": ex.if_match,
            }
        )

    return bp


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _bad(message: str, *, status: int = 400) -> Response:
    return _json({"error": message}, status)
