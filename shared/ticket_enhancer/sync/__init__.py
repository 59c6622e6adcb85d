"""Importing a tenant's history and knowledge from its tool (``tenants sync``): see ``engine``."""
