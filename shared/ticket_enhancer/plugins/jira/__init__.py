"""The jira plugin: everything that knows jira lives in this folder."""
