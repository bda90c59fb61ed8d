"""The gateway's venues, from a TOML file: one `[venues.<name>]` table per venue.

```toml
[venues.binance]
exchange = "binance"                 # a ccxt exchange id
api_url = "http://127.0.0.1:8080"    # optional: where the venue's API really is
sandbox = false                      # optional: ccxt's set_sandbox_mode
symbols = ["BTC/USDT", "ETH/USDT"]
api_key_env = "BINANCE_API_KEY"      # names of environment variables, never the values
secret_env = "BINANCE_API_SECRET"
password_env = "BINANCE_API_PASSWORD"  # optional: venues that want a passphrase
heartbeat_timeout_seconds = 10       # optional: the dead man's switch fires after this silence
reconcile_interval_seconds = 60      # optional: how often to reconcile with the venue
max_retries = 4                      # optional, the error policy (`VenuePolicy`, defaults shown)
retry_delay = 0.1
failure_threshold = 5
circuit_open_timeout = 30
circuit_breaker_enabled = true
order_update_interval = 0.5
timeout = 10
```

The file names where the credentials are, never what they are, so it can be committed and
shown. `read_credentials` takes the environment as a mapping (the shell passes `os.environ`)
and wraps each value in a `Secret`, whose repr and str never show it.

The error-policy keys are validated by a pydantic model, `VenuePolicy`, strictly (a `true` is
not a count, `"3"` is not a number), because a policy misread is a venue hammered or
abandoned; the names other parts of the gateway use for them are refused with the key to use.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fillstream.connectors.gateway.breaker import CircuitBreaker
from fillstream.connectors.gateway.exchanges import is_exchange
from fillstream.connectors.gateway.retry import RetryPolicy
from fillstream.schemas.jsonl import explain_invalid
from fillstream.settings.tables import refuse_unknown

__all__ = [
    "Credentials",
    "GatewayConfigError",
    "Secret",
    "VenueEntry",
    "VenuePolicy",
    "load_venues",
    "parse_venues",
    "read_credentials",
]

_ENTRY_FIELDS = {
    "exchange",
    "api_url",
    "sandbox",
    "symbols",
    "api_key_env",
    "secret_env",
    "password_env",
    "heartbeat_timeout_seconds",
    "reconcile_interval_seconds",
}
_REQUIRED = ("exchange", "symbols", "api_key_env", "secret_env")
# What the retry policy, the breaker and the service call these settings: a table that uses
# one of those names gets the key to write instead, not a bare "unknown field".
_RENAMED = {
    "max_attempts": "max_retries (retries after the first call: max_attempts - 1)",
    "open_timeout": "circuit_open_timeout (seconds)",
    "poll_interval": "order_update_interval (seconds)",
    "timeout_ms": "timeout (seconds)",
}


class GatewayConfigError(ValueError):
    """The venue file or the environment cannot be used; the message names the entry."""


class Secret:
    """A credential: `reveal()` is the only way to its value, so no log or repr leaks it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled: it would leave the process in the clear")


class VenuePolicy(BaseModel):
    """How the gateway treats one venue's failures and orders; every duration in seconds.

    Each setting governs one piece: `retry()` the backoff of transient failures, `breaker()`
    the circuit breaker, `timeout_ms` ccxt's request timeout, `order_update_interval`
    how often the adapter follows the venue's open orders, and `balance_update_interval` how
    old the venue's balance may grow before it is fetched again. The defaults are the gateway's
    behaviour before the settings existed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    max_retries: int = Field(default=4, ge=0)  # after the first call; 0 = never retry
    retry_delay: float = Field(default=0.1, ge=0.001)  # backoff base: windows 0.1, 0.2, 0.4 s
    failure_threshold: int = Field(default=5, ge=1)
    circuit_open_timeout: float = Field(default=30.0, gt=0)
    circuit_breaker_enabled: bool = True
    order_update_interval: float = Field(default=0.5, gt=0)
    balance_update_interval: float = Field(default=30.0, gt=0)
    timeout: float = Field(default=10.0, ge=0.001)

    def retry(self) -> RetryPolicy:
        """The backoff: windows double from `retry_delay` up to RetryPolicy's cap (5 s), or
        up to `retry_delay` itself when that is longer."""
        base_us = round(self.retry_delay * 1_000_000)
        return RetryPolicy(
            base_us=base_us,
            max_delay_us=max(RetryPolicy.max_delay_us, base_us),
            max_attempts=self.max_retries + 1,
        )

    def breaker(self) -> CircuitBreaker:
        return CircuitBreaker(
            failure_threshold=self.failure_threshold,
            open_timeout_us=round(self.circuit_open_timeout * 1_000_000),
            enabled=self.circuit_breaker_enabled,
        )

    @property
    def timeout_ms(self) -> int:
        """ccxt's `timeout`, which is in milliseconds."""
        return round(self.timeout * 1000)

    @property
    def order_update_interval_us(self) -> int:
        return round(self.order_update_interval * 1_000_000)

    @property
    def balance_update_interval_us(self) -> int:
        return round(self.balance_update_interval * 1_000_000)


_FIELDS = _ENTRY_FIELDS | set(VenuePolicy.model_fields)


@dataclass(frozen=True)
class VenueEntry:
    name: str
    exchange: str
    symbols: tuple[str, ...]
    api_key_env: str
    secret_env: str
    password_env: str | None = None
    api_url: str | None = None
    sandbox: bool = False
    heartbeat_timeout_seconds: float = 10.0
    reconcile_interval_seconds: float = 60.0
    policy: VenuePolicy = field(default_factory=VenuePolicy)


