"""`tandem register` against the emulator's directory: device-code sign-in, the app
registration made once (a second run changes nothing), settings a backend serves with."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tandem_mailbox import manifest
from tandem_mailbox.app import create_app
from tandem_mailbox.certs import CertPaths, self_signed
from tandem_mailbox.cli.devserver import Server
from tandem_mailbox.cli.register import OFFICE_CLIENTS
from tandem_mailbox.emulator.directory import GRAPH_SCOPES
from tests.support.graph import AdminGraph
from tests.support.servers import EmulatorHandle

PUBLIC_URL = "https://tandem.contoso.com"
CODE = re.compile(r"enter the code ([A-Z0-9]+)")


@dataclass
class Run:
    """One finished `tandem register`."""

    returncode: int
    stdout: str
    stderr: str

    def settings(self) -> dict[str, str]:
        """The `export NAME=value` lines it printed."""
        return dict(re.findall(r"export (TANDEM_[A-Z_]+)=(.*)", self.stdout))


def register(
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    cwd: Path,
    *extra: str,
    user: str | None = "adele@contoso.com",
    decline: bool = False,
) -> Run:
    """Run `tandem register` and sign in at the emulated verification page as `user`."""
    host = emulator.url.removeprefix("https://")
    command = [
        sys.executable, "-m", "tandem_mailbox.cli", "register",
        "--tenant", "contoso.com",
        "--public-url", PUBLIC_URL,
        "--authority-host", host,
        "--graph-url", f"{emulator.url}/v1.0",
        "--ca-bundle", str(cert_paths.ca_cert),
        *extra,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        match = CODE.search(line)
        if match:
            approval = {"userCode": match.group(1), "user": user, "decline": decline}
            emulator.http.post(
                f"{emulator.url}/_emulator/devicecode/approve", json=approval
            ).raise_for_status()
            break
    out, err = process.communicate(timeout=60)
    return Run(process.returncode, "".join(seen) + out, err)


def directory(emulator: EmulatorHandle) -> dict[str, Any]:
    """GET /_emulator/directory."""
    return emulator.http.get(f"{emulator.url}/_emulator/directory").json()


def registered(state: dict[str, Any]) -> dict[str, Any]:
    """The registration `tandem register` made for PUBLIC_URL (beside the seeded Tandem's)."""
    (app,) = [a for a in state["applications"] if a["uniqueName"] == "tandem-tandem-contoso-com"]
    return app


def test_register_creates_the_registration_once(
    fresh_emulator: EmulatorHandle, cert_paths: CertPaths, tmp_path: Path
):
    first = register(fresh_emulator, cert_paths, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "created the application" in first.stdout
    state = directory(fresh_emulator)
    app = registered(state)
    app_id = app["appId"]
    assert app["identifierUris"] == [f"api://tandem.contoso.com/{app_id}"]
    assert app["signInAudience"] == "AzureADMyOrg"
    assert app["api"]["requestedAccessTokenVersion"] == 2
    (scope,) = app["api"]["oauth2PermissionScopes"]
    assert scope["value"] == "access_as_user" and scope["isEnabled"] and scope["type"] == "User"
    assert {
        p["appId"]: p["delegatedPermissionIds"] for p in app["api"]["preAuthorizedApplications"]
    } == {client: [scope["id"]] for client in OFFICE_CLIENTS}
    (graph,) = app["requiredResourceAccess"]
    assert graph["resourceAppId"] == "00000003-0000-0000-c000-000000000000"
    wanted = ["openid", "profile", "offline_access", "Mail.ReadWrite.Shared", "Mail.Send.Shared",
              "Calendars.ReadWrite.Shared", "User.Read"]  # fmt: skip
    assert graph["resourceAccess"] == [{"id": GRAPH_SCOPES[n], "type": "Scope"} for n in wanted]
    assert app["spa"]["redirectUris"] == ["brk-multihub://tandem.contoso.com"]
    assert app["web"]["redirectUris"] == [f"{PUBLIC_URL}/consent-done"]
    assert [p["displayName"] for p in app["passwordCredentials"]] == ["tandem backend"]
    assert [sp["appId"] for sp in state["servicePrincipals"]].count(app_id) == 1
    (role,) = app["appRoles"]
    assert role == {
        "id": role["id"],
        "value": "Tandem.Admin",
        "displayName": "Tandem administrator",
        "description": "Lets a person set a shared mailbox's first-response target in Tandem.",
        "allowedMemberTypes": ["User"],
        "isEnabled": True,
        "origin": "Application",
    }
    assert re.search(r"  set [a-zA-Z, ]*appRoles", first.stdout)

    settings = first.settings()
    assert settings["TANDEM_CLIENT_ID"] == app_id
    assert settings["TANDEM_TENANT_ID"] == "9188040d-6c67-4c5b-b112-36a304b66dad"
    assert settings["TANDEM_PUBLIC_URL"] == PUBLIC_URL
    assert len(settings["TANDEM_CLIENT_SECRET"]) >= 32
    assert f"/9188040d-6c67-4c5b-b112-36a304b66dad/adminconsent?client_id={app_id}" in first.stdout

    second = register(fresh_emulator, cert_paths, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert "appRoles" not in second.stdout
    assert "TANDEM_CLIENT_SECRET" not in second.settings()
    assert directory(fresh_emulator) == state


def test_register_says_how_to_assign_tandem_admin_with_the_real_ids(
    fresh_emulator: EmulatorHandle, cert_paths: CertPaths, tmp_path: Path
):
    run = register(fresh_emulator, cert_paths, tmp_path)
    assert run.returncode == 0, run.stderr
    state = directory(fresh_emulator)
    app = registered(state)
    (sp,) = [s for s in state["servicePrincipals"] if s["appId"] == app["appId"]]
    (role,) = app["appRoles"]
    assert (
        f"Enterprise apps > Tandem (application id {app['appId']}) > Users and groups > "
        "Add user/group > the people > Select a role: Tandem.Admin > Assign"
    ) in run.stdout
    assert "AppRoleAssignment.ReadWrite.All" in run.stdout
    post = f"POST {fresh_emulator.url}/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo"
    assert post in run.stdout
    body = json.loads(run.stdout.split(post, 1)[1].splitlines()[1])
    assert body["resourceId"] == sp["id"] and body["appRoleId"] == role["id"]
    # The printed request, with a person's id filled in, is one Graph answers with 201.
    graph = AdminGraph(fresh_emulator, ["AppRoleAssignment.ReadWrite.All", "Application.Read.All"])
    lee = fresh_emulator.emulator.exchange.person("lee@contoso.com")
    assert lee is not None
    made = graph(
        "POST",
        post.split("/v1.0", 1)[1],
        dict(body, principalId=lee.oid),
    )
    assert made.status_code == 201, made.text
    # Later runs print the same ids.
    again = register(fresh_emulator, cert_paths, tmp_path)
    assert post in again.stdout and role["id"] in again.stdout


def test_register_keeps_the_apps_own_roles_and_enables_tandem_admin(
    fresh_emulator: EmulatorHandle, cert_paths: CertPaths, tmp_path: Path
):
    """An app made by hand before: its roles stay; a disabled Tandem.Admin is enabled again."""
    graph = AdminGraph(fresh_emulator, ["Application.ReadWrite.All"])
    path = "/applications(uniqueName='tandem-tandem-contoso-com')"
    assert graph("PATCH", path, {"displayName": "T"}, Prefer="create-if-missing").ok
    theirs = {
        "id": "0b4c2a51-7d3e-4f60-9a18-5c2e7b9d1f34",
        "value": "Reports.Read",
        "displayName": "Reports reader",
        "description": "Reads reports.",
        "allowedMemberTypes": ["User", "Application"],
        "isEnabled": True,
    }
    admin = dict(theirs, id="6e1f3b7a-2c4d-4e8f-9a0b-1c2d3e4f5a6b", value="Tandem.Admin")
    admin.update(allowedMemberTypes=["Application"], isEnabled=False)
    assert graph("PATCH", path, {"appRoles": [theirs, admin]}).status_code == 204
    run = register(fresh_emulator, cert_paths, tmp_path)
    assert run.returncode == 0, run.stderr
    roles = {r["value"]: r for r in registered(directory(fresh_emulator))["appRoles"]}
    assert roles["Reports.Read"] == dict(theirs, origin="Application")
    assert roles["Tandem.Admin"]["id"] == admin["id"]  # the same role, not a second one
    assert roles["Tandem.Admin"]["isEnabled"] is True
    assert roles["Tandem.Admin"]["allowedMemberTypes"] == ["Application", "User"]


def test_the_printed_settings_serve_the_pane(
    fresh_emulator: EmulatorHandle, cert_paths: CertPaths, tmp_path: Path
):
    run = register(fresh_emulator, cert_paths, tmp_path)
    assert run.returncode == 0, run.stderr
    settings = run.settings()
    app = create_app(settings)
    server = Server(app, host="127.0.0.1", port=0, cert=cert_paths.cert, key=cert_paths.key)
    server.start()
    try:
        http = fresh_emulator.http
        assert http.get(f"{server.url}/taskpane.html").status_code == 200
        assert http.get(f"{server.url}/readyz").json() == {"status": "ready"}
        unified = http.get(f"{server.url}/manifest.json").text
        assert manifest.validate_json(
            unified, client_id=settings["TANDEM_CLIENT_ID"], public_url=PUBLIC_URL,
            schema_doc=manifest.schema(),
        ) == []  # fmt: skip
        xml_text = http.get(f"{server.url}/manifest.xml").text
        assert f"api://tandem.contoso.com/{settings['TANDEM_CLIENT_ID']}" in xml_text
    finally:
        server.stop()


def _certificate(path: Path, name: str) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed(key, name, days=365)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_a_certificate_credential_is_uploaded_once_and_others_are_kept(
    fresh_emulator: EmulatorHandle, cert_paths: CertPaths, tmp_path: Path
):
    first_cert = _certificate(tmp_path / "one.pem", "tandem one")
    run = register(fresh_emulator, cert_paths, tmp_path, "--certificate", str(first_cert))
    assert run.returncode == 0, run.stderr
    assert run.settings()["TANDEM_CLIENT_CERT"] == str(first_cert.resolve())
    assert "TANDEM_CLIENT_SECRET" not in run.settings()
    state = directory(fresh_emulator)
    app = registered(state)
    thumbprint = (
        x509.load_pem_x509_certificate(first_cert.read_bytes())
        .fingerprint(hashes.SHA1())  # noqa: S303 - Entra's thumbprint
        .hex()
        .upper()
    )
    assert [c["customKeyIdentifier"] for c in app["keyCredentials"]] == [thumbprint]
    assert app["passwordCredentials"] == []
    again = register(fresh_emulator, cert_paths, tmp_path, "--certificate", str(first_cert))
    assert again.returncode == 0 and directory(fresh_emulator) == state
    other = _certificate(tmp_path / "two.pem", "tandem two")
    third = register(fresh_emulator, cert_paths, tmp_path, "--certificate", str(other))
    assert third.returncode == 0, third.stderr
    app = registered(directory(fresh_emulator))
    assert len(app["keyCredentials"]) == 2
    assert app["keyCredentials"][0]["customKeyIdentifier"] == thumbprint


def test_an_env_file_is_written_private(
    fresh_emulator: EmulatorHandle, cert_paths: CertPaths, tmp_path: Path
):
    env_file = tmp_path / ".env"
    env_file.write_text("TANDEM_OLD=1\n")
    env_file.chmod(0o644)
    run = register(fresh_emulator, cert_paths, tmp_path, "--env-file", str(env_file))
    assert run.returncode == 0, run.stderr
    assert env_file.stat().st_mode & 0o777 == 0o600
    written = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert len(written["TANDEM_CLIENT_SECRET"]) >= 32
    assert written["TANDEM_OLD"] == "1"
    again = register(fresh_emulator, cert_paths, tmp_path, "--env-file", str(env_file))
    assert again.returncode == 0
    kept = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert kept["TANDEM_CLIENT_SECRET"] == written["TANDEM_CLIENT_SECRET"]


def test_a_second_run_merges_into_the_env_file_and_never_prints_the_secret(
    fresh_emulator: EmulatorHandle, cert_paths: CertPaths, tmp_path: Path
):
    """Issue 15 #4: a second run rewrote the file with its own settings only (the Redis URL,
    cache key, metrics token and origins were gone), and printed the secret it wrote."""
    env_file = tmp_path / ".env"
    first = register(fresh_emulator, cert_paths, tmp_path, "--env-file", str(env_file))
    assert first.returncode == 0, first.stderr
    secret = dict(line.split("=", 1) for line in env_file.read_text().splitlines())[
        "TANDEM_CLIENT_SECRET"
    ]
    assert secret not in first.stdout + first.stderr
    assert "TANDEM_CLIENT_SECRET" not in first.settings()
    assert f"TANDEM_CLIENT_SECRET: new, written to {env_file} only" in first.stdout
    # The operator adds the rest of the deployment, with comments, around what was written.
    operator = (
        "# Tandem on tandem.contoso.com\n" + env_file.read_text() + "\n# shared state\n"
        "TANDEM_REDIS_URL=rediss://:p%40ss@redis.contoso.com:6380/0\n"
        "export TANDEM_CACHE_KEY=q1s3hBT2w0yYbB1cZ0T3bqd0d9Ydm8sJ3J6mHkFZxWc=\n"
        "TANDEM_METRICS_TOKEN=metrics-token-0123456789  # Prometheus\n"
        "TANDEM_ALLOWED_ORIGINS=https://outlook.office.com\n"
    )
    env_file.write_text(operator.replace(f"TANDEM_PUBLIC_URL={PUBLIC_URL}", "TANDEM_PUBLIC_URL=x"))
    second = register(
        fresh_emulator, cert_paths, tmp_path, "--env-file", str(env_file), "--new-secret"
    )
    assert second.returncode == 0, second.stderr
    text = env_file.read_text()
    lines = text.splitlines()
    (new_secret,) = [line.split("=", 1)[1] for line in lines if "CLIENT_SECRET=" in line]
    assert new_secret != secret
    assert new_secret not in second.stdout + second.stderr
    # Every line is where it was; only the values this run sets changed.
    assert text == operator.replace(secret, new_secret)
    assert "TANDEM_PUBLIC_URL=x" not in text


@pytest.mark.parametrize(
    ("extra", "options", "complaint"),
    [
        ([], {"decline": True}, "authorization_declined"),
        (["--public-client", "11111111-2222-3333-4444-555555555555"], {}, "700016"),
        (["--scopes", "Mail.ReadWrite.Shared Mail.Everything"], {}, "Mail.Everything"),
    ],
)
def test_register_failures_say_why(
    fresh_emulator: EmulatorHandle,
    cert_paths: CertPaths,
    tmp_path: Path,
    extra: list[str],
    options: dict[str, Any],
    complaint: str,
):
    run = register(fresh_emulator, cert_paths, tmp_path, *extra, **options)
    assert run.returncode == 1
    assert complaint in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
