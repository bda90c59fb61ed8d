"""The gateway's memory of finished slices: bounded, and the same after a restart that reads
the journal as in the run that wrote it."""

from __future__ import annotations

from fillstream.connectors.gateway.finished import FinishedSlices
from fillstream.connectors.gateway.journal import Step, advance, begin
from fillstream.connectors.gateway.precommit import PreCommit
from tests.unit.test_gateway_journal import T, _slice


def journal() -> list:
    """Slices 0, 1, 2 validated in that order; 1 refused, then 2 and 0 done."""
    started = [begin(_slice(n), PreCommit(), T + n) for n in range(3)]
    refused = begin(_slice(1), PreCommit("INSUFFICIENT_BALANCE: short"), T + 1)
    acked = [
        advance(
            advance(started[n], Step.SENDING, T + 5), Step.ACKNOWLEDGED, T + 6, venue_order_id="9"
        )
        for n in (0, 2)
    ]
    done = [advance(entry, Step.DONE, T + 7) for entry in reversed(acked)]
    return [started[0], started[2], refused, *acked, *done]


def test_a_restart_remembers_the_latest_finished_slices_of_the_run_before_it():
    # at most 2 ids: finished 1, 2, 0 in that order, so 2 and 0 are kept
    running = FinishedSlices(memory=2, keep=2)
    for entry in journal():  # as the running gateway writes them
        running.add(entry)
    restarted = FinishedSlices(memory=2, keep=2)
    for entry in [*journal(), *journal()[-2:]]:  # read back, the last two delivered twice
        restarted.add(entry)
    for memory in (running, restarted):
        assert list(memory.ids) == ["o-sig-1-2", "o-sig-1-0"]
        assert "o-sig-1-1" not in memory  # forgotten: the oldest finished
        assert [e.slice_id for e in memory.of("binance")] == ["o-sig-1-2", "o-sig-1-0"]
