"""tandem demo | serve | emulator | certs | manifest."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from . import audit, certs, manifest
from .config import ConfigError, Settings
from .serving import LOOPBACK, Server

if TYPE_CHECKING:
    from .emulator import Emulator

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CERTS = REPO / "certs"
DEMO_OFFICE_JS = "/simulator/office.js"


def _logging(verbose: bool, fmt: str | None = None) -> None:
    chosen = fmt or os.environ.get("TANDEM_LOG_FORMAT") or "text"
    audit.configure(chosen, level=logging.DEBUG if verbose else logging.INFO)


def _loopback_only(host: str, allow_any: bool) -> None:
    if host not in LOOPBACK and not allow_any:
        raise SystemExit(
            f"tandem: refusing to listen on {host}: the emulator and demo are for this machine "
            "only (pass --public to override)"
        )


def demo_servers(
    *, host: str, port: int, emulator_port: int, cert_dir: Path
) -> tuple[Server, Server, Emulator]:
    """Start the emulator and a backend wired to it; answers both servers and the emulator."""
    from . import create_app
    from .emulator import host as simulator
    from .emulator import serve_emulator

    paths, _ = certs.ensure(cert_dir)
    # Bind the backend's port first (port 0 picks a free one): the emulator needs its URL.
    backend_server = Server(None, host=host, port=port, cert=paths.cert, key=paths.key)
    emulator_server, emulator = serve_emulator(
        host=host,
        port=emulator_port,
        cert=paths.cert,
        key=paths.key,
        public_url=backend_server.url,
    )
    settings = Settings.from_mapping(
        {
            **emulator.settings(),
            "TANDEM_PUBLIC_URL": backend_server.url,
            "TANDEM_CA_BUNDLE": str(paths.ca_cert),
            "TANDEM_OFFICE_JS_URL": DEMO_OFFICE_JS,
        }
    )
    app = create_app(settings)
    app.register_blueprint(simulator.blueprint(emulator_server.url))
    backend_server.app = app
    backend_server.start()
    return backend_server, emulator_server, emulator


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the emulator and the backend wired to it, until interrupted."""
    _logging(args.verbose)
    _loopback_only(args.host, False)
    backend, emulator, _ = demo_servers(
        host=args.host,
        port=args.port,
        emulator_port=args.emulator_port,
        cert_dir=Path(args.certs),
    )
    print(f"Tandem demo: open {backend.url}/taskpane.html", flush=True)
    print(f"  emulator (Entra ID + Graph): {emulator.url}", flush=True)
    print(
        f"  development CA: {Path(args.certs) / 'ca.pem'} (see `tandem certs` to trust it)",
        flush=True,
    )
    print("  press Ctrl+C to stop", flush=True)
    return _wait(backend, emulator)


