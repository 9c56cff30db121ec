"""The order message on OrdersQueue: `{"orderId", "amount" (exact digits as a string), "currency", "createdAt"}`."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from orders.currencies import MINOR_UNITS
from orders.money import amount_problem, canonical, to_text


class InvalidOrderMessage(ValueError):
    """A queue message that is not an order: it must fail (and reach the DLQ), never be dropped."""


@dataclass(frozen=True)
class Order:
    order_id: str
    amount: Decimal
    currency: str
    created_at: str

    def to_message(self) -> str:
        return json.dumps(
            {
                "orderId": self.order_id,
                "amount": to_text(self.amount),
                "currency": self.currency,
                "createdAt": self.created_at,
            }
        )


def new_order(amount: Decimal, currency: str, now: datetime | None = None) -> Order:
    """A new order of a validated amount and currency, with its id and creation time."""
    return Order(
        order_id=str(uuid.uuid4()),
        amount=amount,
        currency=currency,
        created_at=iso_timestamp(now or datetime.now(UTC)),
    )


def iso_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical_order_id(value: object) -> str | None:
    """The lower-case canonical form of a UUID string, or None if `value` is not one."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return str(parsed) if str(parsed) == value.lower() else None


def parse_order_message(body: str) -> Order:
    try:
        message = json.loads(body)
    except json.JSONDecodeError as error:
        raise InvalidOrderMessage("message body is not JSON") from error
    if not isinstance(message, dict):
        raise InvalidOrderMessage("message body is not a JSON object")

    order_id = canonical_order_id(message.get("orderId"))
    if order_id is None:
        raise InvalidOrderMessage("orderId is not a UUID")
    currency = message.get("currency")
    if not isinstance(currency, str) or currency not in MINOR_UNITS:
        raise InvalidOrderMessage("currency is not a supported ISO 4217 code")
    amount_text = message.get("amount")
    if not isinstance(amount_text, str):
        raise InvalidOrderMessage("amount is not a string of digits")
    try:
        amount = Decimal(amount_text)
    except InvalidOperation as error:
        raise InvalidOrderMessage("amount is not a decimal number") from error
    problem = amount_problem(amount, currency)
    if problem:
        raise InvalidOrderMessage(f"amount {problem}")
    created_at = message.get("createdAt")
    if not isinstance(created_at, str) or not _is_timestamp(created_at):
        raise InvalidOrderMessage("createdAt is not an ISO 8601 timestamp")
    return Order(order_id=order_id, amount=canonical(amount), currency=currency, created_at=created_at)


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)  # Python 3.11+ reads the "Z" suffix
    except ValueError:
        return False
    return True
