"""The gateway's journal on the wire: every step survives the contract and the Avro codec."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from fillstream.connectors.gateway.journal import JournalEntry, Recovery, Step, latest, recover
from fillstream.connectors.gateway.wire import from_record, to_record
from fillstream.infra.topic_io import codec
from fillstream.schemas.models import GatewayJournalEntry, Slice
from fillstream.schemas.topics import find, key_of
from tests.examples import example_records

T = 1_723_204_800_000_000
JOURNAL = find("gateway.journal")

SLICE = Slice(
    slice_id="o-sig-1-0",
    order_id="o-sig-1",
    signal_id="sig-1",
    account_id="acct",
    symbol="BTC/USDT",
    venue="binance",
    action="new",
    sequence=0,
    side="buy",
    quantity=D("0.00012000"),
    order_type="limit",
    price=D("61250.10"),
    post_only=True,
    created_at=T,
)


def _entry(step: Step) -> JournalEntry:
    return JournalEntry(
        SLICE,
        step,
        attempt=2,
        timestamp=T + 7,
        venue_order_id="28457310922" if step in {Step.ACKNOWLEDGED, Step.DONE} else None,
        reason="RATE_LIMITED: too many requests" if step in {Step.REFUSED, Step.REJECTED} else None,
    )


@pytest.mark.parametrize("step", list(Step))
def test_every_step_round_trips_through_the_record(step: Step) -> None:
    entry = _entry(step)
    record = to_record(entry)
    assert record.step == step.value.upper()
    assert from_record(record) == entry


@pytest.mark.parametrize("step", list(Step))
def test_every_step_round_trips_through_the_avro_codec(step: Step) -> None:
    entry = _entry(step)
    encoder = codec(JOURNAL)
    decoded = encoder.decode(encoder.encode(to_record(entry).model_dump()))
    assert from_record(decoded) == entry
    assert from_record(GatewayJournalEntry.model_validate(decoded)) == entry


def test_the_journal_is_keyed_by_slice_id_on_one_compacted_partition() -> None:
    record = to_record(_entry(Step.SENDING)).model_dump()
    assert key_of(JOURNAL, record) == b"o-sig-1-0"
    assert JOURNAL.config() == {"cleanup.policy": "compact"}
    assert JOURNAL.partitions == 1


def test_the_examples_are_one_slice_acknowledged_and_tracked_after_a_restart() -> None:
    entries = [from_record(record) for record in example_records(JOURNAL)]
    assert [entry.step for entry in entries] == [Step.VALIDATED, Step.SENDING, Step.ACKNOWLEDGED]
    (action,) = recover(entries)
    assert action.action is Recovery.TRACK
    assert latest(entries)[action.entry.slice_id].venue_order_id == action.entry.venue_order_id


def test_an_unknown_step_is_refused_by_name() -> None:
    record = to_record(_entry(Step.SENDING)).model_dump() | {"step": "AMENDING"}
    with pytest.raises(ValueError, match="o-sig-1-0: unknown journal step 'AMENDING'"):
        from_record(record)


def test_a_step_travels_upper_case_only() -> None:
    record = to_record(_entry(Step.SENDING)).model_dump() | {"step": "sending"}
    with pytest.raises(ValidationError, match="step"):
        GatewayJournalEntry.model_validate(record)
