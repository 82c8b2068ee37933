"""The documentation holds together: every relative link in the README and docs/ reaches a file
and a heading, the README stays the front door, every large module is in the architecture
page's table, and `tandem --help` speaks to the people who run it."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tandem_mailbox.cli import parser
from tests.support.paths import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
ARCHITECTURE = DOCS / "architecture.md"
README_MOST_LINES = 150
LARGE = 400  # lines: past this a module is split or listed with its reason (STYLE.md)
SOURCES = ("backend", "taskpane", "tests", "bench")
SKIPPED_DIRS = {"node_modules", "vendor", ".venv", "__pycache__"}
# Help is for the people who run the command: not the code's layout, sizes or history.
NOT_FOR_USERS = ("module", "room", "lines", ".py")

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _documents() -> list[Path]:
    """The README and every page under docs/."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def _prose(text: str) -> Iterator[tuple[int, str]]:
    """Numbered lines outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text lowercased, punctuation dropped, each
    space a hyphen (github-slugger)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays
    text = text.replace("`", "").replace("*", "").lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor in a Markdown page, repeated ones numbered as GitHub does."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in _prose(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> Iterator[tuple[int, str]]:
    """(line, target) of every Markdown link and image in prose, code spans left out."""
    for number, line in _prose(page.read_text(encoding="utf-8")):
        for match in LINK.finditer(CODE_SPAN.sub("", line)):
            yield number, match.group(1)


def broken_links(page: Path, root: Path = REPO) -> list[str]:
    """What is wrong with each relative link of a page under `root`: a target outside it, a
    missing file, or a missing heading."""
    problems = []
    for number, target in links(page):
        if SCHEME.match(target):
            continue  # https:, mailto: ... are not this test's business
        where = f"{page.relative_to(root)}:{number}: ({target})"
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(root):
            problems.append(f"{where} leaves the repository")
        elif not resolved.exists():
            problems.append(f"{where} names no file")
        elif anchor and resolved.suffix != ".md":
            problems.append(f"{where} has an anchor but is not a Markdown page")
        elif anchor and anchor not in anchors(resolved):
            problems.append(f"{where} names no heading of {resolved.relative_to(root)}")
    return problems


def test_relative_links_reach_files_and_headings():
    problems = [problem for page in _documents() for problem in broken_links(page)]
    assert not problems, "\n".join(problems)


def test_the_docs_pages_are_there_and_linked():
    assert README.is_file() and DOCS.is_dir()
    linked = {target.partition("#")[0] for _, target in links(README)}
    pages = {f"docs/{page.name}" for page in DOCS.glob("*.md")} - {"docs/index.md"}
    assert pages, "docs/ has no pages"
    assert pages <= linked, f"the README links none of: {sorted(pages - linked)}"


def test_a_broken_link_and_a_missing_heading_are_found(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "architecture.md").write_text("# Architecture\n\n## The layers\n")
    page = tmp_path / "docs" / "probe.md"
    page.write_text(
        "# Probe\n\n[gone](no-such-page.md) [lost](architecture.md#no-such-heading) "
        "[fine](architecture.md#the-layers) [here](#probe) `[code](ignored.md)`\n"
        "[out](../../outside.md)\n\n```\n[fenced](ignored.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 3, problems
    assert "(no-such-page.md) names no file" in problems[0]
    assert "names no heading of docs/architecture.md" in problems[1]
    assert "(../../outside.md) leaves the repository" in problems[2]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("## Once per submission: `Idempotency-Key`", "once-per-submission-idempotency-key"),
        ("## `POST /api/items/context`", "post-apiitemscontext"),
        ("### 2a. `tandem register`", "2a-tandem-register"),
        ("## Sign-in: which Outlook takes which path", "sign-in-which-outlook-takes-which-path"),
        ("## `send_outcome_unknown` (502)", "send_outcome_unknown-502"),
    ],
)
def test_anchors_follow_githubs_rules(heading: str, anchor: str):
    assert slug(HEADING.match(heading).group(2)) == anchor  # type: ignore[union-attr]


def test_the_readme_is_the_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MOST_LINES, f"README.md has {len(lines)} lines"
    commands = "\n".join(lines[:6])
    assert "./scripts/demo" in commands and "./scripts/test" in commands


def _large_modules() -> list[Path]:
    """Every Python and JavaScript module of the checkout past LARGE lines."""
    found = []
    for top in SOURCES:
        for path in (REPO / top).rglob("*"):
            if path.suffix not in (".py", ".js") or SKIPPED_DIRS & set(path.parts):
                continue
            if any(part.endswith(".egg-info") for part in path.parts):
                continue
            with path.open(encoding="utf-8") as handle:
                if sum(1 for _ in handle) > LARGE:
                    found.append(path)
    return found


def _listed_large_modules() -> list[str]:
    """The first column of the architecture page's table of large modules."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Large modules", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


def _names(path: Path) -> set[str]:
    """How the table may name a module: its path, or a test module's file name alone (the
    test lanes move them between folders)."""
    relative = path.relative_to(REPO).as_posix()
    return {relative, path.name} if relative.startswith("tests/") else {relative}


def test_every_large_module_is_listed_with_its_reason():
    listed = set(_listed_large_modules())
    assert listed, "docs/architecture.md has no table of large modules"
    missing = [
        path.relative_to(REPO).as_posix() for path in _large_modules() if not _names(path) & listed
    ]
    assert not missing, f"past {LARGE} lines but not in docs/architecture.md: {missing}"


def test_every_listed_module_exists():
    existing = {
        name
        for top in SOURCES
        for path in (REPO / top).rglob("*")
        if path.suffix in (".py", ".js") and not SKIPPED_DIRS & set(path.parts)
        for name in _names(path)
    }
    stale = [name for name in _listed_large_modules() if name not in existing]
    assert not stale, f"docs/architecture.md lists modules that are gone: {stale}"


def _commands() -> list[str]:
    """Every subcommand of `tandem`."""
    top = parser()
    found = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(found[0].choices)


def test_every_command_has_help():
    assert {"demo", "serve", "emulator", "certs", "manifest", "register", "doctor"} <= set(
        _commands()
    )


@pytest.mark.parametrize("command", [[], *[[name] for name in _commands()]], ids=str)
def test_help_speaks_to_users(command: list[str], capsys: pytest.CaptureFixture[str]):
    # The parser `tandem` runs, in this process (the fast lane starts no `tandem`; the wheel's
    # console script is tests/processes/test_packaging.py's).
    with pytest.raises(SystemExit) as done:
        parser().parse_args([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tandem"), out
    said = [
        line for line in out.splitlines() if any(word in line.lower() for word in NOT_FOR_USERS)
    ]
    assert not said, "\n".join(said)
