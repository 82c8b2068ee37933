"""Build hook: the wheel carries the task pane's served files, copied from taskpane/.

taskpane/ stays the source (the pane has no build step); `build_py` copies the files the
backend serves into tandem_mailbox/pane/ of the build, where web/pages.py looks first. An
editable install skips the copy: pages.py then serves taskpane/ from the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PANE = HERE / "taskpane"
# What the backend serves (tandem_mailbox/web/pages.py: top-level pages, modules and styles, assets/,
# the vendored MSAL.js in vendor/ when npm ci made it, the OnMessageSend handler in launch/);
# never simulator/, tests/, node_modules/ or the package files.
TOP_LEVEL = ("*.html", "*.css", "*.js")
FOLDERS = ("assets", "vendor", "launch")
SERVED = (".js", ".css", ".png", ".svg", ".html", ".ico", ".map")


def pane_files() -> list[Path]:
    """The pane's served files, relative to taskpane/."""
    found = [p for pattern in TOP_LEVEL for p in PANE.glob(pattern)]
    for folder in FOLDERS:
        found += [p for p in (PANE / folder).rglob("*") if p.is_file() and p.suffix in SERVED]
    return sorted(p.relative_to(PANE) for p in found if not p.name.startswith("."))


class BuildWithPane(build_py):
    """build_py, then the pane's served files into tandem_mailbox/pane."""

    def run(self) -> None:
        """Build the package, then copy the pane beside it."""
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "tandem_mailbox" / "pane"
        if target.exists():
            shutil.rmtree(target)
        for relative in pane_files():
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PANE / relative, destination)


setup(cmdclass={"build_py": BuildWithPane})
