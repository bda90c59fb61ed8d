"""The `fillstream` command line: broker, topics, contracts, ops tools and the demo."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from fillstream import __version__, settings
from fillstream.cli_acls import app as acls_app
from fillstream.cli_audit import audit
from fillstream.cli_ops import register as register_ops
from fillstream.cli_optimize import register as register_optimize
from fillstream.cli_schedule import register as register_schedule
from fillstream.cli_up import register as register_up
from fillstream.config import EngineConfig
from fillstream.connectors.livefeed import NAME as FEED
from fillstream.infra import topics as provisioning
from fillstream.infra.broker import BrokerSetupError
from fillstream.infra.kafka_cli import app as kafka_app
from fillstream.kafka_access import KafkaAccessRefused, cluster_answers
from fillstream.kafka_client import KafkaSettingsError, act_as
from fillstream.schemas import jsonl
from fillstream.schemas.contracts import contract, known_versions
from fillstream.schemas.history import freeze
from fillstream.schemas.models import MODELS, OptimizationTarget
from fillstream.schemas.topics import CATALOG, TopicSpec, find
from fillstream.ticker import DEFAULT_INTERVAL_MS, run_ticker
from fillstream.ticker import NAME as TICKER
from fillstream.topic_io import consume, publish

if TYPE_CHECKING:
    from fillstream.streams.stages import Stage

app = typer.Typer(
    help="fillstream: an order-execution engine built as a stream-processing pipeline on Kafka.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
topics_app = typer.Typer(
    help="The topic catalog and its topics on the cluster.", no_args_is_help=True
)
schemas_app = typer.Typer(help="The Avro contracts and their versions.", no_args_is_help=True)
tca_app = typer.Typer(
    help="Transaction cost analysis: ad-hoc analysis, summaries and reports.", no_args_is_help=True
)
algos_app = typer.Typer(
    help="The execution algorithms: catalog and previews.", no_args_is_help=True
)
app.add_typer(kafka_app, name="kafka")
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")
app.add_typer(tca_app, name="tca")
app.add_typer(algos_app, name="algos")
app.add_typer(acls_app, name="acls")
emulator_app = typer.Typer(
    help="The local exchange emulator (a subset of Binance spot's REST API).",
    no_args_is_help=True,
)
app.add_typer(emulator_app, name="emulator")

console = Console()
errors = Console(stderr=True, soft_wrap=True)


def _spec(name: str) -> TopicSpec:
    try:
        return find(name)
    except KeyError as error:
        errors.print(f"[red]{error.args[0]}[/]")
        raise typer.Exit(2) from None


def _cluster_answers() -> bool:
    """Whether the cluster serves us; one that answers but refuses us ends the command with the
    setting or ACL to fix, in one line."""
    try:
        return cluster_answers(timeout=5)
    except (KafkaAccessRefused, KafkaSettingsError) as refusal:
        errors.print(f"[bold red]error:[/] {refusal}", highlight=False)
        raise typer.Exit(2) from None


def _no_cluster() -> str:
    return (
        f"[red]No Kafka broker answers at {settings.bootstrap_servers()}.[/] Start the local"
        " one with `fillstream kafka start`, or point KAFKA_BOOTSTRAP_SERVERS at a cluster."
    )


def _require_cluster() -> None:
    """Fail fast, saying what to do, when no Kafka answers (rather than hang or time out later)."""
    if not _cluster_answers():
        errors.print(_no_cluster())
        raise typer.Exit(2)


def _await_cluster() -> None:
    """A processor says so once and waits: one started while the broker is away (by a
    supervisor, or beside a broker that is restarting) starts when it returns, as a running
    one resumes."""
    if _cluster_answers():
        return
    errors.print(f"{_no_cluster()} Waiting for it.")
    while not _cluster_answers():
        time.sleep(1)


def _retention(spec: TopicSpec) -> str:
    if spec.cleanup_policy == "compact":
        return "compacted"
    if spec.retention_ms < 0:
        return "forever"
    return f"{spec.retention_ms / 86_400_000:g} days"


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
    kafka_config: Annotated[
        Path | None,
        typer.Option(
            envvar="FILLSTREAM_KAFKA_CONFIG",
            help="librdkafka properties (key=value lines) for every Kafka client, as Kafka's"
            " tools take --command-config; KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and"
            " KAFKA_SSL_* override it.",
        ),
    ] = None,
) -> None:
    if kafka_config is not None:  # processors this command starts read it too
        os.environ["FILLSTREAM_KAFKA_CONFIG"] = str(kafka_config)
    if version:
        console.print(f"fillstream {__version__}")
        raise typer.Exit()


@topics_app.command("list")
def topics_list() -> None:
    """The catalog: every topic with its contract, key, partitions and retention."""
    try:
        present = provisioning.existing_partitions(provisioning.admin_client(), timeout=5)
    except Exception:  # the catalog is still worth showing without a broker
        present = None
    table = Table(title=f"Topic catalog (prefix {settings.topic_prefix()!r})")
    for column in ("topic", "contract", "key", "partitions", "retention", "on cluster"):
        table.add_column(column)
    for spec in CATALOG:
        if present is None:
            on_cluster = "broker unreachable"
        else:
            on_cluster = (
                f"{present[spec.full_name]} partitions" if spec.full_name in present else "missing"
            )
        table.add_row(
            spec.full_name,
            spec.record,
            " | ".join(spec.key_fields),
            str(spec.partitions),
            _retention(spec),
            on_cluster,
        )
    console.print(table)


@topics_app.command("create")
def topics_create() -> None:
    """Create every catalog topic that is missing (safe to run again)."""
    _require_cluster()
    for status in provisioning.ensure_topics(CATALOG):
        colour = (
            "green"
            if status.outcome == "created"
            else "yellow"
            if "catalog says" in status.outcome
            else "dim"
        )
        console.print(f"[{colour}]{status.outcome:>8}[/] {status.spec.full_name}")


@topics_app.command("describe")
def topics_describe(
    topic: Annotated[str, typer.Argument(help="Catalog name, e.g. signals.")],
) -> None:
    """One topic: its catalog entry, partitions, configuration and contract fields."""
    spec = _spec(topic)
    _require_cluster()
    broker_view = provisioning.describe(spec)
    console.print(f"[bold]{spec.full_name}[/]: {spec.description}")
    console.print(
        f"contract {spec.record} v{contract(spec.record).version},"
        f" key {' | '.join(spec.key_fields)}"
    )
    console.print(f"partitions (leader broker): {broker_view['partitions']}")
    for name, value in broker_view["config"].items():  # type: ignore[union-attr]
        if name in {"cleanup.policy", "retention.ms", "min.insync.replicas", "compression.type"}:
            console.print(f"  {name} = {value}")
    console.print("fields: " + ", ".join(MODELS[spec.record].model_fields))


@schemas_app.command("list")
def schemas_list() -> None:
    """Every topic contract with its current version and fingerprint."""
    table = Table(title="Contracts")
    for column in ("contract", "topic", "version", "fingerprint (CRC-64-AVRO)", "frozen versions"):
        table.add_column(column)
    for spec in CATALOG:
        current = contract(spec.record)
        frozen = [v.version for v in known_versions(spec.record)]
        table.add_row(
            spec.record, spec.name, str(current.version), current.fingerprint.hex(), str(frozen)
        )
    console.print(table)


@schemas_app.command("freeze")
def schemas_freeze() -> None:
    """Record each changed contract as a new version, after checking old records still decode."""
    for spec in CATALOG:
        outcome = freeze(spec.record)
        if outcome:
            console.print(f"[green]froze[/] {outcome}")
    console.print("Every contract's current version is frozen.")


@app.command()
def produce(
    topic: Annotated[str, typer.Argument(help="Catalog name, e.g. signals.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON lines, one record each; - for stdin.",
            allow_dash=True,
            exists=True,
            dir_okay=False,
        ),
    ],
) -> None:
    """Validate JSON lines against the topic's contract and publish them as Avro.

    Every line is checked first; if any is invalid, nothing is sent.
    """
    spec = _spec(topic)
    model = MODELS[spec.record]
    text = sys.stdin.read() if str(file) == "-" else file.read_text()
    records, problems = jsonl.parse_records(model, text)
    _require_cluster()
    if problems:
        for problem in problems[:20]:
            errors.print(f"[red]{problem}[/]")
        more = f" (showing 20 of {len(problems)})" if len(problems) > 20 else ""
        errors.print(f"{len(problems)} invalid lines{more}; nothing was sent to {spec.full_name}.")
        raise typer.Exit(1)
    sent = publish(spec, (record.model_dump() for record in records))
    console.print(f"{sent} {spec.record} records → {spec.full_name}")


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="Catalog name, e.g. fills.")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest record.")
    ] = False,
    max_records: Annotated[int | None, typer.Option(help="Stop after this many records.")] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Stop after this many quiet seconds.")
    ] = None,
    meta: Annotated[
        bool, typer.Option("--meta", help="Wrap each record with partition, offset and key.")
    ] = False,
) -> None:
    """Print a topic's records as JSON lines (undecodable ones are reported on stderr)."""
    spec = _spec(topic)
    _require_cluster()
    for item in consume(
        spec, from_beginning=from_beginning, max_records=max_records, idle_timeout=idle_timeout
    ):
        if item.error is not None:
            errors.print(
                f"partition {item.partition} offset {item.offset}: undecodable: {item.error}"
            )
            continue
        if meta:
            key = item.key.decode(errors="replace") if item.key is not None else None
            print(
                jsonl.dumps(
                    {
                        "partition": item.partition,
                        "offset": item.offset,
                        "key": key,
                        "value": item.record,
                    }
                )
            )
        else:
            print(jsonl.dumps(item.record), flush=True)


