"""Binance's error answers: `{"code", "msg"}` with the HTTP status Binance sends them with.

The codes and messages are the ones ccxt maps to its exceptions (docs/EMULATOR.md has the table),
so a client meets the emulator's refusals exactly as it would meet the real venue's.
"""

from __future__ import annotations

__all__ = [
    "BinanceError",
    "bad_api_key",
    "bad_parameter",
    "bad_signature",
    "cancel_unknown",
    "duplicate_order",
    "fetch_unknown",
    "insufficient_balance",
    "mandatory",
    "stale_timestamp",
    "unknown_symbol",
]


class BinanceError(Exception):
    """A refusal the HTTP layer answers as `{"code": code, "msg": msg}` with `status`."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, int | str]:
        return {"code": self.code, "msg": self.msg}


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def bad_parameter(name: str) -> BinanceError:
    return BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")


def fetch_unknown() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def cancel_unknown() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


def insufficient_balance() -> BinanceError:
    return BinanceError(-2010, "Account has insufficient balance for requested action.")


def duplicate_order() -> BinanceError:
    return BinanceError(-2010, "Duplicate order sent.")


def unknown_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def bad_api_key() -> BinanceError:
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def bad_signature() -> BinanceError:
    return BinanceError(-1022, "Signature for this request is not valid.")


def stale_timestamp() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
