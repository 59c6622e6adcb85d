"""The Powertools Logger and Metrics every function uses, configured the same way."""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

DEFAULT_SERVICE = "ticket-enhancer"
DEFAULT_NAMESPACE = "TicketEnhancer"


def make_logger(settings: Mapping[str, str]) -> Logger:
    return Logger(service=settings.get("POWERTOOLS_SERVICE_NAME", DEFAULT_SERVICE))


def make_metrics(tool: str, settings: Mapping[str, str]) -> Metrics:
    """Metrics with the tool as default dimension (Powertools keeps metric state per process)."""
    metrics = Metrics(namespace=settings.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE))
    if metrics.default_dimensions.get("tool") != tool:
        metrics.set_default_dimensions(tool=tool)
    return metrics
