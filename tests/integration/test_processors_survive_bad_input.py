"""Bad input never stops a processor: it lands in `deadletter` with the reason, work goes on."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from fillstream.infra.topic_io import make_producer, publish
from fillstream.infra.topics import ensure_topics
from fillstream.pipeline import Pipeline, Watcher, wire_signal
from fillstream.schemas.serde import SingleObjectCodec
from fillstream.schemas.topics import CATALOG, find

pytestmark = pytest.mark.integration

T = 1723161300_000000


def test_undecodable_records_go_to_deadletter_and_the_pipeline_carries_on(
    kafka_bootstrap, monkeypatch, tmp_path
):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("FILLSTREAM_TOPIC_PREFIX", f"bad{uuid.uuid4().hex[:6]}.")
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path / "state"))
    ensure_topics(CATALOG)
    producer = make_producer()
    producer.produce(find("signals").full_name, key=b"acct-1", value=b"not avro at all")
    # A well-framed Trade where a Quote (desk) or a reference price (risk) belongs: decodable
    # Avro, the wrong contract.
    trade = {
        "symbol": "BTC/USDT",
        "venue": "binance",
        "trade_id": "t-1",
        "price": None,
        "quantity": None,
        "aggressor_side": None,
        "timestamp": T,
        "received_at": None,
    }
    codec = SingleObjectCodec("Trade")

    trade |= {"price": Decimal("61000"), "quantity": Decimal("0.1")}
    for topic in ("market.quotes", "market.reference"):
        producer.produce(find(topic).full_name, key=b"BTC/USDT", value=codec.encode(trade))
    producer.flush(10)
    signal = {
        "signal_id": "after-bad",
        "strategy_id": "st",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": "0.1",
        "order_type": "limit",
        "created_at": T,  # no price: the risk stage answers it, not the transport
    }
    publish(find("signals"), [wire_signal(signal)], producer)

    pipeline = Pipeline(log_dir=tmp_path / "logs")
    watcher = Watcher(
        ["signals", "market.quotes", "market.reference", "orders.rejected", "deadletter"],
        processors=["risk", "desk"],
    )
    pipeline.start(["risk", "desk"])
    try:
        watcher.settle(timeout=90, pipeline=pipeline)
        pipeline.check_alive()
    finally:
        pipeline.stop()
        watcher.close()

    dead = {(d["processor"], d["source_topic"]): d for d in watcher.records["deadletter"]}
    risk_signal = dead[("risk", find("signals").full_name)]
    assert risk_signal["error_type"] == "UndecodableRecord"
    assert risk_signal["value"] == b"not avro at all"
    assert risk_signal["key"] == b"acct-1"
    for processor, topic, expected in (
        ("desk", "market.quotes", "Quote"),
        ("risk", "market.reference", "ReferencePrice"),
    ):
        wrong = dead[(processor, find(topic).full_name)]
        assert f"fillstream.Trade record where fillstream.{expected} is expected" in wrong["error"]
    assert [
        len(watcher.undecodable[t]) for t in ("signals", "market.quotes", "market.reference")
    ] == [
        1,
        1,
        1,
    ]
    (rejection,) = watcher.records["orders.rejected"]
    assert (rejection["signal_id"], rejection["reason_code"]) == ("after-bad", "INVALID_SIGNAL")
