"""The servicenow plugin: everything that knows servicenow lives in this folder."""
