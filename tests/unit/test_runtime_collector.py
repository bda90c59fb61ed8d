"""The loop ages what survived a checkpoint out of the cycle collector's passes, and still
frees young cycles."""

from __future__ import annotations

import gc
import weakref

import pytest

from fillstream.streams import runtime


class _Node:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


def test_survivors_leave_the_collectors_passes(unfrozen):
    kept = [_Node() for _ in range(1_000)]
    before = gc.get_freeze_count()
    runtime._age_state()
    assert gc.get_freeze_count() >= before + len(kept)


def test_a_young_cycle_is_still_freed(unfrozen):
    cycle = _Node()
    gone = weakref.ref(cycle)
    del cycle  # only the collector can free it: it refers to itself
    runtime._age_state()
    assert gone() is None
