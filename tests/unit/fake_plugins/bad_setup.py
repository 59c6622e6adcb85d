"""A plugin whose setup() hook fails."""

from __future__ import annotations

from tests.unit.fake_plugins.stub import StubPlugin


class BadSetupPlugin(StubPlugin):
    __tool_type__ = "bad_setup"
    __version__ = "1.0.0"
    __plugin_api__ = ">=1,<2"

    def setup(self) -> None:
        super().setup()
        raise RuntimeError("cannot reach the licence server")
