"""A local exchange emulator speaking a subset of Binance spot's REST API, for tests and demos.

It matches orders with the simulated venue against recorded or synthetic market data, checks
signatures like Binance, and injects faults, so the ccxt gateway is tested with the real ccxt
client over real HTTP. The modules:
- `exchange.py`: the exchange itself (accounts, orders, market time), pure and synchronous;
- `orders.py`: Binance orders in and out of the venue's slices and reports;
- `accounts.py`, `listings.py`, `market.py`: balances, listed symbols, public market data;
- `signing.py`, `errors.py`: request signing and Binance's error answers;
- `faults.py`: HTTP faults; `app.py`: the aiohttp application; `server.py`: serving it;
- `streams.py`: Binance's WebSocket market streams, with their faults;
- `client.py`: ccxt's settings for an emulator.
docs/EMULATOR.md tells how to use it.
"""

from fillstream.connectors.emulator.accounts import Account
from fillstream.connectors.emulator.app import create_app
from fillstream.connectors.emulator.client import ccxt_settings
from fillstream.connectors.emulator.exchange import Exchange
from fillstream.connectors.emulator.faults import Failure, Faults
from fillstream.connectors.emulator.server import RunningEmulator, serve

__all__ = [
    "Account",
    "Exchange",
    "Failure",
    "Faults",
    "RunningEmulator",
    "ccxt_settings",
    "create_app",
    "serve",
]
