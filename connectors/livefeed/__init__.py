"""The live feed: venues' market data, read through ccxt, onto the market topics.

- `config.py`: the `[feed.venues.<name>]` tables;
- `core.py`: the pure part (records, the book's snapshots and diffs, trade dedupe, staleness);
- the processor (`fillstream run feed`, ccxt.pro streams or REST polls) is an engine
  process: fillstream/livefeed_service.py.
docs/ARCHITECTURE.md ("The live feed") tells how it behaves.
"""

__all__ = ["NAME", "TOPICS"]

NAME = "feed"  # as a process of `fillstream up`, a Kafka principal and on `metrics`
TOPICS = ("market.quotes", "market.trades", "market.book", "market.reference")  # it writes
