"""What a feed met in its input and worked around, so a replay never dies on one bad line.

Recorded data has holes (sequence gaps, rows a vendor flagged as suspicious, messages a reader
does not know). Stopping a replay for them would make recorded data useless, and hiding them
would make results untrustworthy, so a feed carries on, counts every kind of problem, and keeps
a readable message for the ones worth a look.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["FeedReport"]

_log = logging.getLogger(__name__)


@dataclass
class FeedReport:
    """Counts by kind (`book_gaps`, `suspicious_rows`, ...) and the first `max_warnings` messages.

    `count` is for routine, expected conditions (counted only); `warn` for ones a user should
    see (also logged at WARNING). The message list is capped so that a pathological file cannot
    grow it without bound; the counts stay exact.
    """

    counts: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    max_warnings: int = 100

    def count(self, kind: str, n: int = 1) -> None:
        self.counts[kind] += n

    def warn(self, kind: str, message: str) -> None:
        self.counts[kind] += 1
        _log.warning(message)
        if len(self.warnings) < self.max_warnings:
            self.warnings.append(message)
