"""API Gateway v2 (HTTP APIs): the data plane for the APIs CloudFormation created in moto.
`gateway` serves a request (one parsed `HttpRequest`), `routes` picks its route and throttles,
`payload` builds the 2.0 event and maps the function's answer; the CloudFormation types moto
lacks are in emulator.cloudformation."""
