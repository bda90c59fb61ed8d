"""Every Kafka client's configuration, in one place: which cluster, and how to reach it safely.

The cluster comes from `KAFKA_BOOTSTRAP_SERVERS` (or the running local broker); security from
the variables managed Kafka services document (`KAFKA_SECURITY_PROTOCOL`,
`KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`, `KAFKA_SSL_*`), and
anything else from a librdkafka properties file (`FILLSTREAM_KAFKA_CONFIG`, as Kafka's own
tools take `--command-config`). The environment wins over the file, and a caller's own
settings (linger, group) over both.

A process acts as one principal (`ROLES`): a processor as itself, the API as `api`, the CLI as
`operator`. Against the secured local broker (`fillstream kafka start --secure`) each role logs
in as its own SCRAM user, whose password the broker's record keeps; elsewhere the deployment
gives each process its own `KAFKA_SASL_USERNAME`.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fillstream import settings

__all__ = [
    "ROLES",
    "KafkaSettingsError",
    "LocalSecurity",
    "act_as",
    "client_config",
    "local_security",
    "local_super_user",
    "registry_config",
    "role",
    "worker_id",
]

# Each principal, and what it is for. `admin` is the secured local broker's super user (the
# broker's own connections, `fillstream acls apply`); the others hold only what the ACLs give.
ROLES: Mapping[str, str] = {
    "admin": "the cluster's super user: the broker itself, topic creation, ACLs",
    "operator": "the CLI: creates topics, publishes signals and commands, reads everything",
    "scheduler": "the scheduler processor (scheduled and recurring executions)",
    "allocator": "the allocator processor (group signals split across accounts)",
    "risk": "the risk processor",
    "desk": "the desk processor (router, executor, simulated venue, OMS, TCA)",
    "monitor": "the monitor processor",
    "gateway": "the ccxt gateway",
    "clock": "the ticker: publishes clock ticks",
    "feed": "the live market-data feed: publishes venues' market data",
    "api": "the REST API: reads everything, publishes signals and commands",
    "viewer": "a read-only user: dashboards, analysts, a read-only API",
}

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

# Environment variable → librdkafka property.
_ENVIRONMENT = {
    "KAFKA_SECURITY_PROTOCOL": "security.protocol",
    "KAFKA_SASL_MECHANISM": "sasl.mechanism",
    "KAFKA_SASL_USERNAME": "sasl.username",
    "KAFKA_SASL_PASSWORD": "sasl.password",
    "KAFKA_SSL_CA_LOCATION": "ssl.ca.location",
    "KAFKA_SSL_CERTIFICATE_LOCATION": "ssl.certificate.location",
    "KAFKA_SSL_KEY_LOCATION": "ssl.key.location",
    "KAFKA_SSL_KEY_PASSWORD": "ssl.key.password",
}

_role = "operator"


class KafkaSettingsError(ValueError):
    """A Kafka setting that cannot work, said in one line that names the setting."""


def act_as(name: str) -> None:
    """Make `name` the principal this process's clients log in as (a processor, `api`, ...)."""
    global _role
    if name not in ROLES:
        raise KafkaSettingsError(f"unknown Kafka role {name!r}: use one of {', '.join(ROLES)}")
    _role = name


def role() -> str:
    """The principal this process's clients log in as: `FILLSTREAM_KAFKA_ROLE` if set (e.g.
    `viewer` for a read-only API), else what the process acts as."""
    return os.environ.get("FILLSTREAM_KAFKA_ROLE") or _role


@dataclass(frozen=True)
class LocalSecurity:
    """How to reach the secured local broker, as its record (`broker.json`) says."""

    protocol: str
    mechanism: str
    ca_location: str
    users: Path  # {role: password}, readable by the user alone

    def password(self, name: str) -> str:
        try:
            return str(json.loads(self.users.read_text())[name])
        except (OSError, ValueError) as error:
            raise KafkaSettingsError(
                f"cannot read the local broker's users ({self.users}): {error}"
            ) from None
        except KeyError:
            raise KafkaSettingsError(
                f"the local broker has no user {name!r}: restart it with"
                " `fillstream kafka stop && fillstream kafka start --secure`"
            ) from None

    def settings(self, name: str) -> dict[str, str]:
        """The librdkafka security settings that log a client in as the user `name`."""
        return {
            "security.protocol": self.protocol,
            "sasl.mechanism": self.mechanism,
            "ssl.ca.location": self.ca_location,
            "sasl.username": name,
            "sasl.password": self.password(name),
        }


