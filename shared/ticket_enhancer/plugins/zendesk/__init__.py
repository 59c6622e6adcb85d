"""The zendesk plugin: everything that knows zendesk lives in this folder."""
