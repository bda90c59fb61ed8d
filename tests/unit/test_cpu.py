"""Process CPU accounting: /proc/<pid>/stat lines, windows, and µs per signal."""

from __future__ import annotations

import os

import pytest

from fillstream.infra.cpu import (
    CpuMeter,
    CpuPerSignal,
    ProcessTimes,
    cpu_per_signal,
    cpu_percent,
    parse_stat,
    parse_statm,
    read_times,
    resident_bytes,
    ticks_between,
    us_per_signal,
)

# Fields 1-22 of proc(5), then the rest: utime 1530, stime 247, cutime 9, cstime 3 (children,
# not counted), starttime 884211.
TAIL = "S 1 4242 4242 0 -1 4194560 51234 0 12 0 1530 247 9 3 20 0 23 0 884211 1715 412 " + " ".join(
    ["0"] * 30
)


def test_a_stat_line_gives_user_and_system_ticks_and_the_start():
    times = parse_stat(f"4242 (python3) {TAIL}\n")
    assert times == ProcessTimes(
        pid=4242, comm="python3", user_ticks=1530, system_ticks=247, start_ticks=884211
    )
    assert times.ticks == 1777


@pytest.mark.parametrize("comm", ["fillstream run", "a (b) c", "x) S 1 2 3 (", ")", "(("])
def test_the_command_name_may_hold_spaces_and_parentheses(comm):
    times = parse_stat(f"4242 ({comm}) {TAIL}")
    assert (times.comm, times.user_ticks, times.system_ticks) == (comm, 1530, 247)
    assert times.start_ticks == 884211


@pytest.mark.parametrize("line", ["", "4242 python3 S 1", "4242 (python3) S 1 2 3"])
def test_what_is_no_stat_line_is_refused(line):
    with pytest.raises(ValueError):
        parse_stat(line)


def test_this_process_can_be_read_and_a_missing_one_is_none():
    mine = read_times(os.getpid())
    assert mine is not None and mine.pid == os.getpid() and mine.ticks >= 0
    assert read_times(999_999_999) is None


def _times(user: int, system: int, start: int = 100) -> ProcessTimes:
    return ProcessTimes(pid=7, comm="x", user_ticks=user, system_ticks=system, start_ticks=start)


def test_a_window_counts_the_ticks_of_one_and_the_same_process():
    assert ticks_between(_times(1000, 200), _times(1530, 247)) == 577
    assert ticks_between(_times(1000, 200), _times(1530, 247, start=101)) is None  # pid reused
    assert ticks_between(None, _times(1, 1)) is None
    assert ticks_between(_times(1, 1), None) is None  # it exited


def test_microseconds_per_signal():
    # 577 ticks at 100 per second are 5.77 s; over 5,000 signals, 1,154 µs each.
    assert us_per_signal(577, 5000, ticks_per_second=100) == pytest.approx(1154)
    # 1 tick at 250 per second is 4 ms; over 8 signals, 500 µs each.
    assert us_per_signal(1, 8, ticks_per_second=250) == pytest.approx(500)
    assert us_per_signal(0, 10, ticks_per_second=100) == 0
    assert us_per_signal(577, 0, ticks_per_second=100) is None
    assert us_per_signal(None, 10, ticks_per_second=100) is None


def test_the_split_totals_processors_and_broker_and_keeps_the_bench_apart():
    ticks = {"risk": 30, "desk": 120, "monitor": 2, "broker": 48, "bench": 25}
    figures = cpu_per_signal(ticks, ["desk", "monitor", "risk"], "broker", "bench", 1000, 100)
    # 1 tick = 10 ms = 10,000 µs; over 1,000 signals, 10 µs per tick.
    assert figures == CpuPerSignal(
        processors={"desk": 1200, "monitor": 20, "risk": 300},
        broker=480,
        total=2000,  # (120 + 2 + 30 + 48) ticks; the bench's 25 are not in it
        bench=250,
        resolution_us=10,
    )


def test_without_the_broker_the_total_is_the_processors_and_a_lost_one_leaves_none():
    ticks = {"risk": 30, "desk": 120, "bench": 25}
    figures = cpu_per_signal(ticks, ["desk", "risk"], None, "bench", 1000, 100)
    assert (figures.broker, figures.total) == (None, 1500)
    lost = cpu_per_signal(ticks | {"desk": None}, ["desk", "risk"], None, "bench", 1000, 100)
    assert (lost.processors["desk"], lost.total, lost.processors["risk"]) == (None, None, 300)
    none_acked = cpu_per_signal(ticks, ["desk", "risk"], None, "bench", 0, 100)
    assert none_acked.total is None and none_acked.resolution_us is None


def test_a_meter_reads_its_processes_at_start_and_stop():
    meter = CpuMeter({"bench": os.getpid(), "gone": 999_999_999})
    meter.start()
    sum(n * n for n in range(200_000))
    spent = meter.stop()
    assert spent["bench"] is not None and spent["bench"] >= 0
    assert spent["gone"] is None


def test_cpu_percent_is_of_one_core_over_the_wall_time():
    # 150 ticks at 100 a second is 1.5 s of CPU in 2 s of wall time: 75% of one core.
    assert cpu_percent(150, 2.0, ticks_per_second=100) == 75.0
    assert cpu_percent(None, 2.0) is None and cpu_percent(10, 0.0) is None


def test_resident_memory_is_the_second_statm_field_in_pages():
    assert parse_statm("51234 2500 800 10 0 9000 0\n", page_size=4096) == 2500 * 4096
    with pytest.raises(ValueError):
        parse_statm("51234")
    assert resident_bytes(os.getpid()) > 0
