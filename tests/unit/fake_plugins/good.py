"""A well-formed third-party plugin, tool type ``good``."""

from __future__ import annotations

from tests.unit.fake_plugins.stub import StubPlugin


class GoodPlugin(StubPlugin):
    __tool_type__ = "good"
    __version__ = "2.3.4"
    __plugin_api__ = ">=1,<2"
