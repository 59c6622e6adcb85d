"""The local emulator answers a table ``Query`` from the asked partition, not the whole table.

moto (pinned in ``requirements``) answers every ``Query`` by listing *all* the table's items,
sorting them, then keeping the asked partition's: one query cost 12 ms at 1,000 items, 82 ms at
10,000 and 290 ms at 30,000 on this project's machine. The worker queries the context table on
every job, so a long local run (the 10,000-webhook load) slowed as the table grew until the stack
took under one note a second. DynamoDB itself reads only the partition.

:func:`install` makes moto's ``Table.all_items`` return only the asked partition's items while
moto's own ``Table.query`` runs for a table query (no index: an index query still lists every
item, as DynamoDB's index is another partitioning). The result is moto's own filter, sort,
pagination and projection over the same items the whole-table path would have kept; a property
test (``tests/unit/test_local_partition_query.py``) compares the two on random tables.
"""

from __future__ import annotations

import threading
from typing import Any

_ASKED = threading.local()  # the partition key of the query running on this thread, if any
_lock = threading.Lock()
_MOTO: dict[str, Any] = {}  # moto's own Table.query once installed (the comparison test's)


def whole_table_query() -> Any:
    """moto's own ``Table.query`` (the whole-table path), after :func:`install`."""
    return _MOTO["query"]


def install() -> None:
    """Patch moto's DynamoDB ``Table`` once per process (idempotent, thread-safe)."""
    with _lock:
        if "query" in _MOTO:
            return
        from moto.dynamodb.models.table import Table

        whole_table = Table.all_items
        query = Table.query

        def all_items(self: Table) -> list[Any]:
            hash_key = getattr(_ASKED, "key", None)
            if hash_key is None:
                return whole_table(self)
            found = self.items.get(hash_key)  # a defaultdict: .get() adds no empty partition
            if found is None:
                return []
            return list(found.values()) if self.range_key_attr else [found]

        def partition_query(
            self: Table, hash_key: Any, *args: Any, **kwargs: Any
        ) -> tuple[list[Any], int, dict[str, Any] | None]:
            index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
            if index_name is not None or hash_key is None:
                return query(self, hash_key, *args, **kwargs)
            _ASKED.key = hash_key
            try:
                return query(self, hash_key, *args, **kwargs)
            finally:
                _ASKED.key = None

        Table.all_items = all_items  # type: ignore[method-assign]
        Table.query = partition_query  # type: ignore[method-assign]
        _MOTO["query"] = query
