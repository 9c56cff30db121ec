"""The embedded emulator: moto's control plane plus the project's own data plane (Lambda runtime,
SQS event source, HTTP API), serving the CDK stack on 127.0.0.1 with no Docker."""
