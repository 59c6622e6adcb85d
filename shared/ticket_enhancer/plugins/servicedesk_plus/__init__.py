"""The servicedesk_plus plugin: everything that knows servicedesk_plus lives in this folder."""
