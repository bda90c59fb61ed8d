"""Serving the emulator on 127.0.0.1: an async context manager for tests, the demo and a CLI.

`serve` binds the port first (0: any free one), so the URL is known before the first request.
With `speed` set, market time follows the wall clock from the exchange's current time (speed 2:
twice as fast as it was recorded), advanced before every request and every `tick_s`; without
it, market time moves only when told (`Exchange.advance_to` or `POST /_emulator/advance`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from fillstream.connectors.emulator.app import Dialect, create_app
from fillstream.connectors.emulator.exchange import Exchange
from fillstream.connectors.emulator.faults import Faults

__all__ = ["RunningEmulator", "serve"]

_SHUTDOWN_S = 1.0  # held answers let go on shutdown, so handlers end at once


@dataclass(frozen=True)
class RunningEmulator:
    """A served emulator: its base URL (`http://127.0.0.1:<port>`), exchange and faults."""

    url: str
    exchange: Exchange
    faults: Faults


@contextlib.asynccontextmanager
async def serve(
    exchange: Exchange,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    speed: float | None = None,
    tick_s: float = 0.1,
    dialect: Dialect = "binance",
) -> AsyncIterator[RunningEmulator]:
    """Serve `exchange` over HTTP in `dialect` until the block ends."""
    faults = faults or Faults()
    market_clock = None
    if speed is not None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        loop = asyncio.get_running_loop()
        origin_market, origin_wall = exchange.now, loop.time()

        def market_clock() -> int:
            return origin_market + int((loop.time() - origin_wall) * speed * 1_000_000)

    app = create_app(exchange, faults, dialect=dialect, market_clock=market_clock)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_S)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ticker = None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a given port, restarted
        sock.bind((host, port))
        await web.SockSite(runner, sock).start()
        if market_clock is not None:
            ticker = asyncio.create_task(_follow(exchange, market_clock, tick_s))
        bound_host, bound_port = sock.getsockname()[:2]
        yield RunningEmulator(f"http://{bound_host}:{bound_port}", exchange, faults)
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await runner.cleanup()
        sock.close()


async def _follow(exchange: Exchange, market_clock: Callable[[], int], tick_s: float) -> None:
    while True:
        exchange.advance_to(market_clock())
        await asyncio.sleep(tick_s)
