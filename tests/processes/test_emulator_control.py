"""`tandem emulator` as a person runs it: a free port, and the settings that name it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tests.support.paths import REPO


def test_tandem_emulator_serves_on_a_free_port_and_prints_its_settings(tmp_path: Path) -> None:
    """`tandem emulator --port 0`: serve_emulator binds a free port; the settings name it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tandem_mailbox.cli",
            "emulator",
            "--port",
            "0",
            "--certs",
            str(tmp_path),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("TANDEM_GRAPH_URL" in x for x in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        text = "".join(lines)
        match = re.search(r"Emulator of Entra ID and Graph on (https://localhost:(\d+))", text)
        assert match, text
        url = match.group(1)
        assert int(match.group(2)) > 0
        assert f"export TANDEM_GRAPH_URL={url}/v1.0" in text
        trusting = Session(context=ssl_context(tmp_path / "ca.pem"), timeout=5)
        config = trusting.get(f"{url}/_emulator/config").json()
        assert config["baseUrl"] == url
        assert config["settings"]["TANDEM_AUTHORITY_HOST"] == url.split("://")[1]
        trusting.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
