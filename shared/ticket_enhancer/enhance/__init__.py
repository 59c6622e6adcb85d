"""Enhancement: gather a ticket's context (similar tickets, knowledge, assets) and write the note.

Import what you use from its module (``enhance.pipeline``, ``enhance.store``, ...): the package
itself imports nothing, so the worker loads only what it runs.
"""
