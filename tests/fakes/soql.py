"""A small real SOQL engine for the Salesforce fake: tokenizer, recursive-descent parser, evaluator.

Supported subset: ``SELECT f1, Rel.f2 FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC]
[NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`` where ``cond`` combines comparisons
(= != <> < <= > >=), ``[NOT] IN (...)``, ``LIKE`` and ``NOT`` with AND / OR and parentheses.
Like real SOQL, mixing AND and OR without parentheses is a MALFORMED_QUERY. Literals: strings
with SOQL escapes, numbers, true/false/null, date (``2026-11-23``) and datetime
(``2026-11-23T10:00:00Z`` / ``+00:00``) literals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


class SoqlError(ValueError):
    """A query Salesforce would reject; ``code`` is the REST errorCode."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code


TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
   |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
   |(?P<date>\d{4}-\d{2}-\d{2})
   |(?P<number>-?\d+(?:\.\d+)?)
   |(?P<string>'(?:[^'\\]|\\.)*')
   |(?P<op><=|>=|!=|<>|=|<|>)
   |(?P<punct>[(),])
   |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC"}
    | {"NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL"}
)
ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
LIKE_ESCAPES = {"%": "\\%", "_": "\\_"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: Any
    text: str


def tokenize(soql: str) -> list[Token]:
    """Split ``soql`` into tokens; anything unrecognised is a MALFORMED_QUERY."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        match = TOKEN_RE.match(soql, pos)
        if match is None:
            raise SoqlError(f"unexpected character at position {pos}: {soql[pos : pos + 10]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "ws":
            continue
        tokens.append(Token(kind, _literal(kind, text), text))
    return tokens


def _literal(kind: str, text: str) -> Any:
    if kind == "datetime":
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return value.astimezone(UTC)
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "number":
        return float(text) if "." in text else int(text)
    if kind == "string":
        return _unescape(text[1:-1])
    if kind == "ident" and text.upper() in KEYWORDS:
        return text.upper()
    return text


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt in ESCAPES:
                out.append(ESCAPES[nxt])
            elif nxt in LIKE_ESCAPES:
                out.append(LIKE_ESCAPES[nxt])  # kept escaped; only LIKE reads it
            else:
                raise SoqlError(f"invalid escape sequence \\{nxt}")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# AST -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class InList:
    field: str
    values: tuple[Any, ...]
    negate: bool


@dataclass(frozen=True, slots=True)
class Like:
    field: str
    pattern: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Any


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # AND / OR
    operands: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class OrderItem:
    field: str
    descending: bool = False
    nulls_last: bool = False


@dataclass(slots=True)
class Query:
    fields: list[str]
    sobject: str
    where: Any = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


class Parser:
    """Recursive-descent parser over the token list."""

    def __init__(self, soql: str) -> None:
        self.tokens = tokenize(soql)
        self.pos = 0

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        fields = [self.ident()]
        while self.accept_punct(","):
            fields.append(self.ident())
        self.expect_kw("FROM")
        query = Query(fields=fields, sobject=self.ident())
        if self.accept_kw("WHERE"):
            query.where = self.condition()
        if self.accept_kw("ORDER"):
            self.expect_kw("BY")
            query.order.append(self.order_item())
            while self.accept_punct(","):
                query.order.append(self.order_item())
        if self.accept_kw("LIMIT"):
            query.limit = self.integer()
        if self.accept_kw("OFFSET"):
            query.offset = self.integer()
        if self.pos != len(self.tokens):
            raise SoqlError(f"unexpected token: '{self.tokens[self.pos].text}'")
        return query

    # conditions: SOQL forbids mixing AND and OR at one level without parentheses
    def condition(self) -> Any:
        operands = [self.unary()]
        joiner: str | None = None
        while (
            (tok := self.peek()) is not None
            and tok.kind == "ident"
            and tok.value
            in (
                "AND",
                "OR",
            )
        ):
            if joiner is not None and tok.value != joiner:
                raise SoqlError("unexpected token: 'AND'/'OR' mixed without parentheses")
            joiner = tok.value
            self.pos += 1
            operands.append(self.unary())
        return operands[0] if joiner is None else BoolOp(joiner, tuple(operands))

    def unary(self) -> Any:
        if self.accept_kw("NOT"):
            return Not(self.unary())
        if self.accept_punct("("):
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.predicate()

    def predicate(self) -> Any:
        name = self.ident()
        tok = self.next()
        if tok.kind == "op":
            return Compare(name, "!=" if tok.value == "<>" else tok.value, self.value())
        if tok.kind == "ident" and tok.value == "LIKE":
            pattern = self.value()
            if not isinstance(pattern, str):
                raise SoqlError("LIKE needs a string")
            return Like(name, pattern)
        negate = False
        if tok.kind == "ident" and tok.value == "NOT":
            negate = True
            tok = self.next()
        if tok.kind == "ident" and tok.value == "IN":
            self.expect_punct("(")
            values = [self.value()]
            while self.accept_punct(","):
                values.append(self.value())
            self.expect_punct(")")
            return InList(name, tuple(values), negate)
        raise SoqlError(f"unexpected token: '{tok.text}'")

    def value(self) -> Any:
        tok = self.next()
        if tok.kind in ("string", "number", "date", "datetime"):
            return tok.value
        if tok.kind == "ident" and tok.value in ("TRUE", "FALSE"):
            return tok.value == "TRUE"
        if tok.kind == "ident" and tok.value == "NULL":
            return None
        raise SoqlError(f"unexpected token: '{tok.text}'")

    def order_item(self) -> OrderItem:
        name = self.ident()
        descending = False
        if self.accept_kw("DESC"):
            descending = True
        else:
            self.accept_kw("ASC")
        nulls_last = descending
        if self.accept_kw("NULLS"):
            if self.accept_kw("LAST"):
                nulls_last = True
            else:
                self.expect_kw("FIRST")
                nulls_last = False
        return OrderItem(name, descending, nulls_last)

    # token helpers
    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise SoqlError("unexpected end of query")
        self.pos += 1
        return tok

    def ident(self) -> str:
        tok = self.next()
        if tok.kind != "ident" or tok.value in KEYWORDS:
            raise SoqlError(f"unexpected token: '{tok.text}'")
        return str(tok.value)

    def integer(self) -> int:
        tok = self.next()
        if tok.kind != "number" or not isinstance(tok.value, int):
            raise SoqlError(f"expected an integer, got '{tok.text}'")
        return tok.value

    def accept_kw(self, word: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "ident" and tok.value == word:
            self.pos += 1
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.accept_kw(word):
            tok = self.peek()
            raise SoqlError(f"expected {word}, got '{tok.text if tok else 'end of query'}'")

    def accept_punct(self, char: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "punct" and tok.value == char:
            self.pos += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.accept_punct(char):
            raise SoqlError(f"expected '{char}'")


def parse(soql: str) -> Query:
    """Parse ``soql`` into a Query, raising SoqlError as Salesforce would."""
    return Parser(soql).parse()


# evaluation ----------------------------------------------------------------------------------

Getter = Callable[[str], Any]
"""Resolves a (possibly dotted) field name of one record to its value."""

TypeOf = Callable[[str], str]
"""Returns the declared type of a field (string, datetime, date, boolean, int, double)."""


def check_types(node: Any, type_of: TypeOf) -> None:
    """Reject literals whose type does not fit the field, like Salesforce does."""
    if isinstance(node, BoolOp):
        for operand in node.operands:
            check_types(operand, type_of)
    elif isinstance(node, Not):
        check_types(node.operand, type_of)
    elif isinstance(node, Compare | InList | Like):
        kind = type_of(node.field)
        values = (
            node.values
            if isinstance(node, InList)
            else ((node.value,) if isinstance(node, Compare) else (node.pattern,))
        )
        for value in values:
            if value is not None and not _fits(kind, value):
                raise SoqlError(
                    f"value of filter criterion for field '{node.field}' must be of type {kind}",
                    "INVALID_FIELD",
                )


def _fits(kind: str, value: Any) -> bool:
    if kind == "datetime":
        return isinstance(value, datetime)
    if kind == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "double"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def matches(node: Any, get: Getter) -> bool:
    """Evaluate a WHERE tree against one record."""
    if node is None:
        return True
    if isinstance(node, BoolOp):
        results = (matches(o, get) for o in node.operands)
        return all(results) if node.op == "AND" else any(results)
    if isinstance(node, Not):
        return not matches(node.operand, get)
    if isinstance(node, InList):
        value = get(node.field)
        found = any(_equal(value, v) for v in node.values)
        return found != node.negate
    if isinstance(node, Like):
        value = get(node.field)
        return value is not None and _like(node.pattern).fullmatch(str(value)) is not None
    return _compare(get(node.field), node.op, node.value)


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return bool(left == right)


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if left is None or right is None:
        return False
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return ops[op](left, right)


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def sort_rows(rows: list[Any], order: Sequence[OrderItem], key: Callable[[Any, str], Any]) -> None:
    """Sort rows in place by ORDER BY items; ``key`` gives a comparable value or None."""
    for item in reversed(order):
        present = [r for r in rows if key(r, item.field) is not None]
        absent = [r for r in rows if key(r, item.field) is None]
        present.sort(key=lambda r, f=item.field: key(r, f), reverse=item.descending)
        rows[:] = present + absent if item.nulls_last else absent + present
