"""Where the checkout is, and where tests leave what a person may want to look at."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = REPO / "artifacts"  # git-ignored: screenshots, the soak's figures
