"""Three costs of the local emulator (moto's server) that grow with a long local run, removed.

moto (pinned in ``requirements``) is written for tests of a few items; a 10,000-webhook run on the
local stack (``make load``) holds tens of thousands, and every worker job reads a window of 100
tickets. Measured on this project's 2-core machine:

* **Query listed the whole table.** moto answers a ``Query`` by listing *all* the table's items,
  sorting them and keeping the asked partition's: 12 ms at 1,000 items, 82 ms at 10,000, 290 ms at
  30,000 (DynamoDB reads only the partition). Here ``Table.all_items`` returns the asked partition's
  items while moto's own ``Table.query`` runs for a table query (an index query still lists every
  item: an index is another partitioning). moto's filter, sort, pagination and projection then run
  over the same items the whole-table path would have kept.
* **Answers carrying items were serialised attribute by attribute.** moto's generic JSON
  serialiser walks every attribute value through the ``AttributeValue`` shape's ten members with
  value pickers: with a worker's ``BatchGetItem`` of 100 tickets, 40 % of the emulator's CPU in a
  profile of the run. Here an ``AttributeValue`` of the types this project writes (``S``, ``N``,
  their sets, ``M``, ``L``, ``NULL``, ``BOOL``) is written as the plain JSON value the serialiser
  would have produced; anything else (binary) goes the serialiser's own way.
* **A long poll spun while a FIFO group was busy.** moto's ``ReceiveMessage`` loops until it has a
  message or the wait ends, and between tries waits for the queue to hold a visible message: when
  every visible message belongs to a group with one in flight (a noisy tenant's backlog), that wait
  returns at once and the loop scans the whole backlog again, without pause, in every poller. In the
  10,000-webhook run this took half the emulator's CPU and the notes fell from 3.4 to 0.9 a second
  as the backlog grew. Here that wait pauses (``BUSY_GROUP_PAUSE``) unless a message arrives (moto
  wakes waiting polls on every new message). A poll delivers nothing more than before either way:
  moto takes the busy groups once, when the poll starts, so a group freed meanwhile waits for the
  next poll, as it did.

The first two answer exactly what moto's own paths answer: property tests compare them on random
tables and random attribute values; the third changes only when a waiting poll looks again
(``tests/unit/test_local_moto_speedups.py``). :func:`install` runs when the
local stack's emulator starts (``emulator.py``), and patches moto for the whole process: a test
process that started an emulator or ran those tests runs its later in-process ``mock_aws`` patched
too, which those same property tests make safe. Nothing in Lambda uses moto. The patches read
moto's internals, so they are made only for the moto version they were checked against
(``MOTO_VERSION``; another version runs unpatched, slower and as correct, and a test fails until
they are checked again).
"""

from __future__ import annotations

import threading
from typing import Any

_ASKED = threading.local()  # the partition key of the query running on this thread, if any
_lock = threading.Lock()
_MOTO: dict[str, Any] = {}  # moto's own methods once installed (for the comparison tests)
MOTO_VERSION = "5.2.5"  # the pinned moto (requirements/dev.lock) these patches were checked against
BUSY_GROUP_PAUSE = 0.5  # seconds a long poll waits when every visible message's group is busy
_STRINGS = ("S", "N")
_STRING_SETS = ("SS", "NS")
_FLAGS = ("NULL", "BOOL")


def whole_table_query() -> Any:
    """moto's own ``Table.query`` (the whole-table path), after :func:`install`."""
    return _MOTO["query"]


def generic_structure() -> Any:
    """moto's own ``BaseJSONSerializer._serialize_type_structure``, after :func:`install`."""
    return _MOTO["structure"]


def install() -> None:
    """Patch moto once per process (idempotent, thread-safe); nothing for another moto version."""
    import moto

    with _lock:
        if _MOTO or moto.__version__ != MOTO_VERSION:
            return
        _install_partition_query()
        _install_plain_attribute_values()
        _install_paused_long_polls()


def _install_partition_query() -> None:
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


def _install_plain_attribute_values() -> None:
    from moto.core.serialize import BaseJSONSerializer

    structure = BaseJSONSerializer._serialize_type_structure

    def plain_structure(self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue":
            written = plain_attribute_value(value)
            if written is not None:
                self._default_serialize(serialized, written, shape, key)
                return
        structure(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = plain_structure  # type: ignore[method-assign]
    _MOTO["structure"] = structure


class _LeftToMoto(Exception):
    """A value the plain path does not write (binary, or a member moto does not write)."""


def _install_paused_long_polls() -> None:
    from moto.sqs.models import Queue

    def wait_for_messages(self: Queue, timeout: int) -> None:
        with self._messages_lock:
            if self.messages:  # visible, but none the caller may take: wait for a change, not spin
                self._messages_lock.wait(timeout=min(timeout, BUSY_GROUP_PAUSE))
            else:
                self._messages_lock.wait_for(lambda: self.messages, timeout=timeout)

    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]


def plain_attribute_value(value: Any) -> dict[str, Any] | None:
    """``value`` as moto's JSON serialiser writes an ``AttributeValue``; None for what this leaves
    to it (binary, or anything it does not know)."""
    try:
        return _plain(value)
    except _LeftToMoto:
        return None


def _plain(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _LeftToMoto
    # the serialiser leaves out a member without a value
    return {name: _member(name, member) for name, member in value.items() if member is not None}


def _member(name: str, member: Any) -> Any:
    if name in _STRINGS:
        return _string(member)
    if name in _FLAGS:
        return member
    if name in _STRING_SETS and isinstance(member, list):
        return [_string(item) for item in member]
    if name == "M" and isinstance(member, dict):
        return {attribute: _plain(item) for attribute, item in member.items()}
    if name == "L" and isinstance(member, list):
        return [_plain(item) for item in member]
    raise _LeftToMoto  # B, BS, a malformed set or a member moto does not write: its own serialiser


def _string(value: Any) -> Any:
    """As the serialiser's ``_serialize_type_string``: ``str()`` of anything but None, {} and []."""
    return str(value) if value not in (None, {}, []) else value
