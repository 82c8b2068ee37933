"""The wheel is what production installs: built from the checkout, installed into a fresh
virtual environment (its dependencies from the package index), served under gunicorn. It
installs the product's package, tandem_mailbox, and nothing named `backend` or the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tandem_mailbox import manifest
from tandem_mailbox.certs import CertPaths
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tests.support.paths import REPO
from tests.support.servers import BackendSettings, EmulatorHandle
from tests.support.serving import StartServe


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    """Run a command; fail the test with its output if it fails."""
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        pytest.fail(f"{command} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built by pip from the checkout (an isolated build, as a user's)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, REPO, cwd=out)
    (built,) = out.glob("tandem_mailbox-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment with the wheel and its [prod] extra installed."""
    root = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", root / "venv", cwd=root)
    python = root / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", f"{wheel}[prod]", cwd=root)
    yield root / "venv"


def test_the_wheel_holds_the_pane_and_not_the_emulator(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"tandem_mailbox"}
    assert not [n for n in names if n.startswith("tandem_mailbox/emulator")]
    assert not [n for n in names if "simulator" in n or "/tests/" in n or "node_modules" in n]
    served_files = ("taskpane.html", "main.js", "taskpane.css", "assets/icon-32.png")
    for served in (*served_files, "launch/onsend.html", "launch/onsend.js"):
        assert f"tandem_mailbox/pane/{served}" in names
    for template in ("manifest.xml.j2", "manifest.json.j2", "color.png", "outline.png"):
        assert f"tandem_mailbox/templates/{template}" in names
    assert "tandem_mailbox/pane/package.json" not in names


def test_the_installed_package_is_the_wheel_s_alone(installed: Path, tmp_path: Path):
    python = installed / "bin" / "python"
    where = run(python, "-c", "import tandem_mailbox; print(tandem_mailbox.__file__)", cwd=tmp_path)
    assert str(installed) in where
    nothing = subprocess.run(
        [str(python), "-c", "import backend"], cwd=tmp_path, capture_output=True, text=True
    )
    assert "No module named 'backend'" in nothing.stderr
    probe = subprocess.run(
        [str(python), "-c", "import tandem_mailbox.emulator"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "No module named 'tandem_mailbox.emulator'" in probe.stderr
    demo = subprocess.run(
        [str(installed / "bin" / "tandem"), "demo", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert demo.returncode == 2
    assert "checkout" in demo.stderr
    assert "Traceback" not in demo.stderr


def test_the_installed_wheel_serves_the_pane_under_gunicorn(
    installed: Path,
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    tmp_path: Path,
):
    settings = backend_settings(
        emulator,
        TANDEM_TLS_CERT=str(cert_paths.cert),
        TANDEM_TLS_KEY=str(cert_paths.key),
    )
    served = start_serve(
        ["--workers", "1"],
        settings,
        tmp_path,
        cert_paths.ca_cert,
        command=[str(installed / "bin" / "tandem"), "serve"],
    )
    try:
        http = Session(context=ssl_context(cert_paths.ca_cert), timeout=10)
        page = http.get(f"{served.url}/taskpane.html")
        assert page.status_code == 200
        assert page.headers["Server"] == "gunicorn"
        assert '<script type="module" src="main.js">' in page.text
        module = http.get(f"{served.url}/main.js")
        assert module.status_code == 200
        assert module.headers["Content-Type"].startswith("text/javascript")
        icon = http.get(f"{served.url}/assets/icon-32.png")
        assert icon.status_code == 200
        assert icon.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert http.get(f"{served.url}/simulator/office.js").status_code == 404
        unified = http.get(f"{served.url}/manifest.json")
        assert (
            manifest.validate_json(
                unified.text,
                client_id=json.loads(unified.text)["webApplicationInfo"]["id"],
                public_url=settings["TANDEM_PUBLIC_URL"],
                schema_doc=manifest.schema(),
            )
            == []
        )
    finally:
        assert served.stop() == 0
