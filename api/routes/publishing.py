"""Records the API publishes: the issuer it names, a broker that does not take them answered
with 503, and an operator command answered with 202."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException
from fastapi import Request
from fastapi.responses import JSONResponse

from fillstream.api.envelope import ApiError, ErrorCode, respond
from fillstream.api.routes.answers import as_json
from fillstream.api.services import Services
from fillstream.schemas.models import Command

__all__ = ["ISSUER", "publish", "publish_command"]

ISSUER = "api"


def publish(send: Callable[[list[Any]], int], records: list[Any]) -> None:
    try:
        send(records)
    except KafkaException as error:
        raise ApiError(
            503, ErrorCode.BROKER_UNAVAILABLE, "the broker did not take the record"
        ) from error


def publish_command(services: Services, request: Request, built: Command) -> JSONResponse:
    publish(services.publish_commands, [built])
    return respond(request, {"command": as_json(built)}, 202)
