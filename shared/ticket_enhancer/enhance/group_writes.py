"""Group commit of a table's ``BatchWriteItem`` puts: writers that overlap in time share calls.

The jobs of a worker invocation (an SQS batch, run concurrently) each index their ticket (its
``#recent`` pointer; the ticket's own item is an ``UpdateItem``, which keeps what the history sync
imported) moments after each other. :meth:`GroupWriter.put` writes at once when no
write is in flight, so a lone job waits for nothing; puts that arrive while one is in flight are
written together by the next call (at most 25 items a call, DynamoDB's limit), so a batch of 10 jobs
makes two or three calls instead of ten. Every caller still returns only once its own items are
written, and gets an error only for its own items: items DynamoDB leaves unprocessed are asked again
(twice, after a short back-off), then their writers get :class:`ContextStoreError`, the others not.

Items of several tenants may share a call: each item carries its own tenant's key, and nothing is
read. Synchronous (botocore): callers in threads (``asyncio.to_thread``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.errors import ContextStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["MAX_BATCH_ITEMS", "WRITE_ATTEMPTS", "GroupWriter"]

MAX_BATCH_ITEMS = 25  # DynamoDB's limit for one BatchWriteItem
WRITE_ATTEMPTS = 3  # calls for one group's items (unprocessed ones asked again)


def _key(item: Mapping[str, Any]) -> tuple[str, str]:
    return str(item["pk"]["S"]), str(item["sk"]["S"])


@dataclass(eq=False)
class _Put:
    items: Sequence[dict[str, Any]]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupWriter:
    """Puts items into ``table``, overlapping callers' items in shared ``BatchWriteItem`` calls."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client, self._table = client, table
        self._lock = threading.Lock()
        self._pending: list[_Put] = []
        self._busy = False  # a caller is writing the pending puts

    def put(self, *items: dict[str, Any]) -> None:
        """Write ``items`` (at most 25, keyed ``pk``/``sk``); returns once they are, else raises."""
        if not items:
            return
        if len(items) > MAX_BATCH_ITEMS:
            raise ContextStoreError(f"at most {MAX_BATCH_ITEMS} items at once")
        mine = _Put(items)
        with self._lock:
            self._pending.append(mine)
            lead, self._busy = not self._busy, True
        if lead:  # no write in flight: this caller writes, then whatever arrived meanwhile
            self._drain()
        mine.done.wait()
        if mine.error is not None:
            raise mine.error

    def _take(self) -> list[_Put]:
        """The pending puts of the next call (whole puts, at most 25 items); none: not busy any more."""
        with self._lock:
            group: list[_Put] = []
            count = 0
            while self._pending and count + len(self._pending[0].items) <= MAX_BATCH_ITEMS:
                put = self._pending.pop(0)
                group.append(put)
                count += len(put.items)
            if not group:
                self._busy = False
            return group

    def _drain(self) -> None:
        try:
            while group := self._take():
                self._write_group(group)
        except BaseException:  # not an AWS error (those are the group's): no writer waits forever
            with self._lock:
                orphans, self._pending, self._busy = self._pending, [], False
            for put in orphans:
                put.error = ContextStoreError("not written: the writing thread stopped")
                put.done.set()
            raise

    def _write_group(self, group: list[_Put]) -> None:
        try:
            left = self._write([item for put in group for item in put.items])
        except BaseException as exc:  # the call failed: each of the group's writers gets the error
            for put in group:
                put.error = exc
            if not isinstance(exc, Exception):
                raise
        else:
            for put in group:
                mine = sum(_key(item) in left for item in put.items)
                if mine:
                    put.error = ContextStoreError(
                        f"{mine} item(s) not written: DynamoDB left them unprocessed"
                    )
        finally:
            for put in group:
                put.done.set()

    def _write(self, items: list[dict[str, Any]]) -> set[tuple[str, str]]:
        """``BatchWriteItem`` of ``items``; the keys DynamoDB still left unprocessed at the end."""
        requests: list[Any] = [{"PutRequest": {"Item": item}} for item in items]
        for attempt in range(WRITE_ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2**attempt)  # a throttled partition: back off a little
            answer = self._client.batch_write_item(RequestItems={self._table: requests})
            unprocessed: Mapping[str, Any] = answer.get("UnprocessedItems") or {}
            requests = list(unprocessed.get(self._table) or [])
            if not requests:
                return set()
        return {_key(request["PutRequest"]["Item"]) for request in requests}
