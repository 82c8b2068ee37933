"""`tandem doctor` against the emulator and a real Redis: all green, then each setting broken
in turn, the failing line naming the setting and its fix."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tandem_mailbox import certs
from tandem_mailbox.certs import CertPaths
from tests.support.deployment import RedisServer, free_port
from tests.support.servers import BackendSettings, EmulatorHandle

REDIS_SERVER = "/usr/bin/redis-server"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of this module's own on loopback (Debian's redis-server), polled until ready."""
    if not Path(REDIS_SERVER).exists():
        pytest.fail(f"{REDIS_SERVER} is missing: apt-get install redis-server (.ci/run does)")
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=1)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)  # polling for readiness, bounded by the deadline
    client.close()
    yield url
    process.terminate()
    process.wait(timeout=10)


def doctor(settings: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tandem doctor` with exactly these settings (no .env where it runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update({k: v for k, v in settings.items() if v is not None})
    return subprocess.run(
        [sys.executable, "-m", "tandem_mailbox.cli", "doctor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def healthy(
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    redis_url: str,
) -> dict[str, str]:
    """A deployment wired to the emulator with every optional part configured."""
    return backend_settings(
        emulator,
        TANDEM_TLS_CERT=str(cert_paths.cert),
        TANDEM_TLS_KEY=str(cert_paths.key),
        TANDEM_REDIS_URL=redis_url,
        TANDEM_CACHE_KEY=Fernet.generate_key().decode(),
    )


def test_all_green_against_the_emulator(
    healthy: dict[str, str], emulator: EmulatorHandle, tmp_path: Path
):
    result = doctor(healthy, tmp_path, "--token", emulator.sso("lee@contoso.com"))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    checks = [line.split(":", 1)[0] for line in lines]
    assert checks == [
        "ok    settings",
        "ok    TLS certificate",
        "ok    manifests",
        "ok    Entra ID discovery",
        "ok    Entra ID signing keys",
        "ok    client credential",
        "ok    Graph",
        "ok    Redis",
        "ok    database",
        "ok    token exchange",
    ], result.stdout
    assert "lee@contoso.com" in lines[-1]


def _pem(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _expired(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tandem credential")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now - dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return _pem(tmp / "expired.pem", cert), _key(tmp / "expired-key.pem", key)


def _breakage(
    name: str, healthy: dict[str, str], emulator: EmulatorHandle, tmp: Path
) -> tuple[dict[str, str], list[str]]:
    """The settings with one thing broken, and the doctor's extra arguments."""
    other_key = _key(tmp / "other-key.pem", ec.generate_private_key(ec.SECP256R1()))
    if name == "TANDEM_CLIENT_ID":
        return {"TANDEM_CLIENT_ID": "not-a-guid"}, []
    if name == "TANDEM_PUBLIC_URL":
        return {"TANDEM_PUBLIC_URL": "http://tandem.contoso.com"}, []
    if name == "TANDEM_SCOPES":
        return {"TANDEM_SCOPES": "Mail.ReadWrite.Shared,User.Read"}, []
    if name == "TANDEM_TENANT_ID":
        return {"TANDEM_TENANT_ID": "00000000-0000-4000-8000-00000000dead"}, []
    if name == "TANDEM_AUTHORITY_HOST":
        return {"TANDEM_AUTHORITY_HOST": f"localhost:{free_port()}"}, []
    if name == "TANDEM_GRAPH_URL":
        return {"TANDEM_GRAPH_URL": f"{emulator.url}/not-graph"}, []
    if name == "TANDEM_CA_BUNDLE":
        other, _ = certs.ensure(tmp / "other-ca")
        return {"TANDEM_CA_BUNDLE": str(other.ca_cert)}, []
    if name == "TANDEM_REDIS_URL":
        return {"TANDEM_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, []
    if name == "TANDEM_TLS_KEY":
        return {"TANDEM_TLS_KEY": str(other_key)}, []
    if name == "TANDEM_TLS_CERT":
        cert, key = _expired(tmp)
        return {"TANDEM_TLS_CERT": str(cert), "TANDEM_TLS_KEY": str(key)}, []
    if name == "TANDEM_CLIENT_CERT":
        cert, key = _expired(tmp)
        return {
            "TANDEM_CLIENT_SECRET": "",
            "TANDEM_CLIENT_CERT": str(cert),
            "TANDEM_CLIENT_KEY": str(key),
        }, []
    if name == "TANDEM_CLIENT_KEY":
        cert, _ = _expired(tmp)
        return {
            "TANDEM_CLIENT_SECRET": "",
            "TANDEM_CLIENT_CERT": str(cert),
            "TANDEM_CLIENT_KEY": str(other_key),
        }, []
    if name == "TANDEM_CLIENT_SECRET":
        return {"TANDEM_CLIENT_SECRET": "not-the-secret"}, []
    if name == "TANDEM_ALLOWED_TENANTS":
        return {"TANDEM_TENANT_ID": "organizations", "TANDEM_ALLOWED_TENANTS": ""}, []
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("TANDEM_CLIENT_ID", "settings"),
        ("TANDEM_PUBLIC_URL", "settings"),
        ("TANDEM_SCOPES", "settings"),
        ("TANDEM_ALLOWED_TENANTS", "settings"),
        ("TANDEM_TENANT_ID", "Entra ID discovery"),
        ("TANDEM_AUTHORITY_HOST", "Entra ID discovery"),
        ("TANDEM_GRAPH_URL", "Graph"),
        ("TANDEM_CA_BUNDLE", "Entra ID discovery"),
        ("TANDEM_REDIS_URL", "Redis"),
        ("TANDEM_TLS_KEY", "TLS certificate"),
        ("TANDEM_TLS_CERT", "TLS certificate"),
        ("TANDEM_CLIENT_CERT", "client certificate"),
        ("TANDEM_CLIENT_KEY", "client certificate"),
        ("TANDEM_CLIENT_SECRET", "client credential"),
    ],
)
def test_each_broken_setting_is_named_with_its_fix(
    healthy: dict[str, str],
    emulator: EmulatorHandle,
    tmp_path: Path,
    name: str,
    check: str,
):
    overrides, args = _breakage(name, healthy, emulator, tmp_path)
    result = doctor({**healthy, **overrides}, tmp_path, *args)
    assert result.returncode == 1, result.stdout
    failing = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failing, result.stdout
    first = failing[0]
    assert first.startswith(f"FAIL  {check}: "), result.stdout
    assert name in first, result.stdout
    assert " -- fix: " in first
    assert "Traceback" not in result.stderr
    assert "not-the-secret" not in result.stdout + result.stderr


def test_a_redis_password_is_never_printed(healthy: dict[str, str], tmp_path: Path):
    broken = dict(healthy, TANDEM_REDIS_URL=f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    result = doctor(broken, tmp_path)
    assert result.returncode == 1
    assert "hunter2" not in result.stdout + result.stderr
    assert "redis://***@127.0.0.1" in result.stdout


def test_a_wrong_client_secret_is_found_without_a_person(
    healthy: dict[str, str], emulator: EmulatorHandle, tmp_path: Path
):
    """Issue 15 #9: the secret was reported "ok" untried; the client-credentials grant tries
    it, and Entra's AADSTS7000215 names TANDEM_CLIENT_SECRET with its fix."""
    before = emulator.stats()["tokenRequests"]
    result = doctor(dict(healthy, TANDEM_CLIENT_SECRET="not-the-secret"), tmp_path)
    assert result.returncode == 1
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("FAIL  client credential")]
    assert "Entra ID refused TANDEM_CLIENT_SECRET: AADSTS7000215: Invalid client secret" in line
    assert "-- fix: TANDEM_CLIENT_SECRET is not a secret of this app registration" in line
    assert "not-the-secret" not in result.stdout + result.stderr
    assert emulator.stats()["tokenRequests"] > before
    good = doctor(healthy, tmp_path)
    assert "ok    client credential: Entra ID accepted TANDEM_CLIENT_SECRET" in good.stdout


@pytest.mark.parametrize("password", ["s3cr@t-tail", "p@ss:w0rd@x", "p%40ss@w0rd"])
def test_a_redis_password_with_an_at_sign_is_never_printed(
    healthy: dict[str, str], tmp_path: Path, password: str
):
    """Issue 15 #9: the redaction stopped at the first '@' and printed the rest."""
    url = f"redis://user:{password}@127.0.0.1:{free_port()}/0"
    result = doctor(dict(healthy, TANDEM_REDIS_URL=url), tmp_path)
    assert result.returncode == 1, result.stdout
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("FAIL  Redis")]
    assert "redis://***@127.0.0.1:" in line
    for part in [password, *re.split(r"[@:/?%]", password), "user"]:
        assert len(part) < 3 or part not in result.stdout + result.stderr, part


def test_a_rediss_server_signed_by_the_ca_bundle_passes_as_serve_connects(
    healthy: dict[str, str], cert_paths: CertPaths, tmp_path: Path
):
    """Issue 15 #9: TANDEM_CA_BUNDLE was not trusted for rediss:// in doctor, while serve
    trusts it; Debian's redis-server is built with TLS (--tls-port)."""
    server = RedisServer(tmp_path, tls=cert_paths, password="pa@ss").start()
    try:
        assert server.url.startswith("rediss://")
        assert healthy["TANDEM_CA_BUNDLE"] == str(cert_paths.ca_cert)
        result = doctor(dict(healthy, TANDEM_REDIS_URL=server.url), tmp_path)
        assert "ok    Redis: PING to rediss://***@localhost:" in result.stdout, result.stdout
        assert result.returncode == 0, result.stdout
        assert "pa@ss" not in result.stdout + result.stderr
    finally:
        server.stop()
