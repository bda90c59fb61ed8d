"""A recurring schedule survives the scheduler's SIGKILL: every occurrence out, none contradicted.

The live pipeline with the ticker (`fillstream run clock`) running beside it: a schedule of 5
occurrences 2 s apart; once two of its signals are out, the scheduler is killed, stays down
while the next one falls due, and is started again. It resumes from its last checkpoint and
reads the ticks published meanwhile at their own times, so the occurrence due while it was
down is published (even under the default `skip` policy: the clock did not stand still) and
an occurrence published again after the checkpoint is the same record. Risk and the desk
decide each signal as any other, and `fillstream audit` passes.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from typer.testing import CliRunner

from fillstream import control
from fillstream.cli import app
from fillstream.domain.ids import order_id_for
from fillstream.pipeline import Pipeline, Watcher
from fillstream.schemas.models import TERMINAL, Schedule, SignalTemplate
from fillstream.ticker import NAME as TICKER
from tests.integration.live import running_pipeline

pytestmark = pytest.mark.integration

SECOND = 1_000_000
OCCURRENCES = 5


def _wait(what: str, done, watcher: Watcher, pipeline: Pipeline, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s; signals {_ids(watcher)}")
        pipeline.check_alive()
        watcher.drain()
        time.sleep(0.1)


def _ids(watcher: Watcher) -> list[str]:
    return [signal["signal_id"] for signal in watcher.records["signals"]]


def test_a_recurring_schedule_survives_the_schedulers_sigkill(kafka_bootstrap, tmp_path_factory):
    started = time.monotonic()
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "schedule", hold_ms=0) as (
        pipeline,
        watcher,
    ):
        pipeline.start_one("scheduler")  # as `fillstream up` runs it, beside the ticker
        pipeline.start_one(TICKER)
        # The system is up once time passes: a schedule due before the first tick would find
        # the clock standing still, and its first occurrences missed.
        _wait("the first tick", lambda: watcher.records["clock"], watcher, pipeline, 30)
        now_us = time.time_ns() // 1000
        schedule = Schedule(
            schedule_id="every-2s",
            signal=SignalTemplate(
                strategy_id="dca",
                account_id="acct-1",
                symbol="BTC/USDT",
                side="buy",
                quantity="0.001",
                order_type="market",
            ),
            start_at=now_us + 2 * SECOND,
            interval_us=2 * SECOND,
            max_occurrences=OCCURRENCES,
            issued_by="test",
            created_at=now_us,
        )
        control.publish_schedules([schedule])

        _wait("two signals", lambda: len(set(_ids(watcher))) >= 2, watcher, pipeline, 30)
        time.sleep(0.7)  # a checkpoint stands after them (the commit interval is 0.5 s)
        before_kill = len(set(_ids(watcher)))
        pipeline.kill("scheduler")
        time.sleep(2.5)  # an occurrence falls due meanwhile
        pipeline.start_one("scheduler")

        expected = [f"every-2s:{n}" for n in range(1, OCCURRENCES + 1)]
        decided = {order_id_for(signal_id) for signal_id in expected}

        def every_order_final() -> bool:
            final = {s["order_id"] for s in watcher.records["orders.state"]}
            final &= {
                s["order_id"] for s in watcher.records["orders.state"] if s["status"] in TERMINAL
            }
            return decided <= final

        _wait("every occurrence decided", every_order_final, watcher, pipeline, 40)
        time.sleep(2.5)  # past where a sixth would fall due
        watcher.drain()

        signals = watcher.records["signals"]
        assert sorted(set(_ids(watcher)), key=lambda i: int(i.split(":")[1])) == expected
        first: dict[str, dict] = {}
        for signal in signals:
            assert first.setdefault(signal["signal_id"], signal) == signal, signal["signal_id"]
        due = [first[signal_id]["created_at"] for signal_id in expected]
        assert due == [schedule.start_at + n * 2 * SECOND for n in range(OCCURRENCES)]
        assert 2 <= before_kill < OCCURRENCES
        states = watcher.records["schedules.state"]
        assert (states[-1]["status"], states[-1]["published"], states[-1]["skipped"]) == (
            "completed",
            OCCURRENCES,
            0,
        )
        copies = Counter(_ids(watcher))

        audit = tmp_path_factory.mktemp("audit") / "audit.json"
        result = CliRunner().invoke(app, ["audit", "--json", str(audit)])
        assert result.exit_code == 0, result.output
        assert json.loads(audit.read_text())["violations"] == []
    print(f"copies per signal id: {dict(copies)}; {time.monotonic() - started:.1f} s")
