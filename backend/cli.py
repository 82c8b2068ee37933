"""tandem demo | serve | emulator | certs | manifest | register | doctor.

Just past ~400 lines because it is the one place that turns arguments into calls: each
command is a short function over the module that does the work (production.py, manifest.py,
register.py, doctor.py, the emulator), and its argparse table sits beside it.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from . import audit, certs, manifest
from .clouds import CLOUDS
from .config import DEFAULT_SCOPES, ConfigError, Settings
from .serving import LOOPBACK, Server

if TYPE_CHECKING:
    from .emulator import Emulator

REPO = Path(__file__).resolve().parent.parent
# In a checkout the development certificates live in its certs/; an installed package has no
# checkout, so they go to ./certs of wherever the command runs.
DEFAULT_CERTS = REPO / "certs" if (REPO / "pyproject.toml").is_file() else Path("certs")
DEMO_OFFICE_JS = "/simulator/office.js"
# `tandem serve`'s workers when TANDEM_REDIS_URL is set and --workers is not given; without
# Redis the default is one, since several would each keep their own locks and token cache.
SHARED_DEFAULT_WORKERS = 2


def _logging(verbose: bool, fmt: str | None = None) -> None:
    chosen = fmt or os.environ.get("TANDEM_LOG_FORMAT") or "text"
    audit.configure(chosen, level=logging.DEBUG if verbose else logging.INFO)


def _loopback_only(host: str, allow_any: bool, what: str = "the emulator and demo are") -> None:
    if host not in LOOPBACK and not allow_any:
        raise SystemExit(
            f"tandem: refusing to listen on {host}: {what} for this machine only "
            "(pass --public to override)"
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


def _serving_tls(args: argparse.Namespace, settings: Settings) -> tuple[Path | None, Path | None]:
    """The certificate and key `tandem serve` answers TLS with; (None, None) behind a proxy.

    The development certificate names localhost only, so it is used only on loopback and
    only when `tandem certs` made it: serve never creates a CA of its own accord.
    """
    cert = Path(args.cert) if args.cert else settings.tls_cert
    key = Path(args.key) if args.key else settings.tls_key
    if bool(args.cert) != bool(args.key):
        raise SystemExit("tandem: --cert and --key go together")
    if cert and key:
        return cert, key
    if settings.trust_proxy:
        return None, None  # TLS ends at the proxy, which TANDEM_TRUST_PROXY says is there
    if args.host not in LOOPBACK:
        raise SystemExit(
            f"tandem: refusing to serve {args.host} with the development certificate, which "
            "names only localhost: give --cert/--key (or TANDEM_TLS_CERT/TANDEM_TLS_KEY), or "
            "terminate TLS in a proxy and set TANDEM_TRUST_PROXY to its number of hops"
        )
    development = certs.development(Path(args.certs))
    if development is None:
        raise SystemExit(
            f"tandem: no development certificate under {args.certs}: run `tandem certs` "
            "(and trust its CA), or give --cert/--key"
        )
    print(f"  TLS: the development certificate for localhost ({development.cert})", flush=True)
    return development.cert, development.key


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the backend from the environment under gunicorn, until SIGTERM or Ctrl+C."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus_client picks its multiprocess mode when it is imported, which importing
        # the backend already did: start afresh with a directory every worker writes into,
        # so /metrics sums them all (prometheus_client's multiprocess mode).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tandem-metrics-")
        os.execv(sys.executable, [sys.executable, "-m", "backend.cli", *sys.argv[1:]])  # noqa: S606
    from . import create_app

    _logging(args.verbose, os.environ.get("TANDEM_LOG_FORMAT") or "json")
    _loopback_only(args.host, args.public, "by default the backend is")
    try:
        # The worker count reaches the settings, which refuse several without shared state.
        os.environ["TANDEM_WORKERS"] = str(args.workers or 1)
        settings = Settings.load()  # once in the master: one message, not a crash loop
        if args.workers is None and settings.redis_url:
            # Without --workers: two when Redis shares the state, else the one that needs none.
            os.environ["TANDEM_WORKERS"] = str(SHARED_DEFAULT_WORKERS)
            settings = Settings.load()
    except ConfigError as error:
        print(f"tandem: configuration error: {error}", file=sys.stderr)
        return 2
    workers = settings.workers
    # SIGTERM lets every request in flight end: a reply cut off mid-send would go out with no
    # answer and no audit line. The longest request is an action's whole budget.
    longest = math.ceil(settings.longest_request)
    graceful = args.graceful_timeout or longest
    if graceful < longest:
        print(
            f"tandem: --graceful-timeout {graceful} is shorter than the longest request "
            f"({longest} s with TANDEM_HTTP_TIMEOUT={settings.http_timeout:g}): a reply in "
            "flight at SIGTERM could go out with no answer and no audit line. Give at least "
            f"{longest}, or lower TANDEM_HTTP_TIMEOUT.",
            file=sys.stderr,
        )
        return 2
    try:
        from . import production
    except ImportError:
        print(
            "tandem: gunicorn is not installed: pip install 'tandem[prod]'",
            file=sys.stderr,
        )
        return 2
    cert, key = _serving_tls(args, settings)
    print(
        f"Tandem backend: {workers} worker{'s' if workers > 1 else ''} x {args.threads} "
        f"threads, public URL {settings.public_url}, {graceful} s for requests in flight "
        "at SIGTERM",
        flush=True,
    )
    if not cert:
        print(
            f"  TLS: terminated by the proxy (TANDEM_TRUST_PROXY={settings.trust_proxy})",
            flush=True,
        )
    options = production.Options(
        host=args.host,
        port=args.port,
        workers=workers,
        threads=args.threads,
        cert=cert,
        key=key,
        graceful_timeout=graceful,
    )
    return production.run(lambda: create_app(settings), options)


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
    """Render and check a manifest (XML, unified JSON, or the app package zip)."""
    client_id = (args.client_id or os.environ.get("TANDEM_CLIENT_ID", "")).lower()
    public_url = (
        args.public_url or os.environ.get("TANDEM_PUBLIC_URL") or "https://localhost:3000"
    ).rstrip("/")
    scopes = (args.scopes or os.environ.get("TANDEM_SCOPES") or DEFAULT_SCOPES).split()
    if not client_id:
        print("tandem: --client-id (or TANDEM_CLIENT_ID) is required", file=sys.stderr)
        return 2
    try:
        xml_text = manifest.render(client_id, public_url, scopes)
        json_text = manifest.render_json(client_id, public_url, scopes)
    except ValueError as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 2
    # Both are checked whatever is written: one deployment ships both.
    problems = manifest.validate(xml_text, client_id=client_id, public_url=public_url)
    problems += manifest.validate_json(
        json_text, client_id=client_id, public_url=public_url, schema_doc=manifest.schema()
    )
    if problems:
        for problem in problems:
            print(f"tandem: manifest: {problem}", file=sys.stderr)
        return 1
    data: bytes
    if args.format == "xml":
        data = xml_text.encode()
        how = "Outlook: Get Add-ins > My add-ins > Add a custom add-in > Add from file"
    elif args.format == "json":
        data = json_text.encode()
        how = "zip it with color.png and outline.png (or use --format zip) to upload it"
    else:
        data = manifest.package(client_id, public_url, scopes)
        how = "upload it: Teams > Apps > Manage your apps > Upload an app, or the admin center"
    if args.out == "-":
        if args.format == "zip":
            print("tandem: --format zip needs --out FILE", file=sys.stderr)
            return 2
        sys.stdout.write(data.decode())
    else:
        Path(args.out).write_bytes(data)
        checked = (
            "" if manifest.schema() else " (schema not installed: npm ci in tools/manifest-schema)"
        )
        print(f"wrote {args.out}: valid{checked}; {how}", file=sys.stderr)
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    """Create or update the app registration through Graph, then print the settings."""
    from . import register

    public_url = args.public_url.rstrip("/")
    parts = urlsplit(public_url)
    if parts.scheme != "https" or not parts.netloc or parts.path:
        print("tandem: --public-url must be an https origin such as https://host", file=sys.stderr)
        return 2
    if args.cloud not in CLOUDS:
        print(f"tandem: --cloud must be one of {', '.join(CLOUDS)}", file=sys.stderr)
        return 2
    if bool(args.certificate_key) and not args.certificate:
        print("tandem: --certificate-key goes with --certificate", file=sys.stderr)
        return 2
    target = register.Target(
        tenant=args.tenant,
        public_url=public_url,
        cloud=args.cloud,
        authority_host=args.authority_host,
        graph_url=args.graph_url,
        ca_bundle=Path(args.ca_bundle) if args.ca_bundle else None,
        scopes=tuple((args.scopes or os.environ.get("TANDEM_SCOPES") or DEFAULT_SCOPES).split()),
        name=args.name,
        multi_tenant=args.multi_tenant,
        certificate=Path(args.certificate) if args.certificate else None,
        certificate_key=Path(args.certificate_key) if args.certificate_key else None,
        new_secret=args.new_secret,
        public_client=args.public_client,
    )
    try:
        return register.run(target, env_file=Path(args.env_file) if args.env_file else None)
    except register.RegisterError as error:
        print(f"tandem: register: {error}", file=sys.stderr)
        return 1


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the deployment the environment describes, one line per check."""
    from . import doctor

    _logging(args.verbose)
    logging.getLogger("tandem").setLevel(logging.CRITICAL)  # the report says it all
    return doctor.run(token=args.token)


