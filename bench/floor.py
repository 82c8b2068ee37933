"""The read path's floor: the cheapest honest implementation of `POST /api/items/context` on
Tandem's own stack, to measure Tandem against in the same run.

A minimal Flask app, served by the same gunicorn worker class with the same TLS
(`bench/servers.py floor`): it checks the SSO token with PyJWT against a key fetched once
(signature, audience, issuer, expiry), exchanges it on-behalf-of once per token (a dict of
Graph tokens), reads the item through one requests Session with Tandem's `$select`, keeping to
Graph's 4 requests in flight per mailbox (a semaphore each: a client that didn't would be
answered 429), reads the conversation's record from Tandem's own database with sqlite3 (the
row, the notes, the newest 50 events, the members: what the context answer carries), and
answers both as JSON. It has none of Tandem's other guarantees (no id checks, no record
writes, no log line, no metrics, no error vocabulary): what Tandem costs beyond it is the price
of those.

The same for the actions that change an item's fields (`POST /api/items/actions/<action>`:
markRead, markUnread, flag, categorize): the item read with Tandem's `$select`, the change
PATCHed with its etag (If-Match), the action's event written to the conversation's timeline
and the record read back, in one SQLite transaction, and the new item answered with it. It
takes no lock, keeps no idempotency record and checks nothing the pane could get wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import ssl
import threading
import time
from typing import Any
from urllib.parse import quote

import jwt
import requests
from flask import Flask, jsonify, request

from tandem_mailbox.microsoft.graph import MAILBOX_CONCURRENCY, MESSAGE_SELECT
from tandem_mailbox.microsoft.mailboxes import mailbox_guid

PREFER = 'IdType="ImmutableId"'


RECORD = (
    (
        "conversation",
        "select * from conversations where tenant_id=? and mailbox_id=? and conversation_id=?",
    ),
    (
        "notes",
        "select * from notes where tenant_id=? and mailbox_id=? and conversation_id=? "
        "order by created_at desc, id desc",
    ),
    (
        "timeline",
        "select * from events where tenant_id=? and mailbox_id=? and "
        "conversation_id=? order by id desc limit 50",
    ),
)
MEMBERS = "select * from members where tenant_id=? and mailbox_id=? order by lower(name), upn"
CREATE = (
    "insert into conversations (tenant_id, mailbox_id, conversation_id, status, updated_at, "
    "version) values (?, ?, ?, 'open', ?, 1) on conflict do nothing"
)
TOUCH = (
    "update conversations set updated_at=?, version=version+1 "
    "where tenant_id=? and mailbox_id=? and conversation_id=?"
)
EVENT = (
    "insert into events (tenant_id, mailbox_id, conversation_id, at, actor_oid, actor_upn, "
    "actor_name, kind, detail) values (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def create_app(settings: dict[str, str], ca_bundle: str, database: str) -> Flask:
    """The floor app, configured by the TANDEM_* settings that wire Tandem to the emulator,
    reading the record from Tandem's SQLite file `database`."""
    client_id = settings["TANDEM_CLIENT_ID"]
    secret = settings["TANDEM_CLIENT_SECRET"]
    tenant = settings["TANDEM_TENANT_ID"]
    authority = f"https://{settings['TANDEM_AUTHORITY_HOST']}/{tenant}"
    graph = settings["TANDEM_GRAPH_URL"].rstrip("/")
    public = settings.get("TANDEM_PUBLIC_URL", "https://localhost:3000")
    audiences = [client_id, f"api://{public.split('://', 1)[1]}/{client_id}"]
    scopes = " ".join(
        s if "://" in s else f"https://graph.microsoft.com/{s}"
        for s in settings.get(
            "TANDEM_SCOPES",
            "Mail.ReadWrite.Shared Mail.Send.Shared Calendars.ReadWrite.Shared User.Read",
        ).split()
    )
    session = requests.Session()  # verified against the run's CA, passed with each call (the
    # environment's REQUESTS_CA_BUNDLE would override the session's own)
    context = ssl.create_default_context(cafile=ca_bundle)
    jwks = jwt.PyJWKClient(
        f"{authority}/discovery/v2.0/keys", cache_jwk_set=False, ssl_context=context
    )
    keys: dict[str, Any] = {}
    tokens: dict[str, tuple[str, float]] = {}
    slots: dict[str, threading.BoundedSemaphore] = {}
    lock = threading.Lock()
    local = threading.local()
    exchanged = [0, 0]  # token exchanges, key-set fetches

    def slot(mailbox: str) -> threading.BoundedSemaphore:
        found = slots.get(mailbox)
        if found is None:
            with lock:
                found = slots.setdefault(mailbox, threading.BoundedSemaphore(MAILBOX_CONCURRENCY))
        return found

    def record(
        tenant: str, item: dict[str, Any], event: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The conversation's record as the context answer carries it; with `event`, that
        event written to its timeline first, in the same transaction."""
        mailbox = mailbox_guid(str(item.get("parentFolderId") or ""))
        conversation = item.get("conversationId")
        if not mailbox or not conversation:
            return None
        db = getattr(local, "db", None)
        if db is None:
            # Autocommit as the driver is told, every transaction begun here: a reader's
            # deferred BEGIN, a writer's IMMEDIATE (SQLite's write lock at once, as Tandem's).
            db = local.db = sqlite3.connect(database, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
        key = (tenant, mailbox, conversation)
        db.execute("begin immediate" if event else "begin")
        try:
            if event:
                now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                db.execute(CREATE, (*key, now))
                db.execute(TOUCH, (now, *key))
                db.execute(
                    EVENT,
                    (
                        *key,
                        now,
                        event["oid"],
                        event["upn"],
                        event["name"],
                        event["kind"],
                        json.dumps(event["detail"]),
                    ),
                )
            found = {name: [dict(r) for r in db.execute(sql, key)] for name, sql in RECORD}
            found["members"] = [dict(r) for r in db.execute(MEMBERS, key[:2])]
        finally:
            db.execute("commit")
        return found

    def key(token: str) -> Any:
        kid = jwt.get_unverified_header(token)["kid"]
        found = keys.get(kid)
        if found is None:
            with lock:
                found = keys.get(kid)  # another thread's fetch, while this one waited
                if found is None:
                    found = keys[kid] = jwks.get_signing_key(kid).key  # fetched afresh
                    exchanged[1] += 1
        return found

    def graph_token(assertion: str) -> str:
        held = tokens.get(assertion)
        if held and held[1] > time.time():
            return held[0]
        answer = session.post(
            f"{authority}/oauth2/v2.0/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "client_id": client_id,
                "client_secret": secret,
                "assertion": assertion,
                "scope": scopes,
                "requested_token_use": "on_behalf_of",
            },
            timeout=10,
            verify=ca_bundle,
        ).json()
        tokens[assertion] = (answer["access_token"], time.time() + 600)
        exchanged[0] += 1
        return str(answer["access_token"])

    app = Flask(__name__)

    def signed_in() -> tuple[str, dict[str, Any]] | None:
        """The SSO token and its claims, or None when it is not one of this tenant's."""
        assertion = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(assertion, key(assertion), algorithms=["RS256"], audience=audiences)
        except (jwt.InvalidTokenError, KeyError):
            return None
        if not str(claims.get("iss", "")).endswith(f"/{claims.get('tid')}/v2.0"):
            return None
        return assertion, claims

    def call(
        assertion: str,
        claims: dict[str, Any],
        body: dict[str, Any],
        method: str,
        **options: Any,
    ) -> requests.Response:
        """One Graph call on the posted item, within its mailbox's 4 slots."""
        shared = body.get("shared")
        # The mailbox's slots by its address: /me is the person's own (their sign-in name).
        mailbox = (shared["targetMailbox"] if shared else claims["preferred_username"]).lower()
        root = "/users/" + quote(shared["targetMailbox"], safe="") if shared else "/me"
        headers = {
            "Authorization": f"Bearer {graph_token(assertion)}",
            "Accept": "application/json",
            "Prefer": PREFER,
            **options.pop("headers", {}),
        }
        with slot(mailbox):
            return session.request(
                method,
                f"{graph}{root}/messages/{quote(body['itemId'], safe='')}",
                headers=headers,
                timeout=10,
                verify=ca_bundle,
                **options,
            )

    @app.post("/api/items/context")
    def context() -> Any:
        signed = signed_in()
        if signed is None:
            return jsonify({"code": "invalid_token"}), 401
        assertion, claims = signed
        answer = call(
            assertion, claims, request.get_json(), "GET", params={"$select": MESSAGE_SELECT}
        )
        item = answer.json()
        if answer.status_code != 200:
            return jsonify({"code": "graph", "graph": item}), answer.status_code
        return jsonify({"item": item, "record": record(claims["tid"], item)})

    @app.post("/api/items/actions/<action>")
    def act(action: str) -> Any:
        signed = signed_in()
        if signed is None:
            return jsonify({"code": "invalid_token"}), 401
        assertion, claims = signed
        body = request.get_json()
        answer = call(assertion, claims, body, "GET", params={"$select": MESSAGE_SELECT})
        current = answer.json()
        if answer.status_code != 200:
            return jsonify({"code": "graph", "graph": current}), answer.status_code
        if action == "flag":
            change: dict[str, Any] = {"flag": {"flagStatus": body["flag"]}}
        elif action == "categorize":
            kept = [c for c in current.get("categories") or [] if c not in body["remove"]]
            change = {"categories": kept + [c for c in body["add"] if c not in kept]}
        elif action in ("markRead", "markUnread"):
            change = {"isRead": action == "markRead"}
        else:
            return jsonify({"code": "unknown_action"}), 404
        answer = call(
            assertion,
            claims,
            body,
            "PATCH",
            json=change,
            headers={"If-Match": current["@odata.etag"]},
        )
        item = answer.json()
        if answer.status_code != 200:
            return jsonify({"code": "graph", "graph": item}), answer.status_code
        event = {
            "oid": claims["oid"],
            "upn": claims["preferred_username"].lower(),
            "name": claims.get("name", ""),
            "kind": action,
            "detail": change,
        }
        return jsonify({"item": item, "record": record(claims["tid"], item, event)})

    @app.get("/_floor/wait/<int:ms>")
    def wait(ms: int) -> Any:
        """A minimal answer (the size of an item's) after `ms` of waiting: what one hop through
        this stack costs on its own, answered at once and after a wait as long as Graph's."""
        if ms:
            time.sleep(min(ms, 1000) / 1000)
        return jsonify({"waitedMs": ms, "padding": "x" * 1500})

    @app.get("/_floor/stats")
    def stats() -> Any:
        return jsonify({"tokenRequests": exchanged[0], "jwksFetches": exchanged[1]})

    @app.get("/healthz")
    def healthz() -> Any:
        return "ok"

    return app
