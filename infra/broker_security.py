"""The secured local broker's security: SASL_SSL, SCRAM-SHA-512 users, enforced ACLs.

`fillstream kafka start --secure` runs the same single-node KRaft broker as the plain one, but
its client listener is `SASL_SSL`: TLS with a certificate from a private CA (`tls.issue`), and
one SCRAM-SHA-512 user per principal of `kafka_client.ROLES`, each with a random password kept
in `users.json` (`{role: password}`, 0600). The standard authorizer enforces ACLs
(`allow.everyone.if.no.acl.found=false`) and `admin` is the super user.

The controller listener (127.0.0.1) carries the node's own controller traffic only, but it
cannot be PLAINTEXT: there every connection is `User:ANONYMOUS`, the authorizer refuses the
broker's registration with the controller, and making ANONYMOUS a super user would give any
local process the controller's APIs unchecked. So it is SSL with client certificates required:
the node presents its own certificate, mapped to the super user `fillstream-node`
(`ssl.principal.mapping.rules`), and as the CA's key is never kept, no other certificate can
connect.

The broker's inter-broker connections go through its own SASL_SSL listener as `admin`, so the
users must exist before it starts: they are written into the metadata log when the data dir is
formatted (`kafka-storage format --add-scram`). A data dir is formatted once, so its users'
passwords live as long as it does, and a plain and a secured broker never share one: the
secured broker keeps everything under a directory of its own (the durable one under
`<state dir>/kafka/secure/`: `data/`, `tls/`, `users.json`, `server.properties`, `broker.log`),
beside the plain broker's `<state dir>/kafka/data`. Both record themselves in the same
`broker.json`, since both serve the same default port; the secured one adds a `security` key
(`record`), from which every client of the state dir logs in as its role
(`kafka_client.client_config`).

Passwords appear in `users.json` and in the broker's `server.properties` (the admin's, for its
inter-broker login), both 0600, and nowhere else: Kafka logs password-typed settings as
`[hidden]`, and the CLI shows paths only. The one exception is the format command, which takes
them as arguments (`kafka-storage` reads SCRAM credentials from nowhere else): another local
user could see them with `ps` for the second it runs, on the data dir's first start only.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from fillstream.infra import tls
from fillstream.infra.private_files import write_private
from fillstream.settings.kafka_client import ROLES, LocalSecurity

__all__ = ["MECHANISM", "PROTOCOL", "SUPER_USER", "BrokerSecurity"]

PROTOCOL = "SASL_SSL"
MECHANISM = "SCRAM-SHA-512"
SUPER_USER = "admin"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
_NODE = "fillstream-node"
_ITERATIONS = 8192  # SCRAM-SHA-512's minimum is 4096


@dataclass(frozen=True)
class BrokerSecurity:
    """The TLS files and SCRAM users of one secured broker, all under `directory`."""

    directory: Path

    @property
    def tls(self) -> tls.TlsFiles:
        return tls.TlsFiles.at(self.directory / "tls")

    @property
    def users(self) -> Path:
        """`{role: password}`, readable by the user alone."""
        return self.directory / "users.json"

    def passwords(self) -> dict[str, str]:
        users = json.loads(self.users.read_text())
        return {name: str(password) for name, password in users.items()}

    def ensure(self) -> None:
        """Issue the TLS files if absent, and give every role of `ROLES` a password it lacks.

        Existing passwords are kept: the broker's data dir holds their SCRAM credentials.
        """
        if not self.tls.exist():
            tls.issue(self.tls.ca.parent)
        known = self.passwords() if self.users.is_file() else {}
        if any(name not in known for name in ROLES):
            fresh = {name: secrets.token_urlsafe(24) for name in ROLES if name not in known}
            write_private(self.users, json.dumps({**known, **fresh}, indent=2) + "\n")

    def local(self) -> LocalSecurity:
        """How a client reaches this broker, as `kafka_client` reads it from the record."""
        return LocalSecurity(
            protocol=PROTOCOL,
            mechanism=MECHANISM,
            ca_location=str(self.tls.ca.resolve()),
            users=self.users.resolve(),
        )

    def record(self) -> dict[str, str]:
        """The `security` entry of the broker's record (`broker.json`): paths, no password."""
        local = self.local()
        return {
            "protocol": local.protocol,
            "mechanism": local.mechanism,
            "ca_location": local.ca_location,
            "users": str(local.users),
        }

    def server_properties(self, port: int, controller_port: int) -> dict[str, str]:
        """The broker's listeners and security settings (the admin's password among them)."""
        admin = self.passwords()[SUPER_USER]
        return {
            "listeners": f"{PROTOCOL}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"{PROTOCOL}://127.0.0.1:{port}",
            "inter.broker.listener.name": PROTOCOL,
            "listener.security.protocol.map": f"{PROTOCOL}:{PROTOCOL},CONTROLLER:SSL",
            "listener.name.controller.ssl.client.auth": "required",
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.{PROTOCOL.lower()}.{MECHANISM.lower()}.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required"
                f' username="{SUPER_USER}" password="{admin}";'
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.tls.keystore.resolve()),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.tls.ca.resolve()),
            "authorizer.class.name": AUTHORIZER,
            "super.users": f"User:{SUPER_USER};User:{_NODE}",
            "ssl.principal.mapping.rules": f"RULE:^{re.escape(tls.BROKER_SUBJECT)}$/{_NODE}/",
            "allow.everyone.if.no.acl.found": "false",
        }

    def format_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that create every user in the metadata log."""
        arguments = []
        for name, password in self.passwords().items():
            credential = f"name={name},iterations={_ITERATIONS},password={password}"
            arguments += ["--add-scram", f"{MECHANISM}=[{credential}]"]
        return arguments

    def sync_users(self, admin: AdminClient, timeout: float = 30.0) -> None:
        """Set every user of `users.json` on the running broker to its password there: a role
        added to `ROLES` after the data dir was formatted gets its user, and an edited
        password takes effect."""
        upserts = [
            UserScramCredentialUpsertion(
                name,
                ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, _ITERATIONS),
                password.encode(),
            )
            for name, password in self.passwords().items()
        ]
        for future in admin.alter_user_scram_credentials(upserts).values():
            future.result(timeout)