def _wait(*servers: Server) -> int:
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    """Run the emulator alone and print the settings that wire a backend to it."""
    from .emulator import serve_emulator

    _logging(args.verbose)
    _loopback_only(args.host, False)
    paths, _ = certs.ensure(Path(args.certs))
    server, emulator = serve_emulator(
        host=args.host,
        port=args.port,
        cert=paths.cert,
        key=paths.key,
        public_url=args.public_url,
    )
    print(f"Emulator of Entra ID and Graph on {server.url}", flush=True)
    print("Settings for a backend:", flush=True)
    settings = dict(
        emulator.settings(), TANDEM_CA_BUNDLE=str(paths.ca_cert), TANDEM_PUBLIC_URL=args.public_url
    )
    for name, value in settings.items():
        print(f"  export {name}={value}", flush=True)
    return _wait(server)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the backend from the environment (for production, run it under gunicorn)."""
    from . import create_app

    _logging(args.verbose, os.environ.get("TANDEM_LOG_FORMAT") or "json")
    _loopback_only(args.host, args.public)
    try:
        app = create_app()
    except ConfigError as error:
        print(f"tandem: configuration error: {error}", file=sys.stderr)
        return 2
    if args.cert and args.key:
        cert, key = Path(args.cert), Path(args.key)
    else:
        paths, _ = certs.ensure(Path(args.certs))
        cert, key = paths.cert, paths.key
    server = Server(app, host=args.host, port=args.port, cert=cert, key=key)
    print(f"Tandem backend on {server.url}", flush=True)
    server.start()
    return _wait(server)


def cmd_certs(args: argparse.Namespace) -> int:
    """Create the development CA and the localhost certificate, and say how to trust the CA."""
    paths, made = certs.ensure(Path(args.dir))
    if made:
        print(f"created: {', '.join(made)} under {args.dir}")
    else:
        print(f"certificates under {args.dir} are present and valid; nothing to do")
    print(f"  CA certificate:        {paths.ca_cert}")
    print(f"  localhost certificate: {paths.cert} (key {paths.key})")
    print()
    print(certs.TRUST_HELP.format(ca=paths.ca_cert.resolve()))
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    """Render and validate the manifest for a client id and public URL."""
    client_id = args.client_id or os.environ.get("TANDEM_CLIENT_ID", "")
    public_url = args.public_url or os.environ.get("TANDEM_PUBLIC_URL", "https://localhost:3000")
    scopes = (args.scopes or os.environ.get("TANDEM_SCOPES") or "").split() or [
        "Mail.ReadWrite.Shared",
        "Mail.Send.Shared",
        "Calendars.ReadWrite.Shared",
        "User.Read",
    ]
    if not client_id:
        print("tandem: --client-id (or TANDEM_CLIENT_ID) is required", file=sys.stderr)
        return 2
    try:
        text = manifest.render(client_id.lower(), public_url.rstrip("/"), scopes)
    except ValueError as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 2
    problems = manifest.validate(text, client_id=client_id.lower(), public_url=public_url)
    if problems:
        for problem in problems:
            print(f"tandem: manifest: {problem}", file=sys.stderr)
        return 1
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(
            f"wrote {args.out}: valid; sideload it in Outlook (Get Add-ins > My add-ins > "
            "Add a custom add-in > Add from file)",
            file=sys.stderr,
        )
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="tandem", description=__doc__)
    top.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = top.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the emulator and the backend wired to it")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=3000)
    demo.add_argument("--emulator-port", type=int, default=3001)
    demo.add_argument("--certs", default=str(DEFAULT_CERTS))
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="the backend alone, configured from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--cert", help="PEM certificate (default: the development one)")
    serve.add_argument("--key", help="PEM key of --cert")
    serve.add_argument("--certs", default=str(DEFAULT_CERTS))
    serve.add_argument(
        "--public",
        action="store_true",
        help="allow listening beyond loopback (put a real TLS proxy in front)",
    )
    serve.set_defaults(func=cmd_serve)

    emulator = sub.add_parser("emulator", help="the emulator alone")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=3001)
    emulator.add_argument(
        "--public-url",
        default="https://localhost:3000",
        help="the backend's public URL (the audience of v1 SSO tokens)",
    )
    emulator.add_argument("--certs", default=str(DEFAULT_CERTS))
    emulator.set_defaults(func=cmd_emulator)

    cert_cmd = sub.add_parser("certs", help="create the development CA and localhost certificate")
    cert_cmd.add_argument("--dir", default=str(DEFAULT_CERTS))
    cert_cmd.set_defaults(func=cmd_certs)

    man = sub.add_parser("manifest", help="render and validate the add-in manifest")
    man.add_argument("--client-id")
    man.add_argument("--public-url")
    man.add_argument("--scopes", help="space-separated Graph scopes (default TANDEM_SCOPES)")
    man.add_argument("--out", default="-", help="file to write, or - for standard output")
    man.set_defaults(func=cmd_manifest)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tandem` console script."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as error:
        print(f"tandem: configuration error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
