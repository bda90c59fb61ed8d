"""A changelog partition folded back: entries, the latest whole checkpoint, its journal.

Each case writes the records a worker would (in order) and cuts them where a crash could,
then checks by hand what a restoring worker must find.
"""

from __future__ import annotations

from fillstream.streams import changelog
from fillstream.streams.changelog import checkpoint_records, fold, journal_record


def test_a_checkpoint_lays_its_changes_over_the_entries_and_gives_its_position():
    log = checkpoint_records(1, {"fills": 7}, {b"a": b"1", b"b": b"2"}, [])
    log += checkpoint_records(2, {"fills": 9}, {b"a": b"3"}, [b"b"])
    recovered = fold(log)
    assert recovered.entries == {b"a": b"3"}
    assert (recovered.number, recovered.position) == (2, {"fills": 9})
    assert (recovered.journal, recovered.sequence) == ([], 0)


def test_entries_cut_short_after_a_whole_checkpoint_come_from_the_checkpoint():
    first = checkpoint_records(1, {"fills": 7}, {b"a": b"1", b"b": b"2"}, [])
    second = checkpoint_records(2, {"fills": 9}, {b"a": b"3", b"b": b"4", b"c": b"5"}, [])
    # The crash came after the piece and the first entry of the second checkpoint.
    recovered = fold(first + second[:2])
    assert recovered.entries == {b"a": b"3", b"b": b"4", b"c": b"5"}
    assert recovered.number == 2
    assert recovered.puts == {b"a": b"3", b"b": b"4", b"c": b"5"}  # to be written again


def test_a_checkpoint_cut_among_its_pieces_leaves_the_previous_one(monkeypatch):
    monkeypatch.setattr(changelog, "PIECE", 8)  # several pieces per checkpoint
    first = checkpoint_records(1, {"fills": 7}, {b"a": b"1"}, [])
    journal = [journal_record(1, 0, [("fills", 7, 8)]), journal_record(1, 1, [("clock", 3, 3)])]
    second = checkpoint_records(2, {"fills": 9, "clock": 4}, {b"a": b"2"}, [])
    pieces = sum(1 for key, _ in second if key.startswith(b"\x00checkpoint/"))
    assert pieces > 2
    recovered = fold(first + journal + second[: pieces - 1])
    assert recovered.entries == {b"a": b"1"}
    assert (recovered.number, recovered.position) == (1, {"fills": 7})
    assert recovered.journal == [("fills", 7, 8), ("clock", 3, 3)]
    assert recovered.sequence == 2


def test_a_checkpoint_tried_twice_counts_only_its_last_try(monkeypatch):
    monkeypatch.setattr(changelog, "PIECE", 8)
    first = checkpoint_records(1, {"fills": 1}, {b"a": b"1"}, [])
    failed = checkpoint_records(2, {"fills": 5}, {b"a": b"failed-try-value"}, [])
    retried = checkpoint_records(2, {"fills": 6}, {b"a": b"2"}, [])
    count = sum(1 for key, _ in failed if key.startswith(b"\x00checkpoint/"))
    recovered = fold(first + failed[: count - 1] + retried)
    assert (recovered.number, recovered.position, recovered.entries) == (
        2,
        {"fills": 6},
        {b"a": b"2"},
    )


def test_only_the_journal_after_the_restored_checkpoint_is_followed():
    log = [journal_record(0, 0, [("signals", 0, 4)])]
    log += checkpoint_records(1, {"signals": 5}, {}, [])
    log += [journal_record(1, 0, [("signals", 5, 5), ("fills", 0, 2)])]
    log += [journal_record(1, 1, [("signals", 6, 9)])]
    recovered = fold(log)
    assert recovered.journal == [("signals", 5, 5), ("fills", 0, 2), ("signals", 6, 9)]
    assert recovered.sequence == 2


def test_nothing_written_restores_nothing():
    recovered = fold([])
    assert (recovered.entries, recovered.number, recovered.position) == ({}, 0, {})
