"""What the commands share: logging as the command line wants it, the loopback rule, where
the development certificates live, and argparse's number type."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from tandem_mailbox import logs

REPO = Path(__file__).resolve().parents[3]  # backend/tandem_mailbox/cli/ -> the checkout
# In a checkout the development certificates live in its certs/; an installed package has no
# checkout, so they go to ./certs of wherever the command runs.
DEFAULT_CERTS = REPO / "certs" if (REPO / "pyproject.toml").is_file() else Path("certs")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def configure_logging(verbose: bool, fmt: str | None = None) -> None:
    """Log to stderr, as text for people or JSON lines for machines (TANDEM_LOG_FORMAT)."""
    chosen = fmt or os.environ.get("TANDEM_LOG_FORMAT") or "text"
    logs.configure(chosen, level=logging.DEBUG if verbose else logging.INFO)


def loopback_only(host: str, allow_any: bool, what: str = "the emulator and demo are") -> None:
    """Refuse a host beyond loopback unless the person asked for it (--public)."""
    if host not in LOOPBACK and not allow_any:
        raise SystemExit(
            f"tandem: refusing to listen on {host}: {what} for this machine only "
            "(pass --public to override)"
        )


def positive(text: str) -> int:
    """An argparse type: a whole number above zero."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above zero")
    return int(text)
