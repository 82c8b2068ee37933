"""Extract the part of Microsoft Graph's v1.0 CSDL that the emulator serves, as JSON.

    python tools/graph-schema/extract.py [path/to/v1.0-metadata.xml]

reads Microsoft's published metadata (default: the copy committed beside this script,
v1.0-metadata.xml.gz, unchanged but compressed; MIT licence, LICENSE-msgraph-metadata) and writes
backend/tandem_mailbox/emulator/schema/graph-v1.0-mail.json: the types the emulator answers
with (message, event, mailFolder, the convertIdResult of translateExchangeIds, and the
directory's appRoleAssignment and appRole), every complex and enum type they reach, with
inherited properties flattened in, and the parameter lists of the actions the emulator
serves. The JSON is committed; this script regenerates it when the CSDL is updated
(tests/emulator/test_graph_schema.py checks that it is current).

What the CSDL cannot say is kept in SELECT_ONLY: members Graph returns only when `$select`
names them (the message and event resource pages of the v1.0 API reference).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_SOURCE = HERE / "v1.0-metadata.xml.gz"
TARGET = ROOT / "backend" / "tandem_mailbox" / "emulator" / "schema" / "graph-v1.0-mail.json"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"

ENTITY_TYPES = ("message", "event", "mailFolder", "appRoleAssignment")
COMPLEX_ROOTS = ("convertIdResult", "appRole")
# (binding type, action): the actions the emulator serves.
ACTIONS = (
    ("message", "move"),
    ("message", "copy"),
    ("message", "createReply"),
    ("message", "createReplyAll"),
    ("message", "createForward"),
    ("message", "reply"),
    ("message", "replyAll"),
    ("message", "forward"),
    ("message", "send"),
    ("event", "accept"),
    ("event", "tentativelyAccept"),
    ("event", "decline"),
    ("user", "sendMail"),
    ("user", "translateExchangeIds"),
)
# Returned only when $select names them: message's uniqueBody ("not returned by default") and
# internetMessageHeaders ("returned only on applying a $select query option"), event's
# cancelledOccurrences ("returned only on $select") — learn.microsoft.com/graph/api/resources/
# message and .../resources/event.
SELECT_ONLY = {
    "message": ["internetMessageHeaders", "uniqueBody"],
    "event": ["cancelledOccurrences"],
    "mailFolder": [],
    "appRoleAssignment": [],
}


def _short(type_name: str) -> tuple[str, bool]:
    """('recipient', True) for 'Collection(graph.recipient)'."""
    collection = type_name.startswith("Collection(")
    inner = type_name[len("Collection(") : -1] if collection else type_name
    return inner.removeprefix("graph.").removeprefix("microsoft.graph."), collection


def metadata(source: Path) -> bytes:
    """The CSDL's bytes, from the XML file or its gzip."""
    data = source.read_bytes()
    return gzip.decompress(data) if source.suffix == ".gz" else data


