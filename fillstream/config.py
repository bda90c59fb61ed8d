"""The engine configuration: venues, their instruments, risk limits, the algorithms' history,
the TCA horizons, the monitor's thresholds, and the accounts and their allocation groups, from
one TOML file.

`fillstream/engine.toml` is the default (the demo's venues); `--config FILE` replaces it.
Every mistake is reported with where it is, because a misread limit is no limit.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fillstream.connectors.gateway.config import VenueEntry, parse_venues
from fillstream.connectors.livefeed.config import FeedVenue, parse_feed
from fillstream.domain.instruments import Instrument, InstrumentBook
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import AccountStatus
from fillstream.settings.tables import refuse_unknown
from fillstream.streams.accounts import AccountsConfig, parse_accounts
from fillstream.streams.execution.volume_profile import VolumeProfile, profile_from_file
from fillstream.streams.monitor import MonitorConfig
from fillstream.streams.risk.limits import RiskConfig, TradingState
from fillstream.streams.tca import TcaConfig

__all__ = ["DEFAULT_CONFIG", "ConfigError", "EngineConfig", "load_config"]

DEFAULT_CONFIG = Path(__file__).parent / "engine.toml"


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class EngineConfig:
    venues: Mapping[str, VenueConfig]
    instruments: InstrumentBook
    risk: RiskConfig
    volume_profiles: Mapping[str, VolumeProfile] = field(default_factory=dict)  # by symbol
    tca: TcaConfig = field(default_factory=TcaConfig)
    gateway: Mapping[str, VenueEntry] = field(default_factory=dict)  # venues reached over ccxt
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    feed: Mapping[str, FeedVenue] = field(default_factory=dict)  # venues read live (ccxt)
    accounts: AccountsConfig = field(default_factory=AccountsConfig)


def _parse(data: Mapping[str, Any], base: Path) -> EngineConfig:
    sections = {
        "venues",
        "instruments",
        "risk",
        "algorithms",
        "tca",
        "gateway",
        "monitor",
        "feed",
        "accounts",
        "allocation_groups",
    }
    refuse_unknown(data, sections, "", what="section")
    venues: dict[str, VenueConfig] = {}
    for number, entry in enumerate(data.get("venues", []), start=1):
        venue = VenueConfig.from_dict(entry, where=f"venues[{number}]")
        if venue.name in venues:
            raise ValueError(f"venues[{number}]: venue {venue.name!r} is defined twice")
        venues[venue.name] = venue
    instruments = [
        Instrument.from_dict(entry, where=f"instruments[{number}]")
        for number, entry in enumerate(data.get("instruments", []), start=1)
    ]
    for instrument in instruments:
        if instrument.venue not in venues:
            raise ValueError(
                f"instrument {instrument.symbol} names venue {instrument.venue!r}, "
                "which no [[venues]] entry defines"
            )
    book = InstrumentBook.of(instruments)
    accounts = parse_accounts(data.get("accounts", []), data.get("allocation_groups", []))
    risk = _with_accounts(RiskConfig.from_dict(data.get("risk", {}), book), accounts, venues)
    gateway = parse_venues(data["gateway"], "gateway.venues") if "gateway" in data else {}
    feed = parse_feed(data["feed"]) if "feed" in data else {}
    for table, named in (("gateway", gateway), ("feed", feed)):
        for name in named:
            if name not in venues:
                raise ValueError(f"{table}.venues.{name}: no [[venues]] entry is named {name!r}")
    return EngineConfig(
        venues,
        book,
        risk,
        _volume_profiles(data.get("algorithms", {}), base),
        TcaConfig.from_dict(data.get("tca", {})),
        gateway,
        MonitorConfig.from_dict(data.get("monitor", {})),
        feed,
        accounts,
    )


def _with_accounts(
    risk: RiskConfig, accounts: AccountsConfig, venues: Mapping[str, VenueConfig]
) -> RiskConfig:
    """Risk enforces what the `[[accounts]]` tables start with: a halted or reducing account
    as `[risk.accounts]` would set it, a paused one until its resume; and publishes their
    state."""
    states = dict(risk.trading_states)
    paused = set()
    for number, account in enumerate(accounts.accounts.values(), start=1):
        where = f"accounts[{number}]"
        if account.venue not in venues:
            raise ValueError(f"{where}.venue: no [[venues]] entry is named {account.venue!r}")
        if account.state is AccountStatus.ACTIVE:
            continue
        if account.id in states:
            raise ValueError(
                f"{where}.state: [risk.accounts.{account.id}] sets a trading_state already"
            )
        if account.state is AccountStatus.PAUSED:
            paused.add(account.id)
        else:
            states[account.id] = TradingState(account.state.value)
    return replace(
        risk,
        trading_states=states,
        paused_at_start=frozenset(paused),
        tracked=frozenset(accounts.accounts),
    )


def _volume_profiles(section: Mapping[str, Any], base: Path) -> dict[str, VolumeProfile]:
    """VWAP's history: minute bars per symbol, paths relative to the configuration file."""
    refuse_unknown(section, {"volume_profiles"}, "algorithms")
    profiles = {}
    for symbol, name in section.get("volume_profiles", {}).items():
        path = base / str(name)
        if not path.is_file():
            raise ValueError(f"algorithms.volume_profiles: {symbol}: no bar file at {path}")
        profiles[symbol] = profile_from_file(path)
    return profiles


def load_config(path: Path | None = None) -> EngineConfig:
    """The configuration in `path` (the shipped default if None)."""
    source = path or DEFAULT_CONFIG
    try:
        return _parse(tomllib.loads(source.read_text()), source.parent)
    except FileNotFoundError:
        raise ConfigError(f"no configuration file at {source}") from None
    except (tomllib.TOMLDecodeError, ValueError, KeyError, ArithmeticError) as error:
        detail = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        raise ConfigError(f"{source}: {detail}") from None
