"""`tandem certs`, `tandem manifest` and `tandem serve` as a person runs them."""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import json
import socket
import ssl
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask

from tandem_mailbox import certs, manifest
from tandem_mailbox.cli.devserver import Server
from tandem_mailbox.emulator import seed
from tests.support.paths import REPO


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """Run the tandem command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "tandem_mailbox.cli", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=60,
        env=env,
    )


def test_certs_are_made_once_and_verify(tmp_path: Path):
    first = run("certs", "--dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert "created: ca, localhost" in first.stdout
    for platform in ("Windows", "macOS", "Linux"):
        assert platform in first.stdout
    second = run("certs", "--dir", str(tmp_path))
    assert "nothing to do" in second.stdout
    paths = certs.paths(tmp_path)
    leaf = x509.load_pem_x509_certificate(paths.cert.read_bytes())
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    context = ssl.create_default_context(cafile=str(paths.ca_cert))
    context.load_cert_chain(str(paths.cert), str(paths.key))  # key matches the certificate
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(paths.ca_cert.read_bytes()))
    assert paths.key.stat().st_mode & 0o077 == 0
    assert paths.ca_key.stat().st_mode & 0o077 == 0


def test_a_stale_leaf_is_renewed_with_the_same_ca(tmp_path: Path):
    paths, made = certs.ensure(tmp_path)
    assert made == ["ca", "localhost"]
    ca_before = paths.ca_cert.read_bytes()
    paths.cert.write_text("not a certificate")
    _, made = certs.ensure(tmp_path)
    assert made == ["localhost"]
    assert paths.ca_cert.read_bytes() == ca_before


def test_manifest_command_renders_a_valid_manifest(tmp_path: Path):
    out = tmp_path / "manifest.xml"
    result = run(
        "manifest",
        "--client-id",
        seed.CLIENT_ID,
        "--public-url",
        "https://tandem.contoso.com",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert f"api://tandem.contoso.com/{seed.CLIENT_ID}" in text
    assert "https://tandem.contoso.com/taskpane.html" in text


def test_manifest_command_refuses_bad_input():
    assert run("manifest", "--client-id", "not-a-guid").returncode == 2
    assert (
        run(
            "manifest", "--client-id", seed.CLIENT_ID, "--public-url", "http://insecure.example"
        ).returncode
        == 2
    )


def test_serve_stops_with_one_message_naming_the_variable(tmp_path: Path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = run("serve", "--port", "0", env=env, cwd=tmp_path)  # no .env there
    assert result.returncode == 2
    assert "TANDEM_CLIENT_ID" in result.stderr
    assert "Traceback" not in result.stderr


def _leaf_for(name: str, paths: certs.CertPaths, out: Path) -> tuple[Path, Path]:
    """A server certificate for `name` signed with the development CA's own key."""
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    cert_path, key_path = out / f"{name}.pem", out / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _handshake(server: Server, name: str, ca: Path) -> None:
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name),
    ):
        pass


def test_the_development_ca_is_name_constrained(tmp_path: Path):
    paths, _ = certs.ensure(tmp_path)
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    extension = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert extension.critical
    assert set(extension.value.permitted_subtrees) == {
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_network("127.0.0.1/32")),
        x509.IPAddress(ipaddress.ip_network("::1/128")),
    }


@pytest.mark.parametrize(
    ("name", "trusted"),
    [("localhost", True), ("evil.example", False), ("login.microsoftonline.com", False)],
)
def test_a_trusted_development_ca_vouches_for_localhost_only(
    tmp_path: Path, name: str, trusted: bool
):
    """D11: even with its key, the CA cannot sign a certificate a client will accept for
    another site (live TLS handshakes on loopback, OpenSSL's own verification)."""
    paths, _ = certs.ensure(tmp_path)
    cert, key = (paths.cert, paths.key) if name == "localhost" else _leaf_for(name, paths, tmp_path)
    server = Server(Flask("t"), host="127.0.0.1", port=0, cert=cert, key=key).start()
    try:
        if trusted:
            _handshake(server, name, paths.ca_cert)
        else:
            with pytest.raises(ssl.SSLCertVerificationError, match="permitted subtree"):
                _handshake(server, name, paths.ca_cert)
    finally:
        server.stop()


def test_a_ca_made_before_the_constraints_is_replaced(tmp_path: Path):
    paths, _ = certs.ensure(tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    old = certs.self_signed(key, certs.CA_NAME, days=3650)  # no name constraints
    paths.ca_cert.write_bytes(old.public_bytes(serialization.Encoding.PEM))
    _, made = certs.ensure(tmp_path)
    assert made == ["ca", "localhost"]
    assert certs.constrained(x509.load_pem_x509_certificate(paths.ca_cert.read_bytes()))


def test_regenerated_keys_are_private_whatever_was_there(tmp_path: Path):
    """D11: rewriting an existing 0644 key file kept 0644."""
    paths, _ = certs.ensure(tmp_path)
    for key in (paths.key, paths.ca_key):
        key.chmod(0o644)
    paths.ca_cert.write_text("stale")  # forces a new CA, and so a new leaf
    _, made = certs.ensure(tmp_path)
    assert made == ["ca", "localhost"]
    for key in (paths.key, paths.ca_key):
        assert key.stat().st_mode & 0o777 == 0o600, oct(key.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ca-key.pem",
        "ca.pem",
        "localhost-key.pem",
        "localhost.pem",
    ]


@pytest.mark.parametrize("fmt", ["json", "zip"])
def test_manifest_command_renders_the_unified_manifest_and_its_package(tmp_path: Path, fmt: str):
    out = tmp_path / f"tandem.{fmt}"
    result = run(
        "manifest", "--client-id", seed.CLIENT_ID, "--public-url", "https://tandem.contoso.com",
        "--format", fmt, "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    if fmt == "zip":
        with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
            assert set(archive.namelist()) == {"manifest.json", "color.png", "outline.png"}
            text = archive.read("manifest.json").decode()
    else:
        text = out.read_text()
    assert json.loads(text)["webApplicationInfo"]["resource"] == (
        f"api://tandem.contoso.com/{seed.CLIENT_ID}"
    )
    assert manifest.validate_json(text, schema_doc=manifest.schema()) == []
    refused = run("manifest", "--client-id", seed.CLIENT_ID, "--format", "zip")
    assert refused.returncode == 2
    assert "--out" in refused.stderr