def local_security() -> LocalSecurity | None:
    """The running local broker's security, if it is the secured one and the cluster in use."""
    try:
        record = json.loads(settings.local_broker_record().read_text())
        security = record.get("security")
        if not security or record.get("bootstrap_servers") != settings.bootstrap_servers():
            return None
        return LocalSecurity(
            protocol=str(security["protocol"]),
            mechanism=str(security["mechanism"]),
            ca_location=str(security["ca_location"]),
            users=Path(security["users"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def local_super_user() -> str | None:
    """`admin` on the secured local broker, whose password this state dir holds (for the
    demo's own housekeeping); None elsewhere."""
    return "admin" if local_security() is not None else None


def properties_file() -> dict[str, str]:
    """The librdkafka properties in `FILLSTREAM_KAFKA_CONFIG` (`key=value` lines; `#` and `!`
    start comments, as in Java properties files); empty if unset."""
    path = os.environ.get("FILLSTREAM_KAFKA_CONFIG")
    if not path:
        return {}
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise KafkaSettingsError(f"FILLSTREAM_KAFKA_CONFIG={path}: {error.strerror}") from None
    properties: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, separator, value = line.partition("=")
        if not separator:
            key, separator, value = line.partition(":")
        if not separator or not key.strip():
            raise KafkaSettingsError(
                f"FILLSTREAM_KAFKA_CONFIG={path}, line {number}: expected key=value"
            )
        properties[key.strip()] = value.strip()
    return properties


def _security(name: str) -> dict[str, str]:
    from_environment = {
        prop: os.environ[variable]
        for variable, prop in _ENVIRONMENT.items()
        if os.environ.get(variable)
    }
    configured = {**properties_file(), **from_environment}
    if not configured:
        local = local_security()
        if local is not None:
            configured = local.settings(name)
    _check(configured)
    return configured


def _check(config: Mapping[str, str]) -> None:
    protocol = config.get("security.protocol", "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise KafkaSettingsError(
            f"KAFKA_SECURITY_PROTOCOL={protocol}: use one of {', '.join(PROTOCOLS)}"
        )
    if protocol.startswith("SASL"):
        mechanism = config.get("sasl.mechanism", "PLAIN").upper()
        if mechanism not in MECHANISMS and mechanism not in ("GSSAPI", "OAUTHBEARER"):
            raise KafkaSettingsError(
                f"KAFKA_SASL_MECHANISM={mechanism}: use one of {', '.join(MECHANISMS)}"
            )
        if mechanism in MECHANISMS:
            missing = [
                variable
                for variable, prop in _ENVIRONMENT.items()
                if prop in ("sasl.username", "sasl.password") and not config.get(prop)
            ]
            if missing:
                raise KafkaSettingsError(
                    f"KAFKA_SECURITY_PROTOCOL={protocol} with {mechanism} needs"
                    f" {' and '.join(missing)}"
                )


def worker_id() -> str:
    """This process as its figures and its clients name it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def client_config(
    extra: Mapping[str, Any] | None = None, *, role_name: str | None = None
) -> dict[str, Any]:
    """A client's configuration: the cluster, its security for `role_name` (default: this
    process's role), then the client's own settings `extra` (group, linger, ...).

    `client.id` is `role@host:pid`, so a consumer group's members, as the broker describes
    them, say which worker each is (the telemetry reports a worker's partitions from it)."""
    name = role_name or role()
    return {
        "bootstrap.servers": settings.bootstrap_servers(),
        "client.id": f"{name}@{worker_id()}",
        **_security(name),
        **(extra or {}),
    }


def registry_config(url: str) -> dict[str, Any]:
    """The Schema Registry client's configuration: `url`, with basic auth
    (`SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`, `user:password`) and TLS
    (`SCHEMA_REGISTRY_SSL_CA_LOCATION`, `..._CERTIFICATE_LOCATION`, `..._KEY_LOCATION`)."""
    config: dict[str, Any] = {"url": url}
    user_info = os.environ.get("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO")
    if user_info:
        config["basic.auth.credentials.source"] = "USER_INFO"
        config["basic.auth.user.info"] = user_info
    for suffix, prop in (
        ("SSL_CA_LOCATION", "ssl.ca.location"),
        ("SSL_CERTIFICATE_LOCATION", "ssl.certificate.location"),
        ("SSL_KEY_LOCATION", "ssl.key.location"),
    ):
        value = os.environ.get(f"SCHEMA_REGISTRY_{suffix}")
        if value:
            config[prop] = value
    return config
