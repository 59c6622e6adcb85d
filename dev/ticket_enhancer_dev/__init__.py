"""Dev-only code, never in a Lambda layer: the ops CLI (``cli``), the local stack (``local``) and the
vendor sandbox (``sandbox``). It imports ``ticket_enhancer``; nothing in ``ticket_enhancer`` imports it
(``tests/unit/test_import_layers.py``), but for ``python -m ticket_enhancer``, which loads the CLI on
demand."""
