"""Where records go: keys and broadcasts follow the partitioning of the processors reading them."""

from __future__ import annotations

from fillstream.schemas.models import MODELS
from fillstream.schemas.topics import (
    CATALOG,
    broadcast,
    event_time,
    find,
    has_event_time,
    keep_latest,
    key_of,
    partition_of,
)


def test_order_commands_go_by_symbol_and_account_commands_everywhere():
    commands = find("commands")
    cancel = {"kind": "cancel", "order_id": "o-1", "symbol": "BTC/USDT", "account_id": "a-1"}
    pause = {"kind": "pause", "account_id": "a-1"}
    kill_all = {"kind": "kill_switch"}
    assert key_of(commands, cancel) == b"BTC/USDT"
    assert key_of(commands, pause) is key_of(commands, kill_all) is None
    assert not broadcast(commands, key_of(commands, cancel))
    assert broadcast(commands, key_of(commands, pause))
    assert broadcast(commands, key_of(commands, kill_all))


def test_reference_prices_and_clock_ticks_go_everywhere_and_orders_never():
    assert broadcast(find("market.reference"), b"BTC/USDT")
    assert broadcast(find("clock"), b"0")
    for name in ("signals", "slices", "fills", "fills.accounts", "orders.rejected"):
        assert not broadcast(find(name), b"x")


def test_executions_for_risk_are_keyed_by_account_and_rejections_by_symbol_when_known():
    assert key_of(find("fills.accounts"), {"account_id": "a-1", "symbol": "S"}) == b"a-1"
    rejected = find("orders.rejected")
    assert key_of(rejected, {"symbol": "S", "account_id": "a-1"}) == b"S"
    assert key_of(rejected, {"symbol": None, "account_id": "a-1"}) == b"a-1"


def test_the_partition_of_a_key_is_kafkas_default_partitioners():
    # Kafka's Java `Utils.murmur2` of these keys (as published with kafkajs's Java-compatible
    # partitioner tests), made positive by `& 0x7fffffff`; modulo 2^31 leaves that number.
    java = {
        "0": 971027396,
        "1": -1993445489,
        "128": -326012175,
        "2187": -1508407203,
        "16384": -325739742,
        "78125": -1654490814,
    }
    for key, murmur2 in java.items():
        assert partition_of(key.encode(), 2**31) == murmur2 & 0x7FFFFFFF
    # 971027396 % 6 = 2 (6 × 161837899 = 971027394); 1993445489 → positive 154038159 % 6 = 3
    assert (partition_of(b"0", 6), partition_of(b"1", 6)) == (2, 3)


def test_every_event_time_field_is_a_timestamp_of_its_topics_record():
    timed = [spec for spec in CATALOG if spec.event_time is not None]
    untimed = {spec.name for spec in CATALOG} - {spec.name for spec in timed}
    assert untimed == {"deadletter", "gateway.journal", "profiles"}
    for spec in timed:
        field = MODELS[spec.record].model_fields.get(spec.event_time)
        assert field is not None and field.annotation is int, (spec.name, spec.event_time)


def test_event_time_reads_the_catalogs_field_and_falls_back_without_one():
    fill = {"timestamp": 1_723_161_300_000_000, "created_at": 5}
    assert event_time("fills", fill, 0) == 1_723_161_300_000_000
    assert event_time("signals", {"created_at": "soon"}, 7) == 7  # unusable: the fallback
    assert not has_event_time("deadletter")


def test_a_global_table_keeps_each_keys_latest_record_by_event_time():
    table: dict = {}
    newer = {"venue": "kraken", "free": {}, "total": {}, "fetched_at": 20}
    older = newer | {"fetched_at": 10}
    keep_latest(table, "venue.balances", newer)
    keep_latest(table, "venue.balances", older)  # a copy from another partition, late
    assert table == {"kraken": newer}
    again = newer | {"free": {"USDT": 1}}
    keep_latest(table, "venue.balances", again)  # as late as the one held: the last taken
    assert table == {"kraken": again}
