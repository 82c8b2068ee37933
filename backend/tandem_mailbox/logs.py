"""Logging that never carries a token or secret: redaction, and the JSON and text formats.

Lines are JSON under `tandem serve` (the layout python-json-logger gives, written here in one
`json.dumps`), text for humans in the demo (`TANDEM_LOG_FORMAT`). Every line is redacted once:
the record's message (and its traceback) when the record is made, by the record factory
`install` sets, which covers every logger and every handler; its structured fields (the
record's `extra`, added after the factory ran) by the formatter, so not even a field can carry
a token. A record the factory didn't make is redacted whole by the formatter.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

# A JWT (three base64url parts, the first two starting with '{"' encoded), or a bearer value.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_SECRET_FIELDS = re.compile(
    r"(?i)((?:client_secret|client_assertion|assertion|access_token|refresh_token|id_token|"
    r"password)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
)

# Every name _SECRET_FIELDS knows holds one of these words.
_SECRET_WORDS = ("secret", "assertion", "token", "password")


def redact(text: str) -> str:
    """The text with anything that looks like a token or secret replaced.

    Every log line passes here twice, so the regexes run only on text that holds what they
    look for: an ASCII line without "eyJ", "bearer" or a secret field's word can't match them
    (a line with other characters gets every regex: case-insensitive matching knows more
    than `str.lower`, the Kelvin sign for a k among them).
    """
    if text.isascii():
        low = text.lower()
        if "eyJ" in text:
            text = _JWT.sub("[token]", text)
        if "bearer" in low:
            text = _BEARER.sub(r"\1[token]", text)
        if any(word in low for word in _SECRET_WORDS):
            text = _SECRET_FIELDS.sub(r"\1[redacted]", text)
        return text
    return _redact_all(text)


def _redact_all(text: str) -> str:
    text = _JWT.sub("[token]", text)
    text = _BEARER.sub(r"\1[token]", text)
    return _SECRET_FIELDS.sub(r"\1[redacted]", text)


_secrets: set[str] = set()
_installed = False
_REDACTED = "_tandem_redacted"  # set on a record whose message the factory redacted


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
            record.exc_text = _scrub(_EXCEPTIONS.formatException(record.exc_info))
        setattr(record, _REDACTED, True)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


_EXCEPTIONS = logging.Formatter()  # formats a record's traceback (stateless)

# The record attributes every LogRecord has; anything else on a record came in through `extra`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record was given through `extra`."""
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


def _redacted(record: logging.LogRecord) -> bool:
    """Whether the factory redacted the record's message and traceback when it was made."""
    return bool(getattr(record, _REDACTED, False))


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the traceback (`exc_info`) and
    the record's fields."""

    def __init__(self) -> None:
        super().__init__()

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line, redacted (each part once)."""
        done = _redacted(record)
        message = record.getMessage()
        head = json.dumps(
            {
                "time": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": message if done else redact(message),
            }
        )
        rest = fields_of(record)
        if record.exc_info or record.exc_text:
            # The factory's redacted text when it made the record; else formatted (and
            # redacted with the fields below).
            rest["exc_info"] = (record.exc_text if done else None) or self.formatException(
                record.exc_info  # type: ignore[arg-type]
            )
        if record.stack_info:
            rest["stack_info"] = self.formatStack(record.stack_info)
        if not rest:
            return head
        return head[:-1] + ", " + redact(json.dumps(rest, default=str))[1:]


class TextLines(logging.Formatter):
    """A line for humans: the message, then the record's fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The message on one line: a line break in it (text from a request) can't start a
        line of its own that reads as another record."""
        record.message = record.message.replace("\r", "\\r").replace("\n", "\\n")
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        """The text line, redacted (each part once)."""
        line = super().format(record)
        if not _redacted(record):
            line = redact(line)
        extra = fields_of(record)
        if extra:
            line += " " + redact(
                " ".join(
                    f"{k}={json.dumps(v, default=str, separators=(',', ':'))}"
                    for k, v in extra.items()
                )
            )
        return line


def configure(fmt: str = "text", *, level: int = logging.INFO) -> None:
    """Send the process's logs to stderr as JSON lines or text, redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else TextLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    install()
