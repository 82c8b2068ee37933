"""The backend as `tandem serve` runs it (tandem_mailbox.cli.gunicorn, gunicorn workers), with
the Office host simulator added, so a real browser can use the pane through gunicorn.

Test equipment: `python -m tests.support.gunicorn_demo --workers 2 --cert C --key K`,
configured by the TANDEM_* environment like `tandem serve`, with TANDEM_TEST_EMULATOR_URL
naming the emulator the simulator's page talks to. Production never serves the simulator.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tandem_mailbox.app import create_app
from tandem_mailbox.cli import gunicorn
from tandem_mailbox.emulator import host


def app() -> Any:
    """One worker's app: Tandem, plus the simulator's files at /simulator/."""
    built = create_app()
    built.register_blueprint(host.blueprint(os.environ["TANDEM_TEST_EMULATOR_URL"]))
    return built


def main() -> int:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    os.environ["TANDEM_WORKERS"] = str(args.workers)
    options = gunicorn.Options(
        host="127.0.0.1", port=0, workers=args.workers, cert=Path(args.cert), key=Path(args.key)
    )
    return gunicorn.run(app, options)


if __name__ == "__main__":
    raise SystemExit(main())
