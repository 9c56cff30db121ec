"""Exact money: amounts are Decimals from the JSON text, never floats."""

from decimal import Decimal

from orders.currencies import MINOR_UNITS

MAX_AMOUNT = Decimal(1_000_000_000)


def amount_problem(amount: object, currency: str | None) -> str | None:
    """Why `amount` is not a valid amount in `currency` (None if it is valid).

    `currency` is None when it is itself invalid; then only the currency-independent rules apply.
    """
    if not isinstance(amount, Decimal):
        return "must be a JSON number"
    if not amount.is_finite():
        return "must be a finite number"
    if amount <= 0:
        return "must be greater than 0"
    if amount > MAX_AMOUNT:
        return f"must be at most {MAX_AMOUNT}"
    if currency is not None:
        decimals = MINOR_UNITS[currency]
        if decimal_places(amount) > decimals:
            return f"has more than {decimals} decimal places, the minor unit of {currency}"
    return None


def decimal_places(amount: Decimal) -> int:
    """Significant decimal places: 99.90 has 1, 100 and 1E+2 have 0."""
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite amounts only
    return max(0, -exponent)


def canonical(amount: Decimal) -> Decimal:
    """The amount without exponent or insignificant trailing zeros (99.90 -> 99.9, 1E+2 -> 100).

    DynamoDB trims trailing zeros on its own; normalising up front means every copy of an order
    (queue message, table item, GET response) carries the very same digits.
    """
    normal = amount.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal  # type: ignore[operator]


def to_text(amount: Decimal) -> str:
    """Plain positional notation, never scientific."""
    return format(canonical(amount), "f")
