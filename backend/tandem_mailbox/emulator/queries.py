"""List queries on messages as Exchange answers them: `$filter`, `$orderby` and their refusals.

`$filter` reads the OData subset Exchange evaluates for messages and a team's views need:
comparisons (`eq ne gt ge lt le`) of a member path with a literal (string, true/false, null,
a number, a DateTimeOffset), `categories/any(c:c eq '…')`, `and`, `or`, `not` and brackets.
A filter that does not parse is 400 BadRequest "Invalid filter clause" (OData's parser); one
that parses but names what Exchange cannot filter on (a member Graph's message lacks,
`toRecipients/any(…)`, a function) is 400 ErrorInvalidUrlQueryFilter "The query filter
contains one or more invalid nodes." (reported of Graph, microsoftgraph/
microsoft-graph-explorer-v4#3957).

With both `$filter` and `$orderby`, Exchange refuses (400 InefficientFilter, "The restriction
or sort order is too complex for this operation.") unless every `$orderby` property appears
in `$filter`, in the same order, before any other property ("Update to Filtering and Sorting
in the Mail, Calendar and Contacts REST API", devblogs.microsoft.com/microsoft365dev/
update-to-filtering-and-sorting-rest-api; the message-list page's "Using filter and orderby in
the same query").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tandem_mailbox.emulator.exchange import ExchangeError

# The member paths Exchange filters and sorts messages on (those a team's views use).
FILTERABLE = {
    "isRead": "bool",
    "isDraft": "bool",
    "hasAttachments": "bool",
    "receivedDateTime": "time",
    "sentDateTime": "time",
    "createdDateTime": "time",
    "lastModifiedDateTime": "time",
    "from/emailAddress/address": "text",
    "from/emailAddress/name": "text",
    "sender/emailAddress/address": "text",
    "sender/emailAddress/name": "text",
    "subject": "text",
    "conversationId": "id",
    "internetMessageId": "id",
    "parentFolderId": "id",
    "flag/flagStatus": "enum",
    "importance": "enum",
    "inferenceClassification": "enum",
    "categories": "categories",  # through categories/any(c:c eq '…') only
}
SORTABLE = {
    "receivedDateTime",
    "sentDateTime",
    "createdDateTime",
    "lastModifiedDateTime",
    "subject",
    "from/emailAddress/address",
    "from/emailAddress/name",
    "importance",
    "isRead",
    "hasAttachments",
    "flag/flagStatus",
    "conversationId",
}
TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?"
    r"(?:Z|[+-]\d\d:\d\d))|(?P<number>-?\d+(?:\.\d+)?)|(?P<punct>[(),:])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*(?:/any)?))"
)
OPERATORS = {"eq", "ne", "gt", "ge", "lt", "le"}


def invalid_clause(detail: str) -> ExchangeError:
    """400 BadRequest: OData's parser could not read the filter."""
    return ExchangeError(400, "BadRequest", f"Invalid filter clause: {detail}")


def invalid_nodes() -> ExchangeError:
    """400 ErrorInvalidUrlQueryFilter: parsed, but not something Exchange can filter on."""
    return ExchangeError(
        400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
    )


def too_complex() -> ExchangeError:
    """400 InefficientFilter: the $filter and $orderby combination Exchange refuses."""
    return ExchangeError(
        400, "InefficientFilter", "The restriction or sort order is too complex for this operation."
    )


Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class Filter:
    """A parsed $filter: the test, and the member paths in the order they appear."""

    test: Predicate
    paths: list[str]


def _tokens(text: str) -> list[tuple[str, str]]:
    found, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise invalid_clause(f"syntax error at position {at} in '{text}'.")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        at = match.end()
    return found


def value_at(data: dict[str, Any], path: str) -> Any:
    """The value of a member path (`from/emailAddress/address`) of a message's data."""
    value: Any = data
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _literal(kind: str, raw: str) -> tuple[str, Any]:
    if kind == "string":
        return "string", raw[1:-1].replace("''", "'")
    if kind == "time":
        return "time", dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if kind == "number":
        return "number", float(raw)
    if kind == "word" and raw in ("true", "false"):
        return "bool", raw == "true"
    if kind == "word" and raw == "null":
        return "null", None
    raise invalid_clause(f"'{raw}' is not a literal.")


