"""A partition's records: the journal's order first, then the earliest-stamped at hand."""

from __future__ import annotations

from fillstream.streams.sequencer import Sequencer, runs_of


def test_records_at_hand_go_earliest_stamp_first_each_input_in_its_own_order():
    sequencer: Sequencer[str] = Sequencer()
    # Arrived: two fills, then a clock tick stamped between them; then a fill stamped before
    # the one ahead of it in its own partition (another producer's clock): it keeps its place.
    for topic, offset, stamp in [("fills", 4, 10), ("fills", 5, 30), ("clock", 1, 20)]:
        sequencer.add(topic, offset, stamp, f"{topic}{offset}")
    sequencer.add("fills", 6, 15, "fills6")
    replayed, fresh = sequencer.take()
    assert replayed == []
    assert fresh == [
        ("fills", 4, "fills4"),
        ("clock", 1, "clock1"),
        ("fills", 5, "fills5"),
        ("fills", 6, "fills6"),
    ]
    assert sequencer.held == 0


def test_records_stamped_after_the_horizon_are_held():
    sequencer: Sequencer[str] = Sequencer()
    sequencer.add("quotes", 0, 100, "q0")
    sequencer.add("trades", 0, 300, "t0")
    assert sequencer.take(horizon=200) == ([], [("quotes", 0, "q0")])
    assert sequencer.held == 1
    sequencer.add("quotes", 1, 250, "q1")  # came late, stamped before the held trade
    assert sequencer.take(horizon=400) == ([], [("quotes", 1, "q1"), ("trades", 0, "t0")])


def test_a_journal_reorders_a_redelivery_and_waits_for_what_it_names():
    # First run took: slices 10, quote 20, quote 21, slices 11. The broker now delivers all
    # the quotes first, and the second slice later.
    journal = [("slices", 10, 10), ("quotes", 20, 21), ("slices", 11, 11)]
    sequencer: Sequencer[str] = Sequencer(journal)
    for topic, offset in [("quotes", 20), ("quotes", 21), ("quotes", 22), ("slices", 10)]:
        sequencer.add(topic, offset, offset, f"{topic}{offset}")
    assert sequencer.take() == (["slices10", "quotes20", "quotes21"], [])
    assert sequencer.following
    sequencer.add("slices", 11, 11, "slices11")
    sequencer.add("slices", 12, 12, "slices12")
    replayed, fresh = sequencer.take()
    assert replayed == ["slices11"]
    assert not sequencer.following
    # Past the journal: what was held, earliest first.
    assert fresh == [("slices", 12, "slices12"), ("quotes", 22, "quotes22")]


def test_a_run_whose_last_record_was_compacted_away_ends_at_the_next_one():
    sequencer: Sequencer[str] = Sequencer([("instruments", 3, 5), ("fills", 0, 0)])
    sequencer.add("fills", 0, 1, "fills0")
    sequencer.add("instruments", 3, 1, "i3")
    assert sequencer.take() == (["i3"], [])  # 4 and 5 may still come
    sequencer.add("instruments", 7, 2, "i7")
    assert sequencer.take() == (["fills0"], [("instruments", 7, "i7")])


def test_runs_group_consecutive_records_of_one_topic():
    taken = [("a", 1, None), ("a", 2, None), ("b", 7, None), ("a", 3, None), ("a", 5, None)]
    assert runs_of(taken) == [("a", 1, 2), ("b", 7, 7), ("a", 3, 5)]


def test_nothing_is_taken_past_the_last_record_at_hand_of_an_input_still_behind():
    sequencer: Sequencer[str] = Sequencer()
    sequencer.add("trades", 0, 10, "t0")
    sequencer.add("trades", 1, 40, "t1")
    lagging = frozenset({"book"})
    assert sequencer.take(lagging=lagging) == ([], [])  # the book may have earlier records
    sequencer.add("book", 0, 20, "b0")
    # b0 is the book's last at hand: t1 (40) waits, as the book's next may come before it.
    assert sequencer.take(lagging=lagging) == ([], [("trades", 0, "t0"), ("book", 0, "b0")])
    sequencer.add("book", 1, 50, "b1")
    assert sequencer.take() == ([], [("trades", 1, "t1"), ("book", 1, "b1")])
