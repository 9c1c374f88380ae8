"""Lazily created, cached boto3 clients for the demo jobs.

Clients are created on first use, never at import time, so importing the jobs needs no AWS
credentials and tests can point boto3 at moto first. They use the default session: region
from ``AWS_DEFAULT_REGION`` and endpoint from ``AWS_ENDPOINT_URL`` when set (local mode).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode retries throttling and transient errors with backoff inside one attempt.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3})
_clients: dict[str, Any] = {}
# boto3's default session is not thread-safe while it creates clients.
_lock = threading.Lock()


def client(service: str) -> Any:
    """The shared boto3 client for ``service`` (e.g. ``"s3"``), created on first use."""
    with _lock:
        if service not in _clients:
            _clients[service] = boto3.client(service, config=_CONFIG)
        return _clients[service]


def reset_clients() -> None:
    """Forget cached clients (tests call this between moto mocks or endpoint changes)."""
    with _lock:
        _clients.clear()
