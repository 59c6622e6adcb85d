"""The `ticket-enhancer` ops CLI. Dev-only dependencies are imported lazily, per command."""
