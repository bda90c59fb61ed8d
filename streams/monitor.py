"""The risk monitor's core: alerts from the pipeline's own figures, over a sliding window.

The state is folded from `Metric` records of `metrics` (each at its own timestamp) and
`TcaResult` records of `tca` (each at the time it was published: its `completed_at` is market
time, years old in a replay). `evaluate` says which conditions hold at `now_us`:

- **rejection rate**: risk's Δ`rejections_total` (every reason) / Δ`records_in_total{topic=
  signals}` over the window, once at least `min_signals` signals came in;
- **latency**: per processor, the `latency_quantile` of `hop_latency_seconds` from the bucket
  increases over the window (every worker and input topic summed by `le`), interpolated as
  Prometheus' `histogram_quantile` does, once at least `min_latency_samples` records were timed;
- **shortfall**: the mean `total_cost_bps` (Perold implementation shortfall) of the orders
  completed in the window, overall and optionally per strategy, once there are `min_orders`;
- **heartbeat**: a processor none of whose workers sent a `heartbeat` for the timeout;
- **stale feed**: a venue symbol of the live feed (`feed_staleness_seconds{venue, symbol}`)
  with nothing received for longer than `max_feed_staleness_seconds`: its latest figure plus
  the time since it was published, so a feed that stops reporting altogether still goes stale.

Counters are cumulative per worker (`worker` label, host:pid), so increases are taken per
series and summed. An increase is measured from the last sample at or before the window's
start, so a window is never emptier than the publication period. A value that drops is a
counter that restarted from zero. A series first seen is only a baseline, unless its counting
began while the monitor watched: a new series of a worker already reporting (a reason code's
first rejection), or any series of a worker that appeared after the monitor started; those
count from zero.

`transition` turns the conditions into changes: an alert fires once when its condition
becomes true and resolves once when it becomes false, however often it is evaluated.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import accumulate, pairwise
from typing import Any

from fillstream.schemas.models import Metric, MetricKind, TcaResult
from fillstream.settings.tables import refuse_unknown

__all__ = [
    "Alert",
    "AlertKey",
    "Changes",
    "MonitorConfig",
    "MonitorState",
    "Rule",
    "Severity",
    "evaluate",
    "forget",
    "histogram_quantile",
    "observe_metric",
    "observe_tca",
    "transition",
]

SECOND_US = 1_000_000
# A running worker heartbeats every second, so every worker alive when the monitor starts is
# seen within this long; one first seen later started since, its counters from zero.
NEW_WORKER_AFTER_US = 5 * SECOND_US
# Series silent this many windows are dropped (a worker that is gone).
FORGET_AFTER_WINDOWS = 10
# The live feed's figure (fillstream/livefeed_service.py).
FEED_STALENESS = "feed_staleness_seconds"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class Rule(StrEnum):
    REJECTION_RATE = "rejection_rate"
    LATENCY = "latency"
    SHORTFALL = "shortfall"
    HEARTBEAT = "heartbeat"
    STALE_FEED = "stale_feed"

    @property
    def severity(self) -> Severity:
        """A silent processor may have stopped trading altogether, and a stale feed has risk
        and the algorithms price orders off a market that has moved on; the rest degrade it."""
        return Severity.CRITICAL if self in (Rule.HEARTBEAT, Rule.STALE_FEED) else Severity.WARNING


# -- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorConfig:
    """The thresholds (`[monitor]` in the engine config). Rates are fractions (0.1 = 10%)."""

    window_us: int = 60 * SECOND_US
    max_rejection_rate: float = 0.10
    min_signals: int = 20
    latency_quantile: float = 0.99
    max_latency_ms: float = 500.0
    max_latency_ms_by_processor: Mapping[str, float] = field(default_factory=dict)
    min_latency_samples: int = 20
    max_shortfall_bps: float = 50.0
    min_orders: int = 5
    shortfall_by_strategy: bool = False
    heartbeat_timeout_us: int = 10 * SECOND_US
    max_feed_staleness_us: int = 30 * SECOND_US

    def max_latency_ms_of(self, processor: str) -> float:
        return self.max_latency_ms_by_processor.get(processor, self.max_latency_ms)

    @classmethod
    def from_dict(cls, table: Mapping[str, Any], *, where: str = "monitor") -> MonitorConfig:
        """The thresholds from the `[monitor]` table; raises ValueError naming any bad entry."""
        if not isinstance(table, Mapping):
            raise ValueError(f"{where}: expected a table ([{where}]), got {table!r}")
        default = cls()
        refuse_unknown(table, _FIELDS, where)

        def get(name: str, parse: Any, fallback: Any) -> Any:
            return parse(table[name], f"{where}.{name}") if name in table else fallback

        by_processor = table.get("max_latency_ms_by_processor", {})
        if not isinstance(by_processor, Mapping):
            raise ValueError(
                f"{where}.max_latency_ms_by_processor: expected a table of processor = "
                f"milliseconds, got {by_processor!r}"
            )
        return cls(
            window_us=get("window_seconds", _seconds_us, default.window_us),
            max_rejection_rate=get("max_rejection_rate", _fraction, default.max_rejection_rate),
            min_signals=get("min_signals", _count, default.min_signals),
            latency_quantile=get("latency_quantile", _quantile, default.latency_quantile),
            max_latency_ms=get("max_latency_ms", _positive, default.max_latency_ms),
            max_latency_ms_by_processor={
                processor: _positive(value, f"{where}.max_latency_ms_by_processor.{processor}")
                for processor, value in by_processor.items()
            },
            min_latency_samples=get("min_latency_samples", _count, default.min_latency_samples),
            max_shortfall_bps=get("max_shortfall_bps", _number, default.max_shortfall_bps),
            min_orders=get("min_orders", _count, default.min_orders),
            shortfall_by_strategy=get("shortfall_by_strategy", _flag, False),
            heartbeat_timeout_us=get(
                "heartbeat_timeout_seconds", _seconds_us, default.heartbeat_timeout_us
            ),
            max_feed_staleness_us=get(
                "max_feed_staleness_seconds", _seconds_us, default.max_feed_staleness_us
            ),
        )


_FIELDS = {
    "window_seconds",
    "max_rejection_rate",
    "min_signals",
    "latency_quantile",
    "max_latency_ms",
    "max_latency_ms_by_processor",
    "min_latency_samples",
    "max_shortfall_bps",
    "min_orders",
    "shortfall_by_strategy",
    "heartbeat_timeout_seconds",
    "max_feed_staleness_seconds",
}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _positive(value: Any, where: str) -> float:
    number = _number(value, where)
    if number <= 0:
        raise ValueError(f"{where}: expected a number > 0, got {value!r}")
    return number


def _seconds_us(value: Any, where: str) -> int:
    return round(_positive(value, where) * SECOND_US)


def _fraction(value: Any, where: str) -> float:
    number = _number(value, where)
    if not 0 <= number <= 1:
        raise ValueError(f"{where}: expected a fraction from 0 to 1 (0.1 = 10%), got {value!r}")
    return number


def _quantile(value: Any, where: str) -> float:
    number = _number(value, where)
    if not 0 < number < 1:
        raise ValueError(
            f"{where}: expected a quantile between 0 and 1 (0.99 = p99), got {value!r}"
        )
    return number


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: expected a whole number >= 1, got {value!r}")
    return value


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    return value


# -- state ---------------------------------------------------------------------------------

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs


@dataclass
class _Series:
    """One cumulative series (a counter or a histogram bucket) of one worker."""

    from_zero: bool  # began counting while watched: its first sample is all increase
    samples: list[tuple[int, float]] = field(default_factory=list)  # (µs, value), time order


@dataclass
class _Worker:
    first_seen_us: int
    last_seen_us: int
    first_cumulative_us: int | None = None  # its first counter publication


@dataclass(frozen=True)
class _Completed:
    at_us: int
    strategy_id: str
    total_cost_bps: float


@dataclass
class MonitorState:
    """What the monitor has seen: plain values, folded by `observe_*`, trimmed by `forget`."""

    since_us: int | None = None  # the first record's time: when watching began
    series: dict[tuple[str, str], dict[Labels, _Series]] = field(default_factory=dict)
    workers: dict[str, _Worker] = field(default_factory=dict)
    heartbeats: dict[str, int] = field(default_factory=dict)  # processor → latest µs
    completed: list[_Completed] = field(default_factory=list)  # time order
    # (venue, symbol) → (µs, seconds): the live feed's latest staleness figure and its time
    feeds: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)


def observe_metric(state: MonitorState, metric: Metric) -> None:
    """Fold one `metrics` record in, at its own timestamp."""
    at_us = metric.timestamp
    if state.since_us is None:
        state.since_us = at_us
    worker_id = metric.labels.get("worker", "")
    worker = state.workers.setdefault(worker_id, _Worker(at_us, at_us))
    worker.last_seen_us = max(worker.last_seen_us, at_us)
    if metric.name == "heartbeat":
        state.heartbeats[metric.processor] = max(state.heartbeats.get(metric.processor, 0), at_us)
        return
    if metric.name == FEED_STALENESS:
        feed = metric.labels.get("venue", ""), metric.labels.get("symbol", "")
        if at_us >= state.feeds.get(feed, (0, 0.0))[0]:
            state.feeds[feed] = (at_us, metric.value)
        return
    if metric.kind is MetricKind.GAUGE:
        return
    if worker.first_cumulative_us is None:
        worker.first_cumulative_us = at_us
    labels = tuple(sorted(metric.labels.items()))
    family = state.series.setdefault((metric.processor, metric.name), {})
    series = family.get(labels)
    if series is None:
        new_worker = worker.first_seen_us - state.since_us > NEW_WORKER_AFTER_US
        series = family[labels] = _Series(new_worker or at_us > worker.first_cumulative_us)
    insort(series.samples, (at_us, metric.value))


def observe_tca(state: MonitorState, result: TcaResult, at_us: int) -> None:
    """Fold one order's TCA in, as completed at `at_us` (when it was published)."""
    if state.since_us is None:
        state.since_us = at_us
    if result.total_cost_bps is not None:
        insort(
            state.completed,
            _Completed(at_us, result.strategy_id, result.total_cost_bps),
            key=lambda order: order.at_us,
        )


