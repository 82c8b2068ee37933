"""Logging that never carries a token or secret, and one structured event per action."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

# A JWT (three base64url parts, the first two starting with '{"' encoded), or a bearer value.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_SECRET_FIELDS = re.compile(
    r"(?i)((?:client_secret|client_assertion|assertion|access_token|refresh_token|id_token|"
    r"password)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
)

log = logging.getLogger("tandem.audit")


def redact(text: str) -> str:
    """The text with anything that looks like a token or secret replaced."""
    text = _JWT.sub("[token]", text)
    text = _BEARER.sub(r"\1[token]", text)
    return _SECRET_FIELDS.sub(r"\1[redacted]", text)


_secrets: set[str] = set()
_installed = False


def _scrub(text: str) -> str:
    text = redact(text)
    for secret in _secrets:
        text = text.replace(secret, "[secret]")
    return text


def install(secrets: list[str] | None = None) -> None:
    """Redact every log record of the process when it is made, whichever logger makes it.

    A record factory (rather than a handler filter) also covers records of MSAL, urllib3 and
    werkzeug, and handlers added later, such as pytest's.
    """
    global _installed
    _secrets.update(s for s in (secrets or []) if s and len(s) >= 8)
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = _scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _scrub(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def event(action: str, **fields: Any) -> None:
    """One structured audit line for an action taken as a person."""
    log.info("%s", json.dumps({"event": action, **fields}, sort_keys=True, default=str))
