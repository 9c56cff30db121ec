"""X-Ray filter expressions (GetTraceSummaries' FilterExpression), the part the emulator reads:

  responsetime > 1        duration >= 0.5          http.status = 500
  http.url CONTAINS "/orders"                      http.method = "POST"
  fault  error  throttle  ok  partial              (alone, or `= true` / `= false`)
  service("OrdersStack-CreateOrder...")            annotation.orderId = "..."
  combined with AND, OR, NOT (&&, ||, !) and parentheses

Anything else (edge(), rootcause, service() { ... }, id(), ...) is an UnsupportedFilter, which the
API answers with a 400 that names it.
"""

import re
from collections.abc import Callable
from typing import Any

from emulator.xray.summaries import Facts

TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>!=|<=|>=|&&|\|\||[=<>!(){}])'
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.\-]*))"
)
OPERATORS = {"=", "!=", "<", "<=", ">", ">=", "BEGINSWITH", "ENDSWITH", "CONTAINS"}
FLAGS = ("fault", "error", "throttle", "ok", "partial")
Predicate = Callable[[Facts], bool]


class UnsupportedFilter(ValueError):
    pass


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    while position < len(expression.rstrip()):
        found = TOKEN.match(expression, position)
        if found is None or found.end() == position:
            raise UnsupportedFilter(f"cannot read the filter expression at {expression[position:]!r}")
        tokens.append(found.group(found.lastgroup or "word"))
        position = found.end()
    return tokens


def _compare(left: Any, operator: str, right: Any) -> bool:
    if left is None:
        return operator == "!="
    if operator in ("BEGINSWITH", "ENDSWITH", "CONTAINS"):
        text, part = str(left), str(right)
        return {"BEGINSWITH": text.startswith, "ENDSWITH": text.endswith, "CONTAINS": text.__contains__}[
            operator
        ](part)
    if isinstance(right, bool) or isinstance(left, bool):
        left, right = bool(left), bool(right)
    elif isinstance(right, int | float):
        try:
            left = float(left)
        except (TypeError, ValueError):
            return operator == "!="
    else:
        left = str(left)
    return {
        "=": left == right, "!=": left != right, "<": left < right,
        "<=": left <= right, ">": left > right, ">=": left >= right,
    }[operator]  # fmt: skip


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise UnsupportedFilter(
                f"expected {expected or 'more'} in the filter expression {self.expression!r}"
            )
        self.at += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.either()
        if self.peek() is not None:
            raise UnsupportedFilter(
                f"{self.peek()!r} in {self.expression!r} is not supported by the embedded emulator's X-Ray"
            )
        return predicate

    def either(self) -> Predicate:
        return self._joined(("OR", "||"), self.both, any)

    def both(self) -> Predicate:
        return self._joined(("AND", "&&"), self.negation, all)

    def _joined(
        self, words: tuple[str, str], part: Callable[[], Predicate], combine: Callable[[Any], bool]
    ) -> Predicate:
        """`part` (word `part`)*, combined with `any` (OR) or `all` (AND)."""
        parts = [part()]
        while (self.peek() or "").upper() in words:
            self.take()
            parts.append(part())
        return parts[0] if len(parts) == 1 else (lambda facts: combine(p(facts) for p in parts))

    def negation(self) -> Predicate:
        if (self.peek() or "").upper() in ("NOT", "!"):
            self.take()
            inner = self.negation()
            return lambda facts: not inner(facts)
        return self.atom()

    def value(self) -> Any:
        word = self.take()
        if word.startswith('"'):
            return word[1:-1].replace('\\"', '"')
        if re.fullmatch(r"-?\d+(?:\.\d+)?", word):
            return float(word)
        if word.lower() in ("true", "false"):
            return word.lower() == "true"
        raise UnsupportedFilter(f"{word!r} is not a value (quote strings) in {self.expression!r}")

    def atom(self) -> Predicate:
        word = self.take()
        if word == "(":
            inner = self.either()
            self.take(")")
            return inner
        if word == "service":
            self.take("(")
            name = self.value()
            self.take(")")
            if self.peek() == "{":
                raise UnsupportedFilter("service() { ... } is not supported by the embedded emulator's X-Ray")
            return lambda facts: str(name) in facts.services
        read = self._field(word)
        if (self.peek() or "").upper() not in OPERATORS:
            if word in FLAGS:
                return lambda facts: bool(read(facts))
            raise UnsupportedFilter(f"{word} needs a comparison in {self.expression!r}")
        operator = self.take().upper()
        expected = self.value()
        if word.startswith("annotation."):
            return lambda facts: any(_compare(v, operator, expected) for v in read(facts) or [None])
        return lambda facts: _compare(read(facts), operator, expected)

    def _field(self, word: str) -> Callable[[Facts], Any]:
        if word in FLAGS:
            return lambda facts: getattr(facts, word)
        if word == "responsetime":
            return lambda facts: facts.response_time
        if word == "duration":
            return lambda facts: facts.duration
        if word in ("http.status", "http.url", "http.method"):
            key = word.split(".", 1)[1]
            return lambda facts: facts.http.get(key)
        if word.startswith("annotation.") and len(word) > len("annotation."):
            key = word[len("annotation.") :]
            return lambda facts: facts.annotations.get(key)
        raise UnsupportedFilter(
            f"{word!r} in {self.expression!r} is not supported by the embedded emulator's X-Ray "
            "(it reads responsetime, duration, http.*, fault, error, throttle, ok, partial, service(), annotation.*)"
        )


def compile_filter(expression: str | None) -> Predicate:
    """A predicate over a trace's Facts; UnsupportedFilter for what the emulator cannot read."""
    if not expression or not expression.strip():
        return lambda facts: True
    return _Parser(expression).parse()
