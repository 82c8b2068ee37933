"""A gunicorn worker killed (SIGKILL) under load: only the requests it had in flight fail.

`tandem serve --workers 2`, eight people reading items back to back, each over one keep-alive
connection, with Graph slowed so that every connection always has a request in flight. The
test knows which worker holds which connection (from /proc: the socket inodes among each
worker's file descriptors, matched to /proc/net/tcp), kills the worker holding the most, and
checks: every failure was on a connection of the killed worker, one per connection (the request
it was serving); no request on the other worker's connections failed; every person's next
request succeeded; the master started a new worker. Bounded: about 15 s.

The clients are http.client connections rather than requests: a test needs to know the local
port of the connection each request went over.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tandem_mailbox.certs import CertPaths
from tests.support.api import shared_body
from tests.support.servers import BackendSettings, EmulatorHandle
from tests.support.serving import StartServe, workers_of

GRAPH_DELAY_MS = 400  # every request spends this long at Graph: always one in flight
# Eight people, each on a mailbox of their own: Graph's limit of 4 per mailbox is never near,
# even though each worker keeps its own mailbox slots.
PEOPLE = [
    ("lee@contoso.com", "support@contoso.com"),
    ("pat@contoso.com", "sales@contoso.com"),
    ("adele@contoso.com", None),
    ("megan@contoso.com", None),
    ("alex@contoso.com", None),
    ("nestor@contoso.com", None),
    ("sam@contoso.com", None),
    ("joni@contoso.com", None),
]


@dataclass
class Call:
    """One request: the connection (its local port) it went over, when, and how it ended."""

    port: int
    started: float
    ended: float = 0.0
    status: int | None = None
    error: str | None = None


@dataclass
class Client:
    """One person reading one item over one keep-alive connection, reopened after a failure."""

    port: int
    context: ssl.SSLContext
    token: str
    body: dict[str, Any]
    calls: list[Call] = field(default_factory=list)
    conn: http.client.HTTPSConnection | None = None
    local_port: int = 0
    busy: threading.Event = field(default_factory=threading.Event)

    def connect(self) -> None:
        """A new connection, established now (so its local port is known)."""
        self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context)
        self.conn.connect()
        assert self.conn.sock is not None
        self.local_port = self.conn.sock.getsockname()[1]

    def call(self) -> Call:
        """POST /api/items/context once, recording how it went."""
        if self.conn is None:
            self.connect()
        assert self.conn is not None
        record = Call(port=self.local_port, started=time.monotonic())
        self.calls.append(record)
        self.busy.set()
        try:
            self.conn.request(
                "POST",
                "/api/items/context",
                body=json.dumps(self.body),
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
            response = self.conn.getresponse()
            response.read()
            record.status = response.status
        except (OSError, http.client.HTTPException) as error:
            record.error = type(error).__name__
            self.conn.close()
            self.conn = None
        finally:
            record.ended = time.monotonic()
            self.busy.clear()
        return record

    def close(self) -> None:
        """Close the connection, if one is open."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _connections_of(pid: int, server_port: int) -> set[int]:
    """The client ports of the TCP connections to `server_port` that process `pid` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            established = state == "01"  # not the listening socket, not one closing
            if established and inode in inodes and int(local.rsplit(":", 1)[1], 16) == server_port:
                ports.add(int(remote.rsplit(":", 1)[1], 16))
    return ports


def test_a_killed_worker_fails_only_its_requests_in_flight(
    fresh_emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    tmp_path: Path,
):
    clients: list[Client] = []
    served = start_serve(
        ["--workers", "2", "--threads", "8", "--certs", str(cert_paths.ca_cert.parent)],
        backend_settings(fresh_emulator),
        tmp_path,
        cert_paths.ca_cert,
    )
    try:
        deadline = time.monotonic() + 30
        while len(workers_of(served.process.pid)) < 2:
            assert time.monotonic() < deadline, "gunicorn never had two workers"
            time.sleep(0.02)  # polling /proc for the workers, bounded by the deadline
        context = ssl.create_default_context(cafile=str(cert_paths.ca_cert))
        for upn, mailbox in PEOPLE:
            item = fresh_emulator.items(mailbox or upn)[0]["id"]
            body = (
                shared_body(item, mailbox) if mailbox else {"itemId": item, "itemType": "message"}
            )
            clients.append(Client(served.port, context, fresh_emulator.sso(upn), body))
        for client in clients:  # a connection each, keys and on-behalf-of tokens in the cache
            assert client.call().status == 200
        fresh_emulator.fault(target="graph", delayMs=GRAPH_DELAY_MS, times=-1)

        stop = threading.Event()

        def work(client: Client) -> None:
            while not stop.is_set():
                client.call()

        threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in clients]
        for thread in threads:
            thread.start()
        workers = workers_of(served.process.pid)
        held = {pid: _connections_of(pid, served.port) for pid in workers}
        assert set().union(*held.values()) == {c.local_port for c in clients}, held
        victim = max(workers, key=lambda pid: len(held[pid]))
        doomed = held[victim]
        # Kill when every connection of the victim has a request at Graph (they spend 400 ms
        # there and a few between two), polled, bounded by the deadline.
        on_victim = [c for c in clients if c.local_port in doomed]
        while not all(c.busy.is_set() for c in on_victim):
            assert time.monotonic() < deadline, "the victim's connections never were all busy"
            time.sleep(0.005)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        # Load goes on until every person has had two answers after the kill.
        while not all(
            sum(1 for call in c.calls if call.started > killed_at and call.status == 200) >= 2
            for c in clients
        ):
            assert time.monotonic() < deadline, [c.calls[-3:] for c in clients]
            time.sleep(0.02)  # polling the clients' records, bounded by the deadline
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

        calls = [call for c in clients for call in c.calls]
        failed = [call for call in calls if call.status != 200]
        assert failed, "the killed worker had requests in flight: some must have failed"
        assert all(call.error for call in failed), failed  # cut off, never a wrong answer
        assert {call.port for call in failed} <= doomed, (failed, doomed)
        assert len(failed) == len({call.port for call in failed}), "one per connection"
        assert all(call.started <= killed_at + 1 for call in failed)
        for c in on_victim:
            cut = [call for call in c.calls if call.error]
            assert cut and cut[-1].ended >= killed_at, c.calls  # the one in flight at the kill
        survivors = [call for call in calls if call.port not in doomed]
        assert all(call.status == 200 for call in survivors)
        # The master replaces the worker it lost.
        while victim in workers_of(served.process.pid) or len(workers_of(served.process.pid)) < 2:
            assert time.monotonic() < deadline, workers_of(served.process.pid)
            time.sleep(0.02)  # polling /proc for the new worker, bounded by the deadline
    finally:
        for client in clients:
            client.close()
        fresh_emulator.clear_faults()
        assert served.stop() == 0
