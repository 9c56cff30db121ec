"""Policy evaluation against AWS's documented logic, table-driven."""

import pytest

from emulator.iam.policy import Request, UnsupportedCondition, condition_holds, decide

TABLE = "arn:aws:dynamodb:us-east-1:000000000000:table/Orders"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:OrdersQueue"
IDEMPOTENCY = {
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    "Resource": TABLE,
    "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["IDEMPOTENCY#create_order"]}},
}


def allowed(
    statements: list[dict[str, object]], action: str, resource: str, **context: tuple[str, ...]
) -> str:
    decision = decide(
        [{"Version": "2012-10-17", "Statement": statements}], Request(action, resource, context)
    )
    return "deny" if decision.explicit_deny else "allow" if decision.allowed else "implicit"


@pytest.mark.parametrize(
    ("statements", "action", "resource", "outcome"),
    [
        ([{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE}], "dynamodb:PutItem", TABLE, "allow"),
        ([{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE}], "dynamodb:DeleteItem", TABLE, "implicit"),
        ([{"Effect": "Allow", "Action": "DynamoDB:putitem", "Resource": TABLE}], "dynamodb:PutItem", TABLE, "allow"),
        ([{"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE}], "dynamodb:Scan", TABLE, "allow"),
        ([{"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": TABLE}], "dynamodb:GetItem", TABLE, "allow"),
        ([{"Effect": "Allow", "Action": "dynamodb:Get?tem", "Resource": TABLE}], "dynamodb:GetItem", TABLE, "allow"),
        ([{"Effect": "Allow", "Action": "*", "Resource": "*"}], "sqs:SendMessage", QUEUE, "allow"),
        ([{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:*:Orders*"}], "sqs:SendMessage", QUEUE, "allow"),
        ([{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:*:orders*"}], "sqs:SendMessage", QUEUE, "implicit"),
        ([{"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": TABLE}], "dynamodb:PutItem", TABLE, "allow"),
        ([{"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": TABLE}], "dynamodb:DeleteItem", TABLE, "implicit"),
        ([{"Effect": "Allow", "Action": "*", "NotResource": TABLE}], "dynamodb:PutItem", TABLE, "implicit"),
        ([{"Effect": "Allow", "Action": "*", "NotResource": TABLE}], "sqs:SendMessage", QUEUE, "allow"),
        (
            [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}],
            "dynamodb:DeleteItem", TABLE, "deny",
        ),
        ([], "dynamodb:GetItem", TABLE, "implicit"),
    ],
)  # fmt: skip
def test_actions_resources_and_explicit_deny(
    statements: list[dict[str, object]], action: str, resource: str, outcome: str
) -> None:
    assert allowed(statements, action, resource) == outcome


def test_the_idempotency_grant_covers_its_partition_only() -> None:
    assert (
        allowed(
            [IDEMPOTENCY],
            "dynamodb:PutItem",
            TABLE,
            **{"dynamodb:leadingkeys": ("IDEMPOTENCY#create_order",)},
        )
        == "allow"
    )
    assert (
        allowed([IDEMPOTENCY], "dynamodb:PutItem", TABLE, **{"dynamodb:leadingkeys": ("ORDER#1",)})
        == "implicit"
    )
    mixed = ("IDEMPOTENCY#create_order", "ORDER#1")
    assert allowed([IDEMPOTENCY], "dynamodb:PutItem", TABLE, **{"dynamodb:leadingkeys": mixed}) == "implicit"
    # ForAllValues over a key the request does not carry holds (AWS's documented pitfall: a Scan)
    assert allowed([IDEMPOTENCY], "dynamodb:GetItem", TABLE) == "allow"


@pytest.mark.parametrize(
    ("operator", "expected", "actual", "holds"),
    [
        ("StringEquals", "a", ("a",), True),
        ("StringEquals", "a", ("A",), False),
        ("StringEquals", "a", None, False),
        ("StringNotEquals", "a", ("b",), True),
        ("StringNotEquals", "a", None, True),  # a missing key never equals
        ("StringEqualsIgnoreCase", "a", ("A",), True),
        ("StringLike", "ORDER#*", ("ORDER#1",), True),
        ("StringLike", "ORDER#*", ("IDEMPOTENCY#x",), False),
        ("StringNotLike", "ORDER#*", ("IDEMPOTENCY#x",), True),
        ("ArnLike", "arn:aws:sqs:*:000000000000:*", ("arn:aws:sqs:us-east-1:000000000000:q",), True),
        ("ArnNotLike", "arn:aws:sqs:*:111111111111:*", ("arn:aws:sqs:us-east-1:000000000000:q",), True),
        ("Bool", "true", ("true",), True),
        ("Bool", "false", ("true",), False),
        ("Bool", "true", None, False),
        ("BoolIfExists", "true", None, True),
        ("StringEqualsIfExists", "a", ("b",), False),
        ("Null", "true", None, True),
        ("Null", "false", None, False),
        ("Null", "false", ("x",), True),
        ("ForAllValues:StringEquals", ["a", "b"], ("a", "b"), True),
        ("ForAllValues:StringEquals", ["a"], ("a", "b"), False),
        ("ForAllValues:StringEquals", ["a"], None, True),
        ("ForAnyValue:StringEquals", ["a"], ("b", "a"), True),
        ("ForAnyValue:StringEquals", ["a"], None, False),
    ],
)
def test_condition_operators(
    operator: str, expected: object, actual: tuple[str, ...] | None, holds: bool
) -> None:
    context = {} if actual is None else {"k": actual}
    assert condition_holds(operator, "K", expected, context) is holds


def test_an_unknown_operator_is_named_not_guessed() -> None:
    with pytest.raises(UnsupportedCondition, match="NumericLessThan"):
        condition_holds("NumericLessThan", "k", "1", {"k": ("0",)})
