"""Webhook authentication schemes shared by the tools (verification and signing)."""
