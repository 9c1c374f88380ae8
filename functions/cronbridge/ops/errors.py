"""Errors of the operations layer, and one-line descriptions of the SDK's."""

from __future__ import annotations

from cronbridge.core.errors import CronbridgeError, StoreBusyError


class InvalidRequest(CronbridgeError):
    """The request is malformed (a bad window, payload or slot id): fix the input.

    Attributes:
        param: the option or field at fault (``--since``), or ``None``.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class OperationError(CronbridgeError):
    """The request was understood but the target could not carry it out."""


class NotDeployedError(OperationError):
    """The target lacks a resource of the job (its queue, rule ...)."""


def describe_error(exc: BaseException, where: str, table: str) -> str | None:
    """One line saying what went wrong talking to the target ``where`` (``table``: the run
    table's name), or ``None`` when ``exc`` is not an SDK, run-table or cronbridge error."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )
    from pynamodb.exceptions import PynamoDBException

    if isinstance(exc, OperationError):
        return str(exc)
    if isinstance(exc, NoCredentialsError):
        return ("no AWS credentials: configure the default chain (e.g. AWS_PROFILE), "
                "or for `cronbridge local --serve` export the line it prints")
    if isinstance(exc, EndpointConnectionError):
        return (f"cannot reach {where}: {exc}. Is `cronbridge local --serve` running, "
                f"and is AWS_ENDPOINT_URL right?")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{where}: {error.get('Code')}: {error.get('Message')}"
    if isinstance(exc, PynamoDBException):
        return f"run table {table!r} on {where}: {exc.cause_response_message or exc}"
    if isinstance(exc, (BotoCoreError, StoreBusyError, CronbridgeError)):
        return f"{where}: {exc}"
    return None
