"""Schema versions: a backward-compatible change still reads what earlier versions wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fillstream.schemas import contracts, history
from fillstream.schemas.contracts import contract, known_versions, version_by_fingerprint
from fillstream.schemas.history import IncompatibleSchema, freeze, read_problems
from fillstream.schemas.serde import SINGLE_OBJECT_MAGIC, SingleObjectCodec, _fastavro_body
from fillstream.schemas.topics import CATALOG, find
from tests.examples import example_records


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_every_current_contract_is_frozen(spec):
    """Change a schema and this fails until `fillstream schemas freeze` records the new version."""
    versions = known_versions(spec.record)
    assert versions, f"{spec.record} has no frozen version"
    assert contract(spec.record).fingerprint == versions[-1].fingerprint


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_the_current_contract_reads_every_frozen_version(spec):
    for old in known_versions(spec.record):
        assert read_problems(contract(spec.record).schema, old.schema) == []


def _clear_caches() -> None:
    for cached in (contracts.current_schema, known_versions, contract, version_by_fingerprint):
        cached.cache_clear()


@pytest.fixture
def scratch_contracts(tmp_path, monkeypatch) -> Path:
    """A private copy of the shipped schemas that a test may change."""
    avro = tmp_path / "avro"
    shutil.copytree(contracts.AVRO_DIR, avro)
    monkeypatch.setattr(contracts, "AVRO_DIR", avro)
    monkeypatch.setattr(contracts, "HISTORY_DIR", avro / "history")
    monkeypatch.setattr(history, "HISTORY_DIR", avro / "history")
    _clear_caches()
    yield avro
    _clear_caches()


def _edit(avro: Path, name: str, change) -> None:
    path = avro / f"fillstream.{name}.avsc"
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema))


def test_records_written_with_the_previous_version_decode_after_a_compatible_change(
    scratch_contracts,
):
    signal = example_records(find("signals"))[4]  # the TWAP signal
    written_by_v3 = SingleObjectCodec("Signal").encode(signal)

    def evolve(schema):
        schema["fields"].append(
            {"name": "parent_signal_id", "type": ["null", "string"], "default": None, "doc": "new"}
        )
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "confidence"]

    _edit(scratch_contracts, "Signal", evolve)
    _edit(scratch_contracts, "OrderType", lambda s: s["symbols"].append("pegged"))
    _clear_caches()
    assert freeze("Signal") == (
        f"fillstream.Signal v4 ({scratch_contracts}/history/fillstream.Signal/v4.avsc)"
    )
    v4 = SingleObjectCodec("Signal")
    assert v4.contract.version == 4

    decoded = v4.decode(written_by_v3)
    expected = {k: v for k, v in signal.items() if k != "confidence"} | {"parent_signal_id": None}
    assert decoded == expected
    assert v4.decode(v4.encode(decoded)) == decoded


@pytest.mark.parametrize(
    ("name", "change", "problem"),
    [
        (
            "Signal",
            lambda s: s["fields"].append({"name": "venue_hint", "type": "string"}),
            "venue_hint: new field without a default",
        ),
        (
            "Trade",
            lambda s: next(f for f in s["fields"] if f["name"] == "timestamp").update(type="int"),
            "timestamp: type changed from long to int",
        ),
        (
            "Side",
            lambda s: s["symbols"].remove("sell"),
            "enum symbols ['sell'] removed without a default",
        ),
    ],
)
def test_an_incompatible_change_is_refused_and_nothing_is_written(
    scratch_contracts, name, change, problem
):
    record = "Signal" if name in {"Signal", "Side"} else name
    frozen = [v.version for v in known_versions(record)]
    _edit(scratch_contracts, name, change)
    _clear_caches()
    with pytest.raises(IncompatibleSchema, match=problem.replace("[", r"\[").replace("]", r"\]")):
        freeze(record)
    assert [v.version for v in known_versions(record)] == frozen


def test_type_promotions_follow_the_avro_rules():
    assert read_problems("long", "int") == []
    assert read_problems("double", "float") == []
    assert read_problems(["null", "long"], "int") == []
    assert read_problems("int", "long") == ["record: type changed from long to int"]
    assert read_problems("string", ["null", "string"]) == [
        "record: type changed from null to string"
    ]


def test_a_signal_written_before_allocation_groups_decodes_as_one_accounts_signal():
    """Signal v2 added `allocation_group` (default null): a v1 record reads as before."""
    v1 = known_versions("Signal")[0]
    signal = example_records(find("signals"))[0]
    old = {k: v for k, v in signal.items() if k != "allocation_group"}
    written_by_v1 = SINGLE_OBJECT_MAGIC + v1.fingerprint + _fastavro_body(v1, old)
    assert SingleObjectCodec("Signal").decode(written_by_v1) == old | {"allocation_group": None}


def test_a_signal_written_before_brackets_decodes_without_legs():
    """Signal v3 added `stop_loss` and `take_profit` (default null): a v2 record reads as a
    signal without a bracket."""
    v2 = known_versions("Signal")[1]
    signal = example_records(find("signals"))[0]
    old = {k: v for k, v in signal.items() if k not in ("stop_loss", "take_profit")}
    written_by_v2 = SINGLE_OBJECT_MAGIC + v2.fingerprint + _fastavro_body(v2, old)
    decoded = SingleObjectCodec("Signal").decode(written_by_v2)
    assert decoded == old | {"stop_loss": None, "take_profit": None}
