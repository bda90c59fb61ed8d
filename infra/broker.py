"""A real Apache Kafka broker (single-node KRaft) run as a plain Java process.

The machines fillstream is developed and tested on have a JDK and Maven but no Docker engine,
and Apache publishes the whole broker on Maven Central. So the embedded default broker, for
the demo and for the integration tests, is `kafka.Kafka` started from those jars: no mock
stands in for Kafka, and nobody has to install a broker by hand.

- `LocalBroker` runs one broker+controller node over a data dir, from the jars
  `infra/jars.py` fetches;
- the durable demo broker, under the user's state dir, is `infra/demo_broker.py`;
- the brokers tests run against are `infra/test_brokers.py`.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from fillstream.infra import processes
from fillstream.infra.broker_security import BrokerSecurity
from fillstream.infra.jars import ASSETS, BrokerSetupError, java, last_lines
from fillstream.infra.private_files import write_private

__all__ = [
    "DEFAULT_CONTROLLER_PORT",
    "DEFAULT_PORT",
    "LocalBroker",
    "broker_alive",
    "free_port",
    "port_answers",
    "terminate",
]

DEFAULT_PORT = 9092
DEFAULT_CONTROLLER_PORT = 9093


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


def port_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def broker_alive(pid: int) -> bool:
    """Whether `pid` is a live Kafka broker (`processes.runs`: not a pid reused since)."""
    return processes.runs(pid, lambda argv: "kafka.Kafka" in argv)


def terminate(pid: int, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
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
        while broker_alive(pid):
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
            f"-Dlog4j2.configurationFile={ASSETS / 'log4j2.yaml'}",
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
                java(),
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
                + last_lines(formatted.stdout + formatted.stderr)
            )

    def start(self) -> None:
        """Format if needed and launch the JVM; `wait_ready` tells when it serves requests.

        The JVM gets its own session (and so its own process group): Ctrl-C in the terminal that
        ran the CLI does not reach it, it outlives the CLI, and `stop` can signal it as a group.
        """
        binary = java()
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
                self._jvm(binary, f"-Xmx{self.heap}", "kafka.Kafka", str(self.config_path)),
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
                    f" starting; end of {self.log_path}:\n{self._loglast_lines()}"
                )
            if port_answers(self.port):
                admin = admin or AdminClient(self.admin_config())
                with contextlib.suppress(KafkaException):
                    if admin.list_topics(timeout=min(remaining, 2.0)).brokers:
                        if self.security is not None:
                            self.security.sync_users(admin, remaining)
                        return
            time.sleep(0.1)
        raise BrokerSetupError(
            f"the Kafka broker did not answer on {self.bootstrap_servers} within {timeout:.0f}s;"
            f" end of {self.log_path}:\n{self._loglast_lines()}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the broker down cleanly (SIGTERM), forcing it (SIGKILL) after `timeout`."""
        if self._process is not None:
            terminate(self._process.pid, timeout, self._process)
            self._process = None

    def _loglast_lines(self) -> str:
        try:
            return last_lines(self.log_path.read_text(errors="replace"))
        except FileNotFoundError:
            return "(no log)"
