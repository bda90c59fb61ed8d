"""A private certificate authority for the local broker's TLS, made with `cryptography`.

The secured local broker (`fillstream kafka start --secure`) needs a certificate its clients
can verify without a public CA: `issue` makes a self-signed CA and a broker certificate for
127.0.0.1 and localhost (SAN IP and DNS, so hostname verification holds either way) signed by
it. Kafka reads both as PEM (`ssl.keystore.type=PEM`), so no keytool or Java keystore is
involved. The CA's private key is never written: nothing is signed after `issue`, and a CA key
on disk could sign a certificate for any host. The broker's key is written readable by the
user alone.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fillstream.infra.private_files import write_private

__all__ = ["BROKER_SUBJECT", "HOSTS", "TlsFiles", "issue"]

HOSTS = ("127.0.0.1", "localhost")
"""The names the broker's certificate is valid for: the local broker listens on 127.0.0.1."""

_ORGANIZATION = "fillstream local broker"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


BROKER_SUBJECT = _name(HOSTS[0]).rfc4514_string()
"""The broker certificate's subject as Kafka names an SSL peer (RFC 2253: `CN=...,O=...`)."""

_VALIDITY = datetime.timedelta(days=3650)
"""A local broker's state dir may live for years; nothing here is trusted beyond it."""


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files of one local CA and the broker certificate it signed."""

    ca: Path
    """The CA certificate: what clients trust (`ssl.ca.location`) and the broker's truststore."""
    keystore: Path
    """The broker's private key (PKCS#8) then its certificate: Kafka's PEM keystore, 0600."""

    @classmethod
    def at(cls, directory: Path) -> TlsFiles:
        return cls(ca=directory / "ca.pem", keystore=directory / "broker.pem")

    def exist(self) -> bool:
        return self.ca.is_file() and self.keystore.is_file()


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
    )


def issue(directory: Path) -> TlsFiles:
    """Make a new CA and a broker certificate for `HOSTS` signed by it, as PEM in `directory`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("fillstream local CA")
    ca = (
        _certificate("fillstream local CA", ca_key, ca_name, ca_key, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = (
        _certificate(HOSTS[0], broker_key, ca_name, ca_key, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        # The broker is a TLS client too: its inter-broker connections go to its own listener.
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles.at(directory)
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key_pem = broker_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,  # the only unencrypted form Kafka's PEM store reads
        serialization.NoEncryption(),
    )
    write_private(files.keystore, key_pem + broker.public_bytes(serialization.Encoding.PEM))
    return files
