"""The browser flow through gunicorn: the pane, inside the Office host simulator, served by two
gunicorn workers as `tandem serve` runs them, reads an item and claims it."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tests.support.browser import screenshot, settled
from tests.support.paths import REPO
from tests.support.servers import BackendSettings, DemoHandle, EmulatorHandle
from tests.support.serving import serve_env

pytestmark = pytest.mark.browser


@pytest.fixture
def gunicorn_demo(
    fresh_emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    tmp_path: Path,
) -> Iterator[DemoHandle]:
    """Two gunicorn workers serving the pane and the simulator, wired to an emulator of its own."""
    settings = {
        **backend_settings(fresh_emulator),
        "TANDEM_OFFICE_JS_URL": "/simulator/office.js",
        "TANDEM_TEST_EMULATOR_URL": fresh_emulator.url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.gunicorn_demo",
            "--workers",
            "2",
            "--cert",
            str(cert_paths.cert),
            "--key",
            str(cert_paths.key),
        ],
        cwd=REPO,
        env=serve_env(settings, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    url = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not url:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if match := re.search(r"listening on https://[^:]+:(\d+)", line):
            url = f"https://localhost:{match.group(1)}"
    if not url:
        process.kill()
        pytest.fail("gunicorn never listened:\n" + "".join(output))
    drain = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    drain.start()
    http = Session(context=ssl_context(cert_paths.ca_cert), timeout=10)
    yield DemoHandle(
        process=process,
        url=url,
        emulator_url=fresh_emulator.url,
        output=output,
        ca=cert_paths.ca_cert,
        http=http,
        drain=drain,
    )
    process.terminate()
    assert process.wait(timeout=40) == 0, "".join(output)
    drain.join(timeout=10)
    process.stdout.close()
    http.close()


def test_the_pane_works_through_two_gunicorn_workers(page: Page, gunicorn_demo: DemoHandle):
    item = gunicorn_demo.items("support@contoso.com")[2]
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(
        f"{gunicorn_demo.url}/simulator/?persona=lee@contoso.com"
        f"&mailbox=support@contoso.com&item={item['id']}"
    )
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    pane = page.frame_locator("#taskpane-frame")
    settled(pane)
    expect(pane.locator("[data-testid=item-subject]")).to_have_text(item["subject"])
    pane.locator("[data-testid=action-claim]").click()
    expect(pane.locator("[data-testid=item-claim]")).to_have_text("Claimed by you")
    screenshot(page, "serve-01-claimed-through-gunicorn")
    state = gunicorn_demo.item(item["id"])
    assert state["item"]["categories"] == ["Tandem: Lee Gu (lee@contoso.com)"]
    assert page.console_errors == []  # type: ignore[attr-defined]
