"""A batching profile switches the running processors' batching, with no restart and no loss.

The profile goes on `profiles`; risk and the desk apply it at their next commit: new producers
(linger, batch size), new consumers (fetch wait and size: their partitions leave and come back
restored), the new commit interval. Orders before and after the switch fill; each processor
reports the profile on `metrics`; a worker started afterwards reads it at start.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from fillstream import control
from fillstream.infra.topic_io import consume, end_offsets
from fillstream.pipeline import Pipeline, Watcher, feed, tick
from fillstream.schemas.models import OptimizationTarget
from fillstream.schemas.topics import find
from tests.integration.live import running_pipeline
from tests.integration.test_api_live import ORDER, market

pytestmark = pytest.mark.integration

SECOND = 1_000_000


def _now() -> int:
    return time.time_ns() // 1000


def _signal(signal_id: str) -> dict:
    return {**ORDER, "signal_id": signal_id, "quantity": "0.1", "created_at": _now()}


def _until(what: str, done: Callable[[], bool], pipeline: Pipeline, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        pipeline.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def _filled(watcher: Watcher, signal_id: str) -> bool:
    tick(_now() + SECOND)  # the simulated venue's latency passes on the clock
    watcher.drain()
    return any(
        s["order_id"] == f"o-{signal_id}" and s["status"] == "filled"
        for s in watcher.records["orders.state"]
    )


def test_a_profile_switches_the_running_processors_batching(
    kafka_bootstrap, tmp_path_factory, monkeypatch
):
    monkeypatch.setenv("FILLSTREAM_METRICS_INTERVAL", "1")
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "profile", hold_ms=0) as (
        pipeline,
        watcher,
    ):
        feed(market(_now()), [_signal("before")])
        _until("the order before the switch filled", lambda: _filled(watcher, "before"), pipeline)

        profile = control.batching_profile(
            OptimizationTarget.THROUGHPUT, control.stamp(), "test", {"max_commit_interval_ms": 800}
        )
        control.publish_profiles([profile])

        def applied() -> set[tuple[str, int]]:
            """(processor, pid) of the workers that report the profile in force."""
            return {
                (item.record["processor"], int(item.record["labels"]["worker"].split(":")[-1]))
                for item in consume(
                    find("metrics"), from_beginning=True, end=end_offsets(find("metrics"))
                )
                if item.record
                and item.record["name"] == "batching_profile"
                and item.record["labels"].get("profile_id") == profile.profile_id
                and item.record["value"] == 800.0  # the commit interval, capped
            }

        def pid(name: str) -> int:
            return pipeline.processes[name].pid

        _until(
            "risk and the desk applied the profile",
            lambda: {("risk", pid("risk")), ("desk", pid("desk"))} <= applied(),
            pipeline,
        )
        feed([], [_signal("after")])
        _until("the order after the switch filled", lambda: _filled(watcher, "after"), pipeline)

        def kept(name: str) -> float:
            """Partitions the worker took up again as it had checkpointed them."""
            figures = [
                item.record
                for item in consume(
                    find("metrics"), from_beginning=True, end=end_offsets(find("metrics"))
                )
                if item.record
                and item.record["processor"] == name
                and item.record["name"] == "shards_taken_total"
                and item.record["labels"] == {"how": "kept", "worker": worker(name)}
            ]
            return figures[-1]["value"] if figures else 0.0

        def worker(name: str) -> str:
            return f"{socket.gethostname()}:{pid(name)}"

        # Its new consumer took its partitions back as they were: nothing read back from the
        # changelog (the group gave all three back to the one worker).
        _until("the desk kept its shards", lambda: kept("desk") >= 3, pipeline)

        pipeline.kill("desk")
        pipeline.start_one("desk")
        _until(
            "the restarted desk read the profile",
            lambda: ("desk", pid("desk")) in applied(),
            pipeline,
        )
        feed([], [_signal("restarted")])
        _until("an order after the restart filled", lambda: _filled(watcher, "restarted"), pipeline)
        pipeline.check_alive()
