"""The three-phase commit journal: legal steps, and what a restarted gateway does."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fillstream.connectors.gateway.journal import (
    JournalEntry,
    JournalError,
    LookupOutcome,
    Phase,
    Recovery,
    RecoveryAction,
    Step,
    advance,
    after_lookup,
    begin,
    latest,
    recover,
)
from fillstream.connectors.gateway.precommit import PreCommit
from fillstream.schemas.models import Slice

T = 1_723_204_800_000_000
OK = PreCommit()


def _slice(sequence: int) -> Slice:
    return Slice(
        slice_id=f"o-sig-1-{sequence}",
        order_id="o-sig-1",
        signal_id="sig-1",
        account_id="acct",
        symbol="BTC/USDT",
        venue="binance",
        action="new",
        sequence=sequence,
        side="buy",
        quantity=D("1"),
        order_type="limit",
        price=D("100"),
        created_at=T,
    )


def test_a_slice_goes_through_the_three_phases() -> None:
    validated = begin(_slice(0), OK, T)
    sending = advance(validated, Step.SENDING, T + 1)
    acked = advance(sending, Step.ACKNOWLEDGED, T + 2, venue_order_id="42")
    done = advance(acked, Step.DONE, T + 3)
    assert [e.phase for e in (validated, sending, acked, done)] == [
        Phase.PRE_COMMIT,
        Phase.COMMIT,
        Phase.POST_COMMIT,
        Phase.DONE,
    ]
    assert (sending.attempt, done.attempt, done.venue_order_id) == (1, 1, "42")
    assert done.slice_id == "o-sig-1-0" and done.timestamp == T + 3 and done.step.final


def test_a_refusal_is_journaled_with_its_reason_and_ends_the_slice() -> None:
    refused = begin(_slice(0), PreCommit("BELOW_MIN_QUANTITY: quantity 0.4 ..."), T)
    assert refused.step is Step.REFUSED and refused.reason.startswith("BELOW_MIN_QUANTITY")
    with pytest.raises(JournalError, match="sending cannot follow refused"):
        advance(refused, Step.SENDING, T + 1)


def test_unknown_outcomes_resolve_by_look_up_then_resend() -> None:
    sending = advance(begin(_slice(0), OK, T), Step.SENDING, T + 1)
    unknown = advance(sending, Step.UNKNOWN, T + 2, reason="TIMEOUT: no answer in time")
    again = advance(unknown, Step.SENDING, T + 3)
    assert again.attempt == 2 and again.reason is None
    with pytest.raises(JournalError, match="needs the venue's order id"):
        advance(again, Step.ACKNOWLEDGED, T + 4)
    with pytest.raises(JournalError, match="done cannot follow sending"):
        advance(again, Step.DONE, T + 4)


def _journal() -> list[JournalEntry]:
    """Five slices, interleaved, stopped by a crash at various steps."""
    s = [begin(_slice(n), OK, T + n) for n in range(5)]
    refused = begin(_slice(5), PreCommit("INSUFFICIENT_BALANCE: ..."), T + 5)
    sent1 = advance(s[1], Step.SENDING, T + 10)
    sent2 = advance(s[2], Step.SENDING, T + 11)
    unknown2 = advance(sent2, Step.UNKNOWN, T + 12)
    sent3 = advance(s[3], Step.SENDING, T + 13)
    acked3 = advance(sent3, Step.ACKNOWLEDGED, T + 14, venue_order_id="7")
    sent4 = advance(s[4], Step.SENDING, T + 15)
    acked4 = advance(sent4, Step.ACKNOWLEDGED, T + 16, venue_order_id="8")
    done4 = advance(acked4, Step.DONE, T + 17)
    return [*s, refused, sent1, sent2, unknown2, sent3, acked3, sent4, acked4, done4]


def test_recovery_looks_up_before_any_resend() -> None:
    journal = _journal()
    by_id = latest(journal)
    assert recover(journal) == [
        RecoveryAction(Recovery.SEND, by_id["o-sig-1-0"]),  # validated only: may be sent
        RecoveryAction(Recovery.LOOK_UP, by_id["o-sig-1-1"]),  # crashed mid-send
        RecoveryAction(Recovery.LOOK_UP, by_id["o-sig-1-2"]),  # timed out
        RecoveryAction(Recovery.TRACK, by_id["o-sig-1-3"]),  # acknowledged: follow it
    ]  # o-sig-1-4 is done and o-sig-1-5 refused: nothing


def test_recovery_survives_redelivery_and_compaction() -> None:
    journal = _journal()
    assert recover(journal + journal[-3:]) == recover(journal)
    compacted = list(latest(journal).values())
    assert recover(compacted) == recover(journal)


def test_a_kept_cancel_is_recovered_as_a_cancel_and_ends_done() -> None:
    acked = advance(
        advance(begin(_slice(6), OK, T), Step.SENDING, T + 1),
        Step.ACKNOWLEDGED,
        T + 2,
        venue_order_id="9",
    )
    kept = advance(acked, Step.CANCELLING, T + 3, reason="RETRIES_EXHAUSTED: ...")
    assert recover([*_journal(), acked, kept])[-1] == RecoveryAction(Recovery.CANCEL, kept)
    assert kept.venue_order_id == "9"
    assert advance(kept, Step.DONE, T + 4).step is Step.DONE
    with pytest.raises(JournalError, match="sending cannot follow cancelling"):
        advance(kept, Step.SENDING, T + 4)


def test_a_journal_out_of_order_is_an_error() -> None:
    journal = _journal()
    with pytest.raises(JournalError, match="o-sig-1-4: journal has validated after done"):
        latest([*journal, begin(_slice(4), OK, T + 99)])


def test_a_look_up_may_resend_only_once_the_request_cannot_arrive() -> None:
    sent = advance(begin(_slice(0), OK, T), Step.SENDING, T + 1)
    window = 10_000_000
    assert after_lookup(sent, True, T + 2, window) is LookupOutcome.FOUND
    assert after_lookup(sent, False, T + 2, window) is LookupOutcome.WAIT
    assert after_lookup(sent, False, T + 1 + window, window) is LookupOutcome.RESEND
    with pytest.raises(JournalError, match="nothing to look up"):
        after_lookup(begin(_slice(0), OK, T), False, T, window)


_STEPS = st.lists(st.sampled_from(list(Step)), max_size=12)


@given(_STEPS)
def test_a_send_is_never_repeated_without_a_look_up_in_between(steps: list[Step]) -> None:
    """Whatever legal path a slice takes, SENDING after SENDING only follows an explicit
    refusal, and recovery never answers SEND for a slice that has been sent."""
    entry = begin(_slice(0), OK, T)
    journal = [entry]
    for n, step in enumerate(steps):
        try:
            entry = advance(entry, step, T + n + 1, venue_order_id="1")
        except JournalError:
            continue
        journal.append(entry)
    actions = recover(journal)
    if any(e.step is Step.SENDING for e in journal):
        assert all(action.action is not Recovery.SEND for action in actions)
    assert len(actions) == (0 if entry.step.final else 1)
