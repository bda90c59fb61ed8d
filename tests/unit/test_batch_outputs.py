"""What a batch publishes: everything it caused, in order, but on a compacted topic only each
key's last record of the batch (an order's state updates in one batch go out as the latest)."""

from __future__ import annotations

from fillstream.schemas.topics import find
from fillstream.streams.records import topic_records
from fillstream.streams.runtime import Batch


def test_a_batch_publishes_each_compacted_key_once_at_its_last_place_and_the_rest_whole():
    state, fills = find("orders.state"), find("fills")
    batch = Batch()
    batch.outputs += [
        (state, b"order-1", "new", 1),
        (fills, b"BTC", "ack", 1),
        (state, b"order-2", "new", 2),
        (fills, b"BTC", "fill", 2),  # the same key on a topic that keeps history: both go
        (state, b"order-1", "filled", 3),
        (state, b"order-2", "working", 4),
        (state, b"order-1", "filled again", 5),
    ]
    assert batch.publishable() == [
        (fills, b"BTC", "ack", 1),
        (fills, b"BTC", "fill", 2),
        (state, b"order-2", "working", 4),
        (state, b"order-1", "filled again", 5),
    ]


def test_a_batch_without_repeats_publishes_everything():
    state, fills = find("orders.state"), find("fills")
    batch = Batch()
    batch.outputs += [(state, b"order-1", "new", 1), (fills, b"BTC", "ack", 1)]
    assert batch.publishable() == batch.outputs


def test_topics_of_one_contract_share_an_encoding_without_a_registry(monkeypatch):
    monkeypatch.delenv("SCHEMA_REGISTRY_URL", raising=False)
    assert topic_records("fills").encoding == topic_records("fills.accounts").encoding
    assert topic_records("orders.state").encoding == topic_records("orders.ended").encoding
    assert topic_records("fills").encoding != topic_records("orders.state").encoding
