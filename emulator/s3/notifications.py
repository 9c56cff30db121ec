"""S3 event notifications as AWS sends them: every matching configuration (event type, prefix and
suffix filters: moto's `matches`) gets the record in AWS's shape, and each destination is sent
to as S3 sends it, its resource policy checked for s3.amazonaws.com and the bucket
(destinations.py). moto ran Lambda destinations in Docker and dropped any failure silently; a
refused or failed delivery is now logged with its reason. EventBridge-enabled buckets keep
moto's own delivery."""

import json
import logging
import secrets
import time
import uuid
from typing import Any
from urllib.parse import quote_plus

from emulator import destinations
from emulator.patching import replace

log = logging.getLogger("emulator.s3")


def record(event_name: str, bucket: Any, key: Any, configuration_id: str) -> dict[str, Any]:
    """One notification, with the fields AWS sends that moto's record lacks."""
    from moto.s3 import notifications

    body = notifications._get_s3_event(event_name, bucket, key, configuration_id)
    entry = body["Records"][0]
    entry["userIdentity"] = {"principalId": "AWS:EMULATOR"}
    entry["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
    entry["responseElements"] = {
        "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
        "x-amz-id-2": secrets.token_urlsafe(48),
    }
    entry["s3"]["object"]["key"] = quote_plus(key.name, safe="/")  # AWS keeps the slashes; moto did not
    entry["s3"]["object"]["sequencer"] = f"{time.time_ns():016X}"  # grows with each event, as AWS's
    if getattr(key, "version_id", None) and key.version_id != "null":
        entry["s3"]["object"]["versionId"] = key.version_id
    return body


def install() -> None:
    from moto.s3 import notifications

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        configuration = bucket.notification_configuration
        if configuration is None:
            return
        for destinations_of_kind in (configuration.cloud_function, configuration.queue, configuration.topic):
            for notification in destinations_of_kind:
                if not notification.matches(event_name, key.name):
                    continue
                body = json.dumps(record(event_name, bucket, key, notification.id))
                refused = destinations.send("s3.amazonaws.com", bucket.arn, notification.arn, body)
                if refused is not None:
                    log.warning("s3://%s/%s: %s not sent to %s: %s", bucket.name, key.name, event_name,
                                notification.arn, refused)  # fmt: skip
        if configuration.event_bridge is not None:
            notifications._send_event_bridge_message(account_id, bucket, event_name, key)

    # moto invoked Lambda destinations in Docker and swallowed every failure
    replace(notifications, "send_event", send_event)
