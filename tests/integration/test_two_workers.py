"""Two workers of every processor in one consumer group produce the fills of one.

Six symbols on three partitions, several accounts, market and limit orders: Kafka assigns the
partitions, the workers split them, and the fills are those the replay harness (one stage per
processor, everything in one process) produces for the same inputs.
"""

from __future__ import annotations

import heapq
import time
from decimal import Decimal as D

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from fillstream import settings
from fillstream.config import load_config
from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events
from fillstream.domain.instruments import Instrument
from fillstream.pipeline import Pipeline, feed
from fillstream.processors import PIPELINE
from fillstream.replay import run_replay
from tests.integration.live import running_pipeline
from tests.integration.test_pipeline_live import _fills

pytestmark = pytest.mark.integration

START = 1_704_067_200_000_000
SECOND = 1_000_000
PRICES = {"BTC": "60000", "ETH": "3000", "SOL": "100", "XRP": "0.5", "ADA": "0.4", "DOT": "7"}
SYMBOLS = [f"{base}/USDT" for base in PRICES]

CONFIG = '[[venues]]\nname = "binance"\nmaker_fee = "0.001"\ntaker_fee = "0.001"\n' + "".join(
    f'[[instruments]]\nvenue = "binance"\nsymbol = "{symbol}"\n'
    'tick_size = "0.0001"\nlot_size = "0.001"\n'
    for symbol in SYMBOLS
)


def market():
    streams = [
        synthetic_events(
            SyntheticParams(
                instrument=Instrument("binance", symbol, D("0.0001"), D("0.001")),
                start=START,
                duration_us=20 * SECOND,
                initial_price=D(PRICES[symbol.split("/")[0]]),
            ),
            seed=n,
        )
        for n, symbol in enumerate(SYMBOLS)
    ]
    return list(heapq.merge(*streams, key=lambda event: event.timestamp))


def signals():
    orders = []
    for n, symbol in enumerate(SYMBOLS):
        price = D(PRICES[symbol.split("/")[0]])
        for k, (side, kind) in enumerate((("buy", "market"), ("sell", "limit"), ("buy", "limit"))):
            orders.append(
                {
                    "signal_id": f"{symbol}-{k}",
                    "strategy_id": "scale-test",
                    "account_id": f"acct-{(n + k) % 4}",
                    "symbol": symbol,
                    "side": side,
                    "quantity": "1",
                    "order_type": kind,
                    # limits at the price the market started from: some rest, some fill later
                    **({"price": str(price)} if kind == "limit" else {}),
                    "created_at": START + (2 + 5 * k) * SECOND + n * 1000,
                }
            )
    return orders


def members_with_partitions(group: str) -> int:
    """Members of `group` holding partitions; 0 while the group is not formed yet."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers()})
    try:
        description = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    except KafkaException:
        return 0
    return sum(1 for member in description.members if member.assignment.topic_partitions)


def _wait_for_both_workers(pipeline: Pipeline, timeout: float = 120) -> None:
    """Feed only once each group has settled on two members: a rebalance mid-run would be
    correct too (test_processor_restart.py), but this test is about sharing the work."""
    deadline = time.monotonic() + timeout
    while any(members_with_partitions(settings.processor_group(name)) < 2 for name in PIPELINE):
        pipeline.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not all join their groups")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "engine.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def two_workers(kafka_bootstrap, tmp_path_factory, config_file):
    with running_pipeline(
        kafka_bootstrap, tmp_path_factory, "scale", config=config_file, workers=2
    ) as (pipeline, watcher):
        _wait_for_both_workers(pipeline)
        feed(market(), signals(), watcher=watcher, pipeline=pipeline)
        watcher.settle(timeout=120, pipeline=pipeline)
        sharing = {
            name: members_with_partitions(settings.processor_group(name)) for name in PIPELINE
        }
    yield watcher.records, sharing


def test_every_processor_shares_its_partitions_between_two_workers(two_workers):
    _, sharing = two_workers
    assert sharing == dict.fromkeys(PIPELINE, 2)


def test_two_workers_fill_as_one(two_workers, config_file):
    records, _ = two_workers
    replay = run_replay(load_config(config_file), market(), signals())
    expected = _fills(report.model_dump() for report in replay.records["fills"])
    assert len({fill[0] for fill in expected}) >= 2 * len(SYMBOLS), "most orders must fill"
    assert sorted(_fills(records["fills"])) == sorted(expected)
