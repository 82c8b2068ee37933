"""The fewest Graph requests per action: the table in docs/performance.md, read as data.

The benchmark reports Tandem's count beside it, and tests/api/test_round_trips.py holds the
table to the count the emulator makes (and to its own copy of the figures).
"""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADING = "## Graph round trips per action"
ROUTES = ("mailbox", "delegate")


def table(path: Path = DOC) -> dict[tuple[str, str], int]:
    """(route, action) -> the fewest Graph requests, from the first table under HEADING."""
    text = path.read_text(encoding="utf-8")
    if HEADING not in text:
        raise LookupError(f"{path} has no '{HEADING}' section")
    rows: dict[tuple[str, str], int] = {}
    for line in text.split(HEADING, 1)[1].splitlines():
        if not line.startswith("|"):
            if rows:
                break  # the table ended
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "action" or not cells[0].strip("-: "):
            continue  # the header and its rule
        name = cells[0].replace("`", "")
        for route, cell in zip(ROUTES, cells[1:3], strict=True):
            rows[route, name] = int(cell)
    return rows
