"""API Gateway v2's CloudFormation types AWS::ApiGatewayV2::Api/Integration/Route/Stage, which
moto's CloudFormation skips: created in moto's API Gateway v2 backend, where the emulator's
gateway (gateway.py) serves them, and updated in place (same ids) as UpdateApi, UpdateIntegration,
UpdateRoute and UpdateStage change them."""

from typing import Any

from moto.apigatewayv2.models import Stage, apigatewayv2_backends
from moto.core.common_models import CloudFormationModel

from emulator.cloudformation import engine
from emulator.cloudformation.resources import Emulated


def _v2(account_id: str, region: str) -> Any:
    return apigatewayv2_backends[account_id][region]


def _api_exists(account_id: str, region: str, api_id: str) -> bool:
    """Routes, integrations and stages go with their API; deleting them afterwards is a no-op."""
    return api_id in _v2(account_id, region).apis


class HttpApiResource(Emulated, CloudFormationModel):
    ATTRIBUTES = ("ApiId", "ApiEndpoint")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Api"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        if props.get("Body") or props.get("BodyS3Location") or props.get("Target"):
            raise NotImplementedError("AWS::ApiGatewayV2::Api with an OpenAPI Body or quick-create Target")
        api = _v2(account_id, region_name).create_api(
            api_key_selection_expression=props.get("ApiKeySelectionExpression"),
            cors_configuration=props.get("CorsConfiguration"),
            description=props.get("Description"),
            disable_schema_validation=props.get("DisableSchemaValidation"),
            disable_execute_api_endpoint=props.get("DisableExecuteApiEndpoint"),
            name=props.get("Name", resource_name),
            protocol_type=props.get("ProtocolType", "HTTP"),
            route_selection_expression=props.get("RouteSelectionExpression"),
            tags=props.get("Tags") or {},
            version=props.get("Version"),
        )
        return cls(api.api_id, account_id, region_name, props, ApiId=api.api_id, ApiEndpoint=api.api_endpoint)

    def delete(self, account_id: str, region: str) -> None:
        _v2(account_id, region).delete_api(self.physical_resource_id)


