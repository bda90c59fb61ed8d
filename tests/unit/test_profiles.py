"""Batching profiles: the settings each target chooses, their caps, the route that switches them."""

from __future__ import annotations

import pytest

from fillstream import control
from fillstream.api.measures import execution_metrics
from fillstream.api.routes.optimize import measures
from fillstream.api.view import apply
from fillstream.schemas.models import BatchingProfile, OptimizationTarget
from fillstream.streams.profiles import Batching, batching, configured, of_record
from tests.unit.test_api_app import ADMIN, TRADE, Sent, _client
from tests.unit.test_api_measures import SECOND, T0, _view

DEFAULTS = Batching(
    linger_ms=1, batch_messages=10_000, fetch_wait_ms=10, fetch_min_bytes=1, commit_interval_ms=500
)


def test_balanced_is_the_configured_defaults(monkeypatch):
    for name in ("FILLSTREAM_COMMIT_INTERVAL", "FILLSTREAM_FETCH_WAIT_MS"):
        monkeypatch.delenv(name, raising=False)
    # settings/__init__.py: 1 ms linger, 10 ms fetch wait, 1 byte, 0.5 s under at-least-once;
    # under exactly-once the linger is the commit interval (0.1 s) and a fetch waits for 4 KiB.
    assert configured("at-least-once") == DEFAULTS
    assert configured("exactly-once") == Batching(100, 10_000, 10, 4096, 100)
    assert batching(OptimizationTarget.BALANCED, "at-least-once", DEFAULTS) == DEFAULTS


def test_the_two_ends_of_the_trade():
    latency = batching(OptimizationTarget.LATENCY, "at-least-once", DEFAULTS)
    throughput = batching(OptimizationTarget.THROUGHPUT, "at-least-once", DEFAULTS)
    assert latency == Batching(0, 10_000, 5, 1, 500)
    assert throughput == Batching(10, 10_000, 50, 16_384, 1_000)
    # Under exactly-once a record waits for its commit: latency commits twice as often as
    # the 100 ms default, throughput 2.5 times less often, each lingering as long.
    assert batching(OptimizationTarget.LATENCY, "exactly-once", DEFAULTS).commit_interval_ms == 50
    eos = batching(OptimizationTarget.THROUGHPUT, "exactly-once", DEFAULTS)
    assert (eos.linger_ms, eos.commit_interval_ms) == (250, 250)


def test_constraints_cap_what_the_profile_chooses():
    capped = batching(
        OptimizationTarget.THROUGHPUT,
        "at-least-once",
        DEFAULTS,
        {"max_linger_ms": 4, "max_commit_interval_ms": 5_000, "max_fetch_min_bytes": 1024},
    )
    # a cap below the choice lowers it; one above leaves it
    assert capped == Batching(4, 10_000, 50, 1024, 1_000)


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        ({"max_lingr_ms": 4}, "constraint 'max_lingr_ms' is not known"),
        ({"max_linger_ms": 0}, "max_linger_ms: a whole number ≥ 1, not 0"),
        ({"max_linger_ms": True}, "a whole number ≥ 1, not True"),
    ],
)
def test_a_bad_constraint_is_named(constraints, message):
    with pytest.raises(ValueError, match=message):
        batching(OptimizationTarget.LATENCY, "at-least-once", DEFAULTS, constraints)


def test_a_profile_record_carries_its_settings(monkeypatch):
    monkeypatch.setenv("FILLSTREAM_PROCESSING_GUARANTEE", "at-least-once")
    profile = control.batching_profile(
        OptimizationTarget.THROUGHPUT, control.Stamp("p-1", T0), "ops", {"max_linger_ms": 3}
    )
    assert isinstance(profile, BatchingProfile)
    assert (profile.profile_id, profile.scope, profile.created_at) == ("p-1", "pipeline", T0)
    assert of_record(profile) == Batching(3, 10_000, 50, 16_384, 1_000)


