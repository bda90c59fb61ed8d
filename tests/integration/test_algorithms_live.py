"""Execution algorithms end to end on Kafka, on the real BTCUSDT capture, with TCA.

TWAP, VWAP (on the Bybit minute bars' volume profile), POV, iceberg, implementation shortfall
and adaptive parent orders, each a few percent of the market's volume over the capture (about
167 BTC trades from 23:55 to 23:59), run through every processor on the real broker; each
completes, and its TCA reaches the `tca` topic and its strategy's feedback `tca.feedback`.

The capture is fed at three times the pace it happened: an algorithm sends its next child when
the previous one's report is back, so at full speed whole minutes of market data would pass
during one round trip and the schedule would bunch up.
"""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.config import DEFAULT_CONFIG, load_config
from fillstream.connectors.feeds import load
from fillstream.connectors.feeds.pacing import pace
from fillstream.connectors.feeds.samples import sample_file
from fillstream.pipeline import feed, tick
from tests.integration.live import running_pipeline
from tests.unit.test_replay_btcusdt import SECOND, T0, capture, signal

pytestmark = pytest.mark.integration

SPEED = 3
DECISION = {"decision_price": "61800"}
SIGNALS = [
    signal(
        "twap",
        0,
        quantity="5",
        algorithm="twap",
        algorithm_parameters={"duration_seconds": "240", "interval_seconds": "10"},
        **DECISION,
    ),
    signal(
        "vwap",
        0,
        account_id="acct-2",
        quantity="4",
        algorithm="vwap",
        algorithm_parameters={
            "duration_seconds": "240",
            "interval_seconds": "20",
            "participation_rate": "0.1",
        },
        **DECISION,
    ),
    signal(
        "pov",
        0,
        account_id="acct-3",
        side="sell",
        quantity="3",
        algorithm="pov",
        algorithm_parameters={"participation_rate": "0.1", "min_slice": "0.05"},
        **DECISION,
    ),
    signal(
        "iceberg",
        0,
        account_id="acct-4",
        quantity="2",
        order_type="limit",
        price="61700",
        display_quantity="0.25",
        algorithm="iceberg",
        **DECISION,
    ),
    signal(
        "is",
        0,
        account_id="acct-5",
        side="sell",
        quantity="5",
        algorithm="implementation_shortfall",
        algorithm_parameters={"duration_seconds": "180", "periods": "12"},
        **DECISION,
    ),
    signal("adaptive", 5, account_id="acct-6", quantity="2", urgency="high", algorithm="adaptive"),
]
ORDERS = {f"o-{s['signal_id']}": s for s in SIGNALS}


def engine_config(folder: Path) -> Path:
    """The shipped configuration plus the BTC/USDT volume profile from the minute bars."""
    bars = sample_file("20221213_btcusdt_minute_trade.csv")
    if bars is None:
        pytest.skip("the shared sample data (20221213_btcusdt_minute_trade.csv) is not present")
    path = folder / "engine.toml"
    path.write_text(
        DEFAULT_CONFIG.read_text()
        + f'\n[algorithms.volume_profiles]\n"BTC/USDT" = "{bars.resolve()}"\n'
    )
    return path


@pytest.fixture(scope="module")
def live(kafka_bootstrap, tmp_path_factory):
    config = engine_config(tmp_path_factory.mktemp("config"))
    events = list(load(capture()))
    end = events[-1].timestamp
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "algos", config=config) as (
        pipeline,
        watcher,
    ):
        paced = pace(events, SPEED, time.sleep, time.monotonic)
        feed(paced, SIGNALS, watcher=watcher, pipeline=pipeline)
        watcher.settle(timeout=300, pipeline=pipeline)
        # time passes after the market data: any last child goes, and reaches the venue
        for step, at in enumerate((end + SECOND, end + 2 * SECOND), start=1):
            tick(at, step)
            watcher.settle(timeout=120, pipeline=pipeline)
        tick(end + 2 * SECOND + load_config(config).tca.horizons.longest_us, 3)  # markouts
        watcher.settle(timeout=120, pipeline=pipeline)
        exported = tmp_path_factory.mktemp("export")
        outcome = CliRunner().invoke(app, ["export", "--out", str(exported)])
        assert outcome.exit_code == 0, outcome.output
    yield watcher.records, exported


