"""The table's single-table layout: one function builds an order's key, for the handlers and the tooling."""

ORDER_PREFIX = "ORDER#"


def order_key(order_id: str) -> dict[str, str]:
    """PK = SK = ORDER#<uuid>: one item per order (the idempotency records have their own partition,
    handed to CreateOrder by the stack as IDEMPOTENCY_PARTITION)."""
    key = f"{ORDER_PREFIX}{order_id}"
    return {"PK": key, "SK": key}
