"""The desk processor's core: routing, execution, the simulated venues, order state and TCA of
the symbols in its partitions, as one stage.

Each of these reads topics keyed by symbol, co-partitioned, so one partition's router,
executor, venue, OMS and TCA can live in one process: what one emits, the others receive at
once, breadth first, as the replay harness delivers it, and every record still goes out on its
topic, for the audit log and for risk. A signal then crosses two processors to its venue's
acknowledgement instead of four, and each market event, clock tick and report is decoded once
instead of by each reader (docs/BENCHMARKS.md measures it).

Three topics the desk writes are written by others too, so it reads them and takes only the
others' records, its own having been delivered at once: `commands` (operators' and the API's,
not its executor's), `orders.rejected` (risk's, not its router's) and, where the ccxt gateway
trades, `fills` (the gateway's venues' reports, not its simulated venues').
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fillstream.connectors.gateway.capabilities import capabilities_of
from fillstream.connectors.gateway.config import VenueEntry
from fillstream.domain.instruments import InstrumentBook
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import Command, ExecutionReport, Rejection
from fillstream.streams.execution.parents import Rules
from fillstream.streams.execution.volume_profile import VolumeProfile
from fillstream.streams.stages import Emit, Stage, Wiring
from fillstream.streams.stages.executor import ISSUER, ExecutorStage
from fillstream.streams.stages.oms import OmsStage
from fillstream.streams.stages.router import STAGE, RouterStage
from fillstream.streams.stages.tca import TcaStage
from fillstream.streams.stages.venue import VenueStage
from fillstream.streams.tca import TcaConfig

__all__ = ["DeskStage"]


class DeskStage:
    def __init__(
        self,
        venues: Mapping[str, VenueConfig],
        instruments: InstrumentBook,
        volume_profiles: Mapping[str, VolumeProfile],
        tca: TcaConfig,
        gateway: Mapping[str, VenueEntry],
    ) -> None:
        """`gateway`: the venues the ccxt gateway trades on (the others are simulated)."""
        self.router = RouterStage(venues, instruments)
        self.executor = ExecutorStage(
            Rules(
                instruments,
                dict(volume_profiles),
                tca.trades_include_fills,
                {name: capabilities_of(venue.exchange) for name, venue in gateway.items()},
            )
        )
        self.venue = VenueStage(venues, instruments, gateway)
        self.oms = OmsStage()
        self.tca = TcaStage(tca)
        members: dict[str, Stage] = {
            "router": self.router,
            "executor": self.executor,
            "venue": self.venue,
            "oms": self.oms,
            "tca": self.tca,
        }
        self.wiring = Wiring(list(members.values()))
        written = {topic: None for stage in members.values() for topic in stage.outputs}
        read = {topic: None for stage in members.values() for topic in stage.inputs}
        shared = {"commands", "orders.rejected"} | ({"fills"} if gateway else set())
        self.inputs = tuple(topic for topic in read if topic not in written or topic in shared)
        self.outputs = tuple(written)
        self.durable = tuple(
            f"{name}.{attribute}" for name, stage in members.items() for attribute in stage.durable
        )
        self.gateway_venues = frozenset(gateway)

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if _own(topic, record, self.gateway_venues):
            return []
        return self.wiring.deliver(topic, record, now_us)


def _own(topic: str, record: Any, gateway_venues: frozenset[str]) -> bool:
    """Whether a record read back was the desk's own: delivered at once when it was made."""
    if topic == "commands":
        command: Command = record
        return command.issued_by == ISSUER
    if topic == "orders.rejected":
        rejection: Rejection = record
        return rejection.stage == STAGE
    if topic == "fills":
        report: ExecutionReport = record
        return report.venue not in gateway_venues
    return False
