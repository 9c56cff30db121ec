"""What the local targets add to AWS's behaviour: LocalStack's Host form of API URLs, and Lambda's
Invoke API running the deployed code (on AWS the same Invoke call goes to the real runtime)."""

import base64
import json

import pytest
import requests

from workspace.deployment import Deployment


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("localhost.localstack.cloud", marks=pytest.mark.needs("localstack_host_form")),
        "localhost",
    ],
)
def test_host_header_form_of_the_api(deployment: Deployment, domain: str) -> None:
    if deployment.endpoint is None:
        pytest.skip("the {apiId}.execute-api.<domain> form exists only on local targets")
    port = deployment.endpoint.rsplit(":", 1)[1]
    host = f"{deployment.outputs.api_id}.execute-api.{domain}:{port}"
    response = requests.get(f"{deployment.endpoint}/orders/not-a-uuid", headers={"Host": host}, timeout=30)
    assert response.status_code == 400
    assert response.json()["message"] == "orderId must be a UUID"


@pytest.mark.needs("invoke_log_tail")
def test_lambda_invoke_api_runs_the_deployed_function(deployment: Deployment) -> None:
    event = {
        "version": "2.0",
        "routeKey": "GET /orders/{orderId}",
        "rawPath": "/orders/x",
        "headers": {},
        "pathParameters": {"orderId": "x"},
        "requestContext": {
            "http": {"method": "GET", "path": "/orders/x"},
            "requestId": "r",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    result = deployment.client("lambda").invoke(
        FunctionName=deployment.function_name("get_order"), Payload=json.dumps(event), LogType="Tail"
    )
    assert "FunctionError" not in result
    assert json.loads(result["Payload"].read())["statusCode"] == 400
    assert "REPORT RequestId" in base64.b64decode(result["LogResult"]).decode()