@app.command()
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
        _await_cluster()
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
    _await_cluster()
    if processor == "monitor":
        _log_to_stderr()  # its alerts go to its log too
    try:
        run_processor(processor, build)
    except KafkaAccessRefused as refusal:
        errors.print(f"[bold red]error:[/] {processor}: {refusal}", highlight=False)
        raise typer.Exit(2) from None


def _stage_builder(processor: str, engine: EngineConfig) -> Callable[[], Stage]:
    """What processor `processor` runs: a pipeline processor's stage, or the monitor's."""
    if processor == "monitor":
        from fillstream.streams.stages.monitor import MonitorStage

        return lambda: MonitorStage(engine.monitor)
    from fillstream.streams.processors import build_stage

    return lambda: build_stage(processor, engine)


def _run_gateway(engine: EngineConfig) -> None:
    from fillstream.connectors.gateway.adapter import GatewayStartError
    from fillstream.connectors.gateway.service import run_gateway

    if not engine.gateway:
        raise ValueError("no [gateway.venues.<name>] in the configuration: nothing to serve")
    _await_cluster()
    _log_to_stderr()
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
    from fillstream.connectors.livefeed.service import run_feed

    if not engine.feed:
        raise ValueError("no [feed.venues.<name>] in the configuration: nothing to read")
    _await_cluster()
    _log_to_stderr()
    try:
        run_feed(engine.feed)
    except KafkaAccessRefused as refusal:
        errors.print(f"[bold red]error:[/] {FEED}: {refusal}", highlight=False)
        raise typer.Exit(2) from None


