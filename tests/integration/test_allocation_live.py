"""A group signal on the live pipeline: the allocator splits it across three accounts, risk
checks each child, the desk fills them, risk publishes the accounts' new state, and
`fillstream audit` passes (a group's children sum to at most the parent).

The accounts are tests/accounts.py's: nothing has moved them, so a buy of 0.1 BTC splits
20 : 30 : 50 into 0.02, 0.03 and 0.05 (lots of 0.00001: no remainder).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events
from fillstream.domain.ids import order_id_for
from fillstream.pipeline import feed
from tests.accounts import write_config
from tests.integration.live import running_pipeline

pytestmark = pytest.mark.integration

START = 1_704_067_200_000_000
SECOND = 1_000_000
GROUP_SIGNAL = {
    "signal_id": "grp-1",
    "strategy_id": "alloc-test",
    "account_id": "desk",
    "symbol": "BTC/USDT",
    "side": "buy",
    "quantity": "0.1",
    "order_type": "market",
    "created_at": START + 3 * SECOND,
    "allocation_group": "funded",
}
CHILDREN = {
    "grp-1:fund-a": ("fund-a", Decimal("0.02")),
    "grp-1:fund-b": ("fund-b", Decimal("0.03")),
    "grp-1:fund-c": ("fund-c", Decimal("0.05")),
}


def test_a_group_signal_becomes_three_child_orders_that_fill(kafka_bootstrap, tmp_path_factory):
    config = write_config(tmp_path_factory.mktemp("config"))
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "alloc", config=config) as (
        pipeline,
        watcher,
    ):
        assert "allocator" in pipeline.processes
        market = synthetic_events(SyntheticParams(start=START, duration_us=8 * SECOND), seed=3)
        feed(market, [GROUP_SIGNAL], watcher=watcher, pipeline=pipeline)
        watcher.settle(timeout=50, pipeline=pipeline)
        records = watcher.records

        (rationale,) = records["allocations"]
        assert rationale["signal_id"] == "grp-1"
        assert rationale["allocated"] == Decimal("0.1")
        children = {s["signal_id"]: s for s in records["signals"]}
        assert {k: (s["account_id"], s["quantity"]) for k, s in children.items()} == CHILDREN
        final = {s["order_id"]: s for s in records["orders.state"]}
        for signal_id, (_account, quantity) in CHILDREN.items():
            order = final[order_id_for(signal_id)]
            assert (order["status"], order["filled_quantity"]) == ("filled", quantity), order
        # risk's state of each account after its fill (a copy on every partition)
        for account, quantity in CHILDREN.values():
            assert any(
                s["account_id"] == account and s["positions"] == {"BTC/USDT": quantity}
                for s in records["accounts.state"]
            ), account
        assert all(s["allocation_group"] == "funded" for s in records["signals"])

        audit = tmp_path_factory.mktemp("audit") / "audit.json"
        result = CliRunner().invoke(app, ["audit", "--json", str(audit)])
        assert result.exit_code == 0, result.output
        report = json.loads(audit.read_text())
        assert report["violations"] == []
        assert report["read"]["signals.group"] == 1

        # the account's status as the CLI reads it from the topics: fund-b bought 0.03
        result = CliRunner().invoke(app, ["accounts", "status", "fund-b", "--config", str(config)])
        assert result.exit_code == 0, result.output
        status = json.loads(result.output)
        assert (status["state"], status["positions"]) == ("active", {"BTC/USDT": "0.03000"})
        assert status["working_orders"] == []
