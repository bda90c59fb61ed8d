"""A cluster that answers but refuses us, said in one line that names the setting or the ACL.

librdkafka retries a refused login or an untrusted certificate for ever, logging a line per
attempt; a missing ACL comes back as a bare error code. A user needs to know which variable
to fix, or which ACL to grant: `explain` turns those errors into that, and `cluster_answers`
tells a cluster that is away (wait for it) from one that refuses us (stop and say why).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from fillstream.settings.kafka_client import client_config, role

__all__ = ["AUTHORIZATION", "KafkaAccessRefused", "cluster_answers", "explain"]

AUTHORIZATION = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED: "topic",
    KafkaError.GROUP_AUTHORIZATION_FAILED: "consumer group",
    KafkaError.CLUSTER_AUTHORIZATION_FAILED: "cluster",
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "transactional id",
}
_LOGIN = {KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED}
_TLS_WORDS = ("certificate verify failed", "SSL handshake failed", "unable to get local issuer")

_quiet = logging.getLogger("fillstream.kafka.probe")  # librdkafka's retries, kept out of sight
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


class KafkaAccessRefused(Exception):
    """The cluster refused this process: the message names what to change."""


def explain(
    error: KafkaError, config: Mapping[str, Any], resource: str | None = None
) -> str | None:
    """One line saying which setting or ACL to fix, if `error` is a refusal; else None.

    `config` is the client's (for the user and CA it used); `resource` the topic or group the
    refused request was for, when known."""
    code, text = error.code(), error.str()
    user = config.get("sasl.username", role())
    if code in _LOGIN:
        mechanism = config.get("sasl.mechanism", "PLAIN")
        return (
            f"Kafka refused the login of user {user!r} ({mechanism}): check KAFKA_SASL_USERNAME"
            " and KAFKA_SASL_PASSWORD (or the user in FILLSTREAM_KAFKA_CONFIG)"
        )
    if code == KafkaError._SSL or any(word in text for word in _TLS_WORDS):
        ca = config.get("ssl.ca.location")
        where = f"KAFKA_SSL_CA_LOCATION={ca}" if ca else "the system's CA certificates"
        return (
            f"the broker's TLS certificate is not signed by a CA this client trusts ({where}):"
            " point KAFKA_SSL_CA_LOCATION at the CA that signed it"
        )
    kind = AUTHORIZATION.get(code)
    if kind is not None:
        what = f"{kind} {resource}" if resource else f"a {kind}"
        return (
            f"user {user!r} is not allowed to use {what} ({error.name()}): an ACL is missing;"
            " `fillstream acls show` lists who may do what, `fillstream acls apply` grants"
            " what the pipeline needs"
        )
    return None


def cluster_answers(timeout: float = 5.0, role_name: str | None = None) -> bool:
    """True if the cluster serves this process, False if none answers (it may be starting);
    raises KafkaAccessRefused if it answers but refuses us."""
    config = client_config(role_name=role_name)
    seen: list[KafkaError] = []
    admin = AdminClient({**config, "error_cb": seen.append, "logger": _quiet})
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException as failure:
        admin.poll(0)  # serves the error callbacks queued meanwhile
        for error in (*seen, failure.args[0]):
            if isinstance(error, KafkaError):
                refusal = explain(error, config)
                if refusal is not None:
                    raise KafkaAccessRefused(refusal) from None
        return False
    return True
