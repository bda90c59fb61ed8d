"""`fillstream up`'s supervisor: the whole system in the background, kept running.

`up --foreground` is the supervisor itself (what systemd or a container runs): it starts the
local broker unless `KAFKA_BOOTSTRAP_SERVERS` names a cluster (or one already runs), creates
the catalog's topics, starts every processor the configuration needs (scheduler, risk, desk,
monitor, the ccxt gateway and the live feed when it has venues for them), the clock's ticker
and the REST API, each a child process logging to `<state dir>/logs/<name>.log`, and restarts
any that exits under the restart policy (fillstream/restarts.py), each restart logged and
published on `metrics`.
It runs as many workers of each processor as `fillstream scale` (or the API) asked for
(fillstream/scaling.py), one to begin with. It keeps `supervisor_record` up to date. On
SIGTERM or SIGINT it stops the children (SIGTERM, SIGKILL after a timeout), then the broker if
it started it, and removes the record.

`up` without `--foreground` starts that supervisor detached (a session of its own, its output
in `<state dir>/logs/supervisor.log`) and returns once every process has been started; `down`
SIGTERMs it and waits for the record to go.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from fillstream import settings
from fillstream.cluster_acls import grant_on_local_broker
from fillstream.config import load_config
from fillstream.infra import demo_broker
from fillstream.infra.topics import ensure_topics
from fillstream.pipeline import Pipeline, log_tail
from fillstream.restarts import RestartPolicy, RestartReport
from fillstream.scaling import plan, read_wanted, remove_wanted
from fillstream.schemas.topics import CATALOG
from fillstream.supervisor_record import (
    Child,
    SupervisorRecord,
    is_fillstream_process,
    read_record,
    remove_record,
    write_record,
)
from fillstream.ticker import NAME as TICKER

__all__ = ["SupervisorOptions", "launch", "run_supervisor", "stop_supervisor"]

log = logging.getLogger("fillstream.supervisor")

STOP_TIMEOUT = 15.0  # seconds a child has to shut down cleanly before SIGKILL


@dataclass(frozen=True)
class SupervisorOptions:
    config: Path | None = None
    api: tuple[str, int] | None = ("127.0.0.1", 8000)

    def arguments(self) -> list[str]:
        """The same options as `fillstream up --foreground` arguments."""
        arguments = [] if self.config is None else ["--config", str(self.config)]
        if self.api is None:
            return [*arguments, "--no-api"]
        return [*arguments, "--api-host", self.api[0], "--api-port", str(self.api[1])]


def log_dir() -> Path:
    return settings.state_dir() / "logs"


def _start_broker() -> bool:
    """Make sure a broker serves; whether this started it (and so stops it)."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or demo_broker.local_status().running:
        return False
    demo_broker.start_local()
    return True


def _children(pipeline: Pipeline) -> tuple[Child, ...]:
    return tuple(
        Child(
            name=name,
            pid=process.pid,
            started=pipeline.started[name],
            restarts=pipeline.restarts.get(name, 0),
            waiting=process.poll() is not None,
        )
        for name, process in pipeline.processes.items()
    )


def run_supervisor(options: SupervisorOptions, stop: threading.Event | None = None) -> None:
    """Run the system until SIGTERM or SIGINT (or `stop` is set)."""
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    record = SupervisorRecord(
        pid=os.getpid(),
        started=time.time(),
        bootstrap_servers="",
        topic_prefix=settings.topic_prefix(),
        broker_started=False,
        log_dir=str(log_dir()),
        api=None if options.api is None else f"{options.api[0]}:{options.api[1]}",
        ready=False,
    )
    write_record(record)  # a second `up` refuses from here on
    pipeline = Pipeline(
        config=options.config,
        log_dir=log_dir(),
        restart_policy=RestartPolicy(),
        on_restart=RestartReport(log.warning),
    )
    try:
        broker_started = _start_broker()
        record = replace(
            record, bootstrap_servers=settings.bootstrap_servers(), broker_started=broker_started
        )
        write_record(record)
        log.info("Kafka at %s%s", record.bootstrap_servers, " (started)" * broker_started)
        grant_on_local_broker(load_config(options.config))
        ensure_topics(CATALOG)
        if not stop.is_set():
            pipeline.start()
            pipeline.start_one("scheduler")  # scheduled executions, on the ticker's live time
            pipeline.start_one(TICKER)  # (the demo and the bench feed their market's own)
            if options.api is not None:
                pipeline.start_api(*options.api)
        for name, process in pipeline.processes.items():
            log.info("started %s (pid %d)", name, process.pid)
        record = replace(record, ready=True, children=_children(pipeline))
        write_record(record)
        while not stop.wait(0.2):
            _scale(pipeline)
            pipeline.supervise()
            children = _children(pipeline)
            if children != record.children:
                record = replace(record, children=children)
                write_record(record)
    finally:
        log.info("stopping %s", ", ".join(pipeline.processes) or "(nothing started)")
        pipeline.stop(STOP_TIMEOUT)
        if record.broker_started:
            demo_broker.stop_local()
            log.info("stopped the local broker")
        remove_record()
        remove_wanted()  # the next `up` starts with one worker of each again
        log.info("stopped")


def _scale(pipeline: Pipeline) -> None:
    """Start and stop workers until each processor has the count asked for."""
    start, stop = plan(pipeline.processes, read_wanted())
    for name, number in start:
        pipeline.start_one(name, number)
        key = name if number == 0 else f"{name}#{number}"
        log.info("scaled %s up: started %s (pid %d)", name, key, pipeline.processes[key].pid)
    for key in stop:
        pid = pipeline.processes[key].pid
        pipeline.stop_one(key, STOP_TIMEOUT)
        log.info("scaled %s down: stopped %s (pid %d)", key.partition("#")[0], key, pid)


def launch(options: SupervisorOptions, timeout: float) -> SupervisorRecord:
    """Start the supervisor detached and wait until it has started every process; RuntimeError
    with the end of its log if it stops first or takes longer than `timeout` seconds."""
    log_dir().mkdir(parents=True, exist_ok=True)
    log_path = log_dir() / "supervisor.log"
    with log_path.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "fillstream", "up", "--foreground", *options.arguments()],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command and the terminal's Ctrl-C
        )
    deadline = time.monotonic() + timeout
    while True:
        record = read_record()
        if record is not None and record.pid == process.pid and record.ready:
            return record
        if process.poll() is not None:
            raise RuntimeError(
                f"the supervisor exited with code {process.returncode}; the end of its log"
                f" ({log_path}):\n{log_tail(log_path)}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the supervisor (pid {process.pid}) did not start everything within"
                f" {timeout:.0f} s; it keeps trying (`fillstream down` stops it). The end of its"
                f" log ({log_path}):\n{log_tail(log_path)}"
            )
        time.sleep(0.2)


def stop_supervisor(record: SupervisorRecord, timeout: float) -> list[str]:
    """Stop what `record` names: SIGTERM to a live supervisor, which stops its children, and
    wait; what is left after `timeout` (or left behind by a dead supervisor) gets SIGKILL.
    Returns what had to be killed."""
    if is_fillstream_process(record.pid):
        os.kill(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while is_fillstream_process(record.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    killed = []
    for name, pid in [("supervisor", record.pid)] + [(c.name, c.pid) for c in record.children]:
        if is_fillstream_process(pid):
            os.kill(pid, signal.SIGKILL)
            killed.append(f"{name} (pid {pid})")
    if record.broker_started and demo_broker.local_status().pid is not None:
        demo_broker.stop_local()  # the supervisor did not get to it
    if killed or read_record() == record:
        remove_record()
    return killed
