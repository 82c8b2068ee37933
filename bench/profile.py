"""Where the backend's time goes: py-spy on its gunicorn worker while load runs, summarised.

py-spy samples the thread holding the GIL (`--gil`): in one worker that is where Python's CPU
goes, the figure that limits the worker's throughput (threads waiting on a socket, a lock or
the GIL are not counted; C code that releases the GIL, such as OpenSSL's reads and writes, is
not seen). It stops the worker for each sample, which costs about a tenth of its throughput
while it runs. The raw output, in the collapsed-stack format flame graph tools read
(speedscope.app, flamegraph.pl), is kept beside the results. Each sample is counted once, in
the room of the first of its frames, from the leaf, that belongs to one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Rooms, matched against a frame's file (as py-spy names it: relative to site-packages or the
# standard library), in order: the first frame from the leaf that matches one names the room.
ROOMS: list[tuple[str, re.Pattern[str]]] = [
    ("TLS (ssl: handshakes, reads, writes)", re.compile(r"^ssl\.py")),
    ("JWT signature and claims (PyJWT, cryptography)", re.compile(r"^(jwt|cryptography)/")),
    ("JSON (encode, decode)", re.compile(r"^json/|^flask/json/")),
    (
        "logging (records, formatting, redaction)",
        re.compile(r"^logging/|^tandem_mailbox/(logs|mail/audit)\.py|^pythonjsonlogger/"),
    ),
    (
        "metrics (prometheus_client)",
        re.compile(r"^prometheus_client/|^tandem_mailbox/metrics\.py"),
    ),
    (
        "outbound HTTP (requests, urllib3, http.client)",
        re.compile(
            r"^(requests|urllib3)/|^http/client\.py|^socket\.py|"
            r"^tandem_mailbox/microsoft/outbound\.py"
        ),
    ),
    ("MSAL", re.compile(r"^msal/")),
    (
        "gunicorn (accept, parse, respond)",
        re.compile(r"^gunicorn/|^tandem_mailbox/cli/gunicorn\.py"),
    ),
    (
        "Flask and werkzeug (routing, request, response)",
        re.compile(r"^(flask|werkzeug|flask_cors)/|^tandem_mailbox/web/wsgi\.py"),
    ),
    ("the team's record (SQLAlchemy, sqlite3)", re.compile(r"^sqlalchemy/|^sqlite3/")),
    ("Tandem's own code (tandem_mailbox/)", re.compile(r"^tandem_mailbox/")),
    ("threads, queues, selectors", re.compile(r"^(threading|queue|selectors)\.py|^concurrent/")),
]
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(:(?P<line>\d+))?\)$")


def py_spy() -> str | None:
    """The py-spy command beside this Python, or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record(
    pid: int, load: Callable[[float], Any], work: Path, *, seconds: float, rate: int = 250
) -> dict[str, Any]:
    """Profile `pid` for `seconds` while `load(seconds)` runs; answers the summary."""
    command = py_spy()
    if command is None:
        return {"skipped": "py-spy is not installed (pip install -e '.[bench]')", "requests": 0}
    raw = work / "profile.txt"
    spy = subprocess.Popen(
        [
            command,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--duration",
            str(int(seconds)),
            "--gil",
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    time.sleep(0.5)  # not a server to poll: py-spy says nothing when it has attached
    sample = load(seconds)
    output, _ = spy.communicate(timeout=60)
    if spy.returncode != 0 or not raw.exists():
        return {
            "skipped": f"py-spy failed: {output.decode(errors='replace')[-400:]}",
            "requests": 0,
        }
    summary = summarise(raw.read_text())
    summary["requests"] = len(sample.latencies)
    summary["perSecond"] = round(len(sample.latencies) / sample.seconds, 1)
    summary["raw"] = str(raw)
    return summary


def summarise(collapsed: str) -> dict[str, Any]:
    """Samples by room, and the functions with the most samples on top of the stack."""
    rooms: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    backend: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        rooms[_room(frames)] += n
        leaves[_short(frames[-1])] += n
        for name in {_short(f) for f in frames if _request_frame(f)}:
            backend[name] += n  # inclusive: every backend function on the stack
    return {
        "samples": total,
        "rooms": [
            {"room": room, "samples": n, "share": round(n / total, 3)}
            for room, n in rooms.most_common()
        ]
        if total
        else [],
        "topFunctions": [
            {"function": f, "samples": n, "share": round(n / total, 3)}
            for f, n in leaves.most_common(15)
        ],
        "backendInclusive": [
            {"function": f, "samples": n, "share": round(n / total, 3)}
            for f, n in backend.most_common(15)
        ],
    }


def _request_frame(frame: str) -> bool:
    """A frame of Tandem's code that serves requests (not the start of the gunicorn master's
    and main thread's stacks: the command line)."""
    match = FRAME.match(frame)
    path = _relative(match.group("file")) if match else ""
    path = path.removeprefix("backend/")  # an absolute path in a checkout; py-spy's own: relative
    return path.startswith("tandem_mailbox/") and not path.startswith("tandem_mailbox/cli/")


def _room(frames: list[str]) -> str:
    for frame in reversed(frames):
        match = FRAME.match(frame)
        where = _relative(match.group("file")) if match else frame
        where = where.removeprefix("backend/")
        for room, pattern in ROOMS:
            if pattern.search(where):
                return room
    return "other (interpreter, thread start)"


def _relative(path: str) -> str:
    """A frame's file relative to site-packages, the standard library or the checkout."""
    for marker in ("site-packages/", "/lib/python3", "/wt-bench/", "/backend/"):
        if marker in path:
            rest = path.split(marker, 1)[1]
            if marker == "/lib/python3":
                rest = rest.split("/", 1)[1]
            return "backend/" + rest if marker == "/backend/" else rest
    return path


def _short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    return f"{match.group('function')} ({_relative(match.group('file'))})"
