"""`tandem serve` as an operator runs it: gunicorn with workers and threads, wired to the
emulator with the settings `tandem emulator` prints; graceful SIGTERM; TLS or a proxy."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.cli.gunicorn import HEAD_TIMEOUT
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tandem_mailbox.web.wsgi import MAX_BODY
from tests.support.api import raw_request, shared_body
from tests.support.deployment import CACHE_KEY
from tests.support.servers import BackendSettings, EmulatorHandle
from tests.support.serving import Served, StartServe, launch_serve, serve_env, workers_of


@pytest.fixture(scope="module")
def served(
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """`tandem serve --workers 2` with the shared emulator's settings (for tests that read)."""
    handle = launch_serve(
        ["--workers", "2", "--certs", str(cert_paths.ca_cert.parent)],
        {**backend_settings(emulator), "TANDEM_METRICS_TOKEN": METRICS_TOKEN},
        tmp_path_factory.mktemp("serve"),
        cert_paths.ca_cert,
    )
    yield handle
    assert handle.stop() == 0


METRICS_TOKEN = "serve-metrics-token-0123456789"


def test_metrics_sum_every_worker(served: Served, emulator: EmulatorHandle, cert_paths):
    """prometheus_client's multiprocess mode: /metrics counts what both workers answered."""
    from prometheus_client.parser import text_string_to_metric_families

    def healthz_count() -> float:
        with Session(context=ssl_context(cert_paths.ca_cert), timeout=10) as session:
            text = session.get(
                f"{served.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            ).text
        return sum(
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "tandem_http_requests_total" and s.labels.get("route") == "/healthz"
        )

    before = healthz_count()
    for _ in range(40):  # a new connection each: gunicorn spreads them over the workers
        with Session(context=ssl_context(cert_paths.ca_cert), timeout=10) as session:
            answer = session.get(f"{served.url}/healthz", headers={"Connection": "close"})
            assert answer.status_code == 200
    assert healthz_count() - before == 40


def test_the_pane_and_the_api_work_through_gunicorn(
    served: Served, emulator: EmulatorHandle, http: Session
):
    pane = http.get(f"{served.url}/taskpane.html")
    assert pane.status_code == 200
    assert '<script type="module" src="main.js">' in pane.text
    assert pane.headers["Server"] == "gunicorn"
    module = http.get(f"{served.url}/main.js")
    assert module.status_code == 200
    assert module.headers["Content-Type"].startswith("text/javascript")
    icon = http.get(f"{served.url}/assets/icon-32.png")
    assert icon.headers["Content-Type"] == "image/png"
    assert icon.content[:8] == b"\x89PNG\r\n\x1a\n"
    item = emulator.items("support@contoso.com")[0]
    answer = http.post(
        f"{served.url}/api/items/context",
        json=shared_body(item["id"], "support@contoso.com"),
        headers={"Authorization": f"Bearer {emulator.sso('lee@contoso.com')}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["item"]["id"] == item["immutableId"]
    assert answer.headers["Strict-Transport-Security"] == "max-age=63072000"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("GET", "/healthz", {"X-Padding": "a" * 20_000}, 431, "request_header_fields_too_large"),
        ("GET", "/" + "a" * 9_000, {}, 414, "request_uri_too_long"),
    ],
)
def test_gunicorn_s_own_refusals_are_problem_json(
    served: Served,
    cert_paths: CertPaths,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    code: str,
):
    """D12 under gunicorn: its parser's errors were an HTML page."""
    got, answer_headers, body = raw_request(served.url, cert_paths, method, path, headers)
    assert got == status
    assert answer_headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == code


def test_a_chunked_body_over_the_limit_is_413_under_gunicorn(
    served: Served, emulator: EmulatorHandle, cert_paths: CertPaths
):
    item = emulator.items("support@contoso.com")[0]
    body = json.dumps(shared_body(item["id"], "support@contoso.com", padding="x" * MAX_BODY))
    headers = {
        "Authorization": f"Bearer {emulator.sso('lee@contoso.com')}",
        "Content-Type": "application/json",
    }
    status, answer_headers, answer = raw_request(
        served.url, cert_paths, "POST", "/api/items/context", headers, body.encode(), chunked=True
    )
    assert status == 413, answer[:200]
    assert answer_headers["content-type"] == "application/problem+json"


def _exchange(sock: ssl.SSLSocket, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one request on an open connection and read one answer (Content-Length framed)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before an answer: {data[:200]!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def _post(token: str | None, body: bytes) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST /api/items/context HTTP/1.1\r\nHost: localhost\r\n{auth}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("over the limit", 413),  # refused by its Content-Length, never read
        ("no token", 401),  # refused by its header, before the body is looked at
    ],
)
def test_an_error_before_the_body_is_read_closes_the_connection(
    served: Served, emulator: EmulatorHandle, cert_paths: CertPaths, case: str, status: int
):
    """Issue 15 #10: such an answer said keep-alive, and the client's next request on the
    connection failed (gunicorn drains at most 64 KiB of what the app left unread, then
    closes). Now it says `Connection: close` and closes; a request whose body was read keeps
    the connection."""
    item = emulator.items("support@contoso.com")[0]
    small = json.dumps(shared_body(item["id"], "support@contoso.com")).encode()
    token = emulator.sso("lee@contoso.com")
    # Over the limit: the head says how long the body is, and only its first KiB is sent.
    # The server answers from the head alone and closes; a client still writing the rest
    # would meet that close mid-write (EOF on its next TLS write) before reading the answer.
    big = _post(token, b"{" + b" " * (MAX_BODY + 200_000) + b"}")
    request = {
        "over the limit": big[: big.index(b"\r\n\r\n") + 4 + 1024],
        "no token": _post(None, small),
    }[case]
    context = ssl.create_default_context(cafile=str(cert_paths.ca_cert))
    raw = socket.create_connection(("127.0.0.1", served.port), timeout=30)
    with context.wrap_socket(raw, server_hostname="localhost") as sock:
        # First a request that reads its body: the connection stays open after it.
        got, headers, _ = _exchange(sock, _post(token, small))
        assert (got, headers["connection"]) == (200, "keep-alive")
        got, headers, body = _exchange(sock, request)
        assert got == status, body[:300]
        assert headers["connection"] == "close"
        assert headers["content-type"] == "application/problem+json"
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(1) == b""  # and the server did close it


def test_silent_clients_cannot_take_every_thread(
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    tmp_path: Path,
):
    """Issue 15 #1: eight connections that sent a byte (or a TLS handshake and part of a
    request head) and went silent held every thread of `--threads 8` with no time limit, and
    /healthz was not answered for as long as they stayed. Each now has HEAD_TIMEOUT from its
    first byte to finish its handshake and head."""
    served = start_serve(
        ["--workers", "1", "--threads", "8", "--certs", str(cert_paths.ca_cert.parent)],
        backend_settings(emulator),
        tmp_path,
        cert_paths.ca_cert,
    )
    context = ssl.create_default_context(cafile=str(cert_paths.ca_cert))
    silent: list[socket.socket] = []
    for _ in range(4):  # a handshake, then part of a request head (while threads are free)
        sock = context.wrap_socket(
            socket.create_connection(("127.0.0.1", served.port), timeout=30),
            server_hostname="localhost",
        )
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")  # no blank line
        silent.append(sock)
    for _ in range(8):  # the start of a TLS ClientHello, and no more
        raw = socket.create_connection(("127.0.0.1", served.port), timeout=30)
        raw.sendall(b"\x16\x03\x01")
        silent.append(raw)
    try:
        started = time.monotonic()
        wait = (HEAD_TIMEOUT + 5, 20)  # connecting includes the handshake
        with Session(context=ssl_context(cert_paths.ca_cert), timeout=wait) as session:
            answer = session.get(f"{served.url}/healthz", headers={"Connection": "close"})
        assert answer.status_code == 200
        assert time.monotonic() - started < HEAD_TIMEOUT + 3
        for sock in silent:  # each was closed by the server once its time was up
            sock.settimeout(HEAD_TIMEOUT + 5)
            with contextlib.suppress(ConnectionResetError, ssl.SSLError):
                assert sock.recv(1) == b""
    finally:
        for sock in silent:
            sock.close()
    assert served.stop() == 0


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def test_sigterm_finishes_the_requests_in_flight_and_refuses_new_ones(
    fresh_emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    tmp_path: Path,
):
    """20 slow requests in flight (Graph delayed) all finish after SIGTERM; new ones are
    refused at once; the server exits 0 within its graceful bound."""
    served = start_serve(
        ["--workers", "2", "--threads", "20", "--certs", str(cert_paths.ca_cert.parent)],
        backend_settings(fresh_emulator),
        tmp_path,
        cert_paths.ca_cert,
    )
    # 20 requests, at most 4 on any mailbox (Graph's limit per app and mailbox, which the
    # emulator enforces): 12 on shared mailboxes and Adele's delegated Inbox, 8 on the
    # people's own mailboxes (/me).
    work: list[tuple[str, dict[str, Any]]] = []
    for upn, mailbox, bits in (
        [("lee@contoso.com", "support@contoso.com", 63)] * 4
        + [("pat@contoso.com", "sales@contoso.com", 63)] * 4
        + [("megan@contoso.com", "adele@contoso.com", 1)] * 2
        + [
            ("alex@contoso.com", "adele@contoso.com", 23),
            ("nestor@contoso.com", "adele@contoso.com", 63),
        ]
    ):
        item = fresh_emulator.items(mailbox)[
            len([w for w in work if w[1].get("shared", {}).get("targetMailbox") == mailbox])
        ]
        work.append((upn, shared_body(item["id"], mailbox, bits)))
    for upn in ["megan", "megan", "alex", "alex", "nestor", "lee", "pat", "joni"]:
        mine = sum(1 for w in work if w[0] == f"{upn}@contoso.com" and "shared" not in w[1])
        item = fresh_emulator.items(f"{upn}@contoso.com")[mine]
        work.append((f"{upn}@contoso.com", {"itemId": item["id"], "itemType": "message"}))
    assert len(work) == 20
    tokens = {upn: fresh_emulator.sso(upn) for upn, _ in work}
    # Warm both workers' caches (signing keys, on-behalf-of tokens) so the slow requests
    # reach Graph together rather than one exchange after another.
    with Session(context=ssl_context(cert_paths.ca_cert), timeout=30) as warm:
        for _ in range(3):
            for upn, body in work:
                warm.post(
                    f"{served.url}/api/items/context",
                    json=body,
                    headers={"Authorization": f"Bearer {tokens[upn]}", "Connection": "close"},
                ).raise_for_status()
    warmed = fresh_emulator.stats()["graphRequests"]
    fresh_emulator.fault(target="graph", delayMs=3000, times=-1)
    results: list[Any] = [None] * len(work)

    def call(index: int) -> None:
        upn, body = work[index]
        with Session(context=ssl_context(cert_paths.ca_cert), timeout=30) as session:
            try:
                response = session.post(
                    f"{served.url}/api/items/context",
                    json=body,
                    headers={"Authorization": f"Bearer {tokens[upn]}"},
                )
                results[index] = response.status_code
            except OSError as error:
                results[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    # Once 16 are at Graph all 20 have been read: the rest wait for the backend's per-process
    # slots of the people's own mailboxes (4 for /me), still in flight.
    while fresh_emulator.stats()["graphRequests"] < warmed + 16:
        assert time.monotonic() < deadline, fresh_emulator.stats()
        time.sleep(0.02)  # polling the emulator's counter, bounded by the deadline
    assert not _refused(served.port)
    stopped_at = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    while not _refused(served.port):
        assert time.monotonic() - stopped_at < 2, "a new connection was still accepted"
        time.sleep(0.01)  # polling the port, bounded above
    in_flight = sum(result is None for result in results)
    assert in_flight == len(work), "the slow requests ended before new ones were refused"
    for thread in threads:
        thread.join(timeout=40)
    assert results == [200] * len(work), results
    assert served.stop() == 0
    assert time.monotonic() - stopped_at < 30
    fresh_emulator.clear_faults()


def _serve_once(
    args: list[str], settings: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tandem_mailbox.cli", "serve", "--port", "0", *args],
        cwd=cwd,
        env=serve_env(settings, cwd),
        text=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--public", "--host", "0.0.0.0"], "--cert/--key (or TANDEM_TLS_CERT/TANDEM_TLS_KEY)"),
        (["--host", "0.0.0.0"], "pass --public"),
        ([], "run `tandem certs`"),
        (["--cert", "/nonexistent.pem"], "--cert and --key go together"),
    ],
)
def test_serve_refuses_the_development_certificate_where_it_does_not_belong(
    emulator: EmulatorHandle,
    backend_settings: BackendSettings,
    tmp_path: Path,
    args: list[str],
    complaint: str,
):
    """D11: beyond loopback it bound with the localhost certificate without a word, and it
    made a development CA when there was none; now it says why and makes nothing."""
    empty = tmp_path / "certs"
    empty.mkdir()
    result = _serve_once([*args, "--certs", str(empty)], backend_settings(emulator), tmp_path)
    assert result.returncode != 0
    assert complaint in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert list(empty.iterdir()) == []


@pytest.fixture
def proxied(
    emulator: EmulatorHandle,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    tmp_path: Path,
) -> Iterator[Callable[[dict[str, str]], requests.Response]]:
    """`tandem serve` behind a TLS-terminating proxy: plain HTTP, TANDEM_TRUST_PROXY=1."""
    served = start_serve(
        ["--workers", "1"],
        backend_settings(emulator, TANDEM_TRUST_PROXY="1"),
        tmp_path,
        None,
    )
    assert served.url.startswith("http://")
    session = requests.Session()
    yield lambda headers: session.get(f"{served.url}/healthz", headers=headers, timeout=10)
    session.close()
    assert served.stop() == 0


@pytest.mark.parametrize(
    ("headers", "hsts"),
    [
        ({"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}, True),
        ({"X-Forwarded-Proto": "http"}, False),
        ({}, False),
    ],
)
def test_behind_a_proxy_the_forwarded_scheme_decides_hsts(
    proxied: Callable[[dict[str, str]], requests.Response], headers: dict[str, str], hsts: bool
):
    response = proxied(headers)
    assert response.status_code == 200
    assert ("Strict-Transport-Security" in response.headers) is hsts


def test_without_a_trusted_proxy_forwarded_headers_change_nothing(served: Served, http: Session):
    """TANDEM_TRUST_PROXY=0 (the default): a client cannot claim the request was plain."""
    response = http.get(f"{served.url}/healthz", headers={"X-Forwarded-Proto": "http"})
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"


def test_serve_refuses_several_workers_without_shared_state(
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    tmp_path: Path,
):
    """--workers 2 without TANDEM_REDIS_URL: one line why, exit 2, no worker started."""
    settings = {**backend_settings(emulator), "TANDEM_SINGLE_WORKER_STATE": "false"}
    result = _serve_once(
        ["--workers", "2", "--certs", str(cert_paths.ca_cert.parent)], settings, tmp_path
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "TANDEM_REDIS_URL is not set" in result.stderr
    assert "listening on" not in result.stdout


@pytest.mark.parametrize("with_redis", [False, True])
def test_serve_with_no_flags_starts_one_worker_or_two_with_redis(
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    with_redis: bool,
):
    """Issue 15 #13: the default of 2 workers refused to start without Redis. Now the default
    is one worker without Redis, two with it."""
    settings = {**backend_settings(emulator), "TANDEM_SINGLE_WORKER_STATE": "false"}
    if with_redis:
        redis = request.getfixturevalue("redis_server")
        settings.update(TANDEM_REDIS_URL=redis.url, TANDEM_CACHE_KEY=CACHE_KEY)
    served = start_serve(
        ["--certs", str(cert_paths.ca_cert.parent)], settings, tmp_path, cert_paths.ca_cert
    )
    expected = 2 if with_redis else 1
    banner = f"Tandem backend: {expected} worker{'s' if with_redis else ''} x 8 threads"
    assert banner in "".join(served.output)
    deadline = time.monotonic() + 30
    while len(workers_of(served.process.pid)) != expected:  # gunicorn forks them one by one
        assert time.monotonic() < deadline, workers_of(served.process.pid)
        time.sleep(0.05)  # polling /proc, bounded by the deadline
    assert served.stop() == 0