def _positive(text: str) -> int:
    """An argparse type: a whole number above zero."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above zero")
    return int(text)


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
    serve.add_argument(
        "--cert", help="PEM certificate chain for TLS (default TANDEM_TLS_CERT, else the dev one)"
    )
    serve.add_argument("--key", help="PEM key of --cert (default TANDEM_TLS_KEY)")
    serve.add_argument("--certs", default=str(DEFAULT_CERTS), help="the development certificates")
    serve.add_argument(
        "--workers",
        type=_positive,
        help=f"processes (default {SHARED_DEFAULT_WORKERS} with TANDEM_REDIS_URL, else 1: "
        "several need Redis to share locks, slots and the token cache)",
    )
    serve.add_argument("--threads", type=_positive, default=8, help="threads per worker")
    serve.add_argument(
        "--graceful-timeout",
        type=_positive,
        help="seconds in-flight requests get to finish after SIGTERM (default and least: the "
        "longest request, 8 x TANDEM_HTTP_TIMEOUT + 5)",
    )
    serve.add_argument(
        "--public",
        action="store_true",
        help="allow listening beyond loopback (with --cert/--key, or behind a TLS proxy)",
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

    man = sub.add_parser("manifest", help="render and check the add-in's manifests")
    man.add_argument("--client-id")
    man.add_argument("--public-url")
    man.add_argument(
        "--format",
        choices=["xml", "json", "zip"],
        default="xml",
        help="xml (add-in only manifest), json (unified manifest) or zip (its app package)",
    )
    man.add_argument("--scopes", help="space-separated Graph scopes (default TANDEM_SCOPES)")
    man.add_argument("--out", default="-", help="file to write, or - for standard output")
    man.set_defaults(func=cmd_manifest)
    reg = sub.add_parser(
        "register", help="create or update the app registration (device-code sign-in)"
    )
    reg.add_argument("--tenant", required=True, help="tenant id or domain to register in")
    reg.add_argument("--public-url", required=True, help="where the backend serves the pane")
    reg.add_argument("--cloud", default="public", help="public, usgov, usgov-dod or china")
    reg.add_argument("--authority-host", help="Entra ID host[:port] (default: the cloud's)")
    reg.add_argument("--graph-url", help="Graph base URL with the version (default: the cloud's)")
    reg.add_argument("--ca-bundle", help="an extra CA trusted for Entra ID and Graph")
    reg.add_argument("--scopes", help="delegated Graph scopes (default TANDEM_SCOPES)")
    reg.add_argument("--name", default="Tandem", help="the registration's display name")
    reg.add_argument(
        "--multi-tenant", action="store_true", help="accounts in any organisation's directory"
    )
    reg.add_argument("--certificate", help="PEM certificate to upload instead of a secret")
    reg.add_argument("--certificate-key", help="its key, for the printed TANDEM_CLIENT_KEY")
    reg.add_argument("--new-secret", action="store_true", help="add a secret even if one is there")
    reg.add_argument(
        "--public-client",
        default="14d82eec-204b-4c2f-b7e8-296a70dab67e",
        help="the public client to sign in with (default: Microsoft Graph Command Line Tools)",
    )
    reg.add_argument("--env-file", help="also write the settings to this file (mode 0600)")
    reg.set_defaults(func=cmd_register)

    doc = sub.add_parser("doctor", help="check settings, certificates, manifests, Entra, Graph")
    doc.add_argument("--token", help="an SSO token to validate and exchange on-behalf-of")
    doc.set_defaults(func=cmd_doctor)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tandem` console script."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ModuleNotFoundError as error:
        if error.name != "backend.emulator":
            raise
        # The wheel leaves the emulator out (it issues tokens for anyone): see the README.
        print(
            "tandem: the emulator is not installed: it is test and demo equipment, run it "
            "from a checkout (pip install -e .)",
            file=sys.stderr,
        )
        return 2
    except ConfigError as error:
        print(f"tandem: configuration error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"tandem: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
