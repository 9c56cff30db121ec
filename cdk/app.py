"""CDK app: one OrdersStack, deployed unchanged to AWS (`cdk`) and to every local emulator (`cdklocal`)."""

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from orders_infra.settings import Settings
from orders_infra.stack import OrdersStack


def build(app: cdk.App) -> cdk.App:
    settings = Settings.from_context(app.node)
    OrdersStack(app, "OrdersStack", settings=settings, env=settings.env())
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))  # synth fails on any unacknowledged finding
    return app


if __name__ == "__main__":
    build(cdk.App()).synth()
