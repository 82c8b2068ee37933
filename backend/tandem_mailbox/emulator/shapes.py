"""Graph's own shapes, read from the v1.0 CSDL subset in schema/graph-v1.0-mail.json.

The emulator renders entities by it (every member of the type present, `null` where unset,
except those Graph returns only on `$select`) and reads bound actions' parameters by it:
Graph's metadata names them `DestinationId`, `Comment`, `Message`, ... and Graph matches them
case-insensitively (Microsoft's SDKs send `DestinationId`, its documentation `destinationId`).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).resolve().parent / "schema" / "graph-v1.0-mail.json"


@functools.cache
def schema() -> dict[str, Any]:
    """The CSDL subset (see schema/README.md)."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def properties(type_name: str) -> dict[str, dict[str, Any]]:
    """The structural properties of an entity or complex type, inherited ones included."""
    s = schema()
    entry = s["entityTypes"].get(type_name) or s["complexTypes"][type_name]
    return entry["properties"]


def default_members(type_name: str) -> list[str]:
    """What a full answer holds: every property but the ones Graph returns only on $select."""
    entry = schema()["entityTypes"][type_name]
    return [name for name in entry["properties"] if name not in entry["selectOnly"]]


def unset(type_name: str, name: str) -> Any:
    """The value Graph shows for an unset member: [] for a collection, else null."""
    return [] if properties(type_name)[name]["collection"] else None


def parameters(binding: str, action: str) -> dict[str, dict[str, Any]]:
    """The action's parameters by their CSDL names (`DestinationId`, ...)."""
    return schema()["actions"][f"{binding}.{action}"]["parameters"]


def camel(name: str) -> str:
    """`DestinationId` -> `destinationId`: the spelling Graph's documentation uses."""
    return name[:1].lower() + name[1:]