@dataclass(frozen=True)
class Credentials:
    api_key: Secret
    secret: Secret
    password: Secret | None = None

    def values(self) -> tuple[str, ...]:
        """Every secret value, for the redactor."""
        held = (self.api_key, self.secret, self.password)
        return tuple(item.reveal() for item in held if item is not None)


def parse_venues(data: Mapping[str, Any], table: str = "venues") -> dict[str, VenueEntry]:
    """The venues of a parsed file, by name; `table` is where the file holds them (the engine
    configuration's are under `gateway.venues`), for the errors to name it."""
    unknown = sorted(set(data) - {"venues"})
    if unknown:
        raise GatewayConfigError(f"unknown section(s): {', '.join(unknown)}")
    section = data.get("venues")
    if not isinstance(section, Mapping) or not section:
        raise GatewayConfigError(f"no venues: add a [{table}.<name>] table per venue")
    return {name: _venue(f"[{table}.{name}]", name, entry) for name, entry in section.items()}


def load_venues(path: Path) -> dict[str, VenueEntry]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise GatewayConfigError(f"no venue file at {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise GatewayConfigError(f"{path}: {error}") from None
    try:
        return parse_venues(data)
    except GatewayConfigError as error:
        raise GatewayConfigError(f"{path}: {error}") from None


def read_credentials(venue: VenueEntry, environ: Mapping[str, str]) -> Credentials:
    """The venue's credentials from `environ`; every missing variable is named at once."""
    names = {"api_key": venue.api_key_env, "secret": venue.secret_env}
    if venue.password_env is not None:
        names["password"] = venue.password_env
    missing = [name for name in names.values() if not environ.get(name, "").strip()]
    if missing:
        raise GatewayConfigError(
            f"venue {venue.name!r}: environment variable(s) {', '.join(missing)} unset or empty"
        )
    return Credentials(**{field: Secret(environ[name].strip()) for field, name in names.items()})


def _venue(where: str, name: str, entry: Any) -> VenueEntry:
    if not isinstance(entry, Mapping):
        raise GatewayConfigError(f"{where}: must be a table")
    pasted = sorted(set(entry) & {"api_key", "apiKey", "secret", "password"})
    if pasted:
        raise GatewayConfigError(
            f"{where}: {', '.join(pasted)} in the file: credentials come from the environment;"
            " name the variable instead (api_key_env, secret_env, password_env)"
        )
    renamed = sorted(set(entry) & set(_RENAMED))
    if renamed:
        hints = "; ".join(f"{old} is not a setting here, write {_RENAMED[old]}" for old in renamed)
        raise GatewayConfigError(f"{where}: {hints}")
    refuse_unknown(entry, _FIELDS, where, GatewayConfigError)
    missing = [field for field in _REQUIRED if field not in entry]
    if missing:
        raise GatewayConfigError(f"{where}: missing field(s): {', '.join(missing)}")
    exchange = _text(where, entry, "exchange")
    if not is_exchange(exchange):
        raise GatewayConfigError(f"{where}: {exchange!r} is not a ccxt exchange id")
    symbols = entry["symbols"]
    if (
        not isinstance(symbols, list)
        or not symbols
        or not all(isinstance(symbol, str) and symbol for symbol in symbols)
    ):
        raise GatewayConfigError(f"{where}: symbols must be a non-empty list of symbols")
    if len(set(symbols)) != len(symbols):
        raise GatewayConfigError(f"{where}: a symbol is listed twice")
    api_url = _text(where, entry, "api_url") if "api_url" in entry else None
    if api_url is not None and urlparse(api_url).scheme not in {"http", "https"}:
        raise GatewayConfigError(f"{where}: api_url {api_url!r} is not an http(s) URL")
    sandbox = entry.get("sandbox", False)
    if not isinstance(sandbox, bool):
        raise GatewayConfigError(f"{where}: sandbox must be true or false")
    return VenueEntry(
        heartbeat_timeout_seconds=_seconds(where, entry, "heartbeat_timeout_seconds", 10.0),
        reconcile_interval_seconds=_seconds(where, entry, "reconcile_interval_seconds", 60.0),
        name=name,
        exchange=exchange,
        symbols=tuple(symbols),
        api_key_env=_text(where, entry, "api_key_env"),
        secret_env=_text(where, entry, "secret_env"),
        password_env=_text(where, entry, "password_env") if "password_env" in entry else None,
        api_url=api_url,
        sandbox=sandbox,
        policy=_policy(where, entry),
    )


def _policy(where: str, entry: Mapping[str, Any]) -> VenuePolicy:
    given = {key: value for key, value in entry.items() if key in VenuePolicy.model_fields}
    try:
        return VenuePolicy.model_validate(given)
    except ValidationError as error:
        raise GatewayConfigError(f"{where}: {explain_invalid(error)}") from None


def _text(where: str, entry: Mapping[str, Any], field: str) -> str:
    value = entry[field]
    if not isinstance(value, str) or not value.strip():
        raise GatewayConfigError(f"{where}: {field} must be a non-empty string")
    return value


def _seconds(where: str, entry: Mapping[str, Any], field: str, default: float) -> float:
    value = entry.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise GatewayConfigError(f"{where}: {field} must be a positive number of seconds")
    return float(value)
