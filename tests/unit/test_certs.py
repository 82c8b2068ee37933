"""The development CA and certificate: made once, renewed when stale, name-constrained to
loopback, keys private."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tandem_mailbox import certs


def test_a_stale_leaf_is_renewed_with_the_same_ca(tmp_path: Path):
    paths, made = certs.ensure(tmp_path)
    assert made == ["ca", "localhost"]
    ca_before = paths.ca_cert.read_bytes()
    paths.cert.write_text("not a certificate")
    _, made = certs.ensure(tmp_path)
    assert made == ["localhost"]
    assert paths.ca_cert.read_bytes() == ca_before


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