def _log_to_stderr() -> None:
    logging.basicConfig(
        level=os.environ.get("FILLSTREAM_LOG_LEVEL", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def backtest(
    market_data: Annotated[
        Path,
        typer.Option(
            help="Recorded market data (Binance capture, Lean ticks or bars, FTX bars).",
            exists=True,
            dir_okay=False,
        ),
    ],
    signals: Annotated[
        Path, typer.Option(help="Signals as JSON lines.", exists=True, dir_okay=False)
    ],
    out: Annotated[Path, typer.Option(help="Where to write the results (JSON).")],
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) (default: the shipped one).")
    ] = None,
    commands: Annotated[
        Path | None,
        typer.Option(help="Operator commands (cancel, pause, ...) as JSON lines.", exists=True),
    ] = None,
) -> None:
    """Replay market data and signals through the pipeline's cores in one process (no Kafka).

    Writes one object per signal: order_id, signal_id, status, filled_quantity, average_price,
    commission and fills; a rejected signal carries its reason_code.
    """
    from fillstream.backtest import run_backtest

    try:
        run_backtest(market_data, signals, out, config, commands, console)
    except ValueError as error:  # ConfigError, unreadable signals, unsupported market data
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None


@app.command()
def demo(
    market_data: Annotated[
        Path | None,
        typer.Option(
            help="Recorded market data (default: a synthetic BTC/USDT market).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    signals: Annotated[
        Path | None,
        typer.Option(
            help="Signals as JSON lines (default: a set for the chosen market).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Run the main job: broker, topics, every processor, market data and signals, a summary."""
    from fillstream.demo import run

    try:
        ok = run(market_data, signals, console)
    except (BrokerSetupError, ValueError) as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        console.print("The broker keeps running (`fillstream kafka stop` stops it).")
    if not ok:
        raise typer.Exit(1)


@app.command()
def bench(
    rate: Annotated[
        list[int] | None,
        typer.Option(
            help="A latency phase's rate in signals/s; repeat for several (default: 100 and 1000)."
        ),
    ] = None,
    duration: Annotated[float, typer.Option(help="Seconds of each latency phase.")] = 10.0,
    warmup: Annotated[
        int, typer.Option(help="Signals at 100/s first, reported apart (0: none).")
    ] = 100,
    ramp_start: Annotated[
        int, typer.Option(help="The first sustained-rate step, signals/s.")
    ] = 2000,
    ramp_step: Annotated[int, typer.Option(help="How much each step adds, signals/s.")] = 2000,
    max_steps: Annotated[
        int, typer.Option(help="At most this many steps; they stop at the first that lags.")
    ] = 5,
    step_duration: Annotated[float, typer.Option(help="Seconds of each step.")] = 5.0,
    drain: Annotated[
        float, typer.Option(help="Seconds to wait for a phase's last answers after sending.")
    ] = 5.0,
    guarantee: Annotated[
        str,
        typer.Option(
            help="The processors' guarantee: at-least-once or exactly-once.",
            envvar="FILLSTREAM_PROCESSING_GUARANTEE",
        ),
    ] = "at-least-once",
    commit_interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between the processors' commits; under exactly-once also how long a"
            " record may wait at each hop before the next can read it (default: 0.1 under"
            " exactly-once, 0.5 under at-least-once).",
            envvar="FILLSTREAM_COMMIT_INTERVAL",
        ),
    ] = None,
    tick_interval: Annotated[
        float, typer.Option(help="Seconds between clock ticks to the simulated venue.")
    ] = 0.005,
    core_repeats: Annotated[
        int, typer.Option(help="Repeats of each pure core's timing (0: skip the cores).")
    ] = 5,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures here as JSON.")
    ] = None,
    profile: Annotated[
        list[str] | None,
        typer.Option(
            help="Run the latency and sustained phases under this batching profile (latency,"
            " throughput, balanced), switched live; repeat to compare them in one run.",
        ),
    ] = None,
) -> None:
    """Measure the live pipeline on the broker, and each pure core's cost per event.

    Latency: signal → venue acknowledgement (p50, p99, p99.9, max) at each --rate.

    Sustained rate: steps of rising rate, up to the first whose acks lag behind.

    A step keeps pace when every ack came within --drain seconds, at ≥ 95% of its rate.

    Cost per ack, each phase: CPU µs per process (local broker included) and records written.

    Fresh topics, deleted after; starts the local broker unless KAFKA_BOOTSTRAP_SERVERS is set.
    """

    from fillstream.bench.harness import run_bench
    from fillstream.bench.plan import BenchPlan, Guarantee
    from fillstream.bench.render import render
    from fillstream.bench.report import to_json

    if guarantee not in {g.value for g in Guarantee}:
        errors.print(
            f"[bold red]error:[/] --guarantee {guarantee!r}: use exactly-once or at-least-once"
        )
        raise typer.Exit(2)
    try:
        plan = BenchPlan(
            rates=tuple(rate or (100, 1000)),
            duration=duration,
            warmup=warmup,
            ramp_start=ramp_start,
            ramp_step=ramp_step,
            max_steps=max_steps,
            step_duration=step_duration,
            drain=drain,
            guarantee=Guarantee(guarantee),
            commit_interval=(
                settings.commit_interval(guarantee) if commit_interval is None else commit_interval
            ),
            tick_interval=tick_interval,
            core_repeats=core_repeats,
            profiles=tuple(OptimizationTarget(name) for name in profile or ()),
        )
        report = run_bench(plan, console)
    except (BrokerSetupError, ValueError) as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    render(report, console)
    if json_path is not None:
        json_path.write_text(json.dumps(to_json(report), indent=2) + "\n")
        console.print(f"Figures written to {json_path}")
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        console.print("The broker keeps running (`fillstream kafka stop` stops it).")
    if not report.complete():
        raise typer.Exit(1)


# (tca analyze)
@tca_app.command("analyze")
def tca_analyze(
    file: Annotated[
        Path,
        typer.Argument(
            help="The order as JSON: side, quantity, prices, fees, fills, optional market data"
            " (format in docs/TCA.md).",
            exists=True,
            dir_okay=False,
        ),
    ],
) -> None:
    """Implementation shortfall, benchmarks, spreads and markouts of one order, as JSON.

    Currency amounts are exact decimal strings, bps and ratios numbers; positive cost = bad.
    """
    from fillstream.analytics.adhoc import InvalidOrder, analyze_text

    try:
        print(analyze_text(file.read_text()))
    except InvalidOrder as error:
        errors.print(f"[bold red]{file} cannot be analysed:[/]\n{error}", highlight=False)
        raise typer.Exit(2) from None


# (analytics: export, tca summary, tca report)


@app.command("export")
def export_topics(
    topics: Annotated[
        list[str] | None,
        typer.Argument(
            help="Catalog names (default: tca, fills, orders.state, slices, market.quotes,"
            " market.trades; with --format jsonl: signals, orders.rejected, orders.state,"
            " slices, fills, commands).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the files.", file_okay=False)] = Path(
        "export"
    ),
    since: Annotated[
        str | None,
        typer.Option(
            help="Start at the first record stamped at or after this ISO time, e.g."
            " 2024-08-08T23:55:00Z (UTC unless it names an offset); default: from the beginning.",
            show_default=False,
        ),
    ] = None,
    file_format: Annotated[
        Literal["parquet", "jsonl"],
        typer.Option(
            "--format",
            help="parquet: a file per topic, for analysts. jsonl: JSON lines (decimals as"
            " strings, µs timestamps), transaction logs for ops.",
        ),
    ] = "parquet",
    daily: Annotated[
        bool,
        typer.Option(
            "--daily",
            help="With --format jsonl: a file per topic and UTC day of each record's event"
            " time (when it happened, not when the broker took it): OUT/TOPIC/YYYY-MM-DD.jsonl."
            " A re-run merges into the files there, each line once, so the same log gives the"
            " same bytes and lines the log has lost since stay.",
        ),
    ] = False,
) -> None:
    """Write topics to files from the beginning to where they end now, with progress.

    Parquet by default (docs/ANALYTICS.md); `--format jsonl --daily` for daily logs.
    """
    from datetime import UTC, datetime

    from fillstream.analytics.daylog import LOG_TOPICS, write_day_logs, write_topic_log
    from fillstream.analytics.export import DEFAULT_TOPICS, write_parquet
    from fillstream.analytics.export import export_topics as export
    from fillstream.connectors.feeds.events import microseconds_since_epoch
    from fillstream.streams.stages import has_event_time

    jsonl_files = file_format == "jsonl"
    if daily and not jsonl_files:
        raise typer.BadParameter(
            "day files are JSON lines: add --format jsonl", param_hint="--daily"
        )
    specs = [_spec(name) for name in topics or (LOG_TOPICS if jsonl_files else DEFAULT_TOPICS)]
    untimed = [spec.name for spec in specs if daily and not has_event_time(spec.name)]
    if untimed:
        detail = f"no event time to date records by: {', '.join(untimed)}"
        raise typer.BadParameter(detail, param_hint="TOPICS")
    writer = write_parquet if not jsonl_files else write_day_logs if daily else write_topic_log
    since_us = None
    if since is not None:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            raise typer.BadParameter(f"not an ISO time: {since!r}", param_hint="--since") from None
        since_us = microseconds_since_epoch(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    _require_cluster()
    try:
        exported = export(specs, out, console, since_us=since_us, writer=writer)
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    for item in exported:
        skipped = f" ({item.undecodable} undecodable left out)" if item.undecodable else ""
        console.print(f"{item.records} records → {item.path}{skipped}")


@tca_app.command("summary")
def tca_summary(
    by: Annotated[str, typer.Option(help="day, venue, algorithm or strategy.")] = "algorithm",
    data: Annotated[Path, typer.Option(help="An export (`fillstream export`).")] = Path("export"),
) -> None:
    """Execution quality per day, venue, algorithm or strategy, from an export's tca topic."""
    import polars as pl

    from fillstream.analytics.aggregate import figure_text, summarise
    from fillstream.analytics.export import parquet_path

    path = parquet_path(data, "tca")
    if not path.is_file():
        errors.print(f"[red]No {path}.[/] Export topics first: `fillstream export --out {data}`")
        raise typer.Exit(2)
    try:
        summary = summarise(pl.read_parquet(path), by)
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    table = Table(title=f"TCA by {by} (bps; positive = cost)")
    for column in summary.columns:
        table.add_column(column.replace("_", " "), justify="left" if column == by else "right")
    for row in summary.iter_rows():
        table.add_row(*map(figure_text, row))
    console.print(table)


@tca_app.command("report")
def tca_report(
    data: Annotated[Path, typer.Option(help="An export (`fillstream export`).")] = Path("export"),
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
    max_orders: Annotated[
        int, typer.Option(help="Orders charted one by one (beyond: the worst and the best).")
    ] = 12,
) -> None:
    """One self-contained HTML page: summary, cost distributions, per-order charts."""
    from fillstream.analytics.report import write_report

    try:
        write_report(data, out, max_orders=max_orders)
    except FileNotFoundError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"Report written to {out}")


# (algos)


@algos_app.command("list")
def algos_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="The catalog as JSON, for programs.")
    ] = False,
) -> None:
    """Every execution algorithm with its parameters (type, required, default)."""
    from fillstream.streams.execution.algorithms.catalog import CATALOG

    if as_json:
        entries = [spec.describe() for spec in CATALOG.values()]
        print(json.dumps({"algorithms": entries}, indent=2))
        return
    for spec in CATALOG.values():
        table = Table(title=f"{spec.name} — {spec.display_name}", title_justify="left")
        for column in ("parameter", "type", "required", "default", "description"):
            table.add_column(column)
        for p in spec.parameters:
            table.add_row(
                p.name, p.kind.value, "yes" if p.required else "", p.default or "", p.description
            )
        console.print(spec.description)
        console.print(table)


