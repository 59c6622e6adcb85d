"""Plugin modules the registry tests import lazily (by ``module:Class`` target or entry point)."""
