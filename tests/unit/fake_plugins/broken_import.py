"""A plugin module that fails at import time (a missing dependency)."""

from __future__ import annotations

raise ImportError("broken_import needs the package 'not_installed_anywhere'")
