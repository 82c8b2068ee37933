"""Graph's own schema (the CSDL subset the emulator carries) as a checker of JSON answers."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from typing import Any

from tandem_mailbox.emulator.shapes import SCHEMA_FILE

SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(Z|[+-]\d\d:\d\d)")
EDM_CHECKS = {
    "Edm.String": lambda v: isinstance(v, str),
    "Edm.Boolean": lambda v: isinstance(v, bool),
    "Edm.Int32": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Edm.Int64": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Edm.Double": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "Edm.DateTimeOffset": lambda v: isinstance(v, str) and DATE_TIME.fullmatch(v) is not None,
    "Edm.Date": lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", v) is not None,
    "Edm.TimeOfDay": lambda v: isinstance(v, str),
    "Edm.Guid": lambda v: isinstance(v, str),
    "Edm.Binary": lambda v: isinstance(v, str) and _base64(v),
}


def _base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _properties(type_name: str) -> dict[str, dict[str, Any]]:
    entry = SCHEMA["entityTypes"].get(type_name) or SCHEMA["complexTypes"][type_name]
    return entry["properties"]


def _value(type_name: str, value: Any, where: str) -> list[str]:
    """What is wrong with one value of a type (Edm, enum or complex)."""
    if type_name.startswith("Edm."):
        check = EDM_CHECKS.get(type_name)
        assert check is not None, f"no check for {type_name}"
        return [] if check(value) else [f"{where}: {value!r} is not {type_name}"]
    if type_name in SCHEMA["enumTypes"]:
        members = SCHEMA["enumTypes"][type_name]
        # Flags enums may combine members with commas.
        if isinstance(value, str) and all(v.strip() in members for v in value.split(",")):
            return []
        return [f"{where}: {value!r} is not one of {type_name} {members}"]
    if not isinstance(value, dict):
        return [f"{where}: {value!r} is not a {type_name} object"]
    wanted = str(value.get("@odata.type", "")).removeprefix("#microsoft.graph.") or type_name
    if wanted != type_name and wanted not in SCHEMA["complexTypes"].get(type_name, {}).get(
        "derived", []
    ):
        return [f"{where}: @odata.type {wanted} is not {type_name} or derived from it"]
    return _members(wanted, value, where)


def _members(type_name: str, value: dict[str, Any], where: str) -> list[str]:
    props = _properties(type_name)
    found = []
    for name, member in value.items():
        if name.startswith("@odata.") or (name == "id" and type_name in SCHEMA["entityTypes"]):
            continue
        prop = props.get(name)
        if prop is None:
            found.append(f"{where}.{name}: graph.{type_name} has no such member")
            continue
        if member is None:
            if not prop["nullable"] or prop["collection"]:
                found.append(f"{where}.{name}: null where Graph's type never is")
            continue
        if prop["collection"]:
            if not isinstance(member, list):
                found.append(f"{where}.{name}: {member!r} is not a collection")
                continue
            for n, each in enumerate(member):
                found += _value(prop["type"], each, f"{where}.{name}[{n}]")
        else:
            found += _value(prop["type"], member, f"{where}.{name}")
    return found


def problems(type_name: str, answer: dict[str, Any], select: str | None = None) -> list[str]:
    """Everything in an entity answer that Graph's type would not give.

    No member the type lacks, the right JSON type per member; a full answer has every member
    but the select-only ones (null or [] when unset); a `$select`ed one has exactly the selected
    members, `id` and, for an Outlook item, `@odata.etag`.
    """
    entry = SCHEMA["entityTypes"][type_name]
    found = _members(type_name, answer, type_name)
    if not isinstance(answer.get("id"), str) or not answer["id"]:
        found.append(f"{type_name}.id: missing")
    members = {k for k in answer if not k.startswith("@odata.")}
    if select is None:
        expected = {"id"} | {n for n in entry["properties"] if n not in entry["selectOnly"]}
    else:
        expected = {"id"} | {s.strip() for s in select.split(",") if s.strip()}
    if members != expected:
        missing, extra = sorted(expected - members), sorted(members - expected)
        found.append(f"{type_name}: members missing {missing}, beyond the expected {extra}")
    if "changeKey" in entry["properties"] and "@odata.etag" not in answer:
        found.append(f"{type_name}: no @odata.etag")
    return found


def complex_problems(type_name: str, value: Any) -> list[str]:
    """What is wrong with a complex value (convertIdResult, ...)."""
    return _value(type_name, value, type_name)


def parse_time(value: str) -> dt.datetime:
    """An Edm.DateTimeOffset as a datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
