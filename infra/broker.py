"""A real Apache Kafka broker (single-node KRaft) run as a plain Java process.

The machines fillstream is developed and tested on have a JDK and Maven but no Docker engine,
and Apache publishes the whole broker on Maven Central. So the embedded default broker, for
the demo and for the integration tests, is `kafka.Kafka` started from those jars: no mock
stands in for Kafka, and nobody has to install a broker by hand.

- `ensure_jars` fetches the broker's classpath once into the user's cache dir;
- `LocalBroker` runs one broker+controller node over a data dir;
- the durable demo broker (`start_local`, `stop_local`, `local_status`) lives under the
  user's state dir and outlives the CLI that started it;
- `ephemeral_broker` and `broker_for_tests` give tests a broker that disappears afterwards,
  `secure_broker_for_tests` a secured one (SASL_SSL, SCRAM users, ACLs: `broker_security`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from fillstream import settings
from fillstream.infra import processes
from fillstream.infra.broker_security import BrokerSecurity
from fillstream.infra.private_files import write_private
from fillstream.settings.kafka_client import LocalSecurity

__all__ = [
    "DEFAULT_CONTROLLER_PORT",
    "DEFAULT_PORT",
    "KAFKA_VERSION",
    "BrokerSetupError",
    "BrokerStatus",
    "LocalBroker",
    "SecureBroker",
    "broker_for_tests",
    "ensure_jars",
    "ephemeral_broker",
    "free_port",
    "jars_dir",
    "local_broker",
    "local_status",
    "secure_broker_for_tests",
    "start_local",
    "stop_local",
]

# 4.4.0 is the newest kafka_2.13 on Maven Central, but its POM depends on
# org.apache.kafka:kafka-tools-api:4.4.0, which Central does not have (404), so it cannot
# resolve. 4.3.1 is the newest 4.x whose whole dependency tree resolves.
KAFKA_VERSION = "4.3.1"
MIN_JAVA = 17

DEFAULT_PORT = 9092
DEFAULT_CONTROLLER_PORT = 9093

_ASSETS = Path(__file__).parent / "kafka"
"""pom.xml and log4j2.yaml, shipped as package data. A real directory (not a zip member)
because `mvn -f` and the JVM's `-Dlog4j2.configurationFile` both need a file path."""

_NO_BROKER_HINT = "or set KAFKA_BOOTSTRAP_SERVERS to an existing Kafka cluster"


class BrokerSetupError(RuntimeError):
    """The local broker cannot be fetched or started; the message says what to do about it."""


# -- prerequisites -------------------------------------------------------------------------


def _java() -> str:
    """The `java` to run Kafka with: `$JAVA_HOME/bin/java`, else the one on PATH (17+)."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if java is None or not Path(java).is_file():
        raise BrokerSetupError(
            "java not found: install a Java 17+ JDK (e.g. `apt install openjdk-17-jdk-headless`"
            f" or `brew install openjdk@17`) {_NO_BROKER_HINT}"
        )
    # `java -version` writes e.g. `openjdk version "17.0.15" 2025-04-15` (or "1.8.0_292") to
    # stderr; a too-old JVM otherwise fails later with an obscure UnsupportedClassVersionError.
    banner = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(?:1\.)?(\d+)', banner)
    if found is None or int(found.group(1)) < MIN_JAVA:
        shown = banner.splitlines()[0] if banner else "unknown version"
        raise BrokerSetupError(
            f"Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+, but {java} is {shown!r}: install a"
            " Java 17+ JDK (e.g. `apt install openjdk-17-jdk-headless`) and put it on PATH or"
            f" in JAVA_HOME, {_NO_BROKER_HINT}"
        )
    return java


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerSetupError(
            "mvn not found: install Maven 3.6+ (e.g. `apt install maven` or `brew install"
            " maven`), needed once to fetch the Kafka jars from Maven Central,"
            f" {_NO_BROKER_HINT}"
        )
    return mvn


# -- jars ------------------------------------------------------------------------------------


def jars_dir(cache: Path | None = None) -> Path:
    """Where the broker's jars live once fetched: `<cache>/kafka-<version>/lib`."""
    return (cache or settings.cache_dir()) / f"kafka-{KAFKA_VERSION}" / "lib"


