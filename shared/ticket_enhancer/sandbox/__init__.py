"""An in-memory imitation of the five tools' REST APIs, for the local stack, the demo and tests.

Not used by any Lambda function.
"""
