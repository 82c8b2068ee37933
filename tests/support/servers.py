"""Live servers on loopback: the emulator, backends wired to it, and `tandem demo`, as handles
(a test's own emulator and backends are served by tests/support/pool.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tandem_mailbox.app import create_app
from tandem_mailbox.certs import CertPaths
from tandem_mailbox.cli.demo import serve_emulator
from tandem_mailbox.cli.devserver import Server
from tandem_mailbox.config import Settings
from tandem_mailbox.emulator.world import Emulator
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tests.support.paths import REPO

PUBLIC_URL = "https://localhost:3000"


class EmulatorControl:
    """The emulator's control routes, for any handle that knows where its emulator is."""

    http: Session

    @property
    def control_url(self) -> str:
        """The emulator's base URL."""
        raise NotImplementedError

    def world(self) -> dict[str, Any]:
        """GET /_emulator/world."""
        return self.http.get(f"{self.control_url}/_emulator/world").json()

    def stats(self) -> dict[str, Any]:
        """GET /_emulator/stats: the emulator's counters."""
        return self.http.get(f"{self.control_url}/_emulator/stats").json()

    def fault(self, **fault: Any) -> None:
        """Queue one fault."""
        self.http.post(f"{self.control_url}/_emulator/faults", json=fault).raise_for_status()

    def clear_faults(self) -> None:
        """Forget every fault."""
        self.http.delete(f"{self.control_url}/_emulator/faults").raise_for_status()

    def item(self, item_id: str) -> dict[str, Any]:
        """GET /_emulator/items/<id>: the item's whole state and history, by any id it had."""
        response = self.http.get(f"{self.control_url}/_emulator/items/{item_id}")
        response.raise_for_status()
        return response.json()

    def deliveries(self) -> list[dict[str, Any]]:
        """GET /_emulator/deliveries: every message handed to transport."""
        return self.http.get(f"{self.control_url}/_emulator/deliveries").json()["deliveries"]

    def requests(self, limit: int = 1000) -> list[dict[str, Any]]:
        """GET /_emulator/requests: the Graph request log, oldest first."""
        answer = self.http.get(f"{self.control_url}/_emulator/requests?limit={limit}")
        return answer.json()["requests"]

    def items(self, mailbox: str, folder: str = "inbox") -> list[dict[str, Any]]:
        """The items of a well-known or named folder of a mailbox, as the world lists them."""
        for box in self.world()["mailboxes"]:
            if box["address"] == mailbox:
                for f in box["folders"]:
                    if folder in (f["wellKnownName"], f["name"]):
                        return f["items"]
        raise KeyError(f"{mailbox}/{folder}")


@dataclass
class EmulatorHandle(EmulatorControl):
    """A running emulator and helpers to talk to its control routes."""

    emulator: Emulator
    server: Server
    http: Session

    @property
    def url(self) -> str:
        """Its base URL."""
        return self.server.url

    @property
    def control_url(self) -> str:
        """Its base URL: the control routes are its own."""
        return self.server.url

    def sso(self, user: str, **options: Any) -> str:
        """The SSO token Office would hand the pane for this person."""
        response = self.http.post(f"{self.url}/_emulator/sso-token", json={"user": user, **options})
        response.raise_for_status()
        return response.json()["token"]

    def settings(self, **settings: Any) -> dict[str, Any]:
        """POST /_emulator/settings."""
        response = self.http.post(f"{self.url}/_emulator/settings", json=settings)
        response.raise_for_status()
        return response.json()

    def change(self, item_id: str, **change: Any) -> dict[str, Any]:
        """Change an item as a person would in Outlook (POST /_emulator/items/<id>/change)."""
        response = self.http.post(f"{self.url}/_emulator/items/{item_id}/change", json=change)
        response.raise_for_status()
        return response.json()

    def move_in_outlook(self, item_id: str, folder: str, by: str = "") -> dict[str, Any]:
        """Move an item as a person would in Outlook (POST /_emulator/items/<id>/move)."""
        response = self.http.post(
            f"{self.url}/_emulator/items/{item_id}/move", json={"folder": folder, "by": by}
        )
        response.raise_for_status()
        return response.json()


def start_emulator(cert_paths: CertPaths, http: Session) -> EmulatorHandle:
    """An emulator on a free loopback port, serving as PUBLIC_URL's identity provider and Graph."""
    server, emulator = serve_emulator(
        host="127.0.0.1", port=0, cert=cert_paths.cert, key=cert_paths.key, public_url=PUBLIC_URL
    )
    return EmulatorHandle(emulator=emulator, server=server, http=http)


