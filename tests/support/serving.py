"""`tandem serve` as a subprocess: its environment, its start and stop, and its workers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tandem_mailbox.microsoft.outbound import Session, ssl_context

LISTENING = re.compile(r"listening on (https?)://([^:]+):(\d+)")


@dataclass
class Served:
    """A `tandem serve` subprocess and where it listens."""

    process: subprocess.Popen[str]
    url: str
    port: int
    output: list[str] = field(default_factory=list)

    drain: threading.Thread | None = None

    def stop(self, timeout: float = 40) -> int:
        """SIGTERM, then wait for the exit status (and the end of its output)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        finally:
            if self.drain is not None:
                self.drain.join(timeout=10)  # ends at the pipe's end of file
            assert self.process.stdout is not None
            self.process.stdout.close()


def serve_env(settings: dict[str, str], home: Path) -> dict[str, str]:
    """The environment of a `tandem serve`: the machine's, less TANDEM_*, plus the settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    # These tests are about serving: several workers, each with its own state, on purpose (the
    # shared state in Redis has tests of its own).
    env.update(
        {"TANDEM_SINGLE_WORKER_STATE": "true", **settings}, HOME=str(home), PYTHONUNBUFFERED="1"
    )
    return env


def launch_serve(
    args: list[str],
    settings: dict[str, str],
    cwd: Path,
    ca: Path | None,
    *,
    command: list[str] | None = None,
) -> Served:
    """Start `tandem serve ARGS` (the checkout's, or `command`) and poll until /healthz answers."""
    process = subprocess.Popen(
        [*(command or [sys.executable, "-m", "tandem_mailbox.cli", "serve"]), "--port", "0", *args],
        cwd=cwd,
        env=serve_env(settings, cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    match = None
    while time.monotonic() < deadline and match is None:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        match = LISTENING.search(line)
    if match is None:
        process.kill()
        pytest.fail("tandem serve did not start:\n" + "".join(output))
    drain = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    drain.start()
    scheme, port = match.group(1), int(match.group(3))
    served = Served(
        process=process, url=f"{scheme}://localhost:{port}", port=port, output=output, drain=drain
    )
    probe = Session(context=ssl_context(ca), timeout=5) if ca else requests.Session()
    while time.monotonic() < deadline:
        try:
            if probe.get(f"{served.url}/healthz", timeout=5).status_code == 200:
                return served
        except OSError:
            pass
        time.sleep(0.05)  # polling for readiness, bounded by the deadline
    served.stop()
    pytest.fail("tandem serve never answered /healthz:\n" + "".join(output))


# What the start_serve fixture gives: `start_serve(args, settings, cwd, ca, command=None)`.
StartServe = Callable[..., Served]


def workers_of(master: int) -> list[int]:
    """The master's children (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(entry.name))
    return sorted(found)