@pytest.fixture(scope="module")
def records(live):
    return live[0]


def test_every_algorithm_completes_its_parent_exactly(records):
    final = {state["order_id"]: state for state in records["orders.state"]}
    for order_id, sent in ORDERS.items():
        assert final[order_id]["status"] == "filled", (order_id, final[order_id])
        assert final[order_id]["filled_quantity"] == D(sent["quantity"]), order_id
    filled: dict[str, D] = defaultdict(D)
    for report in records["fills"]:
        filled[report["order_id"]] += report["last_quantity"]
    assert {order_id: filled[order_id] for order_id in ORDERS} == {
        order_id: D(sent["quantity"]) for order_id, sent in ORDERS.items()
    }


def test_the_algorithms_slice_their_parents(records):
    """Live, a child waits for its predecessor's report, which takes longer in market time
    the faster the tape is fed; the exact schedules are the replay's to check
    (tests/unit/test_replay_algorithms.py)."""
    children: dict[str, list[dict]] = defaultdict(list)
    for child in records["slices"]:
        if child["action"] == "new":
            children[child["order_id"]].append(child)
    twap = children["o-twap"]
    assert [c["quantity"] for c in twap[:2]] == [D("0.20833")] * 2  # 5 / 24, in lots
    assert twap[1]["created_at"] >= T0 + 10 * SECOND  # the second slice waits its turn
    assert all(c["quantity"] <= D("0.25") for c in children["o-iceberg"])
    assert all(c["price"] == D("61700") for c in children["o-iceberg"])
    assert all(c["quantity"] >= D("0.05") for c in children["o-pov"][:-1])
    for order_id in ORDERS:
        assert len(children[order_id]) > 1, order_id


def test_tca_and_feedback_for_every_parent(records):
    tca = {result["order_id"]: result for result in records["tca"]}
    assert tca.keys() >= ORDERS.keys()
    for order_id, sent in ORDERS.items():
        result = tca[order_id]
        assert result["algorithm"] == sent["algorithm"]
        assert result["fill_ratio"] == 1.0
        assert result["arrival_slippage_bps"] is not None, order_id
        assert result["vwap_slippage_bps"] is not None, order_id
        assert 0 < result["participation_rate"] < 1, order_id
        if "decision_price" in sent:
            assert result["total_cost_bps"] is not None, order_id
    # POV's own share of the volume is not checked here: live, its children wait on reports
    # while the tape runs on at three times its pace, so the share depends on the machine's
    # load (measured 1.9% and 20% on a loaded box); the property tests
    # (tests/unit/test_algorithm_properties.py) check its cap exactly
    feedback = {event["order_id"]: event for event in records["tca.feedback"]}
    assert feedback.keys() >= ORDERS.keys()
    assert feedback["o-twap"]["strategy_id"] == "replay-test"
    # done with its last fill: not before its 24th slice is due (10 s apart from T0), and
    # however late the tape left it
    last_fill = max(
        r["timestamp"]
        for r in records["fills"]
        if r["order_id"] == "o-twap" and r["last_quantity"] > 0
    )
    assert feedback["o-twap"]["completed_at"] == last_fill >= T0 + 230 * SECOND


def test_the_report_renders_from_the_export(live, tmp_path):
    _, exported = live
    report = tmp_path / "report.html"
    outcome = CliRunner().invoke(
        app, ["tca", "report", "--data", str(exported), "--out", str(report)]
    )
    assert outcome.exit_code == 0, outcome.output
    page = report.read_text()
    for order_id in ORDERS:
        assert order_id in page
    for algorithm in ("twap", "vwap", "pov", "iceberg", "implementation_shortfall", "adaptive"):
        assert algorithm in page
    assert page.count("<img") >= 2 + len(ORDERS)  # cost boxes, and a chart per order
    assert "http://" not in page and "https://" not in page  # self-contained
