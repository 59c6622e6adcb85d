"""The ops function of each tool: ``tenants sync`` and ``tenants preview`` inside the deployment."""
