"""`fillstream api`: the REST API on uvicorn, its view following the cluster's topics.

Configuration from the environment: `FILLSTREAM_API_KEYS` (`key:scope,...`, required),
`FILLSTREAM_API_RATE_LIMIT` (requests per second per key, default 50; bursts of twice that),
and the cluster settings every fillstream command reads.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from fillstream import control, settings
from fillstream.acls import PUBLISHED
from fillstream.api.app import create_app
from fillstream.api.cluster import Cluster
from fillstream.api.follower import Follower
from fillstream.api.security import KeyRing, parse_keys
from fillstream.api.services import Services
from fillstream.api.view import FOLLOWED, EngineView
from fillstream.config import EngineConfig, load_config
from fillstream.infra.topic_io import make_producer
from fillstream.infra.topics import ensure_topics
from fillstream.processors import running
from fillstream.scaling import allocate
from fillstream.schemas.topics import find

__all__ = ["ApiSettings", "api_settings", "build", "run"]


@dataclass(frozen=True)
class ApiSettings:
    engine: EngineConfig
    keys: KeyRing
    rate_per_second: float


def api_settings(config: Path | None = None) -> ApiSettings:
    """The API's settings from the environment and the engine config; ValueError says what
    is missing or wrong (checked before any broker is asked anything)."""
    engine = load_config(config)
    keys = parse_keys(os.environ.get("FILLSTREAM_API_KEYS", ""))
    if not keys:
        raise ValueError("set FILLSTREAM_API_KEYS to key:scope pairs (scope read, trade, admin)")
    rate = float(os.environ.get("FILLSTREAM_API_RATE_LIMIT", "50"))
    if not rate > 0:
        raise ValueError(f"FILLSTREAM_API_RATE_LIMIT must be positive, not {rate}")
    return ApiSettings(engine, keys, rate)


def build(chosen: ApiSettings) -> tuple[Services, Follower]:
    """The API's services on the configured cluster (its topics created if missing), and the
    view's follower (not started)."""
    ensure_topics(find(topic) for topic in (*FOLLOWED, *PUBLISHED))
    producer = make_producer()
    view, lock = EngineView(), threading.Lock()
    services = Services(
        engine=chosen.engine,
        keys=chosen.keys,
        view=view,
        lock=lock,
        cluster=Cluster(),
        publish_signals=lambda signals: control.publish_signals(signals, producer),
        publish_commands=lambda commands: control.publish_commands(commands, producer),
        publish_schedules=lambda schedules: control.publish_schedules(schedules, producer),
        publish_profiles=lambda profiles: control.publish_profiles(profiles, producer),
        publish_correlations=lambda pairs: control.publish_correlations(pairs, producer),
        processors=tuple(running(chosen.engine, scheduler=True)),
        group_of=settings.processor_group,
        rate_per_second=chosen.rate_per_second,
        burst=2 * chosen.rate_per_second,
        allocate=allocate,
    )
    return services, Follower(view, lock)


def run(host: str, port: int, chosen: ApiSettings) -> None:
    """Serve until interrupted."""
    services, follower = build(chosen)
    follower.start()
    try:
        uvicorn.run(create_app(services), host=host, port=port, log_level="warning")
    finally:
        follower.stop()
        services.cluster.close()
