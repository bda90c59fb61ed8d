"""Accounts over the REST API: status, allocation history, correlations; and group signals
published for the allocator (no Kafka: the view is folded by hand, publishers record)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillstream.api.view import EngineView, apply
from fillstream.processors import build_stage
from tests.accounts import accounts_config
from tests.unit.test_allocator_stage import group_signal, paused
from tests.unit.test_api_app import ADMIN, MARKET, READ, TRADE, Sent, _client, key
from tests.unit.test_api_view import T0, order


@pytest.fixture
def engine(tmp_path):
    return accounts_config(tmp_path)


def test_an_account_before_risk_published_it_stands_as_configured(engine):
    client = _client(Sent(), EngineView(), engine=engine)
    data = client.get("/api/v1/accounts/fund-b", headers=key(READ)).json()["data"]
    assert (data["state"], data["available_margin"], data["risk_budget_remaining"]) == (
        "active",
        "30000",
        "5000",
    )
    assert (data["positions"], data["working_orders"], data["daily_pnl"]) == ({}, [], None)
    assert client.get("/api/v1/accounts/nobody", headers=key(READ)).status_code == 404


def test_status_from_risks_state_and_the_working_orders(engine):
    view = EngineView()
    # fund-a: pnl -400 today, exposure 30,000: margin 100,000 - 400 - 30,000 = 69,600;
    # budget 1,000 - 400 = 600
    standing = paused("fund-a").model_copy(
        update={
            "exposure": Decimal(30000),
            "pnl": Decimal(-400),
            "daily_pnl": Decimal(-400),
            "drawdown": Decimal(400),
            "positions": {"BTC/USDT": Decimal("0.5")},
        }
    )
    apply(view, "accounts.state", standing)
    apply(view, "orders.state", order("o-1", status="accepted", account_id="fund-a"))
    apply(view, "orders.state", order("o-2", status="filled", account_id="fund-a"))
    data = (
        _client(Sent(), view, engine=engine)
        .get("/api/v1/accounts/fund-a", headers=key(READ))
        .json()["data"]
    )
    assert (data["state"], data["available_margin"], data["risk_budget_remaining"]) == (
        "paused",
        "69600",
        "600",
    )
    assert (data["daily_pnl"], data["drawdown"], data["max_drawdown"]) == ("-400", "400", "10000")
    assert data["positions"] == {"BTC/USDT": "0.5"}
    assert [o["order_id"] for o in data["working_orders"]] == ["o-1"]


def test_history_lists_the_allocations_that_considered_the_account_newest_first(engine):
    view, stage = EngineView(), build_stage("allocator", engine)
    for n in (1, 2, 3):
        for emit in stage.handle("signals.group", group_signal(signal_id=f"grp-{n}"), T0):
            if emit.topic == "allocations":
                apply(view, "allocations", emit.record)
                apply(view, "allocations", emit.record)  # a repeat counts once
    answer = _client(Sent(), view, engine=engine).get(
        "/api/v1/accounts/fund-c/history?limit=2", headers=key(READ)
    )
    allocations = answer.json()["data"]["allocations"]
    assert [a["signal_id"] for a in allocations] == ["grp-3", "grp-2"]
    line = next(x for x in allocations[0]["accounts"] if x["account_id"] == "fund-c")
    assert (line["quantity"], line["child_signal_id"]) == (
        "0.50000",
        "grp-3:fund-c",
    )  # 50,000 lots of 0.00001


def test_correlations_are_published_sorted_and_need_admin(engine):
    sent = Sent()
    client = _client(sent, EngineView(), engine=engine)
    body = {"account_a": "fund-b", "account_b": "fund-a", "correlation": 0.85}
    assert (
        client.put("/api/v1/accounts/correlations", json=body, headers=key(READ)).status_code == 403
    )
    answer = client.put("/api/v1/accounts/correlations", json=body, headers=key(ADMIN))
    assert answer.status_code == 202
    (published,) = sent.correlations
    assert (published.pair_id, published.correlation) == ("fund-a|fund-b", 0.85)
    same = body | {"account_b": "fund-b"}
    assert (
        client.put("/api/v1/accounts/correlations", json=same, headers=key(ADMIN)).status_code
        == 422
    )


def test_a_group_signal_is_accepted_like_any_other(engine):
    sent = Sent()
    client = _client(sent, EngineView(), engine=engine)
    answer = client.post(
        "/api/v1/orders", json=MARKET | {"allocation_group": "funded"}, headers=key(TRADE)
    )
    assert answer.status_code == 202, answer.text
    assert sent.signals[0].allocation_group == "funded"


def test_a_group_signal_is_answered_with_its_children_and_allocation_not_an_order(engine):
    client = _client(Sent(), EngineView(), engine=engine)
    signal = MARKET | {"allocation_group": "funded", "signal_id": "grp-7"}
    data = client.post("/api/v1/orders", json=signal, headers=key(TRADE)).json()["data"]
    assert (data["order_id"], data["signal_id"], data["allocation_group"]) == (
        None,
        "grp-7",
        "funded",
    )
    assert data["children"] == [
        {"account_id": account, "signal_id": f"grp-7:{account}", "order_id": f"o-grp-7:{account}"}
        for account in ("fund-a", "fund-b", "fund-c")
    ]
    assert data["allocation"] == [
        f"/api/v1/accounts/{account}/history" for account in ("fund-a", "fund-b", "fund-c")
    ]
    for link in data["allocation"]:  # each one answers
        assert client.get(link, headers=key(READ)).status_code == 200