class Csdl:
    """The schema's types by name."""

    def __init__(self, path: Path):
        root = ET.fromstring(metadata(path))  # noqa: S314 - Microsoft's own file
        schema = root.find(f"{EDMX}DataServices/{EDM}Schema")
        assert schema is not None, "no Schema in the CSDL"
        self.schema = schema
        self.types: dict[str, ET.Element] = {}
        for kind in ("EntityType", "ComplexType", "EnumType"):
            for element in schema.findall(f"{EDM}{kind}"):
                self.types[element.get("Name", "")] = element

    def kind(self, name: str) -> str:
        """EntityType, ComplexType, EnumType or Edm."""
        element = self.types.get(name)
        return "Edm" if element is None else element.tag.removeprefix(EDM)

    def properties(self, name: str) -> dict[str, dict[str, Any]]:
        """Structural properties, inherited ones first."""
        element = self.types[name]
        found: dict[str, dict[str, Any]] = {}
        base = element.get("BaseType")
        if base:
            found.update(self.properties(_short(base)[0]))
        for prop in element.findall(f"{EDM}Property"):
            inner, collection = _short(prop.get("Type", ""))
            found[prop.get("Name", "")] = {
                "type": inner,
                "collection": collection,
                "nullable": prop.get("Nullable", "true") != "false",
            }
        return found

    def navigation(self, name: str) -> list[str]:
        """Navigation property names, inherited ones too."""
        element = self.types[name]
        base = element.get("BaseType")
        names = self.navigation(_short(base)[0]) if base else []
        return names + [n.get("Name", "") for n in element.findall(f"{EDM}NavigationProperty")]

    def derived(self, name: str) -> list[str]:
        """Types whose BaseType is this one (a location may be sent as its subtype)."""
        return sorted(
            n
            for n, e in self.types.items()
            if e.get("BaseType") and _short(e.get("BaseType", ""))[0] == name
        )

    def action(self, binding: str, name: str) -> dict[str, Any]:
        """The action's parameters (without the binding parameter) and return type."""
        for element in self.schema.findall(f"{EDM}Action"):
            if element.get("Name") != name:
                continue
            params = element.findall(f"{EDM}Parameter")
            if not params or _short(params[0].get("Type", ""))[0] != binding:
                continue
            returns = element.find(f"{EDM}ReturnType")
            parameters = {}
            for p in params[1:]:
                inner, collection = _short(p.get("Type", ""))
                parameters[p.get("Name", "")] = {
                    "type": inner,
                    "collection": collection,
                    "nullable": p.get("Nullable", "true") != "false",
                }
            return {
                "parameters": parameters,
                "returns": _short(returns.get("Type", ""))[0] if returns is not None else None,
            }
        raise SystemExit(f"no action {name} bound to {binding} in the CSDL")


def extract(source: Path) -> dict[str, Any]:
    """The subset, as the JSON document written to TARGET."""
    csdl = Csdl(source)
    out: dict[str, Any] = {
        "source": {
            "file": "v1.0-metadata.xml",
            "repository": "microsoftgraph/msgraph-metadata (clean_v10_metadata/cleanMetadata.xml)",
            "sha256": hashlib.sha256(metadata(source)).hexdigest(),
            "licence": "MIT, Copyright (c) 2018 Microsoft Graph; see LICENSE beside this file",
            "generatedBy": "tools/graph-schema/extract.py",
        },
        "entityTypes": {},
        "complexTypes": {},
        "enumTypes": {},
        "actions": {},
    }
    pending = [*ENTITY_TYPES, *COMPLEX_ROOTS]
    for binding, name in ACTIONS:
        action = csdl.action(binding, name)
        out["actions"][f"{binding}.{name}"] = action
        pending += [p["type"] for p in action["parameters"].values()]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name.startswith("Edm."):
            continue
        seen.add(name)
        kind = csdl.kind(name)
        if kind == "EnumType":
            members = [m.get("Name", "") for m in csdl.types[name].findall(f"{EDM}Member")]
            out["enumTypes"][name] = members
            continue
        if kind == "Edm":
            raise SystemExit(f"unknown type {name}")
        props = csdl.properties(name)
        entry: dict[str, Any] = {"properties": props}
        if csdl.types[name].get("BaseType"):
            entry["baseType"] = _short(csdl.types[name].get("BaseType", ""))[0]
        if kind == "EntityType":
            if name not in ENTITY_TYPES:
                continue  # an entity reached through a parameter (user): not served here
            entry["navigation"] = csdl.navigation(name)
            entry["selectOnly"] = SELECT_ONLY[name]
            out["entityTypes"][name] = entry
        else:
            derived = csdl.derived(name)
            if derived:
                entry["derived"] = derived
                pending += derived
            out["complexTypes"][name] = entry
        pending += [p["type"] for p in props.values()]
    for table in ("entityTypes", "complexTypes", "enumTypes"):
        out[table] = dict(sorted(out[table].items()))
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the JSON subset; answers 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    text = json.dumps(extract(args.source), indent=1, sort_keys=False) + "\n"
    if args.check:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
