"""`fillstream bench`: the options of a benchmark run (fillstream/bench/ runs it)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from fillstream import settings
from fillstream.cli.console import console, errors
from fillstream.infra.jars import BrokerSetupError
from fillstream.schemas.models import OptimizationTarget

__all__ = ["bench"]


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
