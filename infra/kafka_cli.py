"""`fillstream kafka ...`: fetch, start, stop and inspect the local Apache Kafka broker."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from fillstream.infra import broker, demo_broker, jars
from fillstream.infra.broker_security import MECHANISM, PROTOCOL, BrokerSecurity
from fillstream.infra.demo_broker import BrokerStatus
from fillstream.infra.jars import BrokerSetupError

app = typer.Typer(
    help=(
        "The local Apache Kafka broker (single-node KRaft, run from Maven Central jars) for the"
        " demo. Its data survives restarts; set KAFKA_BOOTSTRAP_SERVERS to use another cluster."
    ),
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)


def _fail(error: BrokerSetupError) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {error}", highlight=False)
    return typer.Exit(code=1)


def _print_status(status: BrokerStatus) -> None:
    if status.running:
        console.print(
            f"[green]running[/] at [bold]{status.bootstrap_servers}[/] (pid {status.pid})"
        )
    elif status.pid is not None:
        console.print(
            f"[yellow]not answering[/]: pid {status.pid} is alive but {status.bootstrap_servers}"
            " does not accept connections (starting, or hung)"
        )
    else:
        console.print("[red]stopped[/]")
    console.print(f"data dir: {status.data_dir}\nlog:      {status.log}", highlight=False)
    if status.security is not None:
        _print_security(status.security)
    elif status.pid is not None:
        console.print("security: none (PLAINTEXT; `fillstream kafka start --secure` for SASL_SSL)")


def _print_security(security: BrokerSecurity) -> None:
    """Where the secured broker's CA and users are, and how a client logs in: never a password."""
    console.print(
        f"security: {PROTOCOL}, {MECHANISM} users, ACLs enforced (super user: admin)\n"
        f"CA:       {security.tls.ca}\n"
        f"users:    {security.users} (one per role, readable by you alone)\n"
        "Clients of this state dir log in as their role's user automatically; elsewhere set"
        f" KAFKA_SECURITY_PROTOCOL={PROTOCOL}, KAFKA_SASL_MECHANISM={MECHANISM},"
        " KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD (from the users file) and"
        f" KAFKA_SSL_CA_LOCATION={security.tls.ca}",
        highlight=False,
    )


@app.command()
def fetch() -> None:
    """Download the Kafka broker's jars from Maven Central (once; later runs are offline)."""
    lib = jars.jars_dir()
    if not lib.is_dir():
        console.print(f"Fetching Apache Kafka {jars.KAFKA_VERSION} jars from Maven Central...")
    try:
        lib = jars.ensure_jars()
    except BrokerSetupError as error:
        raise _fail(error) from None
    console.print(f"Kafka {jars.KAFKA_VERSION} jars in {lib}", highlight=False)


@app.command()
def start(
    port: Annotated[int, typer.Option(help="Port clients connect to.")] = broker.DEFAULT_PORT,
    controller_port: Annotated[
        int, typer.Option(help="Port of the KRaft controller listener.")
    ] = broker.DEFAULT_CONTROLLER_PORT,
    secure: Annotated[
        bool,
        typer.Option(
            help=(
                "SASL_SSL: TLS from a local CA, a SCRAM-SHA-512 user per role, ACLs enforced."
                " Its data is kept apart from the plain broker's."
            )
        ),
    ] = False,
) -> None:
    """Start the broker in the background and wait until it serves requests."""
    status = demo_broker.local_status()
    if status.running:
        running = "secured" if status.security is not None else "plain"
        console.print(
            f"Kafka ({running}) is already running at [bold]{status.bootstrap_servers}[/]"
        )
        if secure != (status.security is not None):
            wanted = "secured" if secure else "plain"
            errors.print(
                f"[bold red]error:[/] not the {wanted} broker asked for: `fillstream kafka stop`"
                " it first"
            )
            raise typer.Exit(code=1)
        return
    if not jars.jars_dir().is_dir():
        console.print(f"Fetching Apache Kafka {jars.KAFKA_VERSION} jars from Maven Central...")
    try:
        with console.status(f"Starting Kafka {jars.KAFKA_VERSION}..."):
            status = demo_broker.start_local(port, controller_port, secure=secure)
    except BrokerSetupError as error:
        raise _fail(error) from None
    _print_status(status)


@app.command()
def stop() -> None:
    """Stop the broker cleanly (its data is kept)."""
    with console.status("Stopping Kafka..."):
        stopped = demo_broker.stop_local()
    console.print("Kafka stopped" if stopped else "Kafka was not running")


@app.command()
def status() -> None:
    """Show whether the broker runs, where, whether it is secured, and its data dir and log
    (exit code 1 if stopped)."""
    current = demo_broker.local_status()
    _print_status(current)
    if not current.running:
        raise typer.Exit(code=1)
