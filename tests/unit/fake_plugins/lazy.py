"""A well-formed plugin used only to observe when the registry imports its module."""

from __future__ import annotations

from tests.unit.fake_plugins.stub import StubPlugin


class LazyPlugin(StubPlugin):
    __tool_type__ = "lazy"
    __version__ = "0.1.0"
    __plugin_api__ = ">=1,<2"
