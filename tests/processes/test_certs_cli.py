"""`tandem certs`, `tandem manifest` and `tandem serve` as a person runs them."""

from __future__ import annotations

import io
import json
import ssl
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography import x509

from tandem_mailbox import certs, manifest
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
