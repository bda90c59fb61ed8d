"""Decoded records to polars frames: the pure half of `fillstream export` (no Kafka)."""

from __future__ import annotations

from decimal import Decimal as D

import polars as pl
import pytest
from typer.testing import CliRunner

from fillstream.analytics.export import DEFAULT_TOPICS, records_frame
from fillstream.cli import app
from fillstream.infra.topic_io import codec
from fillstream.schemas.contracts import current_schema
from fillstream.schemas.topics import CATALOG, find
from tests.examples import example_records


def decoded(topic: str) -> list[dict]:
    """The topic's examples as a consumer decodes them."""
    spec = find(topic)
    encoder = codec(spec)
    return [encoder.decode(encoder.encode(record)) for record in example_records(spec)]


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_every_contract_exports_one_column_per_field(spec):
    records = decoded(spec.name)
    frame = records_frame(spec.record, records)
    assert frame.columns == [field["name"] for field in current_schema(spec.record)["fields"]]
    assert frame.height == len(records)
    empty = records_frame(spec.record, [])
    assert [type(dtype) for dtype in empty.dtypes] == [type(dtype) for dtype in frame.dtypes]


def test_values_survive_exactly_with_maps_as_key_value_lists():
    (record,) = decoded("tca")
    (row,) = records_frame("TcaResult", [record]).to_dicts()
    for name, value in record.items():
        if name == "markouts_bps":
            assert row[name] == [{"key": "1", "value": 0.5}, {"key": "10", "value": -1.2}]
        else:
            assert row[name] == value, name


def test_a_decimal_column_takes_the_largest_scale_so_every_value_is_exact():
    quotes = decoded("market.quotes")
    tiny = quotes[0] | {"bid_size": D("0.000000000000000001"), "ask_size": D("123456789.5")}
    frame = records_frame("Quote", [tiny, quotes[1]])
    assert frame.schema["bid_size"] == pl.Decimal(38, 18)
    assert frame["bid_size"].to_list() == [D("1E-18"), D("300")]
    assert frame.schema["ask_size"] == pl.Decimal(38, 1)  # the other quote has no ask
    assert frame["ask_size"].to_list() == [D("123456789.5"), None]


def test_nested_records_and_lists_become_structs_and_lists():
    books = decoded("market.book")
    frame = records_frame("BookUpdate", books)
    level = pl.Struct({"price": pl.Decimal(38, 5), "quantity": pl.Decimal(38, 5)})
    assert frame.schema["bids"] == pl.List(level)
    assert frame["bids"][0].to_list() == books[0]["bids"]
    routed = records_frame("RoutedOrder", decoded("orders.routed"))
    assert routed.select(pl.col("order").struct.field("signal").struct.field("symbol")).item() == (
        "IBM"
    )
    parameters = routed.select(
        pl.col("order").struct.field("signal").struct.field("algorithm_parameters")
    ).item()
    assert parameters.to_list() == [
        {"key": "duration_seconds", "value": "600"},
        {"key": "slices", "value": "10"},
    ]


def test_enums_are_text_timestamps_stay_microseconds_and_bytes_stay_binary():
    fills = records_frame("ExecutionReport", decoded("fills"))
    assert fills.schema["exec_type"] == pl.String
    assert fills.schema["timestamp"] == pl.Int64
    dead = records_frame("DeadLetter", decoded("deadletter"))
    assert dead.schema["key"] == pl.Binary and dead["key"][0] == b"acct-1"


def test_an_empty_export_keeps_the_contract_columns():
    frame = records_frame("TcaResult", [])
    assert frame.height == 0
    assert frame.schema["total_cost_bps"] == pl.Float64
    assert frame.schema["venues"] == pl.List(pl.String)


def test_the_command_names_the_default_topics_and_checks_names_first():
    runner = CliRunner()
    help_text = " ".join(runner.invoke(app, ["export", "--help"]).output.split())
    for topic in DEFAULT_TOPICS:
        assert topic in help_text
    result = runner.invoke(app, ["export", "fill"])
    assert result.exit_code == 2
    assert "unknown topic 'fill'" in result.output


def test_an_unreadable_since_is_refused():
    result = CliRunner().invoke(app, ["export", "tca", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "not an ISO time" in result.output
