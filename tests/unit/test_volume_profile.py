"""Volume profiles: shares of the day from hand-built bars, window weights worked out by hand."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from fillstream.connectors.feeds.samples import sample_dir, sample_file
from fillstream.streams.execution.volume_profile import VolumeProfile, profile_from_file

D = Decimal
SECOND = 1_000_000
MINUTE = 60 * SECOND
DAY = 24 * 60 * MINUTE
DEC_13 = int(datetime(2022, 12, 13, tzinfo=UTC).timestamp()) * SECOND


def three_minutes(*, day: int = DEC_13) -> list[tuple[int, Decimal]]:
    """00:00, 00:01 and 00:02 trading 1, 2 and 1: shares 0.25, 0.5, 0.25."""
    return [(day, D(1)), (day + MINUTE, D(2)), (day + 2 * MINUTE, D(1))]


def test_shares_of_the_day_from_bars():
    profile = VolumeProfile.from_bars(three_minutes())
    assert profile.bin_us == MINUTE
    assert len(profile.shares) == 1440
    assert profile.shares[:4] == (0.25, 0.5, 0.25, 0.0)
    assert sum(profile.shares) == 1


def test_window_with_a_partial_first_bin():
    # half of 00:00 (0.25 / 2 = 0.125) and all of 00:01 (0.5): 0.125 / 0.625, 0.5 / 0.625
    profile = VolumeProfile.from_bars(three_minutes())
    weights = profile.weights(DEC_13 + 30 * SECOND, DEC_13 + 2 * MINUTE)
    assert [(begin, end) for begin, end, _ in weights] == [
        (0, 30 * SECOND),
        (30 * SECOND, 90 * SECOND),
    ]
    assert [w for _, _, w in weights] == pytest.approx([0.2, 0.8], rel=1e-15)


def test_window_with_a_partial_last_bin():
    # all of 00:01 (0.5) and a quarter of 00:02 (0.25 / 4 = 0.0625): 8/9 and 1/9
    profile = VolumeProfile.from_bars(three_minutes())
    weights = profile.weights(DEC_13 + MINUTE, DEC_13 + 2 * MINUTE + 15 * SECOND)
    assert weights == [
        (0, MINUTE, pytest.approx(8 / 9, rel=1e-15)),
        (MINUTE, MINUTE + 15 * SECOND, pytest.approx(1 / 9, rel=1e-15)),
    ]


def test_window_inside_one_bin_takes_it_all():
    profile = VolumeProfile.from_bars(three_minutes())
    assert profile.weights(DEC_13 + 70 * SECOND, DEC_13 + 80 * SECOND) == [(0, 10 * SECOND, 1.0)]


def test_window_spanning_midnight():
    # 23:59 traded 3 and 00:00 traded 1 (shares 0.75, 0.25); 23:59:30 → 00:00:30 the next day
    # covers half of each: 0.375 and 0.125, so 0.75 and 0.25
    profile = VolumeProfile.from_bars([(DEC_13 + DAY - MINUTE, D(3)), (DEC_13, D(1))])
    start = DEC_13 + DAY - 30 * SECOND
    assert profile.weights(start, start + MINUTE) == [
        (0, 30 * SECOND, 0.75),
        (30 * SECOND, MINUTE, 0.25),
    ]


def test_window_without_historical_volume_is_weighted_by_time():
    # 12:00:30 → 12:02: nothing ever traded then; 30 s and 60 s of 90 s
    profile = VolumeProfile.from_bars(three_minutes())
    noon = DEC_13 + DAY // 2
    weights = profile.weights(noon + 30 * SECOND, noon + 2 * MINUTE)
    assert weights == [
        (0, 30 * SECOND, pytest.approx(1 / 3, rel=1e-15)),
        (30 * SECOND, 90 * SECOND, pytest.approx(2 / 3, rel=1e-15)),
    ]


def test_window_partly_without_volume_puts_nothing_there():
    # 00:02:30 → 00:04: half of 00:02 has volume, 00:03 never traded
    profile = VolumeProfile.from_bars(three_minutes())
    weights = profile.weights(DEC_13 + 150 * SECOND, DEC_13 + 4 * MINUTE)
    assert weights == [(0, 30 * SECOND, 1.0), (30 * SECOND, 90 * SECOND, 0.0)]


def test_several_days_are_pooled_by_time_of_day():
    # Dec 13 trades 1, 2, 1 and Dec 14 trades 3, 2, 3 in the same minutes: 4, 4, 4 of 12
    dec_14 = [
        (DEC_13 + DAY, D(3)),
        (DEC_13 + DAY + MINUTE, D(2)),
        (DEC_13 + DAY + 2 * MINUTE, D(3)),
    ]
    profile = VolumeProfile.from_bars(three_minutes() + dec_14)
    assert profile.shares[:3] == pytest.approx([1 / 3] * 3, rel=1e-15)
    assert sum(profile.shares[3:]) == 0


def test_wider_bins_sum_their_minutes():
    # five-minute bins: 00:00-00:05 holds all 4, 00:05 trading 4 more makes it half and half
    bars = [*three_minutes(), (DEC_13 + 5 * MINUTE, D(4))]
    profile = VolumeProfile.from_bars(bars, bin_us=5 * MINUTE)
    assert len(profile.shares) == 288
    assert profile.shares[:3] == (0.5, 0.5, 0.0)


def test_flat_profile_is_time_proportional():
    profile = VolumeProfile.flat()
    assert profile.shares == (1 / 1440,) * 1440
    weights = profile.weights(DEC_13 + 30 * SECOND, DEC_13 + 2 * MINUTE)
    assert [w for _, _, w in weights] == pytest.approx([1 / 3, 2 / 3], rel=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: VolumeProfile.flat(7 * SECOND), "cut a day evenly"),
        (lambda: VolumeProfile.from_bars([(DEC_13, D(0))]), "no volume"),
        (lambda: VolumeProfile.from_bars([(DEC_13, D(-1))]), "negative volume"),
        (lambda: VolumeProfile((1.0,)), "make 1440 a day"),
        (lambda: VolumeProfile((0.5,) * 1440), "sum to 1"),
        (lambda: VolumeProfile.flat().weights(DEC_13, DEC_13), "ends"),
    ],
)
def test_bad_input_is_refused_with_a_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_loads_lean_trade_bars(tmp_path):
    path = tmp_path / "20221213_btcusdt_minute_trade.csv"
    path.write_text("0,1,1,1,1,1\n60000,1,1,1,1,3\n")
    assert profile_from_file(path).shares[:3] == (0.25, 0.75, 0.0)


def test_loads_ftx_candles(tmp_path):
    # USD volume becomes base units at the close: 100 / 10 = 10 and 300 / 10 = 30
    path = tmp_path / "btc-perp-20220101_1m.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2022-01-01 00:00:00,10,10,10,10,100\n"
        "2022-01-01 00:01:00,10,10,10,10,300\n"
    )
    assert profile_from_file(path).shares[:3] == (0.25, 0.75, 0.0)


def test_refuses_a_file_without_trade_volume(tmp_path):
    path = tmp_path / "20221213_btcusdt_minute_quote.csv"
    path.write_text("0,1,1,1,1,1,2,2,2,2,1\n")
    with pytest.raises(ValueError, match="needs trade bars"):
        profile_from_file(path)


def test_real_day_of_bybit_minute_bars():
    name = "20221213_btcusdt_minute_trade.csv"
    path = sample_file(name)
    if path is None:
        pytest.skip(f"{name} is not in {sample_dir()} (set FILLSTREAM_SAMPLE_DATA)")
    profile = profile_from_file(path)
    assert len(profile.shares) == 1440
    assert math.fsum(profile.shares) == pytest.approx(1, abs=1e-12)
    # the busiest minute, read straight from the CSV: `time_ms, open, high, low, close, volume`
    volumes = _minute_volumes(path)
    busiest = max(volumes, key=volumes.__getitem__)
    assert max(profile.shares) == profile.shares[busiest]
    share = volumes[busiest] / sum(volumes.values())
    assert profile.shares[busiest] == pytest.approx(float(share), rel=1e-12)
    # a two-day window across midnight, cut into 2,881 pieces, still sums to 1
    weights = profile.weights(DEC_13 + DAY - 30 * SECOND, DEC_13 + 3 * DAY)
    assert len(weights) == 2881
    assert math.fsum(w for _, _, w in weights) == pytest.approx(1, abs=1e-12)


def _minute_volumes(path: Path) -> dict[int, Decimal]:
    with path.open(newline="") as text:
        return {int(row[0]) // 60_000: Decimal(row[5]) for row in csv.reader(text) if row}
