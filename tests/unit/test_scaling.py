"""How many workers the supervisor runs: the counts asked for, and the plan to get there."""

from __future__ import annotations

import pytest

from fillstream.scaling import check_workers, plan, read_wanted, want, worker_counts
from fillstream.supervisor_record import Child, SupervisorRecord, write_record


def test_scaling_up_starts_workers_with_the_lowest_free_numbers():
    running = ["monitor", "risk", "desk", "desk#2", "api"]
    assert plan(running, {"desk": 4}) == ([("desk", 1), ("desk", 3)], [])


def test_scaling_down_stops_the_highest_numbers_first():
    running = ["risk", "desk", "desk#1", "desk#2"]
    assert plan(running, {"desk": 1, "risk": 1}) == ([], ["desk#2", "desk#1"])


def test_a_processor_the_supervisor_does_not_run_is_left_alone():
    assert plan(["risk", "monitor"], {"desk": 2}) == ([], [])


def test_workers_are_counted_per_processor():
    assert worker_counts(["risk", "desk", "desk#1", "desk#3"]) == {"risk": 1, "desk": 3}


def test_only_risk_and_desk_scale_between_one_worker_and_a_partition_each(monkeypatch):
    monkeypatch.setenv("FILLSTREAM_PARTITIONS", "3")
    assert check_workers("desk", 3) is None and check_workers("risk", 1) is None
    assert "from 1 to 3" in check_workers("desk", 4)
    assert "from 1 to 3" in check_workers("desk", 0)
    assert "does not scale out" in check_workers("monitor", 2)


def test_the_counts_asked_for_are_kept_in_one_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path))
    assert read_wanted() == {}
    assert want("desk", 2) == {"desk": 2}
    assert want("risk", 3) == {"desk": 2, "risk": 3}
    assert read_wanted() == {"desk": 2, "risk": 3}
    with pytest.raises(ValueError, match="does not scale out"):
        want("gateway", 2)
    assert read_wanted(tmp_path / "workers.json") == {"desk": 2, "risk": 3}


def test_a_processor_the_supervisor_does_not_run_is_refused_with_why(tmp_path, monkeypatch):
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("FILLSTREAM_PARTITIONS", "3")
    children = tuple(Child(name, 100 + n, 0.0, 0) for n, name in enumerate(["risk", "desk"]))
    write_record(SupervisorRecord(1, 0.0, "127.0.0.1:9092", "", False, "", None, True, children))
    with pytest.raises(
        ValueError, match="declares none; declare `\\[\\[allocation_groups"
    ) as refused:
        want("allocator", 2)
    assert str(refused.value).startswith("no allocator runs here to scale: it runs where")
    assert read_wanted() == {}
    assert want("desk", 2) == {"desk": 2}
    assert check_workers("allocator", 2, running={"allocator": 1}) is None
