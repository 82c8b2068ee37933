"""The layers hold (import-linter's contracts in pyproject.toml), and the contracts would see a
breach: a copy of the package whose mail layer imports Flask fails them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

LINT = Path(sys.executable).with_name("lint-imports")


def _lint(source_root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the project's contracts, the package taken from `source_root`."""
    env = dict(os.environ, PYTHONPATH=str(source_root))
    return subprocess.run(
        [str(LINT), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=source_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_contract_is_kept():
    done = _lint(REPO / "backend")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_a_mail_module_importing_flask_breaks_the_contract(tmp_path: Path):
    copy = tmp_path / "backend"
    shutil.copytree(
        REPO / "backend", copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    context = copy / "tandem_mailbox" / "mail" / "context.py"
    context.write_text(context.read_text() + "\nfrom flask import request  # noqa: E402\n")
    done = _lint(copy)
    assert done.returncode == 1, done.stdout
    assert "no Flask below them BROKEN" in done.stdout
    assert "tandem_mailbox.mail.context -> flask" in done.stdout