def test_measures_are_signal_to_ack_and_acks_a_second():
    view = _view()  # acks after 2 ms and 4 ms of the orders created in the window
    figures = execution_metrics(
        view.orders.values(), view.executions, T0 + 10 * SECOND, 20 * SECOND
    )
    assert measures(figures) == {
        "signal_to_ack_p50_ms": 2.0,
        "signal_to_ack_p99_ms": 4.0,
        "acks_per_second": 2 / 20,
        "orders": 4,
    }


def _switch_at(monkeypatch, created_at: int):
    """The API's client over `_view()` (its clock at T0), a switch stamped `created_at`, and
    a desk worker that reports applying it."""
    monkeypatch.setenv("FILLSTREAM_PROCESSING_GUARANTEE", "at-least-once")
    monkeypatch.setattr(control, "stamp", lambda: control.Stamp("prof-7", created_at))
    sent = Sent()
    view = _view()
    apply(
        view,
        "metrics",
        {
            "processor": "desk",
            "name": "batching_profile",
            "kind": "gauge",
            "value": 1000.0,
            "labels": {"worker": "host:7", "target": "throughput", "profile_id": "prof-7"},
            "timestamp": T0,
        },
    )
    return sent, _client(sent, view)


BODY = {
    "optimization_target": "throughput",
    "constraints": {"max_linger_ms": 5},
    "window_seconds": 1,
}
NONE = {
    "signal_to_ack_p50_ms": None,
    "signal_to_ack_p99_ms": None,
    "acks_per_second": 0.0,
    "orders": 0,
}


def test_optimize_publishes_the_profile_and_measures_both_windows(monkeypatch):
    # Switched at T0 - 1 s with a 1 s window: before is [T0 - 2 s, T0 - 1 s], no order; after
    # is [T0 - 1 s, T0], o-1 alone (acked 2 ms after it was created), and it has passed.
    sent, client = _switch_at(monkeypatch, T0 - SECOND)
    refused = client.post("/api/v1/execution/optimize", json=BODY, headers={"X-API-Key": TRADE})
    assert refused.status_code == 403  # switching the pipeline's batching is an admin's
    answer = client.post("/api/v1/execution/optimize", json=BODY, headers={"X-API-Key": ADMIN})
    assert answer.status_code == 202, answer.text
    (profile,) = sent.profiles
    assert (profile.target, profile.linger_ms, profile.fetch_min_bytes) == (
        OptimizationTarget.THROUGHPUT,
        5,
        16_384,
    )
    data = answer.json()["data"]
    assert data["profile"]["profile_id"] == profile.profile_id == "prof-7"
    assert (data["guarantee"], data["after_at"]) == ("at-least-once", T0)
    assert data["before"] == NONE
    after = {
        "signal_to_ack_p50_ms": 2.0,
        "signal_to_ack_p99_ms": 2.0,
        "acks_per_second": 1.0,
        "orders": 1,
    }
    assert data["after"] == after
    assert data["applied_by"] == ["host:7"]
    again = client.get("/api/v1/execution/optimize/prof-7", headers={"X-API-Key": ADMIN})
    assert again.status_code == 200 and again.json()["data"] == data
    unknown = client.get("/api/v1/execution/optimize/prof-8", headers={"X-API-Key": ADMIN})
    assert unknown.status_code == 404


def test_the_window_after_a_switch_is_measured_once_it_has_passed(monkeypatch):
    # Switched at T0 (the clock): the window after it ends at T0 + 1 s, not yet.
    _, client = _switch_at(monkeypatch, T0)
    answer = client.post("/api/v1/execution/optimize", json=BODY, headers={"X-API-Key": ADMIN})
    data = answer.json()["data"]
    assert data["after"] is None and data["after_at"] == T0 + SECOND
    # before is [T0 - 1 s, T0]: o-1
    assert data["before"]["orders"] == 1 and data["before"]["signal_to_ack_p50_ms"] == 2.0


def test_optimize_refuses_an_unknown_constraint():
    sent = Sent()
    client = _client(sent, _view())
    body = {"optimization_target": "latency", "constraints": {"max_speed": 1}, "window_seconds": 1}
    answer = client.post("/api/v1/execution/optimize", json=body, headers={"X-API-Key": ADMIN})
    assert answer.status_code == 422
    assert "max_speed" in answer.text and sent.profiles == []
