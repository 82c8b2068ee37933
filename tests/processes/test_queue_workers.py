"""Take the next one under real serving: thirty people pressing at once on `tandem serve` with
two gunicorn workers sharing a PostgreSQL and a Redis get thirty different conversations, none
twice, each now theirs in the record and in Outlook; the mailbox's lists are made once for all
of them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tandem_mailbox.store import Store
from tandem_mailbox.store.tables import conversations
from tests.support.api import shared_body
from tests.support.deployment import CACHE_KEY, RedisServer
from tests.support.postgres import PostgresServer
from tests.support.servers import BackendSettings, EmulatorHandle
from tests.support.serving import StartServe

SUPPORT = "support@contoso.com"
WAITING = 34  # conversations nobody owns: more than the callers, so each gets one
CALLERS = 30
PEOPLE = ("lee@contoso.com", "sam@contoso.com")


def _post(session: Session, url: str, token: str, body: dict[str, Any]) -> Any:
    return session.post(url, json=body, headers={"Authorization": f"Bearer {token}"})


def test_thirty_at_once_on_two_workers_take_thirty_different_conversations(
    fresh_emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    postgres: PostgresServer,
    redis_server: RedisServer,
    tmp_path: Path,
):
    made = []
    for n in range(WAITING):
        answer = fresh_emulator.http.post(
            f"{fresh_emulator.url}/_emulator/mailboxes/{SUPPORT}/conversations",
            json={
                "customer": {"name": f"Customer {n}", "address": f"c{n}@adatum.com"},
                "subject": f"Waiting {n}",
                "steps": [{"who": "customer", "minutesAgo": 10 + 7 * n, "text": "Hello?"}],
            },
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    url = postgres.database()
    store = Store(url)
    store.upgrade()
    store.dispose()
    settings = backend_settings(
        fresh_emulator,
        TANDEM_DATABASE_URL=url,
        TANDEM_REDIS_URL=redis_server.url,
        TANDEM_CACHE_KEY=CACHE_KEY,
    )
    served = start_serve(
        ["--workers", "2", "--threads", "16", "--certs", str(cert_paths.ca_cert.parent)],
        settings,
        tmp_path,
        cert_paths.ca_cert,
    )
    tokens = {upn: fresh_emulator.sso(upn) for upn in PEOPLE}
    body = shared_body(made[0]["items"][0]["id"], SUPPORT)
    session = Session(context=ssl_context(cert_paths.ca_cert), timeout=120)
    for token in tokens.values():  # both seen on support@: members
        assert _post(session, f"{served.url}/api/items/context", token, body).status_code == 200
    before = len(fresh_emulator.requests(limit=100_000))
    start = threading.Barrier(CALLERS)

    def take(n: int) -> tuple[str, Any]:
        upn = PEOPLE[n % 2]
        start.wait(timeout=60)
        return upn, _post(session, f"{served.url}/api/mailbox/next", tokens[upn], body)

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        results = list(pool.map(take, range(CALLERS)))
    elapsed = time.monotonic() - began
    for upn, answer in results:
        assert answer.status_code == 200, answer.text
        assert answer.json()["taken"] is not None, upn
    taken = [(upn, answer.json()["taken"]) for upn, answer in results]
    ids = [row["conversationId"] for _, row in taken]
    assert len(set(ids)) == CALLERS  # thirty different conversations, none twice
    for upn, row in taken:
        assert row["assignee"]["upn"] == upn

    # The record agrees: each taken conversation is its taker's; the others are nobody's.
    engine = create_engine(url)
    with engine.connect() as connection:
        owners = {
            r.conversation_id: r.assignee_upn
            for r in connection.execute(
                select(conversations.c.conversation_id, conversations.c.assignee_upn)
            )
        }
    engine.dispose()
    for upn, row in taken:
        assert owners[row["conversationId"]] == upn
    waiting = {m["conversationId"] for m in made} - set(ids)
    assert len(waiting) == WAITING - CALLERS
    assert all(owners.get(c) is None for c in waiting)
    # Outlook shows the owner too: the claim category on each taken conversation's item.
    names = {"lee@contoso.com": "Lee Gu", "sam@contoso.com": "Sam Taylor"}
    for upn, row in taken:
        item = fresh_emulator.item(row["itemId"])["item"]
        assert item["categories"] == [f"Tandem: {names[upn]} ({upn})"]

    # The mailbox's lists, made once per cache period for all thirty (the workers share them
    # through Redis): the Inbox's list, not thirty of them.
    log = fresh_emulator.requests(limit=100_000)[before:]
    lists = [r for r in log if r["path"].endswith("/mailFolders/inbox/messages")]
    periods = 1 + int(elapsed // 10)
    assert 1 <= len(lists) <= periods, (len(lists), elapsed)
    assert served.stop() == 0
