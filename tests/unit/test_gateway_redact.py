"""No credential reaches a log line, an exception's text or a metrics label."""

from __future__ import annotations

import io
import logging

import ccxt

from fillstream.connectors.gateway.config import Credentials, Secret
from fillstream.connectors.gateway.redact import MASK, RedactingFilter, Redactor

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
CREDENTIALS = Credentials(Secret(API_KEY), Secret(SECRET))


def _logger() -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(Redactor(CREDENTIALS.values())))
    logger = logging.getLogger("gateway-redact-test")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, out


def test_logged_messages_arguments_and_tracebacks_carry_no_secret() -> None:
    logger, out = _logger()
    url = f"https://api.binance.com/api/v3/order?symbol=BTCUSDT&timestamp=1&signature={SIGNATURE}"
    logger.info("POST %s headers=%s", url, {"X-MBX-APIKEY": API_KEY})
    logger.debug("config %r with secret %s", {"apiKey": API_KEY, "secret": SECRET}, SECRET)
    logger.getChild("ccxt").warning("signed with %s", SECRET)  # a child's, through the handler
    try:
        raise ccxt.AuthenticationError(f"binance rejected key {API_KEY} for {url}")
    except ccxt.AuthenticationError:
        logger.exception("create failed")
    text = out.getvalue()
    for secret in (API_KEY, SECRET, SIGNATURE):
        assert secret not in text
    assert "signed with ***" in text and "signature=***" in text and "'X-MBX-APIKEY': '***'" in text
    assert "AuthenticationError: binance rejected key *** for" in text  # traceback kept
    assert "Traceback" in text


def test_headers_and_keyed_values_are_masked_even_when_not_configured() -> None:
    redactor = Redactor()
    assert redactor.scrub("X-MBX-APIKEY: abc123 next") == "X-MBX-APIKEY: *** next"
    assert redactor.scrub('{"apiKey": "k1", "password": "p2"}') == (
        '{"apiKey": "***", "password": "***"}'
    )
    assert redactor.scrub("a=1&signature=ff00&b=2") == "a=1&signature=***&b=2"
    assert redactor.scrub("nothing secret here") == "nothing secret here"


def test_a_secret_inside_another_is_masked_whole() -> None:
    redactor = Redactor(["abcdef", "cde", ""])
    assert redactor.scrub("xxabcdefxx cde") == f"xx{MASK}xx {MASK}"


def test_errors_and_metrics_labels() -> None:
    redactor = Redactor(CREDENTIALS.values())
    error = ccxt.InsufficientFunds(f"key {API_KEY}")
    assert redactor.scrub_error(error) == "InsufficientFunds: key ***"
    labels = {"venue": "binance", "error": f"bad key {API_KEY}"}
    assert redactor.scrub_labels(labels) == {"venue": "binance", "error": "bad key ***"}