class HttpIntegrationResource(Emulated, CloudFormationModel):
    ATTRIBUTES = ("IntegrationId",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Integration"

    @staticmethod
    def _arguments(props: dict[str, Any]) -> dict[str, Any]:
        return {
            "connection_id": props.get("ConnectionId"),
            "connection_type": props.get("ConnectionType"),
            "content_handling_strategy": props.get("ContentHandlingStrategy"),
            "credentials_arn": props.get("CredentialsArn"),
            "description": props.get("Description"),
            "integration_method": props.get("IntegrationMethod"),
            "integration_subtype": props.get("IntegrationSubtype"),
            "integration_type": props["IntegrationType"],
            "integration_uri": props.get("IntegrationUri"),
            "passthrough_behavior": props.get("PassthroughBehavior"),
            "payload_format_version": props.get("PayloadFormatVersion"),
            "request_parameters": props.get("RequestParameters"),
            "request_templates": props.get("RequestTemplates"),
            "response_parameters": props.get("ResponseParameters"),
            "template_selection_expression": props.get("TemplateSelectionExpression"),
            "timeout_in_millis": props.get("TimeoutInMillis"),
            "tls_config": props.get("TlsConfig"),
        }

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        integration = _v2(account_id, region_name).create_integration(
            api_id=props["ApiId"], **cls._arguments(props)
        )
        return cls(integration.id, account_id, region_name, props, IntegrationId=integration.id)

    def delete(self, account_id: str, region: str) -> None:
        if _api_exists(account_id, region, self.properties["ApiId"]):
            _v2(account_id, region).delete_integration(self.properties["ApiId"], self.physical_resource_id)


class HttpRouteResource(Emulated, CloudFormationModel):
    ATTRIBUTES = ("RouteId",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Route"

    @staticmethod
    def _arguments(props: dict[str, Any]) -> dict[str, Any]:
        return {
            "api_key_required": props.get("ApiKeyRequired", False),
            "authorization_scopes": props.get("AuthorizationScopes") or [],
            "authorization_type": props.get("AuthorizationType", "NONE"),
            "authorizer_id": props.get("AuthorizerId"),
            "model_selection_expression": props.get("ModelSelectionExpression"),
            "operation_name": props.get("OperationName"),
            "request_models": props.get("RequestModels"),
            "request_parameters": props.get("RequestParameters"),
            "route_key": props["RouteKey"],
            "route_response_selection_expression": props.get("RouteResponseSelectionExpression"),
            "target": props.get("Target"),
        }

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        route = _v2(account_id, region_name).create_route(api_id=props["ApiId"], **cls._arguments(props))
        return cls(route.route_id, account_id, region_name, props, RouteId=route.route_id)

    def delete(self, account_id: str, region: str) -> None:
        if _api_exists(account_id, region, self.properties["ApiId"]):
            _v2(account_id, region).delete_route(self.properties["ApiId"], self.physical_resource_id)


def _camel(value: Any) -> Any:
    """CloudFormation's PascalCase property names -> the API's camelCase (as moto's Stage stores them)."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


class HttpStageResource(Emulated, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Stage"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        config = _camel({k: v for k, v in props.items() if k != "ApiId"})
        stage = _v2(account_id, region_name).create_stage(props["ApiId"], config)
        return cls(stage.name, account_id, region_name, props)

    def delete(self, account_id: str, region: str) -> None:
        if _api_exists(account_id, region, self.properties["ApiId"]):
            _v2(account_id, region).delete_stage(self.properties["ApiId"], self.physical_resource_id)


# Api attributes CloudFormation sets, and what CreateApi gives one the template leaves out
API_ATTRIBUTES = {
    "Description": ("description", None),
    "CorsConfiguration": ("cors_configuration", None),
    "DisableExecuteApiEndpoint": ("disable_execute_api_endpoint", False),
    "DisableSchemaValidation": ("disable_schema_validation", None),
    "ApiKeySelectionExpression": ("api_key_selection_expression", "$request.header.x-api-key"),
    "RouteSelectionExpression": ("route_selection_expression", "$request.method $request.path"),
    "Version": ("version", None),
}


def converge_api(
    resource: HttpApiResource, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> HttpApiResource:
    backend = _v2(account_id, region)
    api = backend.get_api(resource.physical_resource_id)
    api.name = new.get("Name", api.name)
    for key, (attribute, default) in API_ATTRIBUTES.items():
        setattr(api, attribute, new.get(key, default))
    backend.untag_resource(api.arn, list(backend.get_tags(api.arn)))
    backend.tag_resource(api.arn, dict(new.get("Tags") or {}))  # a map here, not CloudFormation's list
    resource.properties = new
    return resource


def _take_configuration(target: Any, configured: Any, identity: tuple[str, ...]) -> None:
    """Give `target` everything `configured` (made by moto's own create) has but its identity."""
    for name, value in vars(configured).items():
        if name not in identity:
            setattr(target, name, value)


def converge_integration(
    resource: HttpIntegrationResource,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    account_id: str,
    region: str,
) -> HttpIntegrationResource:
    api = _v2(account_id, region).get_api(new["ApiId"])
    configured = api.create_integration(**HttpIntegrationResource._arguments(new))
    del api.integrations[configured.id]
    _take_configuration(api.integrations[resource.physical_resource_id], configured, ("id",))
    resource.properties = new
    return resource


def converge_route(
    resource: HttpRouteResource, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> HttpRouteResource:
    api = _v2(account_id, region).get_api(new["ApiId"])
    configured = api.create_route(**HttpRouteResource._arguments(new))
    del api.routes[configured.route_id]
    _take_configuration(api.routes[resource.physical_resource_id], configured, ("route_id",))
    resource.properties = new
    return resource


def converge_stage(
    resource: HttpStageResource, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> HttpStageResource:
    api = _v2(account_id, region).get_api(new["ApiId"])
    configured = Stage(api, _camel({k: v for k, v in new.items() if k != "ApiId"}))
    _take_configuration(api.stages[resource.physical_resource_id], configured, ("created",))
    resource.properties = new
    return resource


def install() -> None:
    engine.register("AWS::ApiGatewayV2::Api", converge_api)
    engine.register("AWS::ApiGatewayV2::Integration", converge_integration)
    engine.register("AWS::ApiGatewayV2::Route", converge_route)
    engine.register("AWS::ApiGatewayV2::Stage", converge_stage)
