"""Keep credentials out of logs, exception text and metrics labels.

Two kinds of leak: a configured secret quoted anywhere (an API key echoed in an error), and the
values ccxt itself puts into request text, a Binance `signature=` in a URL or the
`X-MBX-APIKEY` header in a dump of headers. A `Redactor` replaces both with `***`. Attach
`RedactingFilter` to every handler (a logger's own filters do not see records from its
children): it scrubs the message, its arguments, and the traceback text, before any formatter.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable, Mapping

__all__ = ["MASK", "RedactingFilter", "Redactor"]

MASK = "***"

# key=value or key: value, quoted or not, as in URLs, headers and dict reprs.
_KEYED = re.compile(
    r"""(?P<key>signature|X-MBX-APIKEY|api[-_]?key|secret|password|passphrase)"""
    r"""(?P<gap>['"]?\s*[=:]\s*['"]?)(?P<value>[^'"\s&,;}\]]+)""",
    re.IGNORECASE,
)


class Redactor:
    """Scrubs the given secrets (their exact text) and keyed credential values from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        values = sorted({value for value in secrets if value}, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, values))) if values else None

    def scrub(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        return _KEYED.sub(lambda match: f"{match['key']}{match['gap']}{MASK}", text)

    def scrub_error(self, error: BaseException) -> str:
        """An exception as `Type: message`, fit for a report's reason or a log line."""
        return self.scrub(f"{type(error).__name__}: {error}")

    def scrub_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        return {key: self.scrub(value) for key, value in labels.items()}


class RedactingFilter(logging.Filter):
    """Rewrites each record in place with its text scrubbed; never drops a record."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        scrub = self._redactor.scrub
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True