def forget(state: MonitorState, now_us: int, config: MonitorConfig) -> None:
    """Drop what no window from `now_us` on can need: samples before the last one preceding
    the window, orders completed before it, series and workers long silent."""
    start = now_us - config.window_us
    silent = now_us - FORGET_AFTER_WINDOWS * config.window_us
    for family in state.series.values():
        for labels, series in list(family.items()):
            if series.samples[-1][0] < silent:
                del family[labels]
                continue
            before = bisect_right(series.samples, start, key=lambda sample: sample[0])
            del series.samples[: max(before - 1, 0)]
    state.workers = {
        name: worker for name, worker in state.workers.items() if worker.last_seen_us >= silent
    }
    del state.completed[: bisect_right(state.completed, start, key=lambda order: order.at_us)]


def _increase(series: _Series, start_us: int, end_us: int) -> float:
    """How much the series counted in (start_us, end_us]; a drop is a restart from zero."""
    samples = series.samples
    first = bisect_right(samples, start_us, key=lambda sample: sample[0])
    last = bisect_right(samples, end_us, key=lambda sample: sample[0])
    values = [value for _, value in samples[first:last]]
    if first > 0:
        values.insert(0, samples[first - 1][1])
    elif series.from_zero:
        values.insert(0, 0.0)
    return sum(after - before if after >= before else after for before, after in pairwise(values))


