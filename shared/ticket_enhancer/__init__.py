"""Ticket Enhancer: enriches new service-desk tickets with an internal note.

This package ships in the shared Lambda layer. It deliberately imports nothing here: every
function imports only the modules it needs (cold start is a feature).
"""

__version__ = "0.1.0"
