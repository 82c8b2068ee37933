"""`python -m bench`: see bench/run.py; `python -m bench --queue`: see bench/team_queue.py."""

from __future__ import annotations

import sys

if "--queue" in sys.argv[1:]:
    from .team_queue import main
else:
    from .run import main

raise SystemExit(main(sys.argv[1:]))
