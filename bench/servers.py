"""The benchmark's servers under gunicorn: the emulator, and the naive backend.

    python bench/servers.py emulator --port 0 --threads 128 --certs DIR
    python bench/servers.py naive --port 0 --threads 64 --certs DIR   (settings from TANDEM_*)
    python bench/servers.py floor --port 0 --threads 64 --certs DIR   (settings from TANDEM_*)

The emulator runs in one gunicorn worker with many threads (its state is in that process) and
keep-alive, so the benchmark measures Graph's and Entra ID's injected latency, not werkzeug's
development server closing every connection. The naive backend is `tandem serve` with the
on-behalf-of cache and the mailbox gate switched off (`create_app`'s benchmark-only switches),
served by the same gunicorn application, worker and options; the benchmark runs the real
`tandem serve` for everything else. The floor is the read path's cheapest honest
implementation (bench/floor.py) under the same gunicorn, worker, options and TLS. Each prints
gunicorn's "listening on" line with the port.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PUBLIC_URL = "https://localhost:3000"  # the audience of v1 SSO tokens; the backend's setting


def _emulator(args: argparse.Namespace) -> int:
    from tandem_mailbox import certs
    from tandem_mailbox.cli import gunicorn
    from tandem_mailbox.emulator.app import create_app
    from tandem_mailbox.emulator.world import Emulator

    paths = certs.development(Path(args.certs))
    if paths is None:
        raise SystemExit(f"no development certificate under {args.certs}")
    bound: list[int] = []

    class EmulatorApplication(gunicorn.Application):
        """The emulator's app is built after the fork, once the master knows its port."""

        def load_config(self) -> None:
            super().load_config()
            announce = self.cfg.when_ready

            def when_ready(server: Any) -> None:
                bound.append(server.LISTENERS[0].sock.getsockname()[1])
                announce(server)

            self.cfg.set("when_ready", when_ready)

    def factory() -> Any:
        emulator = Emulator(public_url=args.public_url)
        emulator.base_url = f"https://localhost:{bound[0]}"
        return create_app(emulator)

    options = gunicorn.Options(
        host="127.0.0.1",
        port=args.port,
        workers=1,  # the emulated tenant is one process's memory
        threads=args.threads,
        cert=paths.cert,
        key=paths.key,
        graceful_timeout=5,
    )
    EmulatorApplication(factory, options).run()
    return 0


def _options(args: argparse.Namespace) -> Any:
    """gunicorn's options for a server of the bench: loopback, the development certificate."""
    from tandem_mailbox import certs
    from tandem_mailbox.cli import gunicorn

    paths = certs.development(Path(args.certs))
    if paths is None:
        raise SystemExit(f"no development certificate under {args.certs}")
    return gunicorn.Options(
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        cert=paths.cert,
        key=paths.key,
    )


def _naive(args: argparse.Namespace) -> int:
    # As `tandem serve` does (cli/gunicorn.py, cmd_serve): prometheus_client's multiprocess
    # directory before the backend is imported when several workers serve, JSON log lines,
    # the settings checked once.
    if args.workers > 1:
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="tandem-metrics-")
        )
    from tandem_mailbox import logs
    from tandem_mailbox.app import create_app
    from tandem_mailbox.cli import gunicorn
    from tandem_mailbox.config import Settings

    logs.configure(os.environ.get("TANDEM_LOG_FORMAT") or "json")
    settings = Settings.load()
    options = _options(args)
    return gunicorn.run(lambda: create_app(settings, obo_cache=False, mailbox_gate=False), options)


def _floor(args: argparse.Namespace) -> int:
    from bench import floor
    from tandem_mailbox.cli import gunicorn

    settings = {k: v for k, v in os.environ.items() if k.startswith("TANDEM_")}
    options = _options(args)
    database = Path(settings.get("TANDEM_DATA_DIR") or "data").resolve() / "tandem.db"
    return gunicorn.run(
        lambda: floor.create_app(settings, settings["TANDEM_CA_BUNDLE"], str(database)), options
    )


def main() -> int:
    """Serve the emulator, the naive backend or the floor until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", choices=["emulator", "naive", "floor"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--certs", required=True)
    parser.add_argument("--public-url", default=PUBLIC_URL)
    args = parser.parse_args()
    return {"emulator": _emulator, "naive": _naive, "floor": _floor}[args.server](args)


if __name__ == "__main__":
    raise SystemExit(main())
