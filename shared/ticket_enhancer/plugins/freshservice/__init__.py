"""The freshservice plugin: everything that knows freshservice lives in this folder."""
