"""The gateway's venue file and credentials: every mistake names its entry, no secret shows."""

from __future__ import annotations

import pickle
import tomllib
from pathlib import Path

import pytest

from fillstream.connectors.gateway.config import (
    Credentials,
    GatewayConfigError,
    Secret,
    VenueEntry,
    VenuePolicy,
    load_venues,
    parse_venues,
    read_credentials,
)

FILE = """
[venues.binance]
exchange = "binance"
api_url = "http://127.0.0.1:8080"
symbols = ["BTC/USDT", "ETH/USDT"]
api_key_env = "BINANCE_API_KEY"
secret_env = "BINANCE_API_SECRET"

[venues.okx-test]
exchange = "okx"
sandbox = true
symbols = ["BTC/USDT"]
api_key_env = "OKX_KEY"
secret_env = "OKX_SECRET"
password_env = "OKX_PASSPHRASE"
"""


def _parse(text: str) -> dict[str, VenueEntry]:
    return parse_venues(tomllib.loads(text))


def test_a_file_gives_one_frozen_entry_per_venue(tmp_path: Path) -> None:
    path = tmp_path / "venues.toml"
    path.write_text(FILE)
    venues = load_venues(path)
    assert venues == {
        "binance": VenueEntry(
            name="binance",
            exchange="binance",
            symbols=("BTC/USDT", "ETH/USDT"),
            api_key_env="BINANCE_API_KEY",
            secret_env="BINANCE_API_SECRET",
            api_url="http://127.0.0.1:8080",
        ),
        "okx-test": VenueEntry(
            name="okx-test",
            exchange="okx",
            symbols=("BTC/USDT",),
            api_key_env="OKX_KEY",
            secret_env="OKX_SECRET",
            password_env="OKX_PASSPHRASE",
            sandbox=True,
        ),
    }
    with pytest.raises(AttributeError):
        venues["binance"].sandbox = True  # type: ignore[misc]


BASE = 'exchange = "binance"\nsymbols = ["BTC/USDT"]\napi_key_env = "K"\nsecret_env = "S"\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'exchange = "binance"\nsymbols = ["BTC/USDT"]\n',
            "missing field(s): api_key_env, secret_env",
        ),
        (BASE.replace('"binance"', '"nosuchex"'), "'nosuchex' is not a ccxt exchange id"),
        (BASE.replace('["BTC/USDT"]', "[]"), "symbols must be a non-empty list"),
        (BASE.replace('["BTC/USDT"]', '["BTC/USDT", "BTC/USDT"]'), "a symbol is listed twice"),
        (BASE + 'api_url = "127.0.0.1:8080"\n', "is not an http(s) URL"),
        (BASE + 'sandbox = "yes"\n', "sandbox must be true or false"),
        (BASE + "rate = 3\n", "unknown field(s) rate (allowed: api_key_env, api_url, "),
        (BASE.replace('"K"', '""'), "api_key_env must be a non-empty string"),
    ],
)
def test_a_bad_entry_is_named(body: str, message: str) -> None:
    with pytest.raises(GatewayConfigError, match=r"\[venues\.main\]") as caught:
        _parse("[venues.main]\n" + body)
    assert message in str(caught.value)


def test_a_secret_pasted_into_the_file_is_refused_without_echoing_it() -> None:
    with pytest.raises(GatewayConfigError, match="come from the environment") as caught:
        _parse("[venues.main]\n" + BASE + 'secret = "hunter2"\n')
    assert "hunter2" not in str(caught.value)


def test_a_file_without_venues_or_with_other_sections_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match="no venues"):
        _parse("")
    with pytest.raises(GatewayConfigError, match="unknown section"):
        _parse("[risk]\n")
    path = tmp_path / "bad.toml"
    path.write_text("[venues.main\n")
    with pytest.raises(GatewayConfigError, match=str(path)):
        load_venues(path)
    with pytest.raises(GatewayConfigError, match="no venue file"):
        load_venues(tmp_path / "absent.toml")


def test_credentials_come_from_the_named_variables() -> None:
    okx = _parse(FILE)["okx-test"]
    environ = {"OKX_KEY": "key-1", "OKX_SECRET": " sec-2\n", "OKX_PASSPHRASE": "pass-3"}
    credentials = read_credentials(okx, environ)
    assert credentials == Credentials(Secret("key-1"), Secret("sec-2"), Secret("pass-3"))
    assert credentials.values() == ("key-1", "sec-2", "pass-3")


