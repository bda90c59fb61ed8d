"""The durable demo broker: one `LocalBroker` under the user's state dir that outlives the
command that started it (`fillstream kafka start|stop|status`, the demo, `fillstream up`),
found again through the record it leaves beside its data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fillstream import settings
from fillstream.infra.broker import (
    DEFAULT_CONTROLLER_PORT,
    DEFAULT_PORT,
    LocalBroker,
    broker_alive,
    port_answers,
    terminate,
)
from fillstream.infra.broker_security import BrokerSecurity
from fillstream.infra.jars import BrokerSetupError, ensure_jars, jars_dir

__all__ = ["BrokerStatus", "local_broker", "local_status", "start_local", "stop_local"]

# -- the durable demo broker ---------------------------------------------------------------


@dataclass(frozen=True)
class BrokerStatus:
    """What `fillstream kafka status` reports about the durable local broker.

    `pid` without `running` means a broker process exists but does not answer on its port
    (still starting, or hung). `security`: the running broker is the secured one (`--secure`).
    """

    running: bool
    data_dir: Path
    log: Path
    pid: int | None = None
    bootstrap_servers: str | None = None
    security: BrokerSecurity | None = None


def local_broker(
    port: int = DEFAULT_PORT,
    controller_port: int = DEFAULT_CONTROLLER_PORT,
    lib_dir: Path | None = None,
    secure: bool = False,
) -> LocalBroker:
    """The demo broker, whose data survives restarts under the user's state dir; the secured
    one keeps its data, TLS files and users apart, under `kafka/secure` (`broker_security`)."""
    home = settings.state_dir() / "kafka"
    secure_home = home / "secure"
    return LocalBroker(
        data_dir=(secure_home if secure else home) / "data",
        lib_dir=lib_dir or jars_dir(),
        port=port,
        controller_port=controller_port,
        security=BrokerSecurity(secure_home) if secure else None,
    )


@dataclass(frozen=True)
class _Record:
    pid: int
    port: int
    bootstrap_servers: str
    secured: bool


def _read_record() -> _Record | None:
    """The running broker's record; None if there is no usable record."""
    try:
        record = json.loads(settings.local_broker_record().read_text())
        return _Record(
            pid=int(record["pid"]),
            port=int(record["port"]),
            bootstrap_servers=str(record["bootstrap_servers"]),
            secured="security" in record,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def local_status() -> BrokerStatus:
    """Report the demo broker; a record left by a broker that died is deleted here."""
    record = _read_record()
    broker = local_broker(secure=record is not None and record.secured)
    if record is None or not broker_alive(record.pid):
        if record is not None:
            settings.local_broker_record().unlink(missing_ok=True)
        return BrokerStatus(running=False, data_dir=broker.data_dir, log=broker.log_path)
    return BrokerStatus(
        running=port_answers(record.port),
        data_dir=broker.data_dir,
        log=broker.log_path,
        pid=record.pid,
        bootstrap_servers=record.bootstrap_servers,
        security=broker.security,
    )


def start_local(
    port: int = DEFAULT_PORT,
    controller_port: int = DEFAULT_CONTROLLER_PORT,
    timeout: float = 60.0,
    secure: bool = False,
) -> BrokerStatus:
    """Start the demo broker (`secure`: the SASL_SSL one) detached and wait until it serves;
    a no-op if a local broker already runs, whichever it is (see the status's `security`).

    The record (`settings.local_broker_record()`) is written as soon as the JVM exists, so
    `stop_local` can find a broker even if this process dies while waiting for it.
    """
    status = local_status()
    if status.running:
        return status
    if status.pid is not None:
        raise BrokerSetupError(
            f"a Kafka broker (pid {status.pid}) runs on the data dir but does not answer on"
            f" {status.bootstrap_servers}; see {status.log}, or `fillstream kafka stop` it"
        )
    broker = local_broker(port, controller_port, ensure_jars(), secure)
    record = settings.local_broker_record()
    broker.start()
    security = {} if broker.security is None else {"security": broker.security.record()}
    record.write_text(
        json.dumps(
            {
                "pid": broker.pid,
                "bootstrap_servers": broker.bootstrap_servers,
                "port": broker.port,
                "controller_port": broker.controller_port,
                "log": str(broker.log_path),
                **security,
            }
        )
    )
    try:
        broker.wait_ready(timeout)
    except BaseException:
        broker.stop()
        record.unlink(missing_ok=True)
        raise
    return local_status()


def stop_local(timeout: float = 30.0) -> bool:
    """Stop the demo broker, plain or secured, and delete its record; False if none ran."""
    status = local_status()
    if status.pid is None:
        return False
    terminate(status.pid, timeout, None)
    settings.local_broker_record().unlink(missing_ok=True)
    return True
