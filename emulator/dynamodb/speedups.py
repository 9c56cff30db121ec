"""DynamoDB speed-ups that keep moto's answers."""

import copy
import threading
from dataclasses import dataclass
from typing import Any

from moto.dynamodb import comparisons, models, responses
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import dynamo_type, table
from moto.dynamodb.models.utilities import bytesize

from emulator.patching import original, replace

PARSED_EXPRESSIONS_KEPT = 1024
ITEM_SIZE_LIMIT = 405_000  # moto's LimitedSizeDict: "between 409 and 410KB", measured by moto on AWS


def install() -> None:
    parse_each_condition_expression_once()
    size_each_item_once()
    scan_sorts_by_key_values_and_copies_nothing()


@dataclass(frozen=True)
class Parsed:
    tree: Any  # what ConditionExpressionParser.parse returns
    names_found: tuple[str, ...]
    values_found: tuple[str, ...]


class ParsedExpressions:
    """Each (expression, names, values) parsed once. Keyed by their repr, which tells a str from
    bytes (a binary attribute value) and a number from its string, as a JSON key would not."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str | None, str, str], Parsed] = {}
        self._lock = threading.Lock()

    def get(self, expression: str | None, names: Any, values: Any) -> Parsed:
        key = (expression, repr(names), repr(values))
        found = self._kept.get(key)
        if found is None:  # a parse error raises here, every time
            parser = comparisons.ConditionExpressionParser(expression, names, values)
            tree = parser.parse()
            found = Parsed(tree, tuple(parser.expr_attr_names_found), tuple(parser.expr_attr_values_found))
            with self._lock:
                if len(self._kept) >= PARSED_EXPRESSIONS_KEPT:
                    self._kept.clear()
                self._kept[key] = found
        return found


class _ParsedCondition:
    """A ConditionExpressionParser as moto's responses use it (parse(), then the attribute names and
    values it found, to check each given one is used), answered from `expressions`."""

    def __init__(
        self, expressions: ParsedExpressions, expression: str | None, names: Any, values: Any
    ) -> None:
        self._args = expressions, expression, names, values
        self.expr_attr_names_found: list[str] = []
        self.expr_attr_values_found: list[str] = []

    def parse(self) -> Any:
        expressions, expression, names, values = self._args
        parsed = expressions.get(expression, names, values)
        # fresh lists: moto's callers extend them with what a ProjectionExpression uses
        self.expr_attr_names_found = list(parsed.names_found)
        self.expr_attr_values_found = list(parsed.values_found)
        return parsed.tree


def parse_each_condition_expression_once() -> None:
    """moto lexes and parses a PutItem's ConditionExpression twice per call (its responses check
    the attribute names used, its backend evaluates it), as it does for DeleteItem, UpdateItem,
    transactions and a Query's or Scan's FilterExpression: ProcessOrder's PutItem with
    `attribute_not_exists(PK)` spent ~35 % of its CPU in moto on it. The parsed expression is a
    tree that evaluating never changes, so one parse per expression, names and values serves
    every call; an expression that does not parse raises each time."""
    expressions = ParsedExpressions()

    def get_filter_expression(expression: str | None, names: Any, values: Any) -> Any:
        return expressions.get(expression, names, values).tree

    def create_condition_expression_parser(expression: str | None, names: Any, values: Any) -> Any:
        return _ParsedCondition(expressions, expression, names, values)

    replace(models, "get_filter_expression", get_filter_expression)  # the backend's (it imported the name)
    replace(table, "get_filter_expression", get_filter_expression)  # Table.put_item's (it did too)
    replace(responses, "create_condition_expression_parser", create_condition_expression_parser)


def size_each_item_once() -> None:
    """moto's Item checks the 400 KB item limit on every attribute it sets by summing the sizes of
    all attributes set so far, so a new item of n attributes costs n²/2 size computations (a
    fifth of ProcessOrder's PutItem). The same check, with the sum kept as it goes: the same
    ItemSizeTooLarge at the same attribute."""

    def __init__(self: dynamo_type.Item, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        checked: dict[str, dynamo_type.DynamoType] = {}
        size = 0
        for key, value in attrs.items():
            typed = dynamo_type.DynamoType(value)
            size += bytesize(key) + typed.size()
            if size > ITEM_SIZE_LIMIT:
                raise ItemSizeTooLarge
            checked[key] = typed
        self.attrs = dynamo_type.LimitedSizeDict(checked)  # (its update() does not check again)

    replace(dynamo_type.Item, "__init__", __init__)


def scan_sorts_by_key_values_and_copies_nothing() -> None:
    """A Scan of 3,400 orders cost ~0.2 s of CPU with Select=COUNT (~2 s returning the items):
    moto sorts every item by comparing DynamoType objects, each comparison computing both values
    (~40 per item), then deep-copies each item it returns. Sorted here by the key values,
    computed once per item: the same order (a table's key attribute has one type, and DynamoType
    compares by that value). Not copied: the answer is serialized from the items before the
    request ends, and each DynamoDB request runs alone (atomic.py), so none changes meanwhile.
    moto's table module copies as ever everywhere else (backups, restores, Query)."""
    scanning = threading.local()

    class CopyingOutsideScans:  # what moto's table module calls `copy`; the rest as the module's
        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if getattr(scanning, "on", False) and type(value) is dynamo_type.Item:
                return value
            return copy.deepcopy(value, memo)

    def all_items(self: table.Table) -> list[dynamo_type.Item]:
        if self.range_key_attr:
            items = [item for hash_set in self.items.values() for item in hash_set.values()]
        else:
            items = list(self.items.values())
        return sorted(
            items,
            key=lambda item: (
                (item.hash_key.cast_value, item.range_key.cast_value)
                if item.range_key
                else (item.hash_key.cast_value,)
            ),
        )

    scan = original(table.Table, "scan")

    def scan_without_copies(self: table.Table, *args: Any, **kwargs: Any) -> Any:
        scanning.on = True
        try:
            return scan(self, *args, **kwargs)
        finally:
            scanning.on = False

    replace(table, "copy", CopyingOutsideScans())
    replace(table.Table, "all_items", all_items)
    replace(table.Table, "scan", scan_without_copies)
