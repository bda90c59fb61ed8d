"""The live pipeline for an integration test: its own topics and state, every processor,
and a watcher on every pipeline topic."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fillstream.infra.topics import ensure_topics
from fillstream.pipeline import Pipeline, Watcher
from fillstream.schemas.topics import CATALOG

WATCHED = [s.name for s in CATALOG if s.name != "metrics"]


@contextmanager
def running_pipeline(
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *,
    config: Path | None = None,
    workers: int = 1,
    hold_ms: int = 300,
) -> Iterator[tuple[Pipeline, Watcher]]:
    """Processors started (`workers` of each) on fresh topics named after `name`; stopped
    and the watcher closed on leaving. A feed replayed at speed is taken in its own order when
    each record is held `hold_ms` (settings.hold_ms); 0 takes records as they come."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
        env.setenv("FILLSTREAM_TOPIC_PREFIX", f"{name}{uuid.uuid4().hex[:6]}.")
        env.setenv("FILLSTREAM_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        env.setenv("FILLSTREAM_PARTITIONS", "3")
        env.setenv("FILLSTREAM_HOLD_MS", str(hold_ms))
        ensure_topics(CATALOG)
        pipeline = Pipeline(config=config, log_dir=tmp_path_factory.mktemp("logs"))
        watcher = Watcher(WATCHED)
        pipeline.start(workers=workers)
        try:
            yield pipeline, watcher
        finally:
            pipeline.stop()
            watcher.close()
