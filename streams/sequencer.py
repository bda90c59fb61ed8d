"""The order in which one partition's records are handed to its stage.

A stage reading several topics decides by the order in which their records come (a slice
filled against the book as the last market event left it). Live, records are taken as they
have arrived, the earliest-stamped first among those at hand (as Kafka Streams does): each
input partition's records in their own order, merged by Kafka timestamp, without waiting for
an input that has nothing yet. A record may be held for a while (`hold_ms`, 0 by default),
so that records stamped earlier on other inputs arrive first: a feed replayed at speed is
then taken in its own order, as the replay harness takes it.

After a crash the broker delivers the same records in another interleaving, so a worker that
restores the partition first follows the journal of the runs the crashed worker took
(`streams.changelog`), and only then goes on as above.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from typing import Generic, NamedTuple, TypeVar

from fillstream.streams.changelog import Run

__all__ = ["Sequencer", "runs_of"]

T = TypeVar("T")

NEVER = 2**63  # a horizon past every timestamp: hold nothing


class _Pending(NamedTuple, Generic[T]):
    offset: int
    stamp: int
    item: T


class Sequencer(Generic[T]):
    """Holds a partition's records until their turn; `take` gives them in order."""

    def __init__(self, journal: Iterable[Run] = ()) -> None:
        self._runs: deque[Run] = deque(journal)
        self._pending: dict[str, deque[_Pending[T]]] = {}
        self._taken: dict[str, int] = {}  # the last offset taken, by topic
        self.held = 0

    @property
    def following(self) -> bool:
        """Whether records are still taken as the journal says."""
        return bool(self._runs)

    def add(self, topic: str, offset: int, stamp: int, item: T) -> None:
        queue = self._pending.get(topic)
        if queue is None:
            queue = self._pending[topic] = deque()
        queue.append(_Pending(offset, stamp, item))
        self.held += 1

    def take(
        self, horizon: int = NEVER, lagging: frozenset[str] = frozenset()
    ) -> tuple[list[T], list[tuple[str, int, T]]]:
        """The records whose turn it is: those the journal orders (already journaled), then,
        once the journal is followed to its end, those stamped up to `horizon`, earliest first,
        with their topic and offset (to be journaled before anything they cause is published).

        A topic in `lagging` has records on the broker not at hand yet: none is taken past
        the last record at hand of such a topic, as its next one may be stamped earlier."""
        replayed: list[T] = []
        runs, taken, pending = self._runs, self._taken, self._pending
        while runs:
            topic, _first, last = runs[0]
            queue = pending.get(topic)
            while queue and queue[0].offset <= last:
                record = queue.popleft()
                taken[topic] = record.offset
                replayed.append(record.item)
            # A run ends at its last offset, or where a later one shows it was compacted away.
            if taken.get(topic, -1) >= last or (queue and queue[0].offset > last):
                runs.popleft()
                continue
            self.held -= len(replayed)
            return replayed, []
        fresh: list[tuple[str, int, T]] = []
        if any(not pending.get(topic) for topic in lagging):
            self.held -= len(replayed)
            return replayed, fresh
        heads = [(queue[0].stamp, topic) for topic, queue in pending.items() if queue]
        heapq.heapify(heads)
        while heads and heads[0][0] <= horizon:
            _, topic = heads[0]
            queue = pending[topic]
            record = queue.popleft()
            fresh.append((topic, record.offset, record.item))
            if queue:
                heapq.heapreplace(heads, (queue[0].stamp, topic))
            elif topic in lagging:
                break
            else:
                heapq.heappop(heads)
        self.held -= len(replayed) + len(fresh)
        return replayed, fresh


def runs_of(taken: Iterable[tuple[str, int, object]]) -> list[Run]:
    """Records taken (topic, offset, _) as runs of one topic: the journal's form."""
    runs: list[Run] = []
    for topic, offset, _ in taken:
        if runs and runs[-1][0] == topic:
            runs[-1] = (topic, runs[-1][1], offset)
        else:
            runs.append((topic, offset, offset))
    return runs