def ensure_jars(cache: Path | None = None) -> Path:
    """Return the lib dir holding Kafka's runtime classpath, fetching it with Maven if absent.

    Maven copies into a temporary sibling which is then renamed into place, so an interrupted
    fetch never leaves a half-filled lib dir that a later call would trust. Once the lib dir
    exists this returns at once and needs neither Maven nor the network.
    """
    lib = jars_dir(cache)
    if lib.is_dir():
        return lib
    mvn = _mvn()
    lib.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix="lib.partial-", dir=lib.parent))
    try:
        fetched = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(_ASSETS / "pom.xml"),
                f"-Dkafka.version={KAFKA_VERSION}",
                "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={partial}",
            ],
            capture_output=True,
            text=True,
        )
        if fetched.returncode != 0:
            raise BrokerSetupError(
                f"fetching the Kafka {KAFKA_VERSION} jars from Maven Central failed (check the"
                " network or a proxy in ~/.m2/settings.xml):\n"
                + _tail(fetched.stdout + fetched.stderr)
            )
        try:
            partial.rename(lib)
        except OSError:
            if not lib.is_dir():  # a concurrent fetch that won the rename is fine
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return lib


# -- processes and ports -------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_in_use(port: int) -> bool:
    """Whether binding 127.0.0.1:`port` fails, as it would for the broker.

    With SO_REUSEADDR, as the JVM's server sockets have it on Linux and macOS, so the TIME_WAIT
    sockets of a broker that just stopped do not count as in use.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def _port_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def _pid_alive(pid: int) -> bool:
    """Whether `pid` is a live Kafka broker (`processes.runs`: not a pid reused since)."""
    return processes.runs(pid, lambda argv: "kafka.Kafka" in argv)


def _terminate(pid: int, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM the broker's process group and wait; SIGKILL it if still there after `timeout`.

    SIGTERM runs Kafka's clean shutdown (flushes the logs, writes the clean-shutdown marker), so
    the next start skips log recovery. `process` is given when this process started the broker
    and must reap it; otherwise (the CLI stopping a detached broker) the pid is polled.
    """

    def exited(within: float) -> bool:
        if process is not None:
            try:
                process.wait(within)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + within
        while _pid_alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    if not exited(timeout):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        exited(10.0)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _new_cluster_id() -> str:
    """URL-safe base64 of 16 random bytes without padding, as `kafka-storage random-uuid`.

    Kafka's tools reject an id starting with '-' (it reads as a command-line flag).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


# -- one broker ------------------------------------------------------------------------------


@dataclass
class LocalBroker:
    """One single-node KRaft Kafka (broker and controller in one JVM) over `data_dir`.

    The config, `broker.log` (the JVM's stdout and stderr) and `broker.log.1` (the previous
    run's) sit in the data dir's parent; the data dir holds Kafka's files and the cluster id.
    With `security`, the client listener is SASL_SSL (`broker_security`), in which case the
    data dir must have been formatted with it, or not yet at all.
    """

    data_dir: Path
    lib_dir: Path
    port: int = DEFAULT_PORT
    controller_port: int = DEFAULT_CONTROLLER_PORT
    heap: str = "512m"
    """Small by default: these machines have 2 cores and the broker shares them with tests."""
    security: BrokerSecurity | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "broker.log"

    @property
    def config_path(self) -> Path:
        return self.data_dir.parent / "server.properties"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def admin_config(self) -> dict[str, str]:
        """The configuration of this broker's own admin client (its readiness probe).

        Built from the broker itself rather than `kafka_client.client_config`, which describes
        the cluster in use (the environment, the state dir's running broker): while this one
        starts, that may be another cluster or another broker of the same state dir.
        """
        security = {} if self.security is None else self.security.local().settings("admin")
        return {"bootstrap.servers": self.bootstrap_servers, **security}

    def _formatted(self) -> bool:
        return (self.data_dir / "meta.properties").is_file()

    def _write_config(self) -> None:
        config = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # One node: every internal topic (consumer offsets, transaction state, share-group
            # state) must fit one replica, or groups and transactions never get a coordinator.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # 50 partitions each by default: on one node they buy nothing and cost seconds (and
            # ~500 log lines) when the first consumer group or transaction creates them.
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.num.partitions": "5",
            "group.initial.rebalance.delay.ms": "0",
            # Topics come from the catalog only: an auto-created topic would get one partition
            # and silently break the co-partitioning of symbol-keyed topics.
            "auto.create.topics.enable": "false",
            # The log cleaner (compaction of orders.state and changelogs) allocates its dedupe
            # buffer (128 MiB by default) on the heap; keep it a fraction of the small heap.
            "log.cleaner.dedupe.buffer.size": str(32 * 1024 * 1024),
        }
        if self.security is not None:
            config.update(self.security.server_properties(self.port, self.controller_port))
        # A secured broker's config holds the admin's password.
        write_private(self.config_path, "".join(f"{k}={v}\n" for k, v in config.items()))

    def _jvm(self, java: str, *args: str) -> list[str]:
        return [
            java,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={_ASSETS / 'log4j2.yaml'}",
            "-cp",
            str(self.lib_dir / "*"),
            *args,
        ]

    def format(self) -> None:
        """Format the data dir for KRaft, once: later calls find `meta.properties` and return.

        The cluster id is stored in the data dir before formatting, so a format interrupted
        half-way is retried with the same id (`--ignore-formatted` then skips what is done);
        an existing data dir with a different id would refuse to start.
        """
        if self._formatted():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        id_file = self.data_dir / "fillstream-cluster-id"
        if not id_file.is_file():
            id_file.write_text(_new_cluster_id())
        self._write_config()
        formatted = subprocess.run(
            self._jvm(
                _java(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                id_file.read_text().strip(),
                "-c",
                str(self.config_path),
                "--ignore-formatted",
                *(self.security.format_arguments() if self.security is not None else ()),
            ),
            capture_output=True,
            text=True,
        )
        if formatted.returncode != 0:
            raise BrokerSetupError(
                f"formatting the Kafka data dir {self.data_dir} failed:\n"
                + _tail(formatted.stdout + formatted.stderr)
            )

    def start(self) -> None:
        """Format if needed and launch the JVM; `wait_ready` tells when it serves requests.

        The JVM gets its own session (and so its own process group): Ctrl-C in the terminal that
        ran the CLI does not reach it, it outlives the CLI, and `stop` can signal it as a group.
        """
        java = _java()
        for port in (self.port, self.controller_port):
            if _port_in_use(port):
                raise BrokerSetupError(
                    f"port {port} on 127.0.0.1 is already in use by another process: stop it or"
                    " pick free ports (`fillstream kafka start --port N --controller-port M`)"
                )
        if self.security is not None:
            if self._formatted() and not self.security.users.is_file():
                raise BrokerSetupError(
                    f"the secured broker's users ({self.security.users}) are gone, and its data"
                    f" dir {self.data_dir} knows only their old passwords: delete"
                    f" {self.security.directory} to start it afresh (its topics are lost)"
                )
            self.security.ensure()
        self.format()
        self._write_config()  # ports may differ from the last run
        if self.log_path.exists():
            self.log_path.replace(self.log_path.with_name("broker.log.1"))
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._jvm(java, f"-Xmx{self.heap}", "kafka.Kafka", str(self.config_path)),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until a metadata request to the broker succeeds and lists this broker; then
        a secured broker's users are set to their passwords in `users.json` (`sync_users`).

        Fails early, with the end of the broker's log, if the JVM exits meanwhile. The port is
        probed first so librdkafka does not log a connection error per retry while the JVM boots.
        """
        deadline = time.monotonic() + timeout
        admin: AdminClient | None = None
        while (remaining := deadline - time.monotonic()) > 0:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerSetupError(
                    f"the Kafka broker exited with code {self._process.returncode} while"
                    f" starting; end of {self.log_path}:\n{self._log_tail()}"
                )
            if _port_answers(self.port):
                admin = admin or AdminClient(self.admin_config())
                with contextlib.suppress(KafkaException):
                    if admin.list_topics(timeout=min(remaining, 2.0)).brokers:
                        if self.security is not None:
                            self.security.sync_users(admin, remaining)
                        return
            time.sleep(0.1)
        raise BrokerSetupError(
            f"the Kafka broker did not answer on {self.bootstrap_servers} within {timeout:.0f}s;"
            f" end of {self.log_path}:\n{self._log_tail()}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the broker down cleanly (SIGTERM), forcing it (SIGKILL) after `timeout`."""
        if self._process is not None:
            _terminate(self._process.pid, timeout, self._process)
            self._process = None

    def _log_tail(self) -> str:
        try:
            return _tail(self.log_path.read_text(errors="replace"))
        except FileNotFoundError:
            return "(no log)"


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
    if record is None or not _pid_alive(record.pid):
        if record is not None:
            settings.local_broker_record().unlink(missing_ok=True)
        return BrokerStatus(running=False, data_dir=broker.data_dir, log=broker.log_path)
    return BrokerStatus(
        running=_port_answers(record.port),
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
    _terminate(status.pid, timeout, None)
    settings.local_broker_record().unlink(missing_ok=True)
    return True


# -- brokers for tests -----------------------------------------------------------------------


@contextlib.contextmanager
def _ephemeral(heap: str, secure: bool) -> Iterator[LocalBroker]:
    """A fresh broker on a temporary dir and free ports, ready; stopped and deleted on exit."""
    lib = ensure_jars()
    with tempfile.TemporaryDirectory(prefix="fillstream-kafka-") as tmp:
        port = free_port()
        controller_port = free_port()
        while controller_port == port:
            controller_port = free_port()
        security = BrokerSecurity(Path(tmp)) if secure else None
        broker = LocalBroker(Path(tmp) / "data", lib, port, controller_port, heap, security)
        try:
            broker.start()
            broker.wait_ready()
            yield broker
        finally:
            broker.stop()


@contextlib.contextmanager
def ephemeral_broker(heap: str = "512m") -> Iterator[str]:
    """A fresh broker on a temporary data dir and free ports; yields its bootstrap address.

    Stopped and deleted on exit, so each use starts from an empty cluster.
    """
    with _ephemeral(heap, secure=False) as broker:
        yield broker.bootstrap_servers


@dataclass(frozen=True)
class SecureBroker:
    """What a test needs of a secured broker: where it is, the CA to trust, its users."""

    bootstrap_servers: str
    security: LocalSecurity
    passwords: Mapping[str, str] = field(repr=False)
    """`{role: password}` for every role of `kafka_client.ROLES`; `admin` is the super user."""

    @property
    def ca_location(self) -> str:
        return self.security.ca_location

    def config(self, user: str, **overrides: Any) -> dict[str, Any]:
        """A client's configuration logging in as `user`, then `overrides` (librdkafka names:
        `config("viewer", **{"sasl.password": "wrong"})`)."""
        security = self.security.settings(user)
        return {"bootstrap.servers": self.bootstrap_servers, **security, **overrides}


@contextlib.contextmanager
def secure_broker_for_tests(heap: str = "512m") -> Iterator[SecureBroker]:
    """A fresh secured broker (SASL_SSL, SCRAM users, ACLs enforced: `broker_security`) on a
    temporary dir and free ports, always a local JVM: its users and CA are made here.

    Stopped and deleted on exit, with its CA and users.
    """
    with _ephemeral(heap, secure=True) as broker:
        assert broker.security is not None
        yield SecureBroker(
            bootstrap_servers=broker.bootstrap_servers,
            security=broker.security.local(),
            passwords=MappingProxyType(broker.security.passwords()),
        )


def _docker_answers() -> bool:
    """Whether a Docker engine answers a ping within 2s (no engine is the common case here)."""
    try:
        import docker  # a dev dependency, via testcontainers

        return bool(docker.from_env(timeout=2).ping())
    except Exception:
        return False


@contextlib.contextmanager
def broker_for_tests() -> Iterator[str]:
    """The broker integration tests run against, as a bootstrap address.

    `KAFKA_BOOTSTRAP_SERVERS` (an existing cluster) if set; else a testcontainers Kafka in KRaft
    mode if a Docker engine answers; else `ephemeral_broker()`, a local JVM.
    """
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
    elif _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        with ephemeral_broker() as bootstrap:
            yield bootstrap
