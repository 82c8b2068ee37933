"""A reply goes out once under real serving: `tandem serve` stopped mid-reply, and replays of
one key sent at once to two gunicorn workers sharing a redis-server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tests.support.api import shared_body
from tests.support.deployment import RedisServer
from tests.support.paths import REPO
from tests.support.servers import BackendSettings, EmulatorHandle
from tests.support.serving import StartServe, serve_env

SUPPORT = "support@contoso.com"


def _support_item(emulator: EmulatorHandle) -> dict[str, Any]:
    return next(i for i in emulator.items(SUPPORT) if i["createdBy"] == SUPPORT)


def _audit(output: list[str]) -> list[dict[str, Any]]:
    """The audit lines `tandem serve` wrote (JSON lines)."""
    found = []
    for line in output:
        if '"tandem.audit"' in line:
            found.append(json.loads(line))
    return found


def test_a_reply_in_flight_at_sigterm_is_answered_and_audited(
    fresh_emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    tmp_path: Path,
):
    """f. SIGTERM while /send is at Graph: the reply ends, answered, audited, sent once."""
    served = start_serve(
        ["--certs", str(cert_paths.ca_cert.parent)],
        backend_settings(fresh_emulator, TANDEM_HTTP_TIMEOUT="5"),
        tmp_path,
        cert_paths.ca_cert,
    )
    assert any("45 s for requests in flight at SIGTERM" in line for line in served.output)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    fresh_emulator.fault(target="graph", method="POST", path="/send", delayMs=2500)
    answers: list[Any] = []

    def reply() -> None:
        with Session(context=ssl_context(cert_paths.ca_cert), timeout=60) as session:
            answers.append(
                session.post(
                    f"{served.url}/api/items/actions/reply",
                    json={**body, "comment": "On its way.", "send": True},
                    headers={"Authorization": f"Bearer {lee}", "Idempotency-Key": "k-sigterm"},
                )
            )

    thread = threading.Thread(target=reply)
    thread.start()
    deadline = time.monotonic() + 30
    while not any('"sending"' in line for line in served.output):
        assert time.monotonic() < deadline, "".join(served.output[-20:])
        time.sleep(0.02)  # polling serve's log: the intent line comes just before /send
    assert served.stop() == 0  # SIGTERM, mid-send
    thread.join(timeout=30)
    assert answers and answers[0].status_code == 200, answers and answers[0].text
    assert answers[0].json()["result"]["sent"] is True
    assert len(fresh_emulator.deliveries()) == 1
    lines = [
        (a["action"], a["outcome"], a.get("send", {}).get("outcome")) for a in _audit(served.output)
    ]
    assert lines == [("reply", "sending", "sending"), ("reply", "ok", "sent")]


def test_serve_refuses_a_graceful_timeout_shorter_than_the_longest_request(
    fresh_emulator: EmulatorHandle,
    backend_settings: BackendSettings,
    tmp_path: Path,
):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tandem_mailbox.cli",
            "serve",
            "--port",
            "0",
            "--graceful-timeout",
            "30",
        ],
        cwd=REPO,
        env=serve_env(backend_settings(fresh_emulator), tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--graceful-timeout 30 is shorter than the longest request (85 s" in done.stderr


def test_replays_of_one_key_at_once_across_two_workers_send_once(
    gunicorn, fresh_emulator: EmulatorHandle, redis_server: RedisServer
):
    backend = gunicorn(fresh_emulator, workers=2, threads=8, redis=redis_server)
    lee = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(_support_item(fresh_emulator)["id"], SUPPORT)
    assert backend.context(lee, body).status_code == 200  # the exchange, out of the way
    assert backend.context(lee, body).status_code == 200  # both workers, most likely
    fresh_emulator.fault(target="graph", method="POST", path="/send", delayMs=1500)
    key = str(uuid.uuid4())
    barrier = threading.Barrier(10)

    def submit(_: int) -> Any:
        barrier.wait(timeout=30)
        return backend.action(lee, "reply", body, key=key, comment="Once.", send=True)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(submit, range(10)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {200, 409}, [a.text for a in answers]
    assert 200 in statuses
    for answer in answers:
        if answer.status_code == 409:  # still running: the pane asks again with the same key
            assert answer.json()["code"] == "conflict"
    sent = [a.json() for a in answers if a.status_code == 200]
    assert all(s == sent[0] for s in sent)  # every 200 is the first outcome
    assert len(fresh_emulator.deliveries()) == 1
    sends = [r for r in fresh_emulator.requests() if r["path"].endswith("/send")]
    assert len(sends) == 1
    again = backend.action(lee, "reply", body, key=key, comment="Once.", send=True)
    assert again.status_code == 200 and again.json() == sent[0]
    assert len(fresh_emulator.deliveries()) == 1
