"""Failover through a real venue's refusal: a group signal over three accounts trading Binance
through the ccxt gateway and the exchange emulator, whose next order is refused for want of
money (the fault `insufficient_balance`, Binance's -2010). The refused child's order ends
rejected with the venue's reason, its quantity completes on another account of the group, the
rationale says so, and `fillstream audit` passes.

The accounts are tests/accounts.py's (0.1 BTC splits 20 : 30 : 50 into 0.02, 0.03, 0.05).
Which child the venue refuses is whichever reaches it first; the failover goes to the heaviest
account left (fund-c, or fund-b when fund-c's is the refused one).
"""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.demo import DEMO_ACCOUNTS
from fillstream.domain.ids import order_id_for
from fillstream.pipeline import feed
from tests.integration.test_pipeline_on_emulator import final_states, on_emulator
from tests.unit.test_replay_btcusdt import SECOND, T0

pytestmark = pytest.mark.integration

END = T0 + 40 * SECOND
GROUP_SIGNAL = {
    "signal_id": "grp-v",
    "strategy_id": "failover-test",
    "account_id": "desk",
    "symbol": "BTC/USDT",
    "side": "buy",
    "quantity": "0.1",
    "order_type": "market",
    "created_at": T0 + 5 * SECOND,
    "allocation_group": "funded",
}
SHARES = {"fund-a": Decimal("0.02"), "fund-b": Decimal("0.03"), "fund-c": Decimal("0.05")}
REFUSE_NEXT_ORDER = {
    "fail": [{"failure": "insufficient_balance", "method": "POST", "path": "/api/v3/order"}]
}


def control(url: str, body: dict) -> None:
    request = urllib.request.Request(
        f"{url}/_emulator/faults", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=10).read()


def test_a_venue_refusal_fails_over_to_another_account(kafka_bootstrap, tmp_path_factory):
    accounts = DEMO_ACCOUNTS.read_text()
    with on_emulator(kafka_bootstrap, tmp_path_factory, "vfail", END, extra_config=accounts) as run:
        pipeline, watcher = run.pipeline, run.watcher
        assert "allocator" in pipeline.processes
        control(run.url, REFUSE_NEXT_ORDER)
        feed(run.market, [GROUP_SIGNAL], watcher=watcher, pipeline=pipeline)
        children = {account: order_id_for(f"grp-v:{account}") for account in SHARES}
        states = final_states(watcher, children.values())
        refused = [a for a, order in children.items() if states[order]["status"] == "rejected"]
        assert len(refused) == 1, states
        [account] = refused
        taker = "fund-b" if account == "fund-c" else "fund-c"
        moved = order_id_for(f"grp-v:{taker}:f1")
        states = final_states(watcher, [*children.values(), moved])
        pipeline.check_alive()
        records = watcher.records

        audit = tmp_path_factory.mktemp("audit") / "audit.json"
        result = CliRunner().invoke(app, ["audit", "--json", str(audit)])
        assert result.exit_code == 0, result.output
        assert json.loads(audit.read_text())["violations"] == []

    rejected = states[children[account]]
    assert rejected["filled_quantity"] == 0
    assert "insufficient balance" in rejected["reason"].lower(), rejected
    assert states[moved]["status"] == "filled", states[moved]
    assert states[moved]["filled_quantity"] == SHARES[account]
    for other in SHARES.keys() - {account}:
        order = states[children[other]]
        assert (order["status"], order["filled_quantity"]) == ("filled", SHARES[other])

    original, failover = records["allocations"]
    assert (original["failover_of"], original["allocated"]) == (None, Decimal("0.1"))
    assert failover["failover_of"] == f"grp-v:{account}"
    assert failover["notes"][0].startswith(f"failover of grp-v:{account}: rejected (")
    assert failover["notes"][-1] == f"{SHARES[account]} to {taker} as grp-v:{taker}:f1"
    venue_fills = [r for r in records["fills"] if r["order_id"] == moved and r["last_quantity"]]
    assert venue_fills and all("#trade:" in r["report_id"] for r in venue_fills)
