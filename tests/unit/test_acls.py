"""The ACL model (docs/SECURITY.md): each principal may use what its process uses, no more.

Expectations come from the stages' own declarations and the model's description, not from
the function's output: a new stage input must show up as a READ by itself.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from typer.testing import CliRunner

from fillstream import settings
from fillstream.acls import Acl, pipeline_acls, topic_access
from fillstream.cli import app
from fillstream.cluster_acls import AclsUnavailable, apply_acls, binding, from_binding
from fillstream.config import DEFAULT_CONFIG, EngineConfig, load_config
from fillstream.processors import PROCESSORS, build_stage
from fillstream.schemas.topics import CATALOG, changelog
from fillstream.settings.kafka_client import ROLES
from fillstream.streams.stages.allocator import AllocatorStage
from fillstream.streams.stages.monitor import MonitorStage
from fillstream.streams.stages.risk import RiskStage
from fillstream.streams.stages.scheduler import SchedulerStage

PREFIX = "prod."
ENGINE = load_config()
# What no principal but the super user may do to another's data.
CHANGING = ("WRITE", "CREATE", "DELETE", "ALTER", "ALTER_CONFIGS", "ALL")


def may(acls: list[Acl], role: str, operation: str, kind: str, name: str) -> bool:
    """Whether `role` may do `operation` on resource `name`, as a broker matches entries."""
    return any(
        acl.principal == f"User:{role}"
        and acl.permission == "ALLOW"
        and acl.operation in (operation, "ALL")
        and acl.resource_type == kind
        and (
            name.startswith(acl.resource_name)
            if acl.pattern == "PREFIXED"
            else acl.resource_name in (name, "*")
        )
        for acl in acls
    )


def may_topic(acls: list[Acl], role: str, operation: str, topic: str) -> bool:
    return may(acls, role, operation, "TOPIC", PREFIX + topic)


@pytest.fixture(scope="module")
def acls() -> list[Acl]:
    return pipeline_acls(PREFIX, "at-least-once", ENGINE)


@pytest.fixture(scope="module")
def with_gateway(tmp_path_factory: pytest.TempPathFactory) -> EngineConfig:
    config = tmp_path_factory.mktemp("engine") / "engine.toml"
    config.write_text(
        DEFAULT_CONFIG.read_text()
        + '\n[gateway.venues.binance]\nexchange = "binance"\nsymbols = ["BTC/USDT"]\n'
        'api_key_env = "K"\nsecret_env = "S"\n'
    )
    return load_config(Path(config))


def test_risk_may_not_write_fills(acls):
    assert not may_topic(acls, "risk", "WRITE", "fills")
    assert may_topic(acls, "risk", "READ", "fills.accounts")  # its positions' source


def test_viewer_writes_nothing(acls):
    viewer = [acl for acl in acls if acl.principal == "User:viewer"]
    assert viewer
    assert not [acl for acl in viewer if acl.operation in CHANGING]
    assert all(may_topic(acls, "viewer", "READ", spec.name) for spec in CATALOG)


def test_api_publishes_signals_and_commands_and_no_fills(acls):
    assert may_topic(acls, "api", "WRITE", "signals")
    assert may_topic(acls, "api", "WRITE", "commands")
    assert not may_topic(acls, "api", "WRITE", "fills")
    assert all(may_topic(acls, "api", "READ", spec.name) for spec in CATALOG)


def test_who_may_publish_signals_and_commands(acls):
    by_topic = {access.topic: access for access in topic_access(acls, PREFIX)}
    # ... and the scheduler, which publishes each occurrence of a schedule, and the allocator,
    # each group signal's children
    assert by_topic["signals"].writers == ("allocator", "api", "operator", "scheduler")
    assert by_topic["signals.group"].writers == ("api", "operator")
    assert "allocator" in by_topic["signals.group"].readers
    # the global tables: risk writes each account's state, operators the correlations
    assert by_topic["accounts.state"].writers == ("risk",)
    assert by_topic["accounts.correlations"].writers == ("api", "operator")
    assert by_topic["allocations"].writers == ("allocator",)
    assert by_topic["schedules"].writers == ("api", "operator")
    assert "scheduler" in by_topic["schedules"].readers
    # ... and the desk's executor, which cancels what it ends itself
    assert by_topic["commands"].writers == ("api", "desk", "operator")


def test_every_input_of_the_desk_is_readable_by_the_desk(acls, with_gateway):
    stage = build_stage("desk", ENGINE)
    assert all(may_topic(acls, "desk", "READ", topic) for topic in stage.inputs)
    assert all(may_topic(acls, "desk", "WRITE", topic) for topic in stage.outputs)
    # Where a gateway trades, the desk reads its venues' fills too.
    gateway_acls = pipeline_acls(PREFIX, "at-least-once", with_gateway)
    inputs = build_stage("desk", with_gateway).inputs
    assert "fills" in inputs
    assert all(may_topic(gateway_acls, "desk", "READ", topic) for topic in inputs)


@pytest.mark.parametrize(
    ("role", "stage"),
    [
        ("risk", RiskStage),
        ("monitor", MonitorStage),
        ("scheduler", SchedulerStage),
        ("allocator", AllocatorStage),
    ],
    ids=["risk", "monitor", "scheduler", "allocator"],
)
def test_each_processor_reads_its_inputs_and_writes_its_outputs(acls, role, stage):
    assert all(may_topic(acls, role, "READ", topic) for topic in stage.inputs)
    written = {*stage.outputs, "metrics", "deadletter"}
    assert all(may_topic(acls, role, "WRITE", topic) for topic in written)
    others = [spec.name for spec in CATALOG if spec.name not in written]
    assert not [topic for topic in others if may_topic(acls, role, "WRITE", topic)]


def test_a_changelog_is_its_processors_alone(acls):
    for processor in (*PROCESSORS, "monitor"):
        topic = changelog(processor).name
        for operation in ("READ", "WRITE", "CREATE", "DESCRIBE"):
            allowed = [role for role in ROLES if may_topic(acls, role, operation, topic)]
            assert allowed == [processor], (topic, operation)


def test_the_ticker_writes_clock_ticks_and_its_heartbeat_only(acls):
    written = [spec.name for spec in CATALOG if may_topic(acls, "clock", "WRITE", spec.name)]
    assert written == ["clock", "metrics"]
    # The demo and the bench still feed ticks of their own as the operator.
    assert may_topic(acls, "operator", "WRITE", "clock")


def test_the_feed_writes_the_market_topics_and_its_figures_only(acls):
    written = [spec.name for spec in CATALOG if may_topic(acls, "feed", "WRITE", spec.name)]
    assert written == [
        "market.quotes",
        "market.trades",
        "market.book",
        "market.reference",
        "metrics",
    ]
    assert not [spec.name for spec in CATALOG if may_topic(acls, "feed", "READ", spec.name)]


def test_the_gateway_takes_slices_and_gives_fills(acls):
    assert may_topic(acls, "gateway", "READ", "slices")
    assert may_topic(acls, "gateway", "WRITE", "fills")
    assert may_topic(acls, "gateway", "WRITE", "fills.accounts")  # risk's positions
    assert not may_topic(acls, "gateway", "WRITE", "slices")
    assert not may_topic(acls, "gateway", "WRITE", "orders.approved")


def test_each_processor_uses_its_own_consumer_group(acls):
    for processor in (*PROCESSORS, "monitor", "gateway"):
        group = settings.processor_group(processor, PREFIX)
        readers = [role for role in ROLES if may(acls, role, "READ", "GROUP", group)]
        assert readers == [processor]


def test_transactional_ids_only_under_exactly_once(acls):
    assert not [acl for acl in acls if acl.resource_type == "TRANSACTIONAL_ID"]
    exactly_once = pipeline_acls(PREFIX, "exactly-once", ENGINE)
    for processor in (*PROCESSORS, "monitor", "gateway"):
        # streams/runtime.py: the group's name, then a random suffix per producer
        transactional_id = f"{settings.processor_group(processor, PREFIX)}-0123456789ab"
        allowed = [
            role
            for role in ROLES
            if may(exactly_once, role, "WRITE", "TRANSACTIONAL_ID", transactional_id)
        ]
        assert allowed == [processor]


def test_the_topic_prefix_is_honoured(acls):
    topics = [acl for acl in acls if acl.resource_type == "TOPIC"]
    assert topics and all(acl.resource_name.startswith(PREFIX) for acl in topics)
    assert not may(acls, "api", "WRITE", "TOPIC", "signals")  # another pipeline's
    groups = {acl.resource_name for acl in acls if acl.resource_type == "GROUP"}
    assert settings.processor_group("risk", PREFIX) in groups
    assert settings.processor_group("risk", "") not in groups


def test_admin_needs_none_and_an_unknown_guarantee_is_refused(acls):
    assert not [acl for acl in acls if acl.principal == "User:admin"]
    assert {acl.principal.removeprefix("User:") for acl in acls} == set(ROLES) - {"admin"}
    with pytest.raises(ValueError, match="exactly-once"):
        pipeline_acls(PREFIX, "at-most-once", ENGINE)


def test_entries_survive_the_trip_to_the_client_and_back(acls):
    assert [from_binding(binding(acl)) for acl in acls] == acls


class FakeAdmin:
    """Holds ACL bindings as a broker would; `refuse` is the error every creation meets."""

    def __init__(self, held: list[Acl], refuse: KafkaError | None = None) -> None:
        self.held = [binding(acl) for acl in held]
        self.refuse = refuse
        self.created: list[object] = []

    def describe_acls(self, _filter: object, request_timeout: float) -> Future:
        return _done(list(self.held))

    def create_acls(self, bindings: list[object], request_timeout: float) -> dict:
        self.created += bindings
        futures = {}
        for entry in bindings:
            future: Future = Future()
            if self.refuse is None:
                future.set_result(None)
                self.held.append(entry)
            else:
                future.set_exception(KafkaException(self.refuse))
            futures[entry] = future
        return futures


def _done(value: object) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def test_apply_creates_only_what_is_missing(acls):
    admin = FakeAdmin(acls[:10])
    assert apply_acls(admin, acls) == len(acls) - 10  # type: ignore[arg-type]
    assert len(admin.created) == len(acls) - 10
    assert apply_acls(admin, acls) == 0  # type: ignore[arg-type]


def test_a_cluster_without_an_authorizer_is_said_so(acls):
    admin = FakeAdmin([], refuse=KafkaError(KafkaError.SECURITY_DISABLED))
    with pytest.raises(AclsUnavailable, match=r"no authorizer.*fillstream kafka start --secure"):
        apply_acls(admin, acls)  # type: ignore[arg-type]


def test_a_dry_run_prints_who_may_write_each_topic(monkeypatch):
    monkeypatch.setenv("FILLSTREAM_TOPIC_PREFIX", PREFIX)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # never asked
    result = CliRunner().invoke(app, ["acls", "apply", "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    signals = next(line for line in result.output.splitlines() if " signals " in line)
    assert "api, operator" in signals
    assert "none written" in result.output


def test_the_operator_feeds_what_no_process_writes_and_nothing_a_process_owns(acls):
    for topic in ("signals", "commands", "market.quotes", "market.trades", "market.book", "clock"):
        assert may_topic(acls, "operator", "WRITE", topic), topic
    for topic in ("orders.approved", "slices", "fills", "fills.accounts", "orders.state", "tca"):
        assert not may_topic(acls, "operator", "WRITE", topic), topic
