"""Business metrics as CloudWatch embedded metric format (EMF) lines, through Powertools.

Recording a metric makes no API call: plain values are buffered and printed as one EMF
line when the invocation ends (the observability middleware calls ``flush``); a value
with its own dimensions (a failure reason) is printed at once. CloudWatch turns the log
lines into metrics. Powertools is imported on the first metric,
so a function that records none pays nothing. Where metrics are switched off (the local
stage), nothing is recorded.
"""

from __future__ import annotations

import os
from typing import Any

NAMESPACE = "Chowline"

# The names services record; dashboards and alarms use the same constants.
ORDERS_PLACED = "OrdersPlaced"
ORDERS_CONFIRMED = "OrdersConfirmed"
ORDERS_FAILED = "OrdersFailed"
PAYMENT_LATENCY = "PaymentLatency"
DLQ_SENDS = "DlqSends"


class Metrics:
    """The metrics facade services call; one per container."""

    def __init__(self, namespace: str = NAMESPACE, service: str | None = None, stage: str = "") -> None:
        self._namespace = namespace
        self._service = service or os.environ.get("POWERTOOLS_SERVICE_NAME", "chowline")
        self._stage = stage
        self._metrics: Any = None
        self._pending = 0
        self._off: bool | None = None

    # --- what the order pipeline reports ---------------------------------------------

    def order_placed(self) -> None:
        self.count(ORDERS_PLACED)

    def order_confirmed(self) -> None:
        self.count(ORDERS_CONFIRMED)

    def order_failed(self, reason: str) -> None:
        """``reason``: a ``FailureReason`` of the orders domain (a small, fixed set:
        each value is its own CloudWatch metric)."""
        self.count(ORDERS_FAILED, reason=reason)

    def payment_latency(self, milliseconds: float, outcome: str) -> None:
        self.record(PAYMENT_LATENCY, milliseconds, unit="Milliseconds", outcome=outcome)

    def dlq_sent(self, count: int = 1) -> None:
        self.count(DLQ_SENDS, count)

    # --- generic ---------------------------------------------------------------------

    def count(self, name: str, value: int = 1, **dimensions: str) -> None:
        self.record(name, value, unit="Count", **dimensions)

    def record(self, name: str, value: float, unit: str = "Count", **dimensions: str) -> None:
        if self._switched_off():
            return
        if dimensions:
            # A dimension set belongs to the whole EMF line: dimensioned values get their own.
            from aws_lambda_powertools.metrics import single_metric

            with single_metric(
                name=name, unit=unit, value=value, namespace=self._namespace, default_dimensions=self._defaults()
            ) as metric:
                for key, dimension in dimensions.items():
                    metric.add_dimension(name=key, value=str(dimension))
            return
        self._provider().add_metric(name=name, unit=unit, value=value)
        self._pending += 1

    def flush(self) -> None:
        """Prints the buffered values as one EMF line; a no-op when nothing was recorded."""
        if self._pending and self._metrics is not None:
            self._pending = 0
            self._metrics.flush_metrics()

    def _defaults(self) -> dict[str, str]:
        defaults = {"service": self._service}
        if self._stage:
            defaults["stage"] = self._stage
        return defaults

    def _switched_off(self) -> bool:
        """Powertools' switch (POWERTOOLS_METRICS_DISABLED, or POWERTOOLS_DEV alone, as on the
        local stage). Switched off, Powertools never flushes its buffer but prints it whole
        once a metric holds 100 values: so nothing is recorded at all."""
        if self._off is None:
            from aws_lambda_powertools.metrics.functions import is_metrics_disabled

            self._off = is_metrics_disabled()
        return self._off

    def _provider(self) -> Any:
        if self._metrics is None:
            from aws_lambda_powertools.metrics import Metrics as EmfMetrics

            self._metrics = EmfMetrics(namespace=self._namespace, service=self._service)
            if self._stage:
                self._metrics.set_default_dimensions(stage=self._stage)
        return self._metrics
