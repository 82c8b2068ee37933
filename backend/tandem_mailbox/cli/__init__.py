"""tandem: run the demo, serve the add-in, make development certificates, render the
manifests, register the app with Entra ID, and check a deployment."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from tandem_mailbox import certs, manifest
from tandem_mailbox.cli.common import DEFAULT_CERTS, positive
from tandem_mailbox.config import DEFAULT_SCOPES, ConfigError


def _command(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command that lives in cli/<module>.py, imported when it runs (the demo's module
    imports the emulator, which an installed package doesn't have)."""

    def run(args: argparse.Namespace) -> int:
        found: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module(f"tandem_mailbox.cli.{module}"), name
        )
        return found(args)

    return run


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


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Bring the team's record's database to the schema this version of Tandem knows."""
    from tandem_mailbox.config import Settings
    from tandem_mailbox.store import Store

    settings = Settings.load()
    store = Store(settings.database_url)
    try:
        before = store.revision()
        store.upgrade()
        after = store.revision()
    finally:
        store.dispose()
    where = "SQLite" if store.embedded else "PostgreSQL"
    if before == after:
        print(f"the {where} database is current (schema {after})")
    else:
        print(f"the {where} database went from schema {before or 'none'} to {after}")
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


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(
        prog="tandem",
        description="Tandem: Outlook's shared mailboxes and delegate folders, as yourself.",
        epilog="Run `tandem COMMAND --help` for a command's options.",
    )
    top.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    certs_help = "where the development CA and localhost certificate are (default: certs)"

    demo = sub.add_parser(
        "demo",
        help="the emulator and the backend wired to it",
        description="Run the emulator of Entra ID and Graph, and the backend wired to it, over "
        "HTTPS on this machine; open the printed address to use the task pane inside the "
        "Office host simulator. Runs from a checkout (pip install -e .).",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    demo.add_argument(
        "--port", type=int, default=3000, help="the backend's port (0 picks a free one)"
    )
    demo.add_argument(
        "--emulator-port", type=int, default=3001, help="the emulator's port (0 picks a free one)"
    )
    demo.add_argument("--certs", default=str(DEFAULT_CERTS), help=certs_help + "; made if missing")
    demo.set_defaults(func=_command("demo", "cmd_demo"))

    serve = sub.add_parser(
        "serve",
        help="the backend alone, configured from the environment",
        description="Run the backend under gunicorn, configured from the TANDEM_* environment "
        "variables (and a .env file). Several workers share their state through "
        "TANDEM_REDIS_URL. SIGTERM or Ctrl+C stops it gracefully.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (beyond loopback: --public)"
    )
    serve.add_argument("--port", type=int, default=3000, help="port to listen on")
    serve.add_argument(
        "--cert", help="PEM certificate chain for TLS (default TANDEM_TLS_CERT, else the dev one)"
    )
    serve.add_argument("--key", help="PEM key of --cert (default TANDEM_TLS_KEY)")
    serve.add_argument(
        "--certs",
        default=str(DEFAULT_CERTS),
        help="where the development certificate is, used on loopback without --cert",
    )
    serve.add_argument(
        "--workers",
        type=positive,
        help="processes (default 2 with TANDEM_REDIS_URL, else 1: "
        "several need Redis to share locks, slots and the token cache)",
    )
    serve.add_argument("--threads", type=positive, default=8, help="threads per worker")
    serve.add_argument(
        "--graceful-timeout",
        type=positive,
        help="seconds in-flight requests get to finish after SIGTERM (default and least: the "
        "longest request, 8 x TANDEM_HTTP_TIMEOUT + 5)",
    )
    serve.add_argument(
        "--public",
        action="store_true",
        help="allow listening beyond loopback (with --cert/--key, or behind a TLS proxy)",
    )
    serve.set_defaults(func=_command("gunicorn", "cmd_serve"))

    emulator = sub.add_parser(
        "emulator",
        help="the emulator alone",
        description="Run the emulator of Entra ID and Graph alone, over HTTPS on this machine, "
        "and print the TANDEM_* settings that wire a backend to it. Runs from a checkout "
        "(pip install -e .).",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    emulator.add_argument(
        "--port", type=int, default=3001, help="port to listen on (0 picks a free one)"
    )
    emulator.add_argument(
        "--public-url",
        default="https://localhost:3000",
        help="the backend's public URL (the audience of v1 SSO tokens)",
    )
    emulator.add_argument(
        "--certs", default=str(DEFAULT_CERTS), help=certs_help + "; made if missing"
    )
    emulator.set_defaults(func=_command("demo", "cmd_emulator"))

    cert_cmd = sub.add_parser(
        "certs",
        help="create the development CA and localhost certificate",
        description="Create (or renew) the development CA and the localhost certificate, and "
        "print how to trust the CA on Windows, macOS and Linux. Running it again changes "
        "nothing while they are valid.",
    )
    cert_cmd.add_argument(
        "--dir", default=str(DEFAULT_CERTS), help="where to write them (default: certs)"
    )
    cert_cmd.set_defaults(func=cmd_certs)

    man = sub.add_parser(
        "manifest",
        help="render and check the add-in's manifests",
        description="Render the add-in's XML manifest, its unified manifest or the unified "
        "manifest's app package for one deployment, after checking both manifests, for "
        "sideloading or deploying the add-in.",
    )
    man.add_argument("--client-id", help="the app's client id (default TANDEM_CLIENT_ID)")
    man.add_argument(
        "--public-url",
        help="where the backend serves the pane (default TANDEM_PUBLIC_URL, else "
        "https://localhost:3000)",
    )
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
        "register",
        help="create or update the app registration (device-code sign-in)",
        description="Create or update the add-in's app registration in a tenant through "
        "Microsoft Graph, after an administrator signs in with a device code, with the app "
        "role Tandem.Admin; then print the TANDEM_* settings, the admin-consent URL and how "
        "to assign Tandem.Admin. A second run changes nothing.",
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
    reg.set_defaults(func=_command("register", "cmd_register"))

    db = sub.add_parser(
        "db",
        help="the team's record: its database",
        description="The database of the team's record (TANDEM_DATABASE_URL; SQLite under "
        "TANDEM_DATA_DIR by default, which upgrades itself).",
    )
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_sub.add_parser(
        "upgrade",
        help="apply the database's migrations",
        description="Bring the database to the schema this version of Tandem knows "
        "(PostgreSQL: run it before starting a new version; tandem serve refuses a schema "
        "that is behind).",
    )
    upgrade.set_defaults(func=cmd_db_upgrade)

    doc = sub.add_parser(
        "doctor",
        help="check settings, certificates, manifests, Entra, Graph",
        description="Check a deployment with the settings tandem serve would use: the "
        "settings, certificates, both manifests, Entra ID and the client credential, Graph, "
        "Redis when TANDEM_REDIS_URL is set, and the database. One line per check, each "
        "failure with its fix; exit status 1 on any failure.",
    )
    doc.add_argument("--token", help="an SSO token to validate and exchange on-behalf-of")
    doc.set_defaults(func=_command("doctor", "cmd_doctor"))
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tandem` console script."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ModuleNotFoundError as error:
        if error.name != "tandem_mailbox.emulator":
            raise
        # The wheel leaves the emulator out (it issues tokens for anyone): docs/deployment.md.
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
