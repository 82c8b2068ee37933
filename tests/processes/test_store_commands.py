"""`tandem db upgrade`, `tandem serve`'s refusal of a schema that is behind, and `tandem
doctor`'s database line, against a real PostgreSQL."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from pathlib import Path

from tandem_mailbox.cli import doctor
from tandem_mailbox.store import Store
from tests.support.paths import REPO
from tests.support.postgres import PostgresServer
from tests.support.serving import serve_env

SETTINGS = {
    "TANDEM_CLIENT_ID": str(uuid.uuid4()),
    "TANDEM_TENANT_ID": str(uuid.uuid4()),
    "TANDEM_CLIENT_SECRET": "a-secret-of-the-tests-only",
}


def _tandem(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tandem_mailbox.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_brings_postgresql_to_the_current_schema(
    postgres: PostgresServer, tmp_path: Path
):
    url = postgres.database()
    env = serve_env({**SETTINGS, "TANDEM_DATABASE_URL": url}, tmp_path)
    first = _tandem("db", "upgrade", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    head = Store(url).head()
    assert f"went from schema none to {head}" in first.stdout
    again = _tandem("db", "upgrade", env=env, cwd=tmp_path)
    assert again.returncode == 0 and f"is current (schema {head})" in again.stdout


def test_serve_refuses_a_postgresql_schema_that_is_behind(postgres: PostgresServer, tmp_path: Path):
    url = postgres.database()
    store = Store(url)
    store.upgrade("0001")
    store.dispose()
    env = serve_env({**SETTINGS, "TANDEM_DATABASE_URL": url}, tmp_path)
    served = _tandem("serve", "--port", "0", env=env, cwd=REPO)
    assert served.returncode == 2
    assert "behind" in served.stderr and "tandem db upgrade" in served.stderr
    assert "a-secret-of-the-tests-only" not in served.stderr + served.stdout
    assert "tandem@127.0.0.1" not in served.stderr  # the URL (it may hold a password) unsaid


def test_doctor_names_a_schema_behind_and_its_fix(postgres: PostgresServer):
    url = postgres.database()
    out = io.StringIO()
    report = doctor.Report(out)
    doctor._database(report, url)
    assert "run `tandem db upgrade`" in out.getvalue()
    assert report.failed
    store = Store(url)
    store.upgrade()
    store.dispose()
    out = io.StringIO()
    report = doctor.Report(out)
    doctor._database(report, url)
    assert "(current)" in out.getvalue() and not report.failed
    unreachable = url.rsplit(":", 1)[0] + ":1/nowhere"
    out = io.StringIO()
    report = doctor.Report(out)
    doctor._database(report, unreachable)
    assert "TANDEM_DATABASE_URL" in out.getvalue() and report.failed
