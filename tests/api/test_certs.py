"""The development CA vouches for localhost only: live TLS handshakes with a loopback server."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask

from tandem_mailbox import certs
from tandem_mailbox.cli.devserver import Server


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
