"""The restart policy, worked by hand, and a pipeline under it starting an exited process
again."""

from __future__ import annotations

import sys
import time

from fillstream.pipeline import Pipeline
from fillstream.restarts import Restart, RestartPolicy, next_restart, restart_metric
from fillstream.schemas.models import MetricKind

POLICY = RestartPolicy()  # 0.5 s doubling to 30 s, reset after 60 s up


def test_quick_exits_double_the_wait_up_to_the_cap():
    waits, exits = [], 0
    for _ in range(9):
        exits, wait = next_restart(POLICY, exits, uptime=2.0)
        waits.append(wait)
    # 0.5·2⁰ … 0.5·2⁵ = 16, then 0.5·2⁶ = 32 is capped at 30
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert exits == 9


def test_a_process_that_stayed_up_long_enough_starts_over():
    assert next_restart(POLICY, 6, uptime=59.9) == (7, 30.0)
    assert next_restart(POLICY, 6, uptime=60.0) == (1, 0.5)
    assert next_restart(POLICY, 0, uptime=0.0) == (1, 0.5)


def test_a_policy_of_its_own():
    policy = RestartPolicy(first_delay=1.0, max_delay=5.0, stable_after=10.0)
    assert [next_restart(policy, n, 1.0)[1] for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert next_restart(policy, 4, 10.0) == (1, 1.0)


def test_a_restart_is_a_counter_on_metrics_labelled_with_its_exit_code():
    restart = Restart("desk#1", exit_code=-9, pid=4242, restarts=3, delay=2.0)
    metric = restart_metric(restart, "host:17", 1_700_000_000_000_000)
    assert (metric.processor, metric.name, metric.kind) == ("desk", "restarts", MetricKind.COUNTER)
    assert metric.value == 3.0
    assert metric.labels == {"process": "desk#1", "exit_code": "-9", "supervisor": "host:17"}
    assert restart.line() == "desk#1 exited (code -9): restarted as pid 4242"


def wait_for_restart(pipeline: Pipeline, timeout: float = 10) -> list[Restart]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        restarted = pipeline.supervise()
        if restarted:
            return restarted
        time.sleep(0.02)
    raise AssertionError("nothing was restarted")


def test_a_supervised_process_that_exits_is_started_again_and_reported(tmp_path):
    told: list[Restart] = []
    pipeline = Pipeline(
        log_dir=tmp_path,
        restart_policy=RestartPolicy(first_delay=0.05, max_delay=0.2),
        on_restart=told.append,
    )
    pipeline.spawn("desk", [sys.executable, "-c", "raise SystemExit(3)"])
    try:
        first_pid = pipeline.processes["desk"].pid
        (restart,) = wait_for_restart(pipeline)
        assert told == [restart]
        assert (restart.name, restart.exit_code, restart.restarts) == ("desk", 3, 1)
        assert restart.pid == pipeline.processes["desk"].pid != first_pid
        assert restart.delay == 0.05
        (again,) = wait_for_restart(pipeline)  # a quick exit again: twice the wait
        assert (again.restarts, again.delay) == (2, 0.1)
        assert pipeline.restarts == {"desk": 2}
    finally:
        pipeline.stop()
