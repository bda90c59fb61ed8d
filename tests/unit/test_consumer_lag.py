"""Consumer lag: one definition for the API, the processors' metrics and the pipeline's watcher."""

from __future__ import annotations

import pytest

from fillstream.infra.topic_io import consumer_lag


@pytest.mark.parametrize(
    ("committed", "end", "lag"),
    [
        (40, 55, 15),  # the records from offset 40 to 54 are unread
        (55, 55, 0),  # caught up
        (-1001, 7, 7),  # nothing committed: the whole partition
        (-1001, 0, 0),  # nothing committed, nothing written
        (60, 55, 0),  # a commit past the end (the partition was truncated) is no negative lag
    ],
)
def test_lag_is_what_lies_between_the_commit_and_the_end(committed, end, lag):
    assert consumer_lag(committed, end) == lag
