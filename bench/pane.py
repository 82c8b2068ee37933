"""The pane in Chromium: its own JS and CSS in bytes, and the time from its load to the context.

`tandem demo` (the simulator needs the demo's backend) with Graph slowed to 50 ms; Debian's
Chromium through Playwright opens `/simulator/?persona=...&mailbox=...&item=...`, and a script
put in every frame before the page's own records, in the pane's frame, when `main` has
`aria-busy="false"` and `data-loads` 1: `performance.now()` there is the time since the pane's
frame began to load. The first open is a fresh browser context (nothing cached, sign-in from
scratch); the next opens reload the pane's frame in the same context (HTTP cache, MSAL.js's
token in sessionStorage), as a person moving between items with the pane open would not even
do (a pinned pane stays loaded): an upper bound for the second item.
"""

from __future__ import annotations

import gzip
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tandem_mailbox.microsoft.outbound import Session, ssl_context

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PANE_FILES = (
    "taskpane.html",
    "taskpane.css",
    "main.js",
    "api.js",
    "auth.js",
    "context.js",
    "ui.js",
)
MSAL = "vendor/msal-browser.min.js"

RECORDER = """
(() => {
  if (!location.pathname.endsWith("/taskpane.html")) return;
  const rendered = () => {
    const main = document.getElementById("main");
    return main && main.getAttribute("aria-busy") === "false" && Number(main.dataset.loads) >= 1;
  };
  const observer = new MutationObserver(() => {
    if (!rendered()) return;
    observer.disconnect();
    window.__tandemRendered = performance.now();
    requestAnimationFrame(() => { window.__tandemPainted = performance.now(); });
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true });
})();
"""


def sizes() -> dict[str, Any]:
    """The pane's own files in bytes (and gzipped), and the vendored MSAL.js apart."""
    pane = REPO / "taskpane"
    own = {name: (pane / name).read_bytes() for name in PANE_FILES}
    script_and_style = {n: b for n, b in own.items() if n.endswith((".js", ".css"))}
    msal = (pane / MSAL).read_bytes() if (pane / MSAL).is_file() else b""
    return {
        "files": {n: len(b) for n, b in own.items()},
        "jsCssBytes": sum(len(b) for b in script_and_style.values()),
        "jsCssGzipBytes": sum(len(gzip.compress(b, 9)) for b in script_and_style.values()),
        "htmlBytes": len(own["taskpane.html"]),
        "msalBytes": len(msal),
        "msalGzipBytes": len(gzip.compress(msal, 9)) if msal else 0,
    }


def _start_demo(certs: Path, log: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    command = [
        sys.executable,
        "-m",
        "tandem_mailbox.cli",
        "demo",
        "--port",
        "0",
        "--emulator-port",
        "0",
    ]
    handle = log.open("wb")
    process = subprocess.Popen(
        [*command, "--certs", str(certs)], cwd=REPO, env=env, stdout=handle, stderr=handle
    )
    handle.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        url = re.search(r"open (https://localhost:\d+)/taskpane.html", text)
        emulator = re.search(r"emulator \(Entra ID \+ Graph\): (https://localhost:\d+)", text)
        if url and emulator:
            return process, url.group(1), emulator.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)  # polling the demo's output for its URLs, bounded by the deadline
    process.kill()
    raise RuntimeError(f"tandem demo did not start:\n{log.read_text(errors='replace')}")


def measure(certs: Path, logs: Path, *, graph_ms: int = 50, opens: int = 5) -> dict[str, Any]:
    """Open the pane `opens` times fresh and `opens` times reloaded; answers the timings."""
    from playwright.sync_api import sync_playwright

    process, url, emulator_url = _start_demo(certs, logs / "demo.log")
    http = Session(context=ssl_context(certs / "ca.pem"), timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http.get(f"{url}/readyz").status_code == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("tandem demo never became ready")
            time.sleep(0.05)  # polling for readiness, bounded by the deadline
        http.post(
            f"{emulator_url}/_emulator/faults",
            json={"target": "graph", "delayMs": graph_ms, "times": -1},
        ).raise_for_status()
        world = http.get(f"{emulator_url}/_emulator/world").json()
        support = next(m for m in world["mailboxes"] if m["address"] == "support@contoso.com")
        inbox = next(f for f in support["folders"] if f["wellKnownName"] == "inbox")
        query = {
            "persona": "lee@contoso.com",
            "mailbox": "support@contoso.com",
            "item": inbox["items"][0]["id"],
        }
        address = f"{url}/simulator/?{urlencode(query)}"
        fresh: list[dict[str, float]] = []
        reloaded: list[dict[str, float]] = []
        transferred: dict[str, dict[str, float]] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for n in range(opens + 1):  # the first open warms the servers: not counted
                    context = browser.new_context(ignore_https_errors=True)
                    context.add_init_script(RECORDER)
                    page = context.new_page()
                    page.goto(address)
                    timing = _rendered(page)
                    if n:
                        fresh.append(timing)
                    if n == 1:
                        transferred = _resources(page, url)
                    if n:
                        _pane(page).evaluate(
                            "window.__tandemRendered = window.__tandemPainted = undefined;"
                            "location.reload()"
                        )
                        reloaded.append(_rendered(page))
                    context.close()
            finally:
                browser.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        http.close()

    def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
        return {
            "renderedMs": statistics.median(r["rendered"] for r in runs),
            "paintedMs": statistics.median(r["painted"] for r in runs),
            "runs": runs,
        }

    return {
        "graphMs": graph_ms,
        "persona": query["persona"],
        "mailbox": query["mailbox"],
        "signIn": "nested app authentication (the simulator's default, naa=supported)",
        "firstOpen": summary(fresh),
        "reloaded": summary(reloaded),
        "resources": transferred,
    }


def _pane(page: Any) -> Any:
    for frame in page.frames:
        if frame.url.split("?")[0].endswith("/taskpane.html"):
            return frame
    raise RuntimeError("the simulator has no pane frame")


def _rendered(page: Any) -> dict[str, float]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            frame = _pane(page)
            got = frame.evaluate("[window.__tandemRendered, window.__tandemPainted]")
        except Exception:  # the frame may be navigating (Playwright raises its own Error)
            got = [None, None]
        if got[0] is not None and got[1] is not None:
            subject = frame.locator("[data-testid=item-subject]")
            if subject.count() != 1:
                raise RuntimeError("the pane rendered something other than the item")
            return {"rendered": round(got[0], 1), "painted": round(got[1], 1)}
        # Polling for the recorder's mark, bounded by the deadline; Playwright's own wait (a
        # time.sleep would stop its dispatcher, and the page with it).
        page.wait_for_timeout(20)
    state = _pane(page).evaluate(
        "[window.__tandemRendered, window.__tandemPainted, "
        "document.getElementById('main').getAttribute('aria-busy'), "
        "document.getElementById('main').dataset.loads]"
    )
    raise RuntimeError(f"the pane never rendered the context: {state}")


def _resources(page: Any, origin: str) -> dict[str, dict[str, float]]:
    """What the pane's frame loaded from the backend: decoded bytes, and when (ms from the
    frame's start) each request began and ended."""
    entries = _pane(page).evaluate(
        "performance.getEntriesByType('resource')"
        ".map(e => [e.name, e.decodedBodySize, e.startTime, e.responseEnd])"
    )
    host = urlsplit(origin).netloc
    loaded = {}
    for name, size, start, end in entries:
        parts = urlsplit(name)
        if parts.netloc == host:
            loaded[parts.path.lstrip("/")] = {
                "bytes": int(size),
                "startMs": round(start, 1),
                "endMs": round(end, 1),
            }
    return loaded