@algos_app.command(
    "preview", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def algos_preview(
    context: typer.Context,
    algorithm: Annotated[str, typer.Argument(help="twap, vwap, pov, iceberg, ...")],
    quantity: Annotated[str, typer.Option(help="The parent's quantity.")],
    lot_size: Annotated[
        str, typer.Option(help="Round slices to whole lots of this size.")
    ] = "0.00000001",
    profile: Annotated[
        Path | None,
        typer.Option(help="VWAP: minute bars to build the volume profile from.", exists=True),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="VWAP: the order's start, ISO 8601 UTC (for the profile).")
    ] = None,
    volume_rate: Annotated[
        str | None, typer.Option(help="POV: the market's volume per second to assume.")
    ] = None,
    display_quantity: Annotated[str | None, typer.Option(help="Iceberg: the part shown.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The planned schedule of ALGORITHM for a parent of --quantity, before sending anything.

    The algorithm's own parameters follow as `--name value` (see `fillstream algos list`),
    e.g. `--duration-seconds 240 --interval-seconds 10`. Implementation shortfall takes the
    paper's units: `--sigma --eta --gamma --risk-aversion --horizon --periods`, the offsets then
    in the horizon's unit.
    """
    from datetime import datetime

    from fillstream.streams.execution.algorithms.preview import preview
    from fillstream.streams.execution.volume_profile import profile_from_file

    try:
        raw = _extra_options(context.args)
        start_us = 0
        if start is not None:
            start_us = int(datetime.fromisoformat(start).timestamp() * 1_000_000)
        slices = preview(
            algorithm,
            _decimal("--quantity", quantity),
            raw,
            lot=_decimal("--lot-size", lot_size),
            start_us=start_us,
            profile=None if profile is None else profile_from_file(profile),
            volume_rate=None if volume_rate is None else _decimal("--volume-rate", volume_rate),
            display_quantity=None
            if display_quantity is None
            else _decimal("--display-quantity", display_quantity),
        )
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        rows = ", ".join(
            f'{{"offset": {"null" if offset is None else _number(offset)}, '
            f'"quantity": {_number(size)}}}'
            for offset, size in slices
        )
        print(f'{{"slices": [{rows}]}}')
        return
    table = Table("slice", "offset", "quantity", "cumulative")
    cumulative = Decimal(0)
    for number, (offset, size) in enumerate(slices, start=1):
        cumulative += size
        shown = "on fill" if offset is None else _number(offset)
        table.add_row(str(number), shown, _number(size), _number(cumulative))
    console.print(table)


def _extra_options(args: list[str]) -> dict[str, str]:
    """`--name value` pairs after the known options, as algorithm parameters."""
    if len(args) % 2 or not all(name.startswith("--") for name in args[::2]):
        raise ValueError(f"algorithm parameters go as --name value pairs, got: {' '.join(args)}")
    return {
        name[2:].replace("-", "_"): value for name, value in zip(args[::2], args[1::2], strict=True)
    }


def _decimal(option: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"{option} must be a number, not {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{option} must be a positive number, not {text!r}")
    return value


def _number(value: Decimal) -> str:
    """Exact plain notation, valid as a JSON number."""
    return format(value.normalize(), "f")


# (emulator)


@emulator_app.command("serve")
def emulator_serve(
    market_data: Annotated[
        Path | None,
        typer.Option(
            help="Recorded market data (default: a synthetic BTC/USDT market).", exists=True
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) for the venue's instruments.")
    ] = None,
    venue: Annotated[str, typer.Option(help="The configured venue to emulate.")] = "binance",
    dialect: Annotated[
        str,
        typer.Option(help="The API it speaks: binance, or nobitex (token, no secret needed)."),
    ] = "binance",
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free one).")] = 8080,
    speed: Annotated[
        float, typer.Option(help="Market time per wall-clock second (1: as it happened).")
    ] = 1.0,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the account's API key.")
    ] = "EMULATOR_API_KEY",
    secret_env: Annotated[
        str, typer.Option(help="Environment variable holding the account's API secret.")
    ] = "EMULATOR_API_SECRET",
    balance: Annotated[
        list[str] | None,
        typer.Option(
            help="ASSET=AMOUNT the account starts with (repeat) (default: USDT=1000000, BTC=10)."
        ),
    ] = None,
) -> None:
    """Serve the exchange emulator until stopped: the ccxt gateway's venue for tests and demos.

    One account, whose key and secret come from the environment (never from the command line).
    """
    import asyncio

    from fillstream.config import ConfigError, load_config
    from fillstream.connectors.emulator import Account, Exchange, serve
    from fillstream.connectors.feeds import load
    from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events

    try:
        engine = load_config(config)
        if venue not in engine.venues:
            raise ValueError(
                f"no venue {venue!r} in the configuration ({', '.join(engine.venues)})"
            )
        if dialect not in ("binance", "nobitex"):
            raise ValueError(f"--dialect {dialect!r}: binance or nobitex")
        key, secret = os.environ.get(api_key_env), os.environ.get(secret_env, "")
        if not key or (not secret and dialect == "binance"):
            raise ValueError(f"set {api_key_env} and {secret_env} to the account's key and secret")
        balances = {}
        for entry in balance or ["USDT=1000000", "BTC=10"]:
            asset, _, amount = entry.partition("=")
            balances[asset.strip()] = _decimal(f"--balance {asset}", amount.strip())
        market = (
            list(load(market_data)) if market_data else list(synthetic_events(SyntheticParams()))
        )
    except (ConfigError, ValueError) as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    account = Account("emulator", key, secret, balances)
    exchange = Exchange(
        engine.venues[venue], engine.instruments.instruments.values(), market, [account]
    )

    async def run() -> None:
        async with serve(exchange, port=port, speed=speed, dialect=dialect) as running:
            console.print(
                f"Emulating {venue} as {dialect} at {running.url} ({len(market):,} market events)"
            )
            await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        console.print("Stopped.")


# The whole system supervised, then the ops commands and the audit, after the pipeline's own
# in the help.
register_up(app)
register_ops(app, topics_app)
register_schedule(app)
register_optimize(app)
app.command()(audit)
