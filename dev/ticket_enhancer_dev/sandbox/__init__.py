"""An in-memory imitation of the tools' REST APIs, for the local stack, the demo and tests: one
module per tool under ``tools/`` (found by name for every registered tool).

Not used by any Lambda function.
"""
