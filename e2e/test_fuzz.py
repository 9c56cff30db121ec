"""Scenario 10: property-based fuzzing of both routes from e2e/openapi.yaml (schemathesis):
never a 5xx, and every response conforms to the spec."""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from workspace.deployment import Deployment

SCHEMA = schemathesis.openapi.from_path(Path(__file__).with_name("openapi.yaml"))
EXAMPLES_PER_ROUTE = 500
# The request schemas are loose on purpose (fuzzing the server's own validation), so "valid data is
# accepted" does not apply, nor "unrouted methods get 405" (API Gateway answers 404 Not Found).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
calls: list[int] = []


# session-wide: with -n the two routes run on one worker (the e2e unit, conftest.py) but not
# always one after the other, and a module fixture would be set up again between them
@pytest.fixture(scope="session", autouse=True)
def enough_requests() -> object:
    yield
    if calls:
        assert sum(calls) >= 2 * EXAMPLES_PER_ROUTE, f"only {sum(calls)} generated requests"


FUZZ = settings(
    max_examples=EXAMPLES_PER_ROUTE, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


def conforms_and_never_fails(case: schemathesis.Case, deployment: Deployment) -> None:
    response = case.call_and_validate(base_url=deployment.api_url, checks=CHECKS)
    calls.append(1)
    assert response.status_code < 500


# One test per route: schemathesis gives one parametrized test's routes the same test id, and
# pytest-xdist (make test) then runs only the first of them.
@SCHEMA.include(method="POST", path="/orders").parametrize()
@FUZZ
def test_post_orders_conforms_and_never_fails(case: schemathesis.Case, deployment: Deployment) -> None:
    conforms_and_never_fails(case, deployment)


@SCHEMA.include(method="GET", path="/orders/{orderId}").parametrize()
@FUZZ
def test_get_order_conforms_and_never_fails(case: schemathesis.Case, deployment: Deployment) -> None:
    conforms_and_never_fails(case, deployment)
