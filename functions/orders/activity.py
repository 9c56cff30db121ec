"""What happened, as the activity table records it (docs/extending.md steps 5-7): one entry per
change to an order (DynamoDB Streams), per event (EventBridge, schedules included) and per
object (S3 notifications). Pure: the handler only writes what `entries` returns."""

from typing import Any
from urllib.parse import unquote_plus

ORDER_PREFIX = "ORDER#"


def entries(event: dict[str, Any]) -> list[dict[str, str]]:
    """The activity entries `event` reports (source, id, what): EventBridge sends one event, the
    stream and S3 a batch of Records."""
    if "detail-type" in event:  # EventBridge: an event put on a bus, or a schedule firing
        return [{"source": event["source"], "id": event["id"], "what": event["detail-type"]}]
    found: list[dict[str, str]] = []
    for record in event.get("Records", []):
        if record.get("eventSource") == "aws:dynamodb":
            found.extend(_order_change(record))
        elif record.get("eventSource") == "aws:s3":
            s3 = record["s3"]
            key = unquote_plus(s3["object"]["key"])  # S3 sends the key URL-encoded
            found.append(
                {"source": "aws:s3", "id": f"{s3['bucket']['name']}/{key}", "what": record["eventName"]}
            )
    return found


def _order_change(record: dict[str, Any]) -> list[dict[str, str]]:
    """A change to an order; the table's other items (idempotency records) are not activity."""
    change = record["dynamodb"]
    key = change["Keys"]["PK"]["S"]
    if not key.startswith(ORDER_PREFIX):
        return []
    image = change.get("NewImage") or change.get("OldImage") or {}
    status = image.get("status", {}).get("S", "")
    what = f"{record['eventName']} {status}".strip()
    return [
        {
            "source": "aws:dynamodb",
            "id": f"{key.removeprefix(ORDER_PREFIX)} {change['SequenceNumber']}",
            "what": what,
        }
    ]
