"""Market data (`/market-data`): each venue's book and quote of a symbol, and its trades."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from fillstream.api.access import Scoped, area
from fillstream.api.envelope import Envelope, respond
from fillstream.api.routes.answers import as_json, not_found
from fillstream.api.security import Scope
from fillstream.api.services import Services
from fillstream.connectors.simvenue.book import BookView
from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import Side

__all__ = ["router"]


def _levels(book: BookView, side: Side, depth: int) -> list[dict[str, str]]:
    levels = []
    for price, quantity in book.levels(side):
        if len(levels) == depth:
            break
        levels.append({"price": format_decimal(price), "quantity": format_decimal(quantity)})
    return levels


def router(services: Services, scoped: Scoped) -> APIRouter:
    """A symbol's books, quotes and trades, as the view follows them."""
    read = scoped(Scope.READ)

    @read.get("/market-data/{symbol:path}", response_model=Envelope[dict[str, Any]])
    def market_data(
        request: Request,
        symbol: Annotated[str, Path(min_length=1, max_length=128)],
        depth: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> JSONResponse:
        """The current book of a symbol at each venue (e.g. BTC/USDT): the latest quote and
        `depth` levels a side; and its last trade with the volume, high and low of the 24
        hours up to the latest market data (from `market.trades`, by the minute)."""
        with services.lock:
            window = services.view.trades.get(symbol)
            trades = window.stats(services.view.market_time(symbol)) if window else None
            books = services.view.books.get(symbol, {})
            quotes = services.view.quotes.get(symbol, {})
            venues = {
                venue: {
                    "quote": as_json(quotes[venue]) if venue in quotes else None,
                    "bids": _levels(book, Side.BUY, depth),
                    "asks": _levels(book, Side.SELL, depth),
                    "updated_at": services.view.book_times.get((symbol, venue)),
                }
                for venue, book in sorted(books.items())
            }
        if not venues and trades is None:
            raise not_found("market data for symbol", symbol)
        return respond(request, {"symbol": symbol, "venues": venues, "trades": trades})

    return area(read)
