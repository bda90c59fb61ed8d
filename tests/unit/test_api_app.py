"""The REST API's answers over an in-memory view, publishers that record (no Kafka)."""

from __future__ import annotations

import threading
import warnings
from decimal import Decimal

import pytest

from fillstream.api.app import create_app
from fillstream.api.cluster import GroupLag
from fillstream.api.security import parse_keys
from fillstream.api.services import Services
from fillstream.api.view import EngineView, apply
from fillstream.config import load_config
from fillstream.schemas.models import CommandKind
from fillstream.streams.schedules import Scheduled, advance, state_of
from fillstream.streams.schedules import cancel as cancel_schedule
from tests.unit.test_api_view import T0, order, report

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about its httpx-based client
    from fastapi.testclient import TestClient

READ, TRADE, ADMIN = "read-key-0000000001", "trade-key-000000001", "admin-key-000000001"
MARKET = {
    "strategy_id": "s-1",
    "account_id": "acct-1",
    "symbol": "BTC/USDT",
    "side": "buy",
    "quantity": "0.25",
    "order_type": "market",
}


class Cluster:
    def reachable(self) -> bool:
        return True

    def group_lag(self, group: str) -> GroupLag:
        return GroupLag(0, {}, 0)

    def close(self) -> None:
        pass


class Sent:
    def __init__(self) -> None:
        self.signals: list = []
        self.commands: list = []
        self.schedules: list = []
        self.profiles: list = []
        self.correlations: list = []


@pytest.fixture
def sent() -> Sent:
    return Sent()


@pytest.fixture
def view() -> EngineView:
    return EngineView()


def _client(
    sent: Sent,
    view: EngineView,
    rate: float = 1000.0,
    burst: float = 1000.0,
    allocate=None,
    processors=("risk", "oms"),
    engine=None,
):
    services = Services(
        engine=engine or load_config(),
        keys=parse_keys(f"{READ}:read,{TRADE}:trade,{ADMIN}:admin"),
        view=view,
        lock=threading.Lock(),
        cluster=Cluster(),
        publish_signals=lambda s: sent.signals.extend(s) or len(s),
        publish_commands=lambda c: sent.commands.extend(c) or len(c),
        publish_schedules=lambda s: sent.schedules.extend(s) or len(s),
        publish_profiles=lambda p: sent.profiles.extend(p) or len(p),
        publish_correlations=lambda p: sent.correlations.extend(p) or len(p),
        processors=processors,
        group_of=lambda p: f"fillstream-{p}",
        rate_per_second=rate,
        burst=burst,
        clock_us=lambda: T0,
        monotonic=lambda: 0.0,  # time stands still: only the burst counts
        allocate=allocate,
    )
    return TestClient(create_app(services))


@pytest.fixture
def client(sent, view):
    return _client(sent, view)


def key(value: str) -> dict[str, str]:
    return {"X-API-Key": value}


def test_a_submitted_order_is_published_and_answered_with_its_order_id(client, sent):
    answer = client.post(
        "/api/v1/orders", json={**MARKET, "signal_id": "sig-1"}, headers=key(TRADE)
    )
    assert answer.status_code == 202
    body = answer.json()
    assert body["success"] is True and body["data"]["order_id"] == "o-sig-1"
    assert body["meta"]["timestamp"] == T0
    assert body["meta"]["request_id"] == answer.headers["X-Request-ID"]
    (signal,) = sent.signals
    assert (signal.signal_id, signal.quantity) == ("sig-1", Decimal("0.25"))
    assert body["data"]["signal"]["quantity"] == "0.25"  # decimals travel as strings
    status = client.get("/api/v1/orders/o-sig-1", headers=key(READ)).json()["data"]
    assert status["status"] == "submitted" and status["order"] is None


def test_a_callers_request_id_is_echoed(client):
    answer = client.get("/api/v1/routes", headers={**key(READ), "X-Request-ID": "abc-123"})
    assert answer.json()["meta"]["request_id"] == "abc-123"
    assert answer.headers["X-Request-ID"] == "abc-123"


