"""Records written over a window: end-offset advances, per-topic sums, per-signal figures."""

from __future__ import annotations

import pytest

from fillstream.records_written import (
    RecordsPerSignal,
    advance,
    by_topic,
    count_data,
    records_per_signal,
)


def test_the_advance_is_what_moved_and_a_new_partition_starts_at_zero():
    before = {("a", 0): 5, ("a", 1): 7}
    after = {("a", 0): 9, ("a", 1): 7, ("b", 0): 3}
    assert advance(before, after) == {("a", 0): (5, 9), ("b", 0): (0, 3)}


def test_partitions_sum_per_topic_named_without_the_prefix():
    counts = {
        ("bench-1.fills", 0): 4,
        ("bench-1.fills", 1): 2,
        ("changelog__bench-1.fillstream-desk--desk--default", 2): 3,
    }
    assert by_topic(counts, "bench-1.") == {
        "changelog__fillstream-desk--desk--default": 3,
        "fills": 6,
    }


def test_records_per_signal_counts_data_and_keeps_the_offsets_figure():
    offsets = {"fills": 60, "slices": 35}  # 15 of the 95 offsets are commit markers
    data = {"fills": 50, "slices": 30}
    assert records_per_signal(offsets, data, 10) == RecordsPerSignal(
        total=8.0,
        by_topic={"fills": 5.0, "slices": 3.0},
        includes_transaction_markers=False,
        offsets=9.5,
    )


def test_without_a_count_the_markers_stay_in_and_say_so():
    figures = records_per_signal({"fills": 60, "slices": 35}, None, 10)
    assert figures is not None
    assert (figures.total, figures.includes_transaction_markers) == (9.5, True)
    assert figures.by_topic == {"fills": 6.0, "slices": 3.5}
    assert records_per_signal({"fills": 60}, None, 0) is None


def test_nothing_to_count_reads_nothing():
    assert count_data({}) == {}
    assert count_data({("t", 0): (4, 4)}) == {}


@pytest.mark.parametrize("signals", [-1, 0])
def test_no_acknowledged_signal_no_figure(signals):
    assert records_per_signal({"fills": 1}, {"fills": 1}, signals) is None