@dataclass
class BackendHandle:
    """A running backend and the settings it was built with."""

    server: Server
    settings: Settings
    http: Session
    app: Any = field(repr=False, default=None)

    @property
    def url(self) -> str:
        """Its base URL."""
        return self.server.url

    def context(self, token: str | None, body: dict[str, Any], **headers: str) -> Any:
        """POST /api/items/context."""
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.post(f"{self.url}/api/items/context", json=body, headers=headers)

    def action(
        self, token: str, name: str, body: dict[str, Any], *, key: str | None = None, **fields: Any
    ) -> Any:
        """POST /api/items/actions/<name> with the item context and the action's fields, and
        an Idempotency-Key when `key` is given."""
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.post(
            f"{self.url}/api/items/actions/{name}", json={**body, **fields}, headers=headers
        )

    def folders(self, token: str, body: dict[str, Any]) -> Any:
        """POST /api/mailbox/folders."""
        return self.http.post(
            f"{self.url}/api/mailbox/folders",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )


def settings_for(
    emulator: EmulatorHandle, cert_paths: CertPaths, **overrides: str
) -> dict[str, str]:
    """The TANDEM_* mapping that wires a backend to an emulator."""
    return {
        **emulator.emulator.settings(),
        "TANDEM_PUBLIC_URL": PUBLIC_URL,
        "TANDEM_CA_BUNDLE": str(cert_paths.ca_cert),
        # The team's record of this backend alone: a SQLite file of its own.
        "TANDEM_DATA_DIR": tempfile.mkdtemp(prefix="tandem-data-"),
        **overrides,
    }


# What the backend_settings fixture gives: `backend_settings(emulator, **overrides)`.
BackendSettings = Callable[..., dict[str, str]]


def start_backend(
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    http: Session,
    clock: Callable[[], float] | None = None,
    **overrides: str,
) -> BackendHandle:
    """A backend in this process on a free loopback port, wired to `emulator` (stop its server)."""
    settings = Settings.from_mapping(settings_for(emulator, cert_paths, **overrides))
    app = create_app(settings, clock=clock)
    server = Server(app, host="127.0.0.1", port=0, cert=cert_paths.cert, key=cert_paths.key)
    server.start()
    return BackendHandle(server=server, settings=settings, http=http, app=app)


@dataclass
class DemoHandle(EmulatorControl):
    """`tandem demo` running as a subprocess."""

    process: subprocess.Popen[str]
    url: str
    emulator_url: str
    output: list[str]
    ca: Path
    http: Session
    drain: threading.Thread | None = field(default=None, repr=False)

    @property
    def control_url(self) -> str:
        """The demo's emulator."""
        return self.emulator_url


def launch_demo(certs_dir: Path) -> DemoHandle:
    """`tandem demo` on free ports, polled until ready (the certificates are made once per dir)."""
    command = [
        sys.executable,
        "-m",
        "tandem_mailbox.cli",
        "demo",
        "--port",
        "0",
        "--emulator-port",
        "0",
        "--certs",
        str(certs_dir),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    url = emulator_url = ""
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (url and emulator_url):
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if match := re.search(r"open (https://localhost:\d+)/taskpane.html", line):
            url = match.group(1)
        if match := re.search(r"emulator \(Entra ID \+ Graph\): (https://localhost:\d+)", line):
            emulator_url = match.group(1)
    if not (url and emulator_url):
        process.kill()
        pytest.fail("tandem demo did not start:\n" + "".join(output))
    # Drain the rest of the output in the background so the pipe never fills.
    drain = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    drain.start()
    verify = str(certs_dir / "ca.pem")
    ready = Session(context=ssl_context(Path(verify)), timeout=5)
    while time.monotonic() < deadline:
        try:
            if ready.get(f"{url}/readyz").status_code == 200:
                break
        except OSError:
            pass
        time.sleep(0.05)  # polling for readiness, bounded by the deadline
    else:
        process.kill()
        pytest.fail("tandem demo never became ready:\n" + "".join(output))
    return DemoHandle(
        process=process,
        url=url,
        emulator_url=emulator_url,
        output=output,
        ca=Path(verify),
        http=ready,
        drain=drain,
    )


def stop_demo(handle: DemoHandle) -> None:
    """Stop a demo started by launch_demo and close its pipe and session."""
    process = handle.process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    if handle.drain is not None:
        handle.drain.join(timeout=10)  # ends at the pipe's end of file
    assert process.stdout is not None
    process.stdout.close()
    handle.http.close()