def test_no_key_or_an_unknown_key_is_401_and_publishes_nothing(client, sent):
    for headers in ({}, key("not-a-key-at-all-xx"), {"Authorization": "Bearer nope"}):
        answer = client.post("/api/v1/orders", json=MARKET, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "UNAUTHORIZED"
    # The key is checked before the body: an invalid body without a key is still a 401.
    assert client.post("/api/v1/orders", json={"x": 1}).status_code == 401
    assert sent.signals == []


def test_a_bearer_token_is_accepted_as_the_key(client):
    answer = client.get("/api/v1/algorithms", headers={"Authorization": f"Bearer {READ}"})
    assert answer.status_code == 200


def test_a_key_without_the_scope_is_403_and_publishes_nothing(client, sent, view):
    apply(view, "orders.state", order("o-a"))
    assert client.post("/api/v1/orders", json=MARKET, headers=key(READ)).status_code == 403
    assert client.delete("/api/v1/orders/o-a", headers=key(READ)).status_code == 403
    answer = client.put("/api/v1/kill-switch", json={"on": True}, headers=key(TRADE))
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "this key's scope is trade; this needs admin"
    assert sent.signals == [] and sent.commands == []


def test_an_invalid_payload_is_422_with_field_errors_and_publishes_nothing(client, sent):
    bad = {**MARKET, "quantity": "-1", "side": "hold"}
    answer = client.post("/api/v1/orders", json=bad, headers=key(TRADE))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    fields = {detail["field"] for detail in error["details"]}
    assert {"body.quantity", "body.side"} <= fields
    limit_without_price = {**MARKET, "order_type": "limit"}
    answer = client.post("/api/v1/orders", json=limit_without_price, headers=key(TRADE))
    assert answer.status_code == 422 and "needs a price" in answer.json()["error"]["message"]
    assert sent.signals == []


def test_direct_execution_runs_the_direct_algorithm_only(client, sent):
    answer = client.post("/api/v1/execute", json=MARKET, headers=key(TRADE))
    assert answer.status_code == 202 and sent.signals[0].algorithm == "direct"
    twap = {**MARKET, "algorithm": "twap"}
    assert client.post("/api/v1/execute", json=twap, headers=key(TRADE)).status_code == 422
    assert len(sent.signals) == 1


def test_cancel_and_modify_publish_commands_keyed_by_the_orders_symbol(client, sent, view):
    limit = order("o-a", symbol="IBM", order_type="limit", price=Decimal("187"))
    apply(view, "orders.state", limit)
    answer = client.delete("/api/v1/orders/o-a?reason=late", headers=key(TRADE))
    assert answer.status_code == 202
    up = client.put("/api/v1/orders/o-a", json={"price": "187.5"}, headers=key(TRADE))
    assert up.status_code == 409 and "toward the market" in up.json()["error"]["message"]
    answer = client.put("/api/v1/orders/o-a", json={"price": "186.5"}, headers=key(TRADE))
    assert answer.status_code == 202
    cancel, modify = sent.commands
    assert (cancel.kind, cancel.order_id, cancel.symbol, cancel.reason) == (
        CommandKind.CANCEL,
        "o-a",
        "IBM",
        "late",
    )
    assert (modify.kind, modify.price) == (CommandKind.MODIFY, Decimal("186.5"))
    empty = client.put("/api/v1/orders/o-a", json={}, headers=key(TRADE))
    assert empty.status_code == 422 and len(sent.commands) == 2


def test_commands_for_unknown_or_finished_orders_are_refused(client, sent, view):
    apply(view, "orders.state", order("o-done", status="filled"))
    assert client.delete("/api/v1/orders/o-nope", headers=key(TRADE)).status_code == 404
    answer = client.delete("/api/v1/orders/o-done", headers=key(TRADE))
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "CONFLICT"
    assert sent.commands == []


def test_orders_are_listed_with_filters_and_pages(client, view):
    for n in range(5):
        apply(view, "orders.state", order(f"o-{n}", T0 + n, status="filled" if n % 2 else "new"))
    answer = client.get("/api/v1/orders?status=new&limit=2", headers=key(READ)).json()["data"]
    assert [o["order_id"] for o in answer["orders"]] == ["o-4", "o-2"]
    assert (answer["total"], answer["next_offset"]) == (3, 2)
    assert client.get("/api/v1/orders?limit=0", headers=key(READ)).status_code == 422


def test_an_orders_slices_lead_to_their_executions(client, view):
    apply(view, "orders.state", order("o-a", status="filled"))
    fill = {"exec_type": "fill", "last_quantity": Decimal(1), "last_price": Decimal("61000")}
    apply(view, "fills", report("r-1", "o-a", "o-a-0", T0 + 1))
    apply(view, "fills", report("r-2", "o-a", "o-a-0", T0 + 2, **fill))
    status = client.get("/api/v1/orders/o-a", headers=key(READ)).json()["data"]
    assert status["slices"] == ["o-a-0"] and status["order"]["status"] == "filled"
    assert status["risk_score"] is None  # no approval seen for it
    view.risk_scores["o-a"] = 0.72
    assert client.get("/api/v1/orders/o-a", headers=key(READ)).json()["data"]["risk_score"] == 0.72
    executions = client.get("/api/v1/transactions/o-a-0", headers=key(READ)).json()["data"]
    assert [e["report_id"] for e in executions["executions"]] == ["r-1", "r-2"]
    assert executions["filled_quantity"] == "1"
    assert client.get("/api/v1/transactions/o-b-0", headers=key(READ)).status_code == 404


def test_market_data_takes_a_symbol_with_a_slash(client, view):
    apply(
        view,
        "market.quotes",
        {
            "symbol": "BTC/USDT",
            "venue": "binance",
            "bid_price": Decimal("61000"),
            "bid_size": Decimal("2"),
            "ask_price": Decimal("61000.5"),
            "ask_size": Decimal("1"),
            "timestamp": T0,
        },
    )
    data = client.get("/api/v1/market-data/BTC/USDT", headers=key(READ)).json()["data"]
    assert data["venues"]["binance"]["asks"] == [{"price": "61000.5", "quantity": "1"}]
    assert client.get("/api/v1/market-data/ETH/USDT", headers=key(READ)).status_code == 404
    # The what-if router takes the ask that is shown and leaves the rest with the venue.
    plan = client.post(
        "/api/v1/routes/optimize", json={**MARKET, "quantity": "3"}, headers=key(READ)
    ).json()["data"]["plan"]
    assert [(p["venue"], p["quantity"], p["expected_price"]) for p in plan] == [
        ("binance", "3", "61000.5")
    ]


def test_the_algorithm_catalog_with_parameter_schemas(client):
    data = client.get("/api/v1/algorithms", headers=key(READ)).json()["data"]
    pov = next(a for a in data["algorithms"] if a["name"] == "pov")
    rate = next(p for p in pov["parameters"] if p["name"] == "participation_rate")
    assert (rate["type"], rate["required"]) == ("fraction", True)
    assert data["default"] == "direct"


def test_pause_resume_and_the_kill_switch_need_admin(client, sent):
    assert client.post("/api/v1/accounts/acct-1/pause", headers=key(ADMIN)).status_code == 202
    answer = client.put(
        "/api/v1/kill-switch", json={"on": True, "reason": "drill"}, headers=key(ADMIN)
    )
    assert answer.status_code == 202
    pause, kill = sent.commands
    assert (pause.kind, pause.account_id) == (CommandKind.PAUSE, "acct-1")
    assert (kill.kind, kill.account_id, kill.reason) == (CommandKind.KILL_SWITCH, None, "drill")


def test_each_key_has_its_own_rate_limit(sent, view):
    client = _client(sent, view, rate=1.0, burst=2.0)
    assert client.get("/api/v1/routes", headers=key(READ)).status_code == 200
    assert client.get("/api/v1/routes", headers=key(READ)).status_code == 200
    refused = client.get("/api/v1/routes", headers=key(READ))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert client.get("/api/v1/routes", headers=key(TRADE)).status_code == 200


def test_prometheus_text_counts_requests_by_route_and_status(client, view):
    client.get("/api/v1/orders/o-x", headers=key(READ))
    text = client.get("/api/v1/metrics", headers=key(READ)).text
    assert (
        'fillstream_api_requests_total{method="GET",route="/api/v1/orders/{order_id}",'
        'status="404"} 1.0' in text
    )


def test_unknown_routes_answer_in_the_envelope(client):
    answer = client.get("/api/v1/nothing-here", headers=key(READ))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "NOT_FOUND" and answer.json()["success"] is False


# -- scheduled executions ------------------------------------------------------------------

TASK = {
    "schedule_id": "dca-1",
    "signal": MARKET,
    "start_at": T0 + 60_000_000,
    "every_seconds": "2",
    "max_occurrences": 5,
    "missed": "catch_up",
}


def test_a_task_is_published_as_a_schedule_and_listed_until_the_scheduler_reports(
    client, sent, view
):
    answer = client.post("/api/v1/execution/tasks", json=TASK, headers=key(TRADE))
    assert answer.status_code == 202, answer.json()
    data = answer.json()["data"]
    assert (data["schedule_id"], data["next_due_at"], data["next_signal_id"]) == (
        "dca-1",
        T0 + 60_000_000,
        "dca-1:1",
    )
    (schedule,) = sent.schedules
    assert (schedule.interval_us, schedule.max_occurrences, schedule.issued_by) == (
        2_000_000,
        5,
        "api",
    )
    listed = client.get("/api/v1/execution/tasks", headers=key(READ)).json()["data"]["tasks"]
    assert [(t["schedule_id"], t["status"]) for t in listed] == [("dca-1", "submitted")]

    advanced, _ = advance(Scheduled(schedule), T0 + 62_000_000)
    apply(view, "schedules.state", state_of(advanced, T0 + 62_000_000))
    (task,) = client.get("/api/v1/execution/tasks", headers=key(READ)).json()["data"]["tasks"]
    assert (task["status"], task["published"], task["next_due_at"]) == (
        "active",
        2,
        T0 + 64_000_000,
    )
    again = client.post("/api/v1/execution/tasks", json=TASK, headers=key(TRADE))
    assert again.status_code == 409


def test_cancelling_a_task_publishes_a_cancel_and_refuses_unknown_or_ended_ones(client, sent, view):
    assert client.delete("/api/v1/execution/tasks/nope", headers=key(TRADE)).status_code == 404
    client.post("/api/v1/execution/tasks", json=TASK, headers=key(TRADE))
    answer = client.delete("/api/v1/execution/tasks/dca-1?reason=done", headers=key(TRADE))
    assert answer.status_code == 202
    cancel = sent.schedules[-1]
    assert (cancel.schedule_id, cancel.action.value, cancel.reason) == ("dca-1", "cancel", "done")

    apply(
        view, "schedules.state", state_of(cancel_schedule(Scheduled(sent.schedules[0]), "done"), T0)
    )
    ended = client.delete("/api/v1/execution/tasks/dca-1", headers=key(TRADE))
    assert ended.status_code == 409
    # Reading is not enough to cancel or create.
    assert client.delete("/api/v1/execution/tasks/dca-1", headers=key(READ)).status_code == 403
    assert client.post("/api/v1/execution/tasks", json=TASK, headers=key(READ)).status_code == 403


def test_a_task_that_cannot_run_is_refused_with_what_to_fix(client, sent):
    cases = {
        "every_seconds": ({**TASK, "every_seconds": "0.5"}, "greater than or equal to 1"),
        "GTD": ({**TASK, "signal": {**MARKET, "time_in_force": "GTD"}}, "cannot be GTD"),
        "bounds": ({**TASK, "every_seconds": None}, "give every_seconds"),
        "end": ({**TASK, "end_at": T0}, "end_at is before start_at"),
    }
    for name, (body, message) in cases.items():
        answer = client.post("/api/v1/execution/tasks", json=body, headers=key(TRADE))
        assert answer.status_code == 422, name
        assert message in str(answer.json()["error"]), (name, answer.json())
    assert sent.schedules == []
