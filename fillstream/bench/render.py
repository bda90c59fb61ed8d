"""A bench run on the console: the header, each phase as it ends, and the final tables."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from fillstream.bench.plan import PATH
from fillstream.bench.report import BenchReport, PhaseResult, targets

__all__ = ["render", "show_header", "show_phase"]


def show_phase(console: Console, result: PhaseResult) -> None:
    latency = result.latency_ms
    console.print(
        f"{result.name} {result.offered_rate:,}/s: {result.signals:,} signals, "
        f"{result.acked:,} acked at {result.ack_rate:,.0f}/s"
        + (f", p50 {latency.p50:.1f} ms, p99 {latency.p99:.1f} ms" if latency else "")
        + ("" if result.kept_pace else " [yellow](did not keep pace)[/]")
    )
    cost = _cost_line(result)
    if cost:
        console.print(f"  per ack: {cost}", highlight=False)


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _cost_line(result: PhaseResult) -> str:
    """CPU µs per acknowledged signal, split by process, and records per signal."""
    parts = []
    cpu, records = result.cpu_us_per_signal, result.records_per_signal
    if cpu is not None and result.acked:
        split = " + ".join(f"{name} {_us(us)}" for name, us in cpu.processors.items())
        if cpu.broker is not None:
            split += f" + broker {_us(cpu.broker)}"
        parts.append(
            f"CPU µs {split} = {_us(cpu.total)}"
            + ("" if cpu.broker is not None else " (broker: not measured)")
            + f", bench {_us(cpu.bench)} apart"
        )
    if records is not None:
        markers = "incl." if records.includes_transaction_markers else "excl."
        parts.append(f"{records.total:.1f} records ({markers} markers)")
    return "; ".join(parts)


def show_header(report: BenchReport, console: Console) -> None:
    s = report.settings
    console.print(
        f"Machine: {report.machine['cpu']}, {report.machine['cores']} cores, "
        f"Python {report.machine['python']}; Kafka {s['kafka']}, {s['partitions']} partitions"
    )
    line = f"Processing: {s['processing_guarantee']}, commit interval {s['commit_interval_s']} s"
    if s["transactional_hops"]:
        bound = s["transactional_hops"] * s["commit_interval_s"] * 1000
        line += (
            f". A processor's output is readable only once its transaction commits, so on the "
            f"{s['transactional_hops']} hops {' → '.join(PATH)} up to {bound:.0f} ms of each "
            "latency is commit wait."
        )
    console.print(line)
    console.print(
        f"Venue clock: a tick every {s['clock_tick_interval_s'] * 1000:g} ms; signals sent with "
        f"linger {s['signal_producer_linger_ms']} ms; a step keeps pace when every signal is "
        f"acknowledged within {s['drain_s']:g} s and acks come at ≥ "
        f"{s['pace_threshold']:.0%} of the offered rate."
    )
    measured = (
        f"each processor process and the local broker (pid {s['broker_pid']})"
        if s["broker_pid"] is not None
        else "each processor process (broker: not measured, it is not the local broker)"
    )
    console.print(
        f"Cost per acknowledged signal, over each phase from its first signal to its last answer:"
        f" CPU of {measured}, from /proc/<pid>/stat in ticks of "
        f"{1000 / s['cpu_clock_ticks_per_s']:g} ms; the bench's own CPU (the load generator) "
        "apart; records written to the run's topics."
    )


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def render(report: BenchReport, console: Console) -> None:
    """The final tables and the targets."""
    table = Table(
        title="Signal → venue acknowledgement",
        caption="ms, nearest-rank percentiles; tick waits: acks the venue gave on a clock tick",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,  # fits 80 columns: the box's own divider spaces the columns
    )
    table.add_column("phase", no_wrap=True)
    for column in ("rate/s", "signals", "acks/s", "p50", "p99", "p99.9", "max"):
        table.add_column(column, justify="right", no_wrap=True)
    for column in ("no\nack", "tick\nwaits", "kept\npace"):
        table.add_column(column, justify="right", no_wrap=True)
    for p in report.phases:
        latency = p.latency_ms
        cells = (
            [_ms(v) for v in (latency.p50, latency.p99, latency.p99_9, latency.max)]
            if latency
            else ["-"] * 4
        )
        table.add_row(
            p.name,
            f"{p.offered_rate:,}",
            f"{p.signals:,}",
            f"{p.ack_rate:,.0f}",
            *cells,
            f"{p.without_ack:,}",
            f"{p.waited_for_tick:,}",
            "yes" if p.kept_pace else "no",
        )
    console.print(table)
    _render_costs(report, console)
    for p in report.phases:
        if p.without_ack:
            console.print(
                f"[yellow]{p.name} {p.offered_rate:,}/s: {p.without_ack:,} signals without an "
                f"ack[/]: {p.no_report:,} unanswered after the drain, "
                f"{p.undelivered:,} undelivered, first report not an ack {p.first_report_not_ack},"
                f" refused {p.refused}; e.g. {', '.join(p.no_ack_examples)}"
            )
    if report.cores:
        cores = Table(title="Pure cores, per event (one process, no Kafka)", box=box.SIMPLE_HEAD)
        for column in ("core call", "µs (median)", "range of repeats", "case"):
            cores.add_column(column)
        for cost in report.cores:
            cores.add_row(
                cost.name,
                f"{cost.median_us:.2f}",
                f"{min(cost.timings_us):.2f} to {max(cost.timings_us):.2f}",
                cost.case,
            )
        console.print(cores)
    for line in targets(report).values():
        console.print(f"{'[green]met[/]' if line['met'] else '[red]missed[/]'}: {line['text']}")
    if report.failure is not None:
        console.print(f"[red]The run stopped early: {report.failure}[/]")


def _render_costs(report: BenchReport, console: Console) -> None:
    """CPU µs and records per acknowledged signal, per phase."""
    measured = [p for p in report.phases if p.cpu_us_per_signal is not None]
    if not measured:
        return
    processors = sorted(
        {name for p in measured if p.cpu_us_per_signal for name in p.cpu_us_per_signal.processors}
    )
    markers = any(
        p.records_per_signal is not None and p.records_per_signal.includes_transaction_markers
        for p in measured
    )
    total = (
        "processors and broker"
        if report.settings.get("broker_pid") is not None
        else "processors (broker: not measured)"
    )
    table = Table(
        title="Cost per acknowledged signal",
        caption=f"CPU µs per ack over the phase's window; total: {total}; bench: the load "
        "generator, not in the total; records: written to the run's topics, transaction "
        f"markers {'included' if markers else 'excluded'}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,
    )
    table.add_column("phase", no_wrap=True)
    for column in ("rate/s", "acks", *processors, "broker", "total", "bench", "records"):
        table.add_column(column, justify="right", no_wrap=True)
    for p in measured:
        cpu, records = p.cpu_us_per_signal, p.records_per_signal
        assert cpu is not None
        table.add_row(
            p.name,
            f"{p.offered_rate:,}",
            f"{p.acked:,}",
            *(_us(cpu.processors.get(name)) for name in processors),
            _us(cpu.broker),
            _us(cpu.total),
            _us(cpu.bench),
            "-" if records is None else f"{records.total:.1f}",
        )
    console.print(table)
