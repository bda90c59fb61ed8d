"""What a batch publishes: everything it caused, in order, but on a compacted topic only each
key's last record of the batch (an order's state updates in one batch go out as the latest)."""

from __future__ import annotations

from fillstream.schemas.topics import find
from fillstream.streams.runtime import Batch


def test_a_batch_publishes_each_compacted_key_once_at_its_last_place_and_the_rest_whole():
    state, fills = find("orders.state"), find("fills")
    batch = Batch()
    batch.outputs += [
        (state, b"order-1", b"new", 1),
        (fills, b"BTC", b"ack", 1),
        (state, b"order-2", b"new", 2),
        (fills, b"BTC", b"fill", 2),  # the same key on a topic that keeps history: both go
        (state, b"order-1", b"filled", 3),
        (state, b"order-2", b"working", 4),
        (state, b"order-1", b"filled again", 5),
    ]
    assert batch.publishable() == [
        (fills, b"BTC", b"ack", 1),
        (fills, b"BTC", b"fill", 2),
        (state, b"order-2", b"working", 4),
        (state, b"order-1", b"filled again", 5),
    ]


def test_a_batch_without_repeats_publishes_everything():
    state, fills = find("orders.state"), find("fills")
    batch = Batch()
    batch.outputs += [(state, b"order-1", b"new", 1), (fills, b"BTC", b"ack", 1)]
    assert batch.publishable() == batch.outputs
