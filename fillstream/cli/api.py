"""`fillstream api`: serve the REST API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fillstream.cli.cluster import require_cluster
from fillstream.cli.console import fail

__all__ = ["serve_api"]


def serve_api(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) (default: the shipped one).")
    ] = None,
) -> None:
    """Serve the REST API (docs at /api/v1/docs) until stopped.

    API keys come from FILLSTREAM_API_KEYS: key:scope pairs, comma-separated, scope read,
    trade or admin.
    """
    from fillstream.api.server import api_settings, run
    from fillstream.settings.kafka_client import act_as

    act_as("api")  # FILLSTREAM_KAFKA_ROLE=viewer serves it read-only
    try:
        chosen = api_settings(config)
    except ValueError as error:  # ConfigError is one too
        raise fail(str(error)) from None
    require_cluster()
    run(host, port, chosen)
