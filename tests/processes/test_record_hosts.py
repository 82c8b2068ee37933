"""The team's record under real serving: two `tandem serve` hosts sharing a PostgreSQL and a
Redis, fifty people assigning one conversation at once; and a record that outlives a restart
of every worker and a move made in Outlook."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tandem_mailbox.store import Store
from tandem_mailbox.store.tables import conversations, events, notes
from tests.support.api import shared_body
from tests.support.deployment import CACHE_KEY, RedisServer
from tests.support.graph import G
from tests.support.postgres import PostgresServer
from tests.support.servers import BackendSettings, EmulatorHandle
from tests.support.serving import StartServe

SUPPORT = "support@contoso.com"


def _post(session: Session, url: str, token: str, body: dict[str, Any], **headers: str) -> Any:
    return session.post(url, json=body, headers={"Authorization": f"Bearer {token}", **headers})


def test_fifty_assigns_on_two_hosts_leave_one_owner_every_event_and_every_note(
    fresh_emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    postgres: PostgresServer,
    redis_server: RedisServer,
    tmp_path: Path,
):
    url = postgres.database()
    store = Store(url)
    store.upgrade()  # `tandem db upgrade`, as the operator runs it before serving
    store.dispose()
    for n in range(2):
        (tmp_path / f"host{n}").mkdir()
    settings = backend_settings(
        fresh_emulator,
        TANDEM_DATABASE_URL=url,
        TANDEM_REDIS_URL=redis_server.url,
        TANDEM_CACHE_KEY=CACHE_KEY,
    )
    hosts = [
        start_serve(
            ["--threads", "16", "--certs", str(cert_paths.ca_cert.parent)],
            settings,
            tmp_path / f"host{n}",
            cert_paths.ca_cert,
        )
        for n in range(2)
    ]
    item = next(i for i in fresh_emulator.items(SUPPORT) if i["createdBy"] == SUPPORT)
    body = shared_body(item["id"], SUPPORT)
    people = {
        "lee@contoso.com": fresh_emulator.sso("lee@contoso.com"),
        "sam@contoso.com": fresh_emulator.sso("sam@contoso.com"),
    }
    session = Session(context=ssl_context(cert_paths.ca_cert), timeout=120)
    for host in hosts:  # both people seen on support@ by both hosts: members, warm caches
        for token in people.values():
            assert _post(session, f"{host.url}/api/items/context", token, body).status_code == 200
    start = threading.Barrier(50)
    upns = list(people)

    def assign(n: int) -> tuple[int, Any, int]:
        by, to = people[upns[n % 2]], upns[(n // 2) % 2]
        host = hosts[n % 2].url
        start.wait(timeout=60)
        answer = _post(session, f"{host}/api/items/actions/assign", by, {**body, "assignee": to})
        note = _post(session, f"{host}/api/items/actions/note", by, {**body, "text": f"note {n}"})
        return n, answer, note.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(assign, range(50)))
    for n, answer, note_status in results:
        # Someone else saving the item beyond the lock's wait is a `conflict`, never a lost write.
        assert answer.status_code in (200, 409), (n, answer.text)
        assert note_status == 200, n
    changed = sum(
        1 for _, a, _ in results if a.status_code == 200 and a.json()["result"]["changed"]
    )
    engine = create_engine(url)
    with engine.connect() as connection:
        [row] = connection.execute(select(conversations)).all()
        assigned = connection.execute(
            select(func.count()).select_from(events).where(events.c.kind == "assigned")
        ).scalar_one()
        kept_notes = connection.execute(select(func.count()).select_from(notes)).scalar_one()
    engine.dispose()
    assert assigned == changed  # every change has its event, and no event lacks its change
    assert kept_notes == 50  # no lost note
    holder = fresh_emulator.item(item["id"])["item"]["categories"]
    # The one final owner: the record's and the one Outlook shows agree.
    assert holder == [
        {"lee@contoso.com": "Tandem: Lee Gu (lee@contoso.com)"}.get(
            row.assignee_upn, "Tandem: Sam Taylor (sam@contoso.com)"
        )
    ]
    for host in hosts:
        assert host.stop() == 0


def test_the_record_outlives_a_restart_and_a_move_made_in_outlook(
    fresh_emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    tmp_path: Path,
):
    settings = backend_settings(fresh_emulator)  # SQLite under its own TANDEM_DATA_DIR
    args = ["--certs", str(cert_paths.ca_cert.parent)]
    served = start_serve(args, settings, tmp_path, cert_paths.ca_cert)
    lee = fresh_emulator.sso("lee@contoso.com")
    item = next(i for i in fresh_emulator.items(SUPPORT) if i["createdBy"] == SUPPORT)
    body = shared_body(item["id"], SUPPORT)
    session = Session(context=ssl_context(cert_paths.ca_cert), timeout=60)
    actions = f"{served.url}/api/items/actions"
    assert _post(session, f"{actions}/claim", lee, body).status_code == 200
    assert _post(session, f"{actions}/note", lee, {**body, "text": "Keep me."}).status_code == 200
    assert served.stop() == 0
    # Lee moves it in Outlook (Graph, not Tandem): its id changes, its conversation doesn't.
    graph = G(fresh_emulator, "lee@contoso.com")
    moved = graph(
        "POST", f"/users/{SUPPORT}/messages/{item['id']}/move", {"destinationId": "archive"}
    )
    assert moved.status_code == 201, moved.text
    served = start_serve(args, settings, tmp_path, cert_paths.ca_cert)
    answer = _post(
        session, f"{served.url}/api/items/record", lee, shared_body(moved.json()["id"], SUPPORT)
    )
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["conversation"]["assignee"]["upn"] == "lee@contoso.com"
    assert [n["text"] for n in record["notes"]] == ["Keep me."]
    assert [e["kind"] for e in record["timeline"]] == ["note_added", "assigned"]
    assert served.stop() == 0
