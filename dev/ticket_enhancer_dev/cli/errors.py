"""One clear line on stderr and exit code 2 for bad input; nothing changed."""

from __future__ import annotations


class CliError(Exception):
    """Bad input or an unusable target: printed as one line, exit code 2."""
