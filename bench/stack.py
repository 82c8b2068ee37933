"""The servers a benchmark run starts as subprocesses, polled until they answer, and their pids.

The emulator (gunicorn, `bench/servers.py emulator`), the backend as in production (`tandem
serve`, gunicorn) and, for `--naive`, the naive backend (`bench/servers.py naive`); each writes
its output to a log file of the run, which is read for gunicorn's "listening on" line.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on https://[^:]+:(\d+)")
START_TIMEOUT = 60.0


@dataclass
class Process:
    """A gunicorn master we started, where it listens, and its log."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        """https://localhost:<port>."""
        return f"https://localhost:{self.port}"

    def workers(self) -> list[int]:
        """The pids of the master's children (gunicorn's workers), from /proc."""
        return children(self.process.pid)

    def stop(self) -> None:
        """SIGTERM, and wait; SIGKILL if it has not gone after 30 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kib(pid: int) -> int:
    """The resident set size of a process, in KiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for {pid}")


def start(name: str, command: list[str], env: dict[str, str], log: Path, *, ready: Any) -> Process:
    """Start a server, wait for its listening line, then poll `ready(url)` until it is true."""
    handle = log.open("wb")
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    handle.close()
    deadline = time.monotonic() + START_TIMEOUT
    port = None
    while port is None:
        match = LISTENING.search(log.read_text(errors="replace"))
        if match:
            port = int(match.group(1))
        elif process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name} did not start:\n{log.read_text(errors='replace')}")
        else:
            time.sleep(0.05)  # polling the log for the listening line, bounded by the deadline
    server = Process(name, process, port, log)
    while not _answers(ready, server.url):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name} never answered:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)  # polling for readiness, bounded by the deadline
    return server


def _answers(ready: Any, url: str) -> bool:
    try:
        return bool(ready(url))
    except OSError:
        return False


CACHE_KEY = "JxHfKZ2Nq6Sg5dYc3q1t0d5k3X9v7b2m8n4p6r0s1u8="  # a Fernet key for the run only


def redis_server(work: Path) -> Process:
    """A redis-server on a free loopback port, no persistence, for the workers to share."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    command += ["--appendonly", "no", "--dir", str(work)]
    log = work / "redis.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return Process("redis", process, port, log)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"redis-server did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)  # polling for readiness, bounded by the deadline


def environment(settings: dict[str, str]) -> dict[str, str]:
    """The machine's environment, less TANDEM_*, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update(settings, PYTHONUNBUFFERED="1")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def emulator(certs: Path, logs: Path, *, threads: int, probe: Any) -> Process:
    """The emulator under gunicorn: one worker, `threads` threads, keep-alive."""
    command = [
        sys.executable,
        str(REPO / "bench" / "servers.py"),
        "emulator",
        "--port",
        "0",
        "--threads",
        str(threads),
        "--certs",
        str(certs),
    ]
    return start(
        "emulator",
        command,
        environment({}),
        logs / "emulator.log",
        ready=lambda url: probe(f"{url}/_emulator/config") == 200,
    )


def backend(
    name: str,
    settings: dict[str, str],
    certs: Path,
    logs: Path,
    *,
    workers: int,
    threads: int,
    naive: bool,
    probe: Any,
) -> Process:
    """`tandem serve` (or the naive backend), configured by `settings` in its environment."""
    if name == "floor":
        command = [sys.executable, str(REPO / "bench" / "servers.py"), "floor"]
    elif naive:
        command = [sys.executable, str(REPO / "bench" / "servers.py"), "naive"]
    else:
        command = [sys.executable, "-m", "tandem_mailbox.cli", "serve"]
    command += [
        "--port",
        "0",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--certs",
        str(certs),
    ]
    return start(
        name,
        command,
        environment(settings),
        logs / f"{name}.log",
        ready=lambda url: probe(f"{url}/healthz") == 200,
    )


def settings_for(emulator_config: dict[str, Any], ca: Path) -> dict[str, str]:
    """The TANDEM_* settings that wire a backend to the emulator (GET /_emulator/config)."""
    return {
        **emulator_config["settings"],
        "TANDEM_PUBLIC_URL": "https://localhost:3000",
        "TANDEM_CA_BUNDLE": str(ca),
    }


def dump(path: Path, data: Any) -> None:
    """Write JSON, indented."""
    path.write_text(json.dumps(data, indent=2) + "\n")


def cpu_seconds(pid: int) -> float:
    """CPU time a server's worker has used, in seconds: the scheduler's own count of each of
    its threads' time on a CPU, in nanoseconds (/proc/<pid>/task/*/schedstat), where
    /proc/<pid>/stat counts in clock ticks of 10 ms (1.6% of a c=1 slice's CPU). The workers'
    threads live as long as they do (gunicorn's thread pool never shrinks), so none of the
    time between two readings leaves with an exited thread; else /proc/<pid>/stat."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    if total:
        return total / 1e9
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # guest time is already counted in user
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def machine() -> dict[str, Any]:
    """What the run ran on."""
    import platform

    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memoryGiB": round(int(memory) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadAverage": [round(x, 2) for x in os.getloadavg()],
    }
