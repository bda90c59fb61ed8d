"""The benchmark's arithmetic: percentiles by nearest rank, rates over a span, keeping pace;
and how the cost per signal is shown."""

from __future__ import annotations

import math

import pytest
from rich.console import Console

from fillstream.bench.plan import BenchPlan
from fillstream.bench.render import render
from fillstream.bench.report import BenchReport, PhaseResult, highest_sustained, to_json
from fillstream.bench.stats import Percentiles, kept_pace, percentile, rate_over
from fillstream.infra.cpu import cpu_per_signal
from fillstream.records_written import records_per_signal


def test_nearest_rank_percentiles_are_observed_values():
    values = list(range(1, 11))
    assert percentile(values, 50) == 5  # rank ceil(5.0)
    assert percentile(values, 90) == 9
    assert percentile(values, 91) == 10  # rank ceil(9.1)
    assert percentile(values, 99) == 10
    assert percentile(values, 0) == 1


def test_the_rank_is_exact_where_binary_floats_are_not():
    values = list(range(1, 1001))
    # 99.9 / 100 * 1000 is 999.0000000000001 in floats, which would round up to 1000.
    assert percentile(values, 99.9) == 999
    assert percentile(values, 99) == 990
    assert percentile(values, 50) == 500


def test_a_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        percentile([], 50)


def test_percentiles_sort_first_and_keep_the_maximum():
    figures = Percentiles.of([3.0, 1.0, 2.0, 40.0])
    assert figures == Percentiles(p50=2.0, p99=40.0, p99_9=40.0, max=40.0)
    assert Percentiles.of(list(range(200, 0, -1))) == Percentiles(100, 198, 200, 200)


def test_a_rate_counts_the_gaps_between_first_and_last():
    assert rate_over([10.0, 10.5, 11.0]) == 2.0  # 2 gaps in 1 s
    assert rate_over([0.0, 0.25, 1.0, 2.0]) == 1.5
    assert rate_over([7.0]) == 0.0
    assert rate_over([]) == 0.0
    assert rate_over([3.0, 3.0]) == math.inf  # all at one instant


def test_keeping_pace_needs_every_ack_and_95_percent_of_the_rate():
    assert kept_pace(1000, 950.0, 0, 0.95)
    assert not kept_pace(1000, 949.9, 0, 0.95)
    assert not kept_pace(1000, 2000.0, 1, 0.95)  # one signal without an ack is one too many


def _phase(kind: str, rate: int, kept: bool) -> PhaseResult:
    return PhaseResult(
        kind=kind,
        offered_rate=rate,
        seconds=5.0,
        signals=rate * 5,
        sent_rate=rate,
        acked=rate * 5,
        ack_rate=rate,
        latency_ms=None,
        no_report=0,
        first_report_not_ack={},
        refused={},
        undelivered=0,
        no_ack_examples=[],
        waited_for_tick=0,
        kept_pace=kept,
    )


def test_the_sustained_rate_is_the_highest_rate_that_kept_pace():
    phases = [
        _phase("warmup", 100, True),
        _phase("latency", 100, True),
        _phase("latency", 1000, True),
        _phase("sustained", 2000, True),
        _phase("sustained", 4000, True),
        _phase("sustained", 6000, False),
    ]
    assert highest_sustained(phases) == 4000
    assert highest_sustained(phases[:3]) == 1000


def test_no_sustained_rate_when_nothing_kept_pace():
    assert highest_sustained([_phase("warmup", 100, True), _phase("latency", 100, False)]) is None


def test_the_ramp_steps_up_from_its_start():
    assert BenchPlan(ramp_start=2000, ramp_step=2000, max_steps=3).ramp() == [2000, 4000, 6000]
    assert BenchPlan(max_steps=0).ramp() == []


@pytest.mark.parametrize(
    "changes", [{"rates": (100, 0)}, {"duration": 0}, {"tick_interval": -1}, {"drain": -1}]
)
def test_a_plan_refuses_what_cannot_be_run(changes):
    with pytest.raises(ValueError):
        BenchPlan(**changes)


def _costed(broker: bool) -> BenchReport:
    phase = _phase("latency", 1000, True)  # 5,000 acks
    ticks = {"risk": 150, "desk": 400, "monitor": 5, "broker": 250, "bench": 100}
    phase.cpu_us_per_signal = cpu_per_signal(
        ticks, ["desk", "monitor", "risk"], "broker" if broker else None, "bench", 5000, 100
    )
    phase.records_per_signal = records_per_signal(
        {"fills": 10_300, "slices": 5_200}, {"fills": 10_000, "slices": 5_000}, 5000
    )
    return BenchReport(
        machine={}, settings={"broker_pid": 4321 if broker else None}, phases=[phase]
    )


def test_the_json_holds_each_phase_cost_split_and_records_by_topic():
    (phase,) = to_json(_costed(broker=True))["phases"]
    # 1 tick = 10 ms over 5,000 acks = 2 µs
    assert phase["cpu_us_per_signal"] == {
        "processors": {"desk": 800, "monitor": 10, "risk": 300},
        "broker": 500,
        "total": 1610,
        "bench": 200,
        "resolution_us": 2,
    }
    assert phase["records_per_signal"] == {
        "total": 3.0,
        "by_topic": {"fills": 2.0, "slices": 1.0},
        "includes_transaction_markers": False,
        "offsets": 3.1,
    }


def _rendered(report: BenchReport) -> str:
    console = Console(record=True, width=100, color_system=None)
    render(report, console)
    return console.export_text()


def test_the_cost_table_shows_the_split_total_and_records():
    text = _rendered(_costed(broker=True))
    assert "Cost per acknowledged signal" in text
    row = next(
        line for line in text.splitlines() if line.lstrip().startswith("latency") and "800" in line
    )
    assert row.split() == [
        "latency",
        "1,000",
        "5,000",
        "800",
        "10",
        "300",
        "500",
        "1,610",
        "200",
        "3.0",
    ]
    assert "transaction markers excluded" in " ".join(text.split())


def test_an_external_broker_is_said_not_measured():
    text = " ".join(_rendered(_costed(broker=False)).split())
    assert "broker: not measured" in text
    assert "1,110" in text  # desk 400 + monitor 5 + risk 150 ticks, 2 µs each
