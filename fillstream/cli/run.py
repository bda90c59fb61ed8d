"""`fillstream run`: one processor of the pipeline, until stopped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fillstream.cli.cluster import await_cluster
from fillstream.cli.console import errors, log_to_stderr
from fillstream.config import EngineConfig
from fillstream.connectors.livefeed import NAME as FEED
from fillstream.infra.kafka_access import KafkaAccessRefused
from fillstream.settings.kafka_client import act_as
from fillstream.ticker import DEFAULT_INTERVAL_MS, run_ticker
from fillstream.ticker import NAME as TICKER

if TYPE_CHECKING:
    from fillstream.streams.stages import Stage

__all__ = ["run"]


def run(
    processor: Annotated[
        str,
        typer.Argument(help="scheduler, allocator, risk, desk, gateway, monitor, clock or feed."),
    ],
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) (default: the shipped one).")
    ] = None,
    interval: Annotated[
        int, typer.Option(help="clock only: milliseconds between ticks.", min=1)
    ] = DEFAULT_INTERVAL_MS,
) -> None:
    """Run one processor of the pipeline on the configured Kafka cluster (until stopped).

    `scheduler` publishes the signals of scheduled and recurring executions as they fall due;
    `allocator` splits each signal to an allocation group into one signal per account;
    `risk` checks signals per account; `desk` routes, executes, simulates the venues, keeps
    the orders' state and measures TCA per symbol (docs/ARCHITECTURE.md).
    `gateway` serves the venues of the configuration's gateway.venues tables over ccxt, their
    credentials from the environment variables the tables name. `monitor` raises alerts on
    `metrics` and in its log from the pipeline's figures (docs/OBSERVABILITY.md). `clock`
    ticks every partition of `clock` with the wall clock's time every `--interval` ms, so
    that time passes for the stages in a quiet market. `feed` publishes the market data of
    the configuration's feed.venues tables on the market topics, from the venues' streams
    (ccxt.pro) or their REST APIs (docs/ARCHITECTURE.md, "The live feed")."""
    from fillstream.config import ConfigError, load_config
    from fillstream.streams.runtime import run_processor

    if processor == TICKER:
        act_as(TICKER)
        await_cluster()
        run_ticker(interval)
        return
    try:
        engine = load_config(config)
        if processor == "gateway":
            act_as("gateway")
            _run_gateway(engine)
            return
        if processor == FEED:
            act_as(FEED)
            _run_feed(engine)
            return
        build = _stage_builder(processor, engine)
        build()  # a configuration error is told now, not once Kafka answers
        act_as(processor)
    except (ConfigError, ValueError) as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    await_cluster()
    log_to_stderr()
    try:
        run_processor(processor, build)
    except KafkaAccessRefused as refusal:
        errors.print(f"[bold red]error:[/] {processor}: {refusal}", highlight=False)
        raise typer.Exit(2) from None


def _stage_builder(processor: str, engine: EngineConfig) -> Callable[[], Stage]:
    """What processor `processor` runs: a pipeline processor's stage, or the monitor's."""
    from fillstream.processors import build_monitor, build_stage

    if processor == "monitor":
        return lambda: build_monitor(engine)
    return lambda: build_stage(processor, engine)


def _run_gateway(engine: EngineConfig) -> None:
    from fillstream.connectors.gateway.adapter import GatewayStartError
    from fillstream.gateway_service import run_gateway

    if not engine.gateway:
        raise ValueError("no [gateway.venues.<name>] in the configuration: nothing to serve")
    await_cluster()
    log_to_stderr()
    try:
        run_gateway(engine)
    except GatewayStartError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    except KafkaAccessRefused as refusal:
        errors.print(f"[bold red]error:[/] gateway: {refusal}", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


def _run_feed(engine: EngineConfig) -> None:
    from fillstream.livefeed_service import run_feed

    if not engine.feed:
        raise ValueError("no [feed.venues.<name>] in the configuration: nothing to read")
    await_cluster()
    log_to_stderr()
    try:
        run_feed(engine.feed)
    except KafkaAccessRefused as refusal:
        errors.print(f"[bold red]error:[/] {FEED}: {refusal}", highlight=False)
        raise typer.Exit(2) from None
