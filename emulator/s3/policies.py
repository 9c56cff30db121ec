"""S3 bucket policies: stored, not enforced."""

from typing import Any

from emulator.patching import replace


def store_but_do_not_enforce_bucket_policies() -> None:
    """moto's policy evaluator denies whenever a statement's condition is unmet (even for Allow
    statements) and knows only StringEquals, so the TLS-only policy every CDK bootstrap bucket
    carries (Deny if aws:SecureTransport is false) would deny every asset upload. Bucket policies
    are therefore stored and returned as written but not enforced, as LocalStack does by default."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        return PermissionResult.NEUTRAL

    replace(FakeBucket, "get_permission", get_permission)
