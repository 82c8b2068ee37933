"""The development CA and `localhost` certificate the demo, the emulator and the tests use."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "Tandem Development CA"
LEAF_DAYS = 397  # browsers refuse leaf certificates valid for longer
CA_DAYS = 3650
RENEW_BEFORE = dt.timedelta(days=30)
SANS = ("localhost", "127.0.0.1", "::1")
# The CA may sign for these names only (RFC 5280 4.2.1.10, critical): trusted on a machine,
# it cannot vouch for any real site, even if ca-key.pem leaks.
NAME_CONSTRAINTS = x509.NameConstraints(
    permitted_subtrees=[
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_network("127.0.0.1/32")),
        x509.IPAddress(ipaddress.ip_network("::1/128")),
    ],
    excluded_subtrees=None,
)
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class CertPaths:
    """Where the four PEM files are."""

    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def paths(directory: Path) -> CertPaths:
    """The file names under one directory."""
    return CertPaths(
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca-key.pem",
        cert=directory / "localhost.pem",
        key=directory / "localhost-key.pem",
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write a private key readable by its owner only, whatever file was there before.

    os.open's mode applies only to a file it creates: truncating an existing 0644 key would
    keep 0644. So the key goes to a fresh 0600 file beside it, renamed over the old one.
    """
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def self_signed(key: PrivateKey, common_name: str, *, days: int) -> x509.Certificate:
    """A plain self-signed certificate for a key (an app credential, a signing key)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def _fresh(cert: x509.Certificate | None) -> TypeGuard[x509.Certificate]:
    return cert is not None and cert.not_valid_after_utc - RENEW_BEFORE > _now()


def constrained(ca: x509.Certificate) -> bool:
    """Whether a CA carries the critical name constraints to localhost and loopback."""
    try:
        extension = ca.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return False
    return extension.critical and extension.value == NAME_CONSTRAINTS


def _make_ca(p: CertPaths) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tandem (development only)"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(NAME_CONSTRAINTS, critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_key(p.ca_key, key)
    p.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _make_leaf(p: CertPaths) -> None:
    ca_cert = x509.load_pem_x509_certificate(p.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(p.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):  # _make_ca: EC
        raise ValueError(f"{p.ca_key} holds neither an EC nor an RSA private key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "::1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(p.key, key)
    p.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def ensure(directory: Path) -> tuple[CertPaths, list[str]]:
    """Create what is missing or stale under `directory`; answer the paths and what was made."""
    directory.mkdir(parents=True, exist_ok=True)
    p = paths(directory)
    made: list[str] = []
    ca = _load(p.ca_cert)
    # A CA made before the name constraints could sign for any name: it is replaced too.
    if not (_fresh(ca) and constrained(ca) and p.ca_key.is_file()):
        _make_ca(p)
        ca = _load(p.ca_cert)
        made.append("ca")
    leaf = _load(p.cert)
    if not (_fresh(leaf) and p.key.is_file() and ca is not None and _signed_by(leaf, ca)):
        _make_leaf(p)
        made.append("localhost")
    return p, made


def development(directory: Path) -> CertPaths | None:
    """The development certificate under `directory` when it is there and valid; never made."""
    p = paths(directory)
    ca, leaf = _load(p.ca_cert), _load(p.cert)
    if ca is None or leaf is None or not p.key.is_file():
        return None
    if leaf.not_valid_after_utc <= _now() or not _signed_by(leaf, ca):
        return None
    return p


TRUST_HELP = """\
Trust the development CA ({ca}) so browsers and Outlook accept https://localhost:
  Windows (PowerShell as the user):
    Import-Certificate -FilePath "{ca}" -CertStoreLocation Cert:\\CurrentUser\\Root
  macOS:
    security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db "{ca}"
  Linux (Debian/Ubuntu, system-wide):
    sudo cp "{ca}" /usr/local/share/ca-certificates/tandem-dev-ca.crt && sudo update-ca-certificates
  Linux (Chromium/Chrome, per user; needs libnss3-tools):
    certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n "Tandem Development CA" -i "{ca}"
The CA is name-constrained to localhost, 127.0.0.1 and ::1: it cannot vouch for any other
site, yet remove it when you are done, and keep ca-key.pem to yourself.
"""