def _increases(
    state: MonitorState, processor: str, name: str, start_us: int, end_us: int
) -> list[tuple[dict[str, str], float]]:
    """Each series' increase over the window, with its labels."""
    family = state.series.get((processor, name), {})
    return [
        (dict(labels), _increase(series, start_us, end_us)) for labels, series in family.items()
    ]


# -- evaluation ----------------------------------------------------------------------------

AlertKey = tuple[Rule, Labels]


@dataclass(frozen=True)
class Alert:
    """A condition that holds: the rule, the figure against its threshold, in words too."""

    rule: Rule
    value: float
    threshold: float
    message: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def key(self) -> AlertKey:
        """One alert per rule and labels (per processor, per strategy)."""
        return self.rule, tuple(sorted(self.labels.items()))


def evaluate(state: MonitorState, now_us: int, config: MonitorConfig) -> list[Alert]:
    """The alerts whose conditions hold over the window ending at `now_us`."""
    start_us = now_us - config.window_us
    window = f"in the last {config.window_us / SECOND_US:g} s"
    return [
        *_rejection_rate(state, start_us, now_us, config, window),
        *_latency(state, start_us, now_us, config, window),
        *_shortfall(state, start_us, now_us, config, window),
        *_heartbeats(state, now_us, config),
        *_stale_feeds(state, now_us, config),
    ]


def _rejection_rate(
    state: MonitorState, start_us: int, now_us: int, config: MonitorConfig, window: str
) -> list[Alert]:
    signals = sum(
        increase
        for labels, increase in _increases(state, "risk", "records_in_total", start_us, now_us)
        if labels.get("topic") == "signals"
    )
    if signals < config.min_signals:
        return []
    rejections = sum(
        increase for _, increase in _increases(state, "risk", "rejections_total", start_us, now_us)
    )
    rate = rejections / signals
    if rate <= config.max_rejection_rate:
        return []
    message = (
        f"risk rejected {rate:.1%} of {signals:g} signals {window} "
        f"(threshold {config.max_rejection_rate:.1%})"
    )
    return [Alert(Rule.REJECTION_RATE, rate, config.max_rejection_rate, message)]


