"""`fillstream up | down | status | scale`: the whole system in the background, supervised.

The supervisor and its record are in fillstream/supervisor.py and supervisor_record.py; what
`status` reports comes from fillstream/cli/system_status.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fillstream import settings
from fillstream.cli.cluster import require_cluster
from fillstream.cli.console import console, errors, log_to_stderr
from fillstream.supervisor_record import (
    SupervisorRecord,
    is_fillstream_process,
    read_record,
    remove_record,
)

__all__ = ["down", "scale", "status", "up"]

_NOT_RUNNING = 3  # `status`'s exit code when nothing runs, as an init script's


def _leftovers(record: SupervisorRecord) -> list[str]:
    """The recorded children still running."""
    return [child.name for child in record.children if is_fillstream_process(child.pid)]


def _live_record() -> SupervisorRecord | None:
    """The record of a live supervisor; a stale record (its supervisor dead) is reported and
    left for `down`, which also stops what it left behind."""
    record = read_record()
    if record is None or is_fillstream_process(record.pid):
        return record
    left = _leftovers(record)
    errors.print(
        f"The supervisor recorded in {settings.supervisor_record()} (pid {record.pid}) is not"
        " running"
        + (f"; its processes {', '.join(left)} still are" if left else "")
        + ": `fillstream down` cleans up.",
        highlight=False,
    )
    return None


def up(
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) (default: the shipped one).")
    ] = None,
    api: Annotated[
        bool, typer.Option("--api/--no-api", help="Serve the REST API (needs FILLSTREAM_API_KEYS).")
    ] = True,
    api_host: Annotated[str, typer.Option(help="Address the API listens on.")] = "127.0.0.1",
    api_port: Annotated[int, typer.Option(help="Port the API listens on.")] = 8000,
    foreground: Annotated[
        bool,
        typer.Option(
            "--foreground",
            help="Be the supervisor in this process until SIGTERM or Ctrl-C (for systemd or a"
            " container) instead of starting it in the background.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for everything to start (background).")
    ] = 180.0,
) -> None:
    """Start the whole system in the background, supervised: the broker, topics, processors, API.

    Starts the local Kafka broker unless KAFKA_BOOTSTRAP_SERVERS names a cluster (or it runs
    already), creates the catalog's topics, and starts the scheduler, risk, desk, monitor, the
    ccxt gateway and the live feed when the configuration has venues for them, the clock's
    ticker and the REST API.
    A process that exits is restarted with backoff (0.5 s doubling to 30 s) and the restart
    published on `metrics`.
    Logs go to the state dir's logs/ directory. `fillstream status` shows how it does;
    `fillstream down` stops it.
    """
    from fillstream.config import ConfigError, load_config
    from fillstream.infra.jars import BrokerSetupError
    from fillstream.supervisor import SupervisorOptions, launch, run_supervisor

    record = _live_record()
    stale = read_record() if record is None else None
    if stale is not None and _leftovers(stale):
        raise typer.Exit(1)  # two of a processor would share its partitions: `down` first
    if record is not None:
        errors.print(
            f"[bold red]error:[/] fillstream is already up (supervisor pid {record.pid}):"
            " `fillstream status` shows it, `fillstream down` stops it.",
            highlight=False,
        )
        raise typer.Exit(1)
    try:
        load_config(config)
        if api:
            from fillstream.api.server import api_settings

            api_settings(config)
    except (ConfigError, ValueError) as error:
        hint = " (or pass --no-api)" if "FILLSTREAM_API_KEYS" in str(error) else ""
        errors.print(f"[bold red]error:[/] {error}{hint}", highlight=False)
        raise typer.Exit(2) from None
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        require_cluster()
    options = SupervisorOptions(config, (api_host, api_port) if api else None)
    if foreground:
        log_to_stderr()
        try:
            run_supervisor(options)
        except BrokerSetupError as error:
            errors.print(f"[bold red]error:[/] {error}", highlight=False)
            raise typer.Exit(1) from None
        return
    with console.status("Starting the broker, topics, processors and API…"):
        try:
            record = launch(options, timeout)
        except RuntimeError as error:
            errors.print(f"[bold red]error:[/] {error}", highlight=False)
            raise typer.Exit(1) from None
    started = ", ".join(f"{c.name} (pid {c.pid})" for c in record.children)
    console.print(
        f"fillstream is up: supervisor pid {record.pid}, Kafka at {record.bootstrap_servers}"
        f"{' (local broker, started now)' if record.broker_started else ''}\n"
        f"Processes: {started}\n"
        + (f"API: http://{record.api}/api/v1\n" if record.api else "")
        + f"Logs: {record.log_dir}\n`fillstream status` shows their health;"
        " `fillstream down` stops them.",
        highlight=False,
    )


def down(
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for a clean stop before SIGKILL.")
    ] = 60.0,
) -> None:
    """Stop what `fillstream up` started.

    The API, the processors, and the local broker if `up` started it: each gets SIGTERM (a
    clean shutdown), and SIGKILL after --timeout. A supervisor that died left its processes
    running: they are stopped too."""
    from fillstream.supervisor import stop_supervisor

    record = read_record()
    if record is None:
        remove_record()  # an unreadable one is no use either
        console.print("fillstream is not up: nothing to stop.")
        return
    with console.status(f"Stopping the supervisor (pid {record.pid}) and its processes…"):
        killed = stop_supervisor(record, timeout)
    if killed:
        console.print(f"Killed (SIGKILL) what did not stop: {', '.join(killed)}")
    console.print("fillstream is down.")


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    value = max(value, 0.0)  # a heartbeat stamped on a clock a little ahead
    if value < 60:
        return f"{value:.1f}s"
    minutes, seconds = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def status() -> None:
    """Each process `fillstream up` runs, and its health.

    Pid, alive, uptime, restarts, the age of its last heartbeat on `metrics`, the partitions
    its consumer group holds and its lag.

    Exit code 0 when everything is healthy (the broker answers, every process runs and its
    heartbeat is fresh, the API answers), 1 when something is not, 3 when fillstream is not
    up."""
    from fillstream.cli.system_status import system_status
    from fillstream.scaling import worker_counts

    record = _live_record()
    if record is None:
        console.print("fillstream is not up (`fillstream up` starts it).")
        raise typer.Exit(_NOT_RUNNING)
    report = system_status(record)
    table = Table(
        title=f"fillstream: supervisor pid {report.supervisor}, Kafka at"
        f" {report.bootstrap_servers} ({'reachable' if report.broker_reachable else 'UNREACHABLE'})"
    )
    for column in ("process", "pid", "alive", "uptime", "restarts", "last beat", "partitions"):
        table.add_column(column)
    table.add_column("lag")
    table.add_column("health")
    for process in report.processes:
        table.add_row(
            process.name,
            str(process.pid),
            "yes" if process.alive else "[red]no[/]",
            _seconds(process.uptime),
            str(process.restarts),
            _seconds(process.heartbeat_age),
            "-" if process.partitions is None else ",".join(map(str, process.partitions)),
            "-" if process.lag is None else str(process.lag),
            "[green]ok[/]" if process.problem is None else f"[red]{process.problem}[/]",
        )
    console.print(table)
    counts = worker_counts(child.name for child in record.children if child.name != "api")
    console.print(
        "Workers: " + ", ".join(f"{name} {count}" for name, count in sorted(counts.items())),
        highlight=False,
    )
    if not report.healthy:
        raise typer.Exit(1)


def scale(
    processor: Annotated[str, typer.Argument(help="The processor: risk or desk.")],
    workers: Annotated[int, typer.Argument(help="How many workers it should run.")],
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the supervisor to get there.")
    ] = 60.0,
) -> None:
    """Run WORKERS workers of PROCESSOR under `fillstream up`'s supervisor.

    The supervisor starts or stops workers (SIGTERM: the one leaving checkpoints first), and
    the processor's consumer group shares its partitions among those running; each restores
    the state of the partitions it gains. Returns once the supervisor runs that many."""
    import time

    from fillstream.scaling import want, worker_counts

    record = _live_record()
    if record is None:
        errors.print("[bold red]error:[/] fillstream is not up (`fillstream up`).")
        raise typer.Exit(_NOT_RUNNING)
    try:
        want(processor, workers)
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    deadline = time.monotonic() + timeout
    while True:
        record = read_record()
        running = worker_counts(c.name for c in record.children) if record else {}
        if running.get(processor) == workers:
            break
        if time.monotonic() > deadline:
            errors.print(
                f"[bold red]error:[/] {processor} runs {running.get(processor, 0)} workers after"
                f" {timeout:.0f} s; the supervisor keeps at it (its log: {settings.state_dir()}"
                "/logs/supervisor.log)",
                highlight=False,
            )
            raise typer.Exit(1)
        time.sleep(0.2)
    pids = [
        f"{c.name} (pid {c.pid})" for c in record.children if c.name.partition("#")[0] == processor
    ]
    console.print(f"{processor}: {workers} workers: {', '.join(pids)}", highlight=False)
