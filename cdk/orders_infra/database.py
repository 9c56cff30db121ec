from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from orders_infra.settings import Settings


class OrdersDatabase(Construct):
    """Single table: orders under PK = SK = ORDER#<uuid>, idempotency records under their own PK."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        self.table = dynamodb.Table(
            self,
            "OrdersTable",
            partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="SK", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute="expiration",  # Powertools idempotency records expire after 24 h
            # docs/extending.md step 5: every change to an order on the table's stream
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if settings.extension_step >= 5 else None,
            removal_policy=settings.removal_policy,
        )
