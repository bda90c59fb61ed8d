"""`fillstream audit` on the live pipeline's log: it passes on a clean run and names each
corrupted or duplicated record written afterwards by topic, partition and offset.

Four signals on a synthetic BTC/USDT market: two market orders that fill, a resting limit
cancelled by a command, and one risk refuses (above the 10 BTC per order limit).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events
from fillstream.infra.topic_io import codec, make_producer, send
from fillstream.pipeline import feed
from fillstream.schemas.models import Command
from fillstream.schemas.topics import find, key_of
from tests.integration.live import running_pipeline

pytestmark = pytest.mark.integration

START = 1_704_067_200_000_000
SECOND = 1_000_000


def signal(name: str, at: int, **fields) -> dict:
    return {
        "signal_id": name,
        "strategy_id": "audit-test",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": "0.05",
        "order_type": "market",
        "created_at": START + at * SECOND,
    } | fields


SIGNALS = [
    signal("buy", 2),
    signal("sell", 3, side="sell", quantity="0.02"),
    signal("resting", 4, order_type="limit", price="50000"),
    signal("too-big", 5, quantity="50"),
]
CANCEL = Command(
    command_id="c-1",
    kind="cancel",
    order_id="o-resting",
    symbol="BTC/USDT",
    created_at=START + 8 * SECOND,
)


def run_audit(tmp_path, *options: str) -> tuple[int, dict, str]:
    path = tmp_path / f"audit{len(list(tmp_path.iterdir()))}.json"
    result = CliRunner().invoke(app, ["audit", *options, "--json", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(path.read_text()), result.output


@pytest.fixture(scope="module")
def log(kafka_bootstrap, tmp_path_factory):
    """The pipeline's records after a clean run, its processors stopped; the time before."""
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "audit") as (pipeline, watcher):
        before = datetime.now(UTC)
        market = synthetic_events(SyntheticParams(start=START, duration_us=12 * SECOND), seed=3)
        feed(market, SIGNALS, [CANCEL], watcher=watcher, pipeline=pipeline)
        watcher.settle(timeout=120, pipeline=pipeline)
        pipeline.stop()  # nothing must act on the records the test writes
        yield watcher.records, before


def test_the_audit_passes_on_a_clean_run(log, tmp_path):
    records, _ = log
    code, report, output = run_audit(tmp_path)
    assert code == 0, output
    assert report["violations"] == []
    # buy, sell and resting approved; too-big refused by risk, with an order state all the same
    assert (report["orders"], report["working"]) == (4, 0)
    filled = [r for r in records["fills"] if r["last_quantity"] > 0]
    assert report["fills"] == len(filled) >= 2
    assert "The log keeps every invariant." in output


def test_orders_signalled_after_the_window_are_out_of_range(log, tmp_path):
    records, before = log
    code, report, output = run_audit(tmp_path, "--to", before.isoformat())
    assert code == 0, output
    assert report["orders"] == 0
    assert report["out_of_range"]["fills"] == len(records["fills"])


def test_corrupted_and_duplicated_records_fail_the_audit_by_their_coordinates(log, tmp_path):
    records, _ = log
    fills, slices = find("fills"), find("slices")
    written: list[tuple[int, int]] = []  # (partition, offset) of each record written

    def delivered(error, message) -> None:
        assert error is None, error
        written.append((message.partition(), message.offset()))

    producer = make_producer()
    # 1. bytes that are no record at all
    send(producer, fills, b"\x00garbage", b"BTC/USDT", on_delivery=delivered)
    producer.flush(10)
    # 2. the buy's first slice id sent again, for the sell order
    buy_slice = next(s for s in records["slices"] if s["order_id"] == "o-buy")
    sell_slice = next(s for s in records["slices"] if s["order_id"] == "o-sell")
    reused = sell_slice | {"slice_id": buy_slice["slice_id"]}
    send(
        producer,
        slices,
        codec(slices).encode(reused),
        key_of(slices, reused),
        on_delivery=delivered,
    )
    producer.flush(10)
    # 3. a fill re-sent under its report id with another quantity
    fill = next(r for r in records["fills"] if r["last_quantity"] > 0)
    altered = fill | {"last_quantity": fill["last_quantity"] + D("0.001")}
    send(
        producer, fills, codec(fills).encode(altered), key_of(fills, altered), on_delivery=delivered
    )
    producer.flush(10)
    garbage, duplicate_slice, duplicate_fill = written

    code, report, output = run_audit(tmp_path)
    assert code == 1
    named = {(v["rule"], v["topic"], v["partition"], v["offset"]) for v in report["violations"]}
    assert named == {
        ("UNDECODABLE_RECORD", "fills", *garbage),
        ("DUPLICATE_CLIENT_ORDER_ID", "slices", *duplicate_slice),
        ("DUPLICATE_FILL", "fills", *duplicate_fill),
    }
    by_rule = {v["rule"]: v for v in report["violations"]}
    assert by_rule["DUPLICATE_CLIENT_ORDER_ID"]["ids"] == {
        "slice_id": buy_slice["slice_id"],
        "order_id": "o-sell",
    }
    assert by_rule["DUPLICATE_FILL"]["ids"]["report_id"] == fill["report_id"]
    for partition, offset in (garbage, duplicate_fill):
        assert f"fills partition {partition} offset {offset}" in output
    assert f"slices partition {duplicate_slice[0]} offset {duplicate_slice[1]}" in output
