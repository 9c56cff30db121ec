"""Temporary credentials for a function's execution role, as Lambda hands them to its runtime.

Issued by moto's STS (AssumeRole, session name = the function's name), so GetCallerIdentity
inside a function answers `assumed-role/<role>/<function>` as on AWS; the emulator keeps which
access key belongs to which function, to authorize the calls made with it.
"""

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    account_id: str
    role_arn: str
    session: str  # the function's name

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_name}/{self.session}"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str


class CredentialStore:
    def __init__(self) -> None:
        self._issued: dict[tuple[str, str, str], Credentials] = {}
        self._principals: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def issue(self, account_id: str, region: str, role_arn: str, function_name: str) -> Credentials:
        """The credentials of `function_name` running as `role_arn` (the same ones while both stay)."""
        key = (account_id, role_arn, function_name)
        with self._lock:
            found = self._issued.get(key)
            if found is not None:
                return found
            from moto.sts.models import sts_backends

            assumed = sts_backends[account_id]["aws"].assume_role(
                region_name=region,
                role_session_name=function_name,
                role_arn=role_arn,
                policy="",
                duration=43200,
                external_id="",
            )
            credentials = Credentials(assumed.access_key_id, assumed.secret_access_key, assumed.session_token)
            self._issued[key] = credentials
            self._principals[credentials.access_key_id] = Principal(account_id, role_arn, function_name)
            return credentials

    def principal(self, access_key_id: str) -> Principal | None:
        return self._principals.get(access_key_id)
