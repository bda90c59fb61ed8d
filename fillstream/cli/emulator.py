"""`fillstream emulator`: the local exchange emulator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from fillstream.cli.console import console, errors
from fillstream.cli.options import positive_decimal

__all__ = ["app"]

app = typer.Typer(
    help="The local exchange emulator (a subset of Binance spot's REST API).",
    no_args_is_help=True,
)


@app.command("serve")
def emulator_serve(
    market_data: Annotated[
        Path | None,
        typer.Option(
            help="Recorded market data (default: a synthetic BTC/USDT market).", exists=True
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) for the venue's instruments.")
    ] = None,
    venue: Annotated[str, typer.Option(help="The configured venue to emulate.")] = "binance",
    dialect: Annotated[
        str,
        typer.Option(help="The API it speaks: binance, or nobitex (token, no secret needed)."),
    ] = "binance",
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free one).")] = 8080,
    speed: Annotated[
        float, typer.Option(help="Market time per wall-clock second (1: as it happened).")
    ] = 1.0,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the account's API key.")
    ] = "EMULATOR_API_KEY",
    secret_env: Annotated[
        str, typer.Option(help="Environment variable holding the account's API secret.")
    ] = "EMULATOR_API_SECRET",
    balance: Annotated[
        list[str] | None,
        typer.Option(
            help="ASSET=AMOUNT the account starts with (repeat) (default: USDT=1000000, BTC=10)."
        ),
    ] = None,
) -> None:
    """Serve the exchange emulator until stopped: the ccxt gateway's venue for tests and demos.

    One account, whose key and secret come from the environment (never from the command line).
    """
    import asyncio

    from fillstream.config import ConfigError, load_config
    from fillstream.connectors.emulator import Account, Exchange, serve
    from fillstream.connectors.feeds import load
    from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events

    try:
        engine = load_config(config)
        if venue not in engine.venues:
            raise ValueError(
                f"no venue {venue!r} in the configuration ({', '.join(engine.venues)})"
            )
        if dialect not in ("binance", "nobitex"):
            raise ValueError(f"--dialect {dialect!r}: binance or nobitex")
        key, secret = os.environ.get(api_key_env), os.environ.get(secret_env, "")
        if not key or (not secret and dialect == "binance"):
            raise ValueError(f"set {api_key_env} and {secret_env} to the account's key and secret")
        balances = {}
        for entry in balance or ["USDT=1000000", "BTC=10"]:
            asset, _, amount = entry.partition("=")
            balances[asset.strip()] = positive_decimal(f"--balance {asset}", amount.strip())
        market = (
            list(load(market_data)) if market_data else list(synthetic_events(SyntheticParams()))
        )
    except (ConfigError, ValueError) as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    account = Account("emulator", key, secret, balances)
    exchange = Exchange(
        engine.venues[venue], engine.instruments.instruments.values(), market, [account]
    )

    async def run() -> None:
        async with serve(exchange, port=port, speed=speed, dialect=dialect) as running:
            console.print(
                f"Emulating {venue} as {dialect} at {running.url} ({len(market):,} market events)"
            )
            await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        console.print("Stopped.")
