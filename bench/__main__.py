"""`python -m bench`: see bench/run.py."""

from __future__ import annotations

import sys

from .run import main

raise SystemExit(main(sys.argv[1:]))