def test_every_missing_variable_is_named_and_no_value_is_shown() -> None:
    okx = _parse(FILE)["okx-test"]
    with pytest.raises(GatewayConfigError) as caught:
        read_credentials(okx, {"OKX_KEY": "key-1", "OKX_SECRET": "  "})
    assert str(caught.value) == (
        "venue 'okx-test': environment variable(s) OKX_SECRET, OKX_PASSPHRASE unset or empty"
    )
    assert "key-1" not in str(caught.value)


def test_a_secret_never_shows_its_value() -> None:
    secret = Secret("s3cr3t-value")
    credentials = Credentials(secret, Secret("other-value"))
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr(credentials)):
        assert "s3cr3t" not in text and "other-value" not in text
    assert secret.reveal() == "s3cr3t-value"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


# -- the error policy ---------------------------------------------------------------------


def test_the_policy_defaults_to_the_gateway_before_the_settings_existed() -> None:
    policy = _parse("[venues.main]\n" + BASE)["main"].policy
    assert policy == VenuePolicy(
        max_retries=4,
        retry_delay=0.1,
        failure_threshold=5,
        circuit_open_timeout=30.0,
        circuit_breaker_enabled=True,
        order_update_interval=0.5,
        timeout=10.0,
    )
    retry, breaker = policy.retry(), policy.breaker()
    assert (retry.base_us, retry.max_delay_us, retry.max_attempts) == (100_000, 5_000_000, 5)
    assert (breaker.failure_threshold, breaker.open_timeout_us, breaker.enabled) == (
        5,
        30_000_000,
        True,
    )
    assert (policy.timeout_ms, policy.order_update_interval_us) == (10_000, 500_000)


def test_each_setting_of_a_table_reaches_its_piece() -> None:
    settings = (
        "max_retries = 2\nretry_delay = 0.25\nfailure_threshold = 3\n"
        "circuit_open_timeout = 1.5\ncircuit_breaker_enabled = false\n"
        "order_update_interval = 2\ntimeout = 2.5\n"
    )
    policy = _parse("[venues.main]\n" + BASE + settings)["main"].policy
    retry, breaker = policy.retry(), policy.breaker()
    assert (retry.base_us, retry.max_delay_us, retry.max_attempts) == (250_000, 5_000_000, 3)
    assert (breaker.failure_threshold, breaker.open_timeout_us, breaker.enabled) == (
        3,
        1_500_000,
        False,
    )
    assert (policy.timeout_ms, policy.order_update_interval_us) == (2_500, 2_000_000)


def test_a_retry_delay_above_the_backoff_cap_becomes_the_cap() -> None:
    retry = VenuePolicy(retry_delay=8).retry()
    assert (retry.window_us(1), retry.window_us(3)) == (8_000_000, 8_000_000)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("max_retries = -1", "max_retries: Input should be greater than or equal to 0"),
        ("max_retries = 2.0", "max_retries: Input should be a valid integer"),
        ("max_retries = true", "max_retries: Input should be a valid integer"),
        ("retry_delay = 0", "retry_delay: Input should be greater than or equal to 0.001"),
        ('retry_delay = "1"', "retry_delay: Input should be a valid number"),
        ("failure_threshold = 0", "failure_threshold: Input should be greater than or equal to 1"),
        ("circuit_open_timeout = 0", "circuit_open_timeout: Input should be greater than 0"),
        ('circuit_breaker_enabled = "no"', "circuit_breaker_enabled: Input should be a valid"),
        ("order_update_interval = -0.5", "order_update_interval: Input should be greater than 0"),
        ("timeout = 0", "timeout: Input should be greater than or equal to 0.001"),
    ],
)
def test_a_bad_setting_is_named_with_its_table(setting: str, message: str) -> None:
    with pytest.raises(GatewayConfigError) as caught:
        parse_venues(tomllib.loads("[venues.main]\n" + BASE + setting), "gateway.venues")
    assert str(caught.value).startswith("[gateway.venues.main]: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("max_attempts = 5", "write max_retries (retries after the first call"),
        ("open_timeout = 30", "write circuit_open_timeout (seconds)"),
        ("poll_interval = 0.5", "write order_update_interval (seconds)"),
        ("timeout_ms = 10000", "write timeout (seconds)"),
    ],
)
def test_the_names_the_code_uses_are_refused_with_the_setting_to_write(old: str, new: str) -> None:
    with pytest.raises(GatewayConfigError, match=r"^\[venues\.main\]: ") as caught:
        _parse("[venues.main]\n" + BASE + old)
    assert new in str(caught.value)
