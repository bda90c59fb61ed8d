"""The Kafka ACLs the pipeline implies: each principal may use what its process uses, no more.

Every process acts as one principal (`kafka_client.ROLES`, `User:<role>`); `admin` is the
super user and needs none. What each may do follows from the code's own declarations, so a new
stage input or output shows up here by itself:

- a processor (`fillstream/processors.py`, the monitor and the gateway) reads its stage's
  `inputs` and writes its `outputs`, `metrics` (its telemetry) and `deadletter`, all as the
  engine configuration builds it (the desk reads `fills` only where a ccxt gateway trades);
  it reads `profiles` (the batching in force); it reads, writes, creates and describes its
  changelog topic, uses its consumer group, and under exactly-once the transactional ids
  that start with its group's name (streams/runtime.py);
- the gateway besides reads and writes what `fillstream/gateway_service.py` declares, in the
  throw-away groups of `topic_io.consume` (its journal and fills, read whole at start);
- the ticker (`clock`, fillstream/ticker.py) writes clock ticks and its heartbeat;
- the live feed (`feed`, connectors/livefeed/) writes the market topics and its figures;
- the API reads every catalog topic, publishes signals (to accounts and to groups), commands,
  schedules, batching profiles and account correlations, and describes the pipeline's groups
  for its health page's lag;
- `viewer` reads every catalog topic and describes its configuration, describes the pipeline's
  groups, and uses the tail groups and its own (`<prefix>fillstream-viewer…`);
- `operator` (the CLI, the demo, the bench) reads as `viewer` does (in the tail groups, not
  the viewer's), creates the catalog's topics, and publishes what comes from outside the
  pipeline: signals, commands, schedules, batching profiles and correlations, and every topic
  no processor writes (market data, clock ticks: the feeds `fillstream produce` and the demo
  publish).

Here the entries are plain values, without Kafka; `fillstream/cluster_acls.py` writes and reads
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from fillstream import gateway_service as gateway
from fillstream import settings
from fillstream.config import EngineConfig
from fillstream.connectors.livefeed import NAME as FEED
from fillstream.connectors.livefeed import TOPICS as FEED_TOPICS
from fillstream.infra.topic_io import TAIL_GROUP
from fillstream.processors import PROCESSORS, build_stage
from fillstream.schemas.topics import CATALOG, changelog
from fillstream.streams.stages import Stage
from fillstream.streams.stages.monitor import MonitorStage

__all__ = [
    "Acl",
    "TopicAccess",
    "matches",
    "pipeline_acls",
    "topic_access",
]

ResourceType = Literal["TOPIC", "GROUP", "TRANSACTIONAL_ID", "CLUSTER"]
PatternType = Literal["LITERAL", "PREFIXED"]

# The catalog's topics, one by one: a prefix would reach the processors' changelogs too, which
# are their processor's alone.
TOPICS = tuple(spec.name for spec in CATALOG)
# What people and programs publish, through fillstream/control.py: the CLI and the API.
PUBLISHED = (
    "signals",
    "signals.group",
    "commands",
    "schedules",
    "profiles",
    "accounts.correlations",
)
# The ticker's role (fillstream/ticker.py, which imports the pipeline: named here, not imported).
TICKER = "clock"
# What every processor writes beyond its stage: its telemetry, and what its stage could not take.
RUNTIME_WRITES = ("metrics", "deadletter")
# What every processor reads beyond its stage: the batching profile in force.
RUNTIME_READS = ("profiles",)
# The consumer groups of `viewer`'s own tools, after the topic prefix.
VIEWER_GROUP = "fillstream-viewer"


@dataclass(frozen=True, order=True)
class Acl:
    """One entry: `principal` may (ALLOW) or may not (DENY, read back from a cluster) do
    `operation` on the resources the name and pattern match."""

    principal: str  # User:<role>
    resource_type: ResourceType
    resource_name: str
    pattern: PatternType
    operation: str  # READ, WRITE, CREATE, DESCRIBE, DESCRIBE_CONFIGS, ...
    permission: str = "ALLOW"


@dataclass(frozen=True)
class TopicAccess:
    """Who may read and who may write one topic (roles, sorted)."""

    topic: str
    writers: tuple[str, ...]
    readers: tuple[str, ...]


def _principal(role: str) -> str:
    return f"User:{role}"


def _runtime_processors() -> tuple[str, ...]:
    """The processors the processor loop runs (streams/runtime.py): the pipeline's, the
    monitor and the gateway; each has a changelog topic of its own."""
    return (*PROCESSORS, "monitor", "gateway")


def pipeline_acls(prefix: str, guarantee: str, engine: EngineConfig) -> list[Acl]:
    """Every entry the pipeline under topic prefix `prefix` needs, with `guarantee`
    (`at-least-once` or `exactly-once`) and the processors `engine` configures; sorted."""
    if guarantee not in ("at-least-once", "exactly-once"):
        raise ValueError(f"processing guarantee {guarantee!r}: use at-least-once or exactly-once")
    pipeline = {
        *_processors(prefix, guarantee == "exactly-once", engine),
        *_gateway(prefix),
    }
    written = {acl.resource_name for acl in pipeline if acl.operation == "WRITE"}
    fed = [name for name in TOPICS if prefix + name not in written]
    acls = {
        *pipeline,
        *_api(prefix),
        *_topics(TICKER, prefix, ("clock", "metrics"), "WRITE"),
        *_topics(FEED, prefix, (*FEED_TOPICS, "metrics"), "WRITE"),
        *_reader("viewer", prefix),
        *_group("viewer", prefix + VIEWER_GROUP, "PREFIXED", "READ"),
        *_reader("operator", prefix),
        *_topics("operator", prefix, TOPICS, "CREATE"),
        *_topics("operator", prefix, {*PUBLISHED, *fed}, "WRITE"),
    }
    return sorted(acls)


def _processors(prefix: str, exactly_once: bool, engine: EngineConfig) -> Iterator[Acl]:
    stages: dict[str, Stage | type[MonitorStage] | type[gateway.GatewayStage]] = {
        name: build_stage(name, engine) for name in PROCESSORS
    }
    # Their topics are their classes', whatever their configuration.
    stages["monitor"] = MonitorStage
    stages["gateway"] = gateway.GatewayStage
    for name, stage in stages.items():
        group = settings.processor_group(name, prefix)
        yield from _topics(name, prefix, (*stage.inputs, *RUNTIME_READS), "READ")
        yield from _topics(name, prefix, (*stage.outputs, *RUNTIME_WRITES), "WRITE")
        for operation in ("READ", "WRITE", "CREATE", "DESCRIBE"):
            yield from _topics(name, prefix, (changelog(name).name,), operation)
        yield from _group(name, group, "PREFIXED", "READ")  # and its `-restore` reader
        if exactly_once:  # transactional.id is the group's name and a random suffix
            for operation in ("WRITE", "DESCRIBE"):
                yield Acl(_principal(name), "TRANSACTIONAL_ID", group, "PREFIXED", operation)


def _gateway(prefix: str) -> Iterator[Acl]:
    """Beyond its loop's: its journal, its venues' rules, and what it reads whole at start."""
    yield from _topics("gateway", prefix, gateway.READS, "READ")
    yield from _topics("gateway", prefix, gateway.WRITES, "WRITE")
    yield from _group("gateway", TAIL_GROUP, "PREFIXED", "READ")


def _api(prefix: str) -> Iterator[Acl]:
    yield from _topics("api", prefix, TOPICS, "READ")
    yield from _topics("api", prefix, PUBLISHED, "WRITE")
    yield from _group("api", TAIL_GROUP, "PREFIXED", "READ")
    yield from _pipeline_groups("api", prefix)


def _reader(role: str, prefix: str) -> Iterator[Acl]:
    """What reading everything takes: the topics and their configuration, the tail groups
    (`fillstream tail`) and the pipeline's groups' offsets (lag)."""
    yield from _topics(role, prefix, TOPICS, "READ")
    yield from _topics(role, prefix, TOPICS, "DESCRIBE_CONFIGS")
    yield from _group(role, TAIL_GROUP, "PREFIXED", "READ")
    yield from _pipeline_groups(role, prefix)


def _pipeline_groups(role: str, prefix: str) -> Iterator[Acl]:
    for name in _runtime_processors():
        yield from _group(role, settings.processor_group(name, prefix), "LITERAL", "DESCRIBE")


def _topics(role: str, prefix: str, names: Iterable[str], operation: str) -> Iterator[Acl]:
    for name in names:
        yield Acl(_principal(role), "TOPIC", prefix + name, "LITERAL", operation)


def _group(role: str, name: str, pattern: PatternType, operation: str) -> Iterator[Acl]:
    yield Acl(_principal(role), "GROUP", name, pattern, operation)


def matches(acl: Acl, resource_type: ResourceType, name: str) -> bool:
    """Whether `acl` covers resource `name` of `resource_type`, as the broker matches it."""
    if acl.resource_type != resource_type:
        return False
    if acl.pattern == "PREFIXED":
        return name.startswith(acl.resource_name)
    return acl.resource_name in (name, "*")


def topic_access(acls: Iterable[Acl], prefix: str) -> list[TopicAccess]:
    """Who may write and who may read each catalog topic and changelog under `prefix`
    (`ALL` counts as both; a DENY entry is not taken into account)."""
    allowed = [acl for acl in acls if acl.permission == "ALLOW"]
    names = [*TOPICS, *(changelog(name).name for name in _runtime_processors())]
    return [
        TopicAccess(
            name,
            _roles(allowed, prefix + name, "WRITE"),
            _roles(allowed, prefix + name, "READ"),
        )
        for name in names
    ]


def _roles(acls: list[Acl], topic: str, operation: str) -> tuple[str, ...]:
    return tuple(
        sorted(
            {
                acl.principal.removeprefix("User:")
                for acl in acls
                if acl.operation in (operation, "ALL") and matches(acl, "TOPIC", topic)
            }
        )
    )