def _comparable(member: str, value: Any) -> Any:
    """A member's value as it compares: times as datetimes, text case-insensitively."""
    if value is None:
        return None
    if member == "time":
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if member in ("text", "enum"):
        return str(value).lower()
    return value


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0
        self.paths: list[str] = []

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise invalid_clause(f"expected '{value or 'more'}' in '{self.text}'.")
        self.at += 1
        return token

    def parse(self) -> Filter:
        test = self.or_()
        if self.peek() is not None:
            raise invalid_clause(f"unexpected '{self.peek()[1]}' in '{self.text}'.")  # type: ignore[index]
        return Filter(test, self.paths)

    def or_(self) -> Predicate:
        left = self.and_()
        while self.peek() == ("word", "or"):
            self.take()
            left = _either(left, self.and_())
        return left

    def and_(self) -> Predicate:
        left = self.unary()
        while self.peek() == ("word", "and"):
            self.take()
            left = _both(left, self.unary())
        return left

    def unary(self) -> Predicate:
        if self.peek() == ("word", "not"):
            self.take()
            inner = self.unary()
            return lambda d: not inner(d)
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.or_()
            self.take(")")
            return inner
        return self.comparison()

    def _note(self, path: str) -> None:
        if path not in self.paths:
            self.paths.append(path)

    def comparison(self) -> Predicate:
        kind, word = self.take()
        if kind != "word":
            raise invalid_clause(f"'{word}' cannot start a clause in '{self.text}'.")
        if word.endswith("/any"):
            return self.any_(word[: -len("/any")])
        if self.peek() == ("punct", "("):
            self.skip_call()
            raise invalid_nodes()  # startswith(), contains(), ...: not on messages here
        op = self.take()[1]
        if op not in OPERATORS:
            raise invalid_clause(f"'{op}' is not an operator in '{self.text}'.")
        lit_kind, literal = _literal(*self.take())
        member = FILTERABLE.get(word)
        if member is None or member == "categories":
            raise invalid_nodes()
        self._note(word)
        if lit_kind != "null":
            expected = {"bool": "bool", "time": "time"}.get(member, "string")
            if lit_kind != expected:
                raise ExchangeError(
                    400,
                    "BadRequest",
                    "A binary operator with incompatible types was detected. Found operand "
                    f"types for '{word}' and a {lit_kind} literal for operator kind '{op}'.",
                )
        target = _comparable(member, literal) if lit_kind != "time" else literal
        if lit_kind == "string" and member in ("text", "enum"):
            target = str(literal).lower()

        def test(data: dict[str, Any]) -> bool:
            value = _comparable(member, value_at(data, word))
            if op in ("eq", "ne"):
                return (value == target) == (op == "eq")
            if value is None or target is None:
                return False
            return {
                "gt": value > target,
                "ge": value >= target,
                "lt": value < target,
                "le": value <= target,
            }[op]

        return test

    def skip_call(self) -> None:
        depth = 0
        while self.peek() is not None:
            token = self.take()
            if token == ("punct", "("):
                depth += 1
            elif token == ("punct", ")"):
                depth -= 1
                if depth == 0:
                    return

    def any_(self, path: str) -> Predicate:
        """categories/any(c:c eq 'Name'): Exchange's one lambda on messages here."""
        self.take("(")
        var = self.take()[1]
        self.take(":")
        _, subject = self.take()
        op = self.take()[1]
        lit_kind, literal = _literal(*self.take())
        self.take(")")
        if path != "categories" or subject != var or op != "eq" or lit_kind != "string":
            raise invalid_nodes()  # toRecipients/any(...) and the like
        self._note("categories")
        wanted = str(literal).lower()
        return lambda d: any(str(c).lower() == wanted for c in d.get("categories") or [])


def parse_filter(text: str) -> Filter:
    """A $filter expression, or 400 as Graph answers an unreadable or unsupported one."""
    return _Parser(text).parse()


def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """[(path, descending)] of an $orderby; 400 for a member Exchange cannot sort on."""
    order: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise ExchangeError(400, "BadRequest", f"Invalid $orderby clause: '{text}'.")
        if words[0] not in SORTABLE:
            raise ExchangeError(
                400,
                "ErrorInvalidUrlQuery",
                f"The '$orderby' parameter value is not supported for 'Messages' resource: "
                f"'{words[0]}'.",
            )
        order.append((words[0], len(words) == 2 and words[1] == "desc"))
    return order


def check_combination(query: Filter | None, order: list[tuple[str, bool]]) -> None:
    """InefficientFilter unless the $orderby properties lead the $filter's, in order."""
    if query is None or not order:
        return
    if query.paths[: len(order)] != [path for path, _ in order]:
        raise too_complex()


def sort(items: list[Any], order: list[tuple[str, bool]], data: Callable[[Any], dict]) -> None:
    """Sort in place by the $orderby keys (unset values first ascending, as Exchange does),
    then newest received first."""
    items.sort(key=lambda i: str(data(i).get("receivedDateTime") or ""), reverse=True)
    for path, descending in reversed(order):
        member = FILTERABLE.get(path, "text")

        def key(item: Any, path: str = path, member: str = member) -> tuple[int, Any]:
            value = _comparable(member, value_at(data(item), path))
            return (0, "") if value is None else (1, value)

        items.sort(key=key, reverse=descending)


def _either(a: Predicate, b: Predicate) -> Predicate:
    """`a or b`."""
    return lambda d: a(d) or b(d)


def _both(a: Predicate, b: Predicate) -> Predicate:
    """`a and b`."""
    return lambda d: a(d) and b(d)
