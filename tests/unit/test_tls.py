"""The local CA and the broker certificate it signs (infra/tls.py)."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from fillstream.infra import tls


def _broker_certificate(files: tls.TlsFiles) -> x509.Certificate:
    return x509.load_pem_x509_certificate(files.keystore.read_bytes())


def test_the_broker_certificate_verifies_against_the_ca(tmp_path: Path) -> None:
    files = tls.issue(tmp_path)
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    broker = _broker_certificate(files)

    broker.verify_directly_issued_by(ca)
    ca.verify_directly_issued_by(ca)  # self-signed
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not broker.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_broker_certificate_names_127_0_0_1_and_localhost(tmp_path: Path) -> None:
    names = (
        _broker_certificate(tls.issue(tmp_path))
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


def test_the_subject_kafka_sees_is_the_certificates(tmp_path: Path) -> None:
    assert _broker_certificate(tls.issue(tmp_path)).subject.rfc4514_string() == (tls.BROKER_SUBJECT)


def test_the_keystore_holds_an_unencrypted_pkcs8_key_readable_by_the_user_alone(
    tmp_path: Path,
) -> None:
    files = tls.issue(tmp_path)
    pem = files.keystore.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, as Kafka's PEM store needs
    key = load_pem_private_key(pem, password=None)
    assert key.public_key() == _broker_certificate(files).public_key()
    assert stat.S_IMODE(files.keystore.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in files.ca.read_bytes()  # the CA's key is never written
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broker.pem", "ca.pem"]


def test_another_ca_does_not_vouch_for_the_broker(tmp_path: Path) -> None:
    broker = _broker_certificate(tls.issue(tmp_path / "one"))
    other = x509.load_pem_x509_certificate(tls.issue(tmp_path / "two").ca.read_bytes())
    with pytest.raises(InvalidSignature):
        broker.verify_directly_issued_by(other)
