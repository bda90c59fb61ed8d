"""Venue symbols (`BTCUSDT`, `btcusdt`, `BTCUSDT_240927`) to ccxt unified ones (`BTC/USDT`).

Venues glue base and quote together, so the split needs the list of quote assets; the longest
match wins, which keeps `FDUSD` from reading as `...FD/USD` and `BTCUSDT` from `.../USD`.
"""

from __future__ import annotations

from functools import cache

__all__ = ["QUOTE_ASSETS", "unify_symbol"]

QUOTE_ASSETS: tuple[str, ...] = tuple(
    sorted(
        (
            "USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "USD",
            "BTC", "ETH", "BNB", "EUR", "TRY", "GBP", "BRL", "JPY", "AUD",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip


@cache
def unify_symbol(venue_symbol: str, settle: str | None = None) -> str:
    """`BTCUSDT` → `BTC/USDT`; with `settle="USDT"` → `BTC/USDT:USDT` (a swap settled in USDT).

    A delivery contract's expiry after an underscore becomes ccxt's date suffix:
    `BTCUSDT_240927` with settle `USDT` → `BTC/USDT:USDT-240927`.
    """
    pair, _, expiry = venue_symbol.upper().partition("_")
    for quote in QUOTE_ASSETS:
        if pair.endswith(quote) and len(pair) > len(quote):
            unified = f"{pair[: -len(quote)]}/{quote}"
            break
    else:
        raise ValueError(
            f"cannot split {venue_symbol!r} into base and quote: it ends in none of "
            f"{', '.join(QUOTE_ASSETS)}"
        )
    if settle is not None:
        unified += f":{settle.upper()}"
        if expiry:
            unified += f"-{expiry}"
    return unified
