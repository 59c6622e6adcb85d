"""Zammad (REST API v1)."""