def _latency(
    state: MonitorState, start_us: int, now_us: int, config: MonitorConfig, window: str
) -> list[Alert]:
    alerts = []
    quantile = f"p{config.latency_quantile * 100:g}"
    for processor, name in sorted(state.series):
        if name != "hop_latency_seconds_bucket":
            continue
        buckets: dict[float, float] = {}
        for labels, increase in _increases(state, processor, name, start_us, now_us):
            bound = float(labels.get("le", "nan"))
            if not math.isnan(bound):
                buckets[bound] = buckets.get(bound, 0.0) + increase
        timed = buckets.get(math.inf, 0.0)
        seconds = histogram_quantile(config.latency_quantile, buckets)
        if seconds is None or timed < config.min_latency_samples:
            continue
        threshold = config.max_latency_ms_of(processor)
        if seconds * 1000 <= threshold:
            continue
        message = (
            f"{processor} hop latency {quantile} {seconds * 1000:.1f} ms over {timed:g} records "
            f"{window} (threshold {threshold:g} ms)"
        )
        alerts.append(
            Alert(Rule.LATENCY, seconds * 1000, threshold, message, {"processor": processor})
        )
    return alerts


def histogram_quantile(quantile: float, buckets: Mapping[float, float]) -> float | None:
    """The `quantile` (0 < q < 1) of a histogram given as cumulative counts by upper bound
    (`le`, +Inf included), interpolated linearly within its bucket as Prometheus'
    `histogram_quantile` does; None without a +Inf bucket or observations. Observations above
    the largest finite bound are reported at that bound."""
    bounds = sorted(buckets)
    if len(bounds) < 2 or bounds[-1] != math.inf:
        return None
    counts = list(accumulate((buckets[bound] for bound in bounds), max))  # monotonic, as it does
    rank = quantile * counts[-1]
    if rank <= 0:
        return None
    found = bisect_left(counts, rank)
    if found == len(bounds) - 1:
        return bounds[-2]
    if found == 0 and bounds[0] <= 0:
        return bounds[0]
    lower, below = (0.0, 0.0) if found == 0 else (bounds[found - 1], counts[found - 1])
    return lower + (bounds[found] - lower) * (rank - below) / (counts[found] - below)


def _shortfall(
    state: MonitorState, start_us: int, now_us: int, config: MonitorConfig, window: str
) -> list[Alert]:
    first = bisect_right(state.completed, start_us, key=lambda order: order.at_us)
    last = bisect_right(state.completed, now_us, key=lambda order: order.at_us)
    orders = state.completed[first:last]
    groups: dict[str | None, list[float]] = {None: [order.total_cost_bps for order in orders]}
    if config.shortfall_by_strategy:
        for order in orders:
            groups.setdefault(order.strategy_id, []).append(order.total_cost_bps)
    alerts = []
    for strategy_id, costs in groups.items():
        if len(costs) < config.min_orders:
            continue
        mean = sum(costs) / len(costs)
        if mean <= config.max_shortfall_bps:
            continue
        whose = "" if strategy_id is None else f" of strategy {strategy_id}"
        message = (
            f"mean implementation shortfall{whose} {mean:.1f} bps over {len(costs)} orders "
            f"{window} (threshold {config.max_shortfall_bps:g} bps)"
        )
        labels = {} if strategy_id is None else {"strategy_id": strategy_id}
        alerts.append(Alert(Rule.SHORTFALL, mean, config.max_shortfall_bps, message, labels))
    return alerts


def _heartbeats(state: MonitorState, now_us: int, config: MonitorConfig) -> list[Alert]:
    alerts = []
    timeout = config.heartbeat_timeout_us / SECOND_US
    for processor, last_us in sorted(state.heartbeats.items()):
        silent = (now_us - last_us) / SECOND_US
        if silent <= timeout:
            continue
        message = f"no heartbeat from {processor} for {silent:.1f} s (threshold {timeout:g} s)"
        alerts.append(Alert(Rule.HEARTBEAT, silent, timeout, message, {"processor": processor}))
    return alerts


def _stale_feeds(state: MonitorState, now_us: int, config: MonitorConfig) -> list[Alert]:
    alerts = []
    threshold = config.max_feed_staleness_us / SECOND_US
    for (venue, symbol), (at_us, seconds) in sorted(state.feeds.items()):
        stale = seconds + max(now_us - at_us, 0) / SECOND_US
        if stale <= threshold:
            continue
        message = (
            f"no market data from {venue} for {symbol} for {stale:.1f} s "
            f"(threshold {threshold:g} s)"
        )
        labels = {"venue": venue, "symbol": symbol}
        alerts.append(Alert(Rule.STALE_FEED, stale, threshold, message, labels))
    return alerts


# -- transitions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    """What an evaluation changes: the alerts firing after it, and which fired or resolved."""

    firing: Mapping[AlertKey, Alert]
    fired: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()


def transition(firing: Mapping[AlertKey, Alert], holding: Iterable[Alert]) -> Changes:
    """Fire what newly holds, resolve what no longer does (as last seen firing), and nothing
    for what goes on holding."""
    now = {alert.key: alert for alert in holding}
    return Changes(
        now,
        tuple(alert for key, alert in now.items() if key not in firing),
        tuple(alert for key, alert in firing.items() if key not in now),
    )
