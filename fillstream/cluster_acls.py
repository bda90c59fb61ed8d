"""Write the pipeline's ACLs to a cluster and read back what it holds (fillstream/acls.py).

Both take an `AdminClient`, which must act as a principal allowed to alter and describe ACLs
(the super user `admin`: `AdminClient(client_config(role_name="admin"))`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from fillstream import settings
from fillstream.acls import Acl, pipeline_acls
from fillstream.config import EngineConfig
from fillstream.settings.kafka_client import client_config, local_security

__all__ = [
    "AclsUnavailable",
    "apply_acls",
    "binding",
    "from_binding",
    "grant_on_local_broker",
    "read_acls",
    "revoke_under",
]

# The broker's name for the cluster resource is the client's BROKER.
_TYPES = {"CLUSTER": ResourceType.BROKER}
_NAMES = {ResourceType.BROKER: "CLUSTER"}
TIMEOUT = 30.0  # seconds


class AclsUnavailable(RuntimeError):
    """The cluster cannot take or show ACLs, said with what to do about it."""


def binding(acl: Acl) -> AclBinding:
    """The client's form of `acl` (from any host)."""
    return AclBinding(
        _TYPES.get(acl.resource_type, ResourceType[acl.resource_type]),
        acl.resource_name,
        ResourcePatternType[acl.pattern],
        acl.principal,
        "*",
        AclOperation[acl.operation],
        AclPermissionType[acl.permission],
    )


def from_binding(found: AclBinding) -> Acl:
    """An entry as the broker holds it."""
    return Acl(
        found.principal,
        _NAMES.get(found.restype, found.restype.name),  # type: ignore[arg-type]
        found.name,
        found.resource_pattern_type.name,  # type: ignore[arg-type]
        found.operation.name,
        found.permission_type.name,
    )


def read_acls(admin: AdminClient) -> list[Acl]:
    """Every ACL entry the cluster holds, sorted."""
    match_any = AclBindingFilter(
        ResourceType.ANY,
        None,
        ResourcePatternType.ANY,
        None,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    try:
        found = admin.describe_acls(match_any, request_timeout=TIMEOUT).result()
    except KafkaException as error:
        raise _unavailable(error) from None
    return sorted(from_binding(entry) for entry in found)


def apply_acls(admin: AdminClient, acls: Iterable[Acl]) -> int:
    """Create every entry of `acls` (one the cluster holds already is left as it is); returns
    how many were new."""
    wanted = set(acls)
    new = wanted - set(read_acls(admin))
    if not new:
        return 0
    futures = admin.create_acls([binding(acl) for acl in sorted(new)], request_timeout=TIMEOUT)
    for future in futures.values():
        try:
            future.result()
        except KafkaException as error:
            raise _unavailable(error) from None
    _until_in_force(admin, new)
    return len(new)


def _until_in_force(admin: AdminClient, acls: set[Acl]) -> None:
    """Wait until the broker holds `acls`: the controller has them once `create_acls` answers,
    the broker's authorizer a moment later, and a process started at once was refused."""
    deadline = time.monotonic() + TIMEOUT
    while not acls <= set(read_acls(admin)):
        if time.monotonic() > deadline:
            raise AclsUnavailable(f"the broker did not apply the new ACLs within {TIMEOUT:g} s")
        time.sleep(0.1)


def revoke_under(admin: AdminClient, prefix: str) -> int:
    """Delete every entry for a resource named under `prefix` (a deleted pipeline run's topics,
    groups and transactional ids); returns how many."""
    gone = [acl for acl in read_acls(admin) if acl.resource_name.startswith(prefix)]
    if not gone:
        return 0
    filters = [_exactly(acl) for acl in gone]
    for future in admin.delete_acls(filters, request_timeout=TIMEOUT).values():
        future.result()
    return len(gone)


def _exactly(acl: Acl) -> AclBindingFilter:
    found = binding(acl)
    return AclBindingFilter(
        found.restype,
        found.name,
        found.resource_pattern_type,
        found.principal,
        found.host,
        found.operation,
        found.permission_type,
    )


def grant_on_local_broker(engine: EngineConfig) -> int | None:
    """On the secured local broker, whose super user's password this state dir holds, grant
    what the pipeline needs before its processes start (the demo, `fillstream up`); None
    elsewhere, where granting is the cluster operator's decision (`fillstream acls apply`)."""
    if local_security() is None:
        return None
    acls = pipeline_acls(settings.topic_prefix(), settings.processing_guarantee(), engine)
    return apply_acls(AdminClient(client_config(role_name="admin")), acls)


def _unavailable(error: KafkaException) -> Exception:
    """The error said with what to do, for the two causes an operator can fix; else as it is."""
    cause = error.args[0]
    code = cause.code() if isinstance(cause, KafkaError) else None
    if code == KafkaError.SECURITY_DISABLED:
        return AclsUnavailable(
            "this cluster does not enforce ACLs (no authorizer configured); start the local"
            " broker with `fillstream kafka start --secure`, or configure an authorizer"
            " (authorizer.class.name) on your brokers"
        )
    if code == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
        return AclsUnavailable(
            "this principal may not alter or describe ACLs: run as the cluster's super user"
            " (the local broker's `admin`, or KAFKA_SASL_USERNAME of a super user)"
        )
    return error
