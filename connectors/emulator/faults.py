"""HTTP faults to inject: latency, timeouts, rate-limit bans and gateway errors.

Each planned failure answers the next `count` requests that match it (any request, or only a
method and path), first planned first; `latency_s` delays every request. The answers are the
ones a client meets from Binance and the proxies in front of it:
- `429` and `418`: Binance's rate-limit and ban answers (-1003, with Retry-After);
- `502`, `504`: empty bodies, as a load balancer sends them; `503`: an HTML page;
- `timeout`: no answer until `hold_s` has passed (past any sensible client timeout);
- `timeout_after`: the request is carried out (an order is placed), then the answer is held: the
  client times out not knowing that its order exists;
- `insufficient_balance`: the venue refuses the request for want of money (Binance's -2010,
  Nobitex's OverValueOrder), as it does when another client of the same key spent the balance
  the gateway last read.
The faults on orders themselves (partial fills, a lost order) live with the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["DEFAULT_HOLD_S", "Failure", "Faults", "Planned"]

DEFAULT_HOLD_S = 30.0


class Failure(StrEnum):
    TOO_MANY_REQUESTS = "429"
    BANNED = "418"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    GATEWAY_TIMEOUT = "504"
    TIMEOUT = "timeout"
    TIMEOUT_AFTER = "timeout_after"
    INSUFFICIENT_BALANCE = "insufficient_balance"


@dataclass
class Planned:
    """A failure for the next `count` requests that match `method` and `path` (None: any)."""

    failure: Failure
    count: int = 1
    method: str | None = None
    path: str | None = None
    hold_s: float = DEFAULT_HOLD_S

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or self.path == path
        )


@dataclass
class Faults:
    """What goes wrong with the next requests (see the module docstring)."""

    latency_s: float = 0.0
    planned: list[Planned] = field(default_factory=list)

    def fail_next(
        self,
        failure: Failure | str,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        hold_s: float = DEFAULT_HOLD_S,
    ) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        self.planned.append(Planned(Failure(failure), count, method, path, hold_s))

    def take(self, method: str, path: str) -> Planned | None:
        """The failure this request meets, if any (it counts against its `count`)."""
        for planned in self.planned:
            if planned.matches(method, path):
                planned.count -= 1
                if planned.count == 0:
                    self.planned.remove(planned)
                return planned
        return None

    def clear(self) -> None:
        self.latency_s = 0.0
        self.planned.clear()
