"""The `fillstream` command line: broker, topics, contracts, ops tools and the demo.

Each command group, or command of its own, is a module of this package; this one assembles
them, in the order the help lists them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from fillstream import __version__
from fillstream.cli import (
    accounts,
    acls,
    algos,
    api,
    audit,
    backtest,
    bench,
    demo,
    emulator,
    export,
    kill_switch,
    optimize,
    orders,
    records,
    run,
    schedule,
    schemas,
    signals,
    tca,
    topics,
    up,
)
from fillstream.cli.console import console
from fillstream.infra.kafka_cli import app as kafka_app

__all__ = ["app"]

app = typer.Typer(
    help="fillstream: an order-execution engine built as a stream-processing pipeline on Kafka.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _print_version(asked: bool) -> None:
    """Answered while the options are read, before a command is looked for."""
    if asked:
        console.print(f"fillstream {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
    kafka_config: Annotated[
        Path | None,
        typer.Option(
            envvar="FILLSTREAM_KAFKA_CONFIG",
            help="librdkafka properties (key=value lines) for every Kafka client, as Kafka's"
            " tools take --command-config; KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and"
            " KAFKA_SSL_* override it.",
        ),
    ] = None,
) -> None:
    if kafka_config is not None:  # processors this command starts read it too
        os.environ["FILLSTREAM_KAFKA_CONFIG"] = str(kafka_config)


app.command()(records.produce)
app.command()(records.tail)
app.command()(run.run)
app.command()(backtest.backtest)
app.command()(demo.demo)
app.command()(bench.bench)
app.command("export")(export.export_topics)
# The whole system supervised, then the ops commands and the audit, after the pipeline's own
# in the help.
app.command("up")(up.up)
app.command("down")(up.down)
app.command("status")(up.status)
app.command("scale")(up.scale)
app.command("kill-switch")(kill_switch.kill_switch)
app.command("api")(api.serve_api)
app.command("optimize")(optimize.optimize)
app.command()(audit.audit)

app.add_typer(kafka_app, name="kafka")
app.add_typer(topics.app, name="topics")
app.add_typer(schemas.app, name="schemas")
app.add_typer(tca.app, name="tca")
app.add_typer(algos.app, name="algos")
app.add_typer(acls.app, name="acls")
app.add_typer(emulator.app, name="emulator")
app.add_typer(signals.app, name="signals")
app.add_typer(orders.app, name="orders")
app.add_typer(accounts.app, name="accounts")
app.add_typer(schedule.app, name="schedule")
