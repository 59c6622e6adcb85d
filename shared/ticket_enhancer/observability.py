"""The Powertools Logger and Metrics every function uses, configured the same way."""

from __future__ import annotations

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

from ticket_enhancer.settings import Settings


def make_logger(settings: Settings) -> Logger:
    return Logger(service=settings.service_name)


def make_metrics(tool: str, settings: Settings) -> Metrics:
    """Metrics with the tool as default dimension (Powertools keeps metric state per process)."""
    metrics = Metrics(namespace=settings.metrics_namespace)
    if metrics.default_dimensions.get("tool") != tool:
        metrics.set_default_dimensions(tool=tool)
    return metrics
