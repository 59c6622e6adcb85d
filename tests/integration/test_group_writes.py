"""Group commit of the processed tickets' writes (``enhance.group_writes``), on moto's DynamoDB."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from ticket_enhancer.enhance.errors import ContextStoreError
from ticket_enhancer.enhance.group_writes import GroupWriter
from ticket_enhancer.enhance.store import ContextStore
from ticket_enhancer.models import Ticket

from tests.support import CONTEXT_TABLE as TABLE


class Gated:
    """The real client; its first ``BatchWriteItem`` waits until ``release`` (a write in flight),
    and items whose sort key is in ``refuse`` are left unprocessed every time."""

    def __init__(self, client: Any, refuse: frozenset[str] = frozenset()) -> None:
        self._client, self.refuse = client, refuse
        self.started, self.release = threading.Event(), threading.Event()
        self.calls: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:  # every other call goes to the real client
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> Any:
        requests = RequestItems[TABLE]
        self.calls.append([r["PutRequest"]["Item"]["sk"]["S"] for r in requests])
        if len(self.calls) == 1:
            self.started.set()
            assert self.release.wait(10)
        kept = [r for r in requests if r["PutRequest"]["Item"]["sk"]["S"] not in self.refuse]
        left = [r for r in requests if r["PutRequest"]["Item"]["sk"]["S"] in self.refuse]
        if kept:
            self._client.batch_write_item(RequestItems={TABLE: kept})
        return {"UnprocessedItems": {TABLE: left} if left else {}}


def item(tenant: str, key: str) -> dict[str, Any]:
    return {"pk": {"S": f"{tenant}#ticket"}, "sk": {"S": key}, "text": {"S": f"text of {key}"}}


def stored(client: Any) -> set[tuple[str, str]]:
    return {(i["pk"]["S"], i["sk"]["S"]) for i in client.scan(TableName=TABLE)["Items"]}


def put_while_one_is_in_flight(
    writer: GroupWriter, gate: Gated, puts: list[list[dict[str, Any]]]
) -> list[Any]:
    """The first put starts (and is held in its call); the others arrive meanwhile; then release."""
    with ThreadPoolExecutor(len(puts)) as pool:
        first = pool.submit(writer.put, *puts[0])
        assert gate.started.wait(10)
        rest = [pool.submit(writer.put, *p) for p in puts[1:]]
        while len(writer._pending) < len(rest):  # all queued behind the call in flight
            threading.Event().wait(0.005)
        gate.release.set()
        return [f.exception(10) for f in [first, *rest]]


def test_a_lone_put_is_written_at_once_in_one_call(context_table: Any) -> None:
    gate = Gated(context_table)
    gate.release.set()
    GroupWriter(gate, TABLE).put(item("acme", "1"), item("acme", "r1"))  # type: ignore[arg-type]
    assert gate.calls == [["1", "r1"]]
    assert stored(context_table) == {("acme#ticket", "1"), ("acme#ticket", "r1")}


def test_puts_made_while_one_is_in_flight_share_the_next_call(context_table: Any) -> None:
    """Ten jobs' tickets and pointers: the first call holds one job's, the next ones the nine others'
    (at most 25 items a call, a job's items never split), and every item is written."""
    gate = Gated(context_table)
    writer = GroupWriter(gate, TABLE)  # type: ignore[arg-type]
    puts = [[item("acme" if i % 2 else "globex", str(i)), item("acme", f"r{i}")] for i in range(14)]

    assert put_while_one_is_in_flight(writer, gate, puts) == [None] * 14

    assert [len(c) for c in gate.calls] == [2, 24, 2]
    assert stored(context_table) == {_key(i) for p in puts for i in p}


def _key(i: dict[str, Any]) -> tuple[str, str]:
    return i["pk"]["S"], i["sk"]["S"]


def test_only_the_writer_of_an_item_left_unprocessed_gets_the_error(
    context_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ticket_enhancer.enhance.group_writes.time.sleep", lambda _: None)
    gate = Gated(context_table, refuse=frozenset({"r3"}))
    writer = GroupWriter(gate, TABLE)  # type: ignore[arg-type]
    puts = [[item("acme", str(i)), item("acme", f"r{i}")] for i in range(5)]

    errors = put_while_one_is_in_flight(writer, gate, puts)

    assert [e is None for e in errors] == [True, True, True, False, True]
    assert isinstance(errors[3], ContextStoreError)
    assert "1 item(s) not written" in str(errors[3])
    assert gate.calls[1:] == [
        ["1", "r1", "2", "r2", "3", "r3", "4", "r4"],
        ["r3"],
        ["r3"],
    ]  # asked twice more
    assert ("acme#ticket", "3") in stored(context_table)  # its other item was written
    writer.put(item("acme", "5"))  # the writer is free again
    assert ("acme#ticket", "5") in stored(context_table)


def test_a_failed_call_fails_its_group_and_the_writer_goes_on(context_table: Any) -> None:
    class Failing(Gated):
        def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> Any:
            answer = super().batch_write_item(RequestItems)
            if len(self.calls) == 2:
                raise RuntimeError("throttled for good")
            return answer

    gate = Failing(context_table)
    writer = GroupWriter(gate, TABLE)  # type: ignore[arg-type]
    errors = put_while_one_is_in_flight(writer, gate, [[item("acme", str(i))] for i in range(3)])

    assert errors[0] is None
    assert [str(e) for e in errors[1:]] == ["throttled for good"] * 2
    writer.put(item("acme", "9"))
    assert ("acme#ticket", "9") in stored(context_table)


def test_the_store_indexes_concurrent_jobs_pointers_in_shared_calls(context_table: Any) -> None:
    gate = Gated(context_table)
    gate.release.set()
    store = ContextStore(gate, TABLE)  # type: ignore[arg-type]
    tickets = [
        Ticket(
            tool_type="jira",
            tenant_id="acme",
            ticket_id=str(100 + i),
            display_key=f"IT-{100 + i}",
            subject=f"VPN drops {i}",
            description="again",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for i in range(10)
    ]
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda t: store.index_ticket("acme", t), tickets))

    assert 1 <= len(gate.calls) <= 10  # the ten pointers (each ticket's item is an UpdateItem)
    pointers = sorted(sk.rsplit("#", 1)[1] for call in gate.calls for sk in call)
    assert pointers == [t.ticket_id for t in tickets]
    assert sorted(t.ticket_id for t in ContextStore(context_table, TABLE).recent_tickets("acme")) == [
        t.ticket_id for t in tickets
    ]
