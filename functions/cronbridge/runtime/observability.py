"""Powertools wiring: JSON logs, X-Ray subsegments and EMF metrics behind the Telemetry port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from cronbridge.core import metrics as m


class PowertoolsTelemetry:
    """The :class:`~cronbridge.core.ports.Telemetry` port with Powertools.

    Metrics go out one EMF document per data point so each carries its own ``job``
    dimension, even in a batch that mixes jobs. Tracing follows Powertools' own switch
    (off outside Lambda, or with ``POWERTOOLS_TRACE_DISABLED=true``).
    """

    def __init__(self, logger: Logger | None = None, tracer: Tracer | None = None) -> None:
        self.logger = logger or Logger(service=m.SERVICE)
        self.tracer = tracer or Tracer(service=m.SERVICE)
        self._invocation_keys = set(self.logger.get_current_keys())

    def mark_invocation(self) -> None:
        """Keep the keys set now (the Lambda context's) through every :meth:`reset` of this
        invocation; call once the handler has set them."""
        self._invocation_keys = set(self.logger.get_current_keys())

    def bind(self, **keys: Any) -> None:
        self.logger.append_keys(**{k: v for k, v in keys.items() if v is not None})

    def reset(self) -> None:
        """Drop every key set since :meth:`mark_invocation`: ours and those the job code
        appended itself (``ctx.logger.append_keys``), so none reaches the next record."""
        stale = set(self.logger.get_current_keys()) - self._invocation_keys
        if stale:
            self.logger.remove_keys(list(stale))

    def metric(self, job: str, name: str, value: float = 1.0, unit: str = "Count") -> None:
        with single_metric(name=name, unit=MetricUnit(unit), value=value,
                           namespace=m.NAMESPACE,
                           default_dimensions={"service": m.SERVICE, m.DIMENSION_JOB: job}):
            pass

    @contextmanager
    def span(self, name: str, **annotations: str) -> Iterator[Any]:
        with self.tracer.provider.in_subsegment(f"## {name}") as subsegment:
            for key, value in annotations.items():
                subsegment.put_annotation(key, value)
            yield subsegment
