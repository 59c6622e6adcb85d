"""The local emulator's partition-scoped Query answers exactly what moto's whole-table Query does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.dynamodb.models.table import Table
from ticket_enhancer_dev.local import moto_speedups

from tests.support import moto_env

moto_speedups.install()

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = ("a", "b", "c", "zz")  # "zz" is never written: an empty partition
items_strategy = st.lists(
    st.tuples(st.sampled_from(PARTITIONS[:3]), st.integers(0, 60), st.integers(0, 3)),
    max_size=40,
)
condition_strategy = st.sampled_from(
    [None, ("sk > :v", 1), ("sk BETWEEN :v AND :w", 2), ("begins_with(sk, :v)", 1)]
)


@pytest.fixture(autouse=True)
def _aws(monkeypatch: pytest.MonkeyPatch) -> None:
    moto_env(monkeypatch)


def _table(client: Any, *, range_key: bool = True, index: bool = False) -> None:
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "S"})
    extra: dict[str, Any] = {}
    if index:
        attributes.append({"AttributeName": "kind", "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "by-kind",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    client.create_table(
        TableName="t",
        KeySchema=schema,
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def _pages(client: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a query, following LastEvaluatedKey (at most 50 pages)."""
    pages, start = [], None
    for _ in range(50):
        page = client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
        pages.append({k: page.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    return pages


def _both(client: Any, request: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    scoped = _pages(client, request)
    with monkeypatch.context() as m:
        m.setattr(Table, "query", moto_speedups.whole_table_query())
        whole = _pages(client, request)
    return scoped, whole


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=items_strategy,
    pk=st.sampled_from(PARTITIONS),
    limit=st.integers(1, 12),
    forward=st.booleans(),
    condition=condition_strategy,
    bound=st.integers(0, 60),
    filtered=st.booleans(),
)
def test_a_table_query_answers_as_the_whole_table_query_does(
    monkeypatch: pytest.MonkeyPatch,
    *,
    items: list[tuple[str, int, int]],
    pk: str,
    limit: int,
    forward: bool,
    condition: tuple[str, int] | None,
    bound: int,
    filtered: bool,
) -> None:
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        _table(client)
        for part, sk, n in items:
            client.put_item(
                TableName="t",
                Item={"pk": {"S": part}, "sk": {"S": f"{sk:03d}"}, "n": {"N": str(n)}, "pad": {"S": "x"}},
            )
        key = "pk = :p"
        values: dict[str, Any] = {":p": {"S": pk}}
        if condition is not None:
            key += " AND " + condition[0]
            values[":v"] = {"S": f"{bound:03d}"[: 2 if "begins" in condition[0] else 3]}
            if condition[1] == 2:
                values[":w"] = {"S": f"{bound + 20:03d}"}
        request: dict[str, Any] = {
            "TableName": "t",
            "KeyConditionExpression": key,
            "ExpressionAttributeValues": values,
            "Limit": limit,
            "ScanIndexForward": forward,
        }
        if filtered:
            request["FilterExpression"] = "n > :n"
            values[":n"] = {"N": "1"}
        scoped, whole = _both(client, request, monkeypatch)
    assert scoped == whole
    expected = sorted({(p, sk) for p, sk, _ in items if p == pk})
    if condition is None and not filtered:  # and they are the partition's items, in order
        got = [(i["pk"]["S"], int(i["sk"]["S"])) for page in scoped for i in page["Items"]]
        assert got == (expected if forward else expected[::-1])


def test_a_hash_only_table_and_an_index_query_answer_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        _table(client, range_key=False)
        for n in range(5):
            client.put_item(TableName="t", Item={"pk": {"S": f"p{n}"}})
        one = {"TableName": "t", "KeyConditionExpression": "pk = :p"}
        for pk, count in (("p3", 1), ("nope", 0)):
            scoped, whole = _both(
                client, {**one, "ExpressionAttributeValues": {":p": {"S": pk}}}, monkeypatch
            )
            assert scoped == whole
            assert scoped[0]["Count"] == count
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table(client, index=True)
        for n in range(9):
            item = {"pk": {"S": f"p{n % 3}"}, "sk": {"S": str(n)}, "kind": {"S": f"k{n % 2}"}}
            client.put_item(TableName="t", Item=item)
        request = {
            "TableName": "t",
            "IndexName": "by-kind",
            "KeyConditionExpression": "kind = :k",
            "ExpressionAttributeValues": {":k": {"S": "k1"}},
            "Limit": 2,
        }
        scoped, whole = _both(client, request, monkeypatch)
        assert scoped == whole
        assert sum(page["Count"] for page in scoped) == 4  # the index spans partitions


def test_a_query_no_longer_costs_the_whole_table() -> None:
    """One small partition beside 20,000 other items: moto's own path lists and sorts them all."""
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        _table(client)
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType, Item

        table = dynamodb_backends["123456789012"]["us-east-1"].tables["t"]
        for n in range(20_000):  # written straight into moto's store: 20,000 PutItems take long
            pk, sk = DynamoType({"S": f"big{n % 7}"}), DynamoType({"S": f"{n:06d}"})
            table.items[pk][sk] = Item(pk, sk, {"pk": {"S": f"big{n % 7}"}, "sk": {"S": f"{n:06d}"}})
        client.put_item(TableName="t", Item={"pk": {"S": "small"}, "sk": {"S": "1"}})
        request: dict[str, Any] = {
            "TableName": "t",
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "small"}},
        }

        def timed() -> float:
            started = time.perf_counter()
            assert client.query(**request)["Count"] == 1
            return time.perf_counter() - started

        scoped = min(timed() for _ in range(3))
        original = Table.query
        Table.query = moto_speedups.whole_table_query()  # type: ignore[method-assign]
        try:
            whole = min(timed() for _ in range(3))
        finally:
            Table.query = original  # type: ignore[method-assign]
    assert scoped * 5 < whole, (scoped, whole)


# -- answers carrying items: plain AttributeValues ------------------------------------------------

scalar_values = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=20)),
    st.builds(lambda n: {"N": str(n)}, st.integers(-(10**12), 10**12)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda ss: {"SS": ss}, st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4)),
    st.builds(lambda ns: {"NS": [str(n) for n in ns]}, st.lists(st.integers(0, 999), min_size=1, max_size=4)),
    st.builds(lambda b: {"B": b}, st.binary(max_size=8)),  # left to moto's serialiser
)
attribute_values = st.recursive(
    scalar_values,
    lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=3)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
    ),
    max_leaves=8,
)


def _serialized(result: dict[str, Any], operation: str, *, plain: bool) -> str:
    from moto.core.serialize import BaseJSONSerializer, XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model("dynamodb").operation_model(operation)  # as moto's responses build it
    serializer = get_serializer_class("dynamodb", "json")(
        operation_model=model, pretty_print=False, value_picker=XFormedAttributePicker()
    )
    if plain:
        return str(serializer.serialize(result)["body"])
    patched = BaseJSONSerializer._serialize_type_structure
    BaseJSONSerializer._serialize_type_structure = moto_speedups.generic_structure()  # type: ignore[method-assign]
    try:
        body = str(serializer.serialize(result)["body"])
    finally:
        BaseJSONSerializer._serialize_type_structure = patched  # type: ignore[method-assign]
    return body


@settings(max_examples=200, deadline=None)
@given(item=st.dictionaries(st.text(min_size=1, max_size=6), attribute_values, min_size=1, max_size=5))
def test_an_answer_with_items_is_written_as_moto_writes_it(item: dict[str, Any]) -> None:
    result = {
        "Responses": {"t": [item, item]},
        "UnprocessedKeys": {},
        "ConsumedCapacity": [{"CapacityUnits": 2, "TableName": "t"}],
    }
    assert _serialized(result, "BatchGetItem", plain=True) == _serialized(result, "BatchGetItem", plain=False)
    page = {"Items": [item], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": {"pk": {"S": "a"}}}
    assert _serialized(page, "Query", plain=True) == _serialized(page, "Query", plain=False)


def test_the_plain_path_writes_what_this_project_stores_and_leaves_binary_to_moto() -> None:
    ticket = {
        "pk": {"S": "acme#ticket"},
        "n": {"N": "3"},
        "tags": {"SS": ["a"]},
        "m": {"M": {"x": {"L": []}}},
    }
    assert moto_speedups.plain_attribute_value(ticket["m"]) == {"M": {"x": {"L": []}}}
    assert all(moto_speedups.plain_attribute_value(v) == v for v in ticket.values())
    assert moto_speedups.plain_attribute_value({"B": b"\x00"}) is None
    assert moto_speedups.plain_attribute_value({"L": [{"S": "a"}, {"BS": [b"x"]}]}) is None
    assert moto_speedups.plain_attribute_value({"S": "a", "unknown": 1}) is None
    assert moto_speedups.plain_attribute_value("S") is None


def test_a_worker_sized_answer_skips_the_attribute_by_attribute_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``BatchGetItem`` of 100 tickets of 15 string attributes, as a worker job reads its window:
    the generic serialiser visits each attribute's ten members, the plain path none of them."""
    from moto.core.serialize import ResponseSerializer

    ticket = {f"field{n}": {"S": f"value {n} " * 20} for n in range(15)}
    result = {"Responses": {"t": [ticket] * 100}, "UnprocessedKeys": {}, "ConsumedCapacity": []}
    visits = [0]
    member = ResponseSerializer._serialize_structure_member

    def counted(self: Any, *args: Any) -> None:
        visits[0] += 1
        member(self, *args)

    monkeypatch.setattr(ResponseSerializer, "_serialize_structure_member", counted)

    def walked(plain: bool) -> int:
        visits[0] = 0
        _serialized(result, "BatchGetItem", plain=plain)
        return visits[0]

    assert walked(plain=True) < 10  # the answer's own few members
    assert walked(plain=False) >= 100 * 15 * 10


def test_the_patches_are_made_for_the_pinned_moto_only() -> None:
    import moto

    lock = (REPO / "requirements" / "dev.lock").read_text(encoding="utf-8")
    assert f"moto=={moto_speedups.MOTO_VERSION}" in lock  # a new pin: check the patches, then bump it
    assert moto.__version__ == moto_speedups.MOTO_VERSION
    assert Table.query is not moto_speedups.whole_table_query()  # installed by this module


# -- long polls on a FIFO queue whose visible messages all belong to a busy group ----------------


@pytest.fixture
def busy_group() -> Iterator[tuple[Any, str, str]]:
    """A FIFO queue: group "noisy" has one message in flight and two waiting behind it."""
    with mock_aws():
        sqs: Any = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(
            QueueName="jobs.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"]
        for n in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=f"noisy {n}", MessageGroupId="noisy")
        (taken,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        yield sqs, url, taken["ReceiptHandle"]


def _receive_in_thread(sqs: Any, url: str, wait: int) -> tuple[threading.Thread, list[Any]]:
    got: list[Any] = []

    def receive() -> None:
        started = time.monotonic()
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait).get("Messages", [])
        got.append((messages, time.monotonic() - started))

    thread = threading.Thread(target=receive)
    thread.start()
    return thread, got


def test_a_long_poll_on_a_busy_group_waits_without_spinning(
    busy_group: tuple[Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sqs.models import Queue

    sqs, url, _ = busy_group
    scans = [0]
    visible = Queue.messages

    def counted(self: Queue) -> Any:
        scans[0] += 1
        return visible.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(Queue, "messages", property(counted))
    started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", []) == []
    assert time.monotonic() - started >= 1.5  # it waited out its long poll
    assert scans[0] < 40  # moto's own loop scans the backlog without pause: thousands of times


def test_a_new_message_of_another_group_wakes_a_waiting_poll(
    busy_group: tuple[Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, url, _ = busy_group
    monkeypatch.setattr(moto_speedups, "BUSY_GROUP_PAUSE", 30.0)  # only a wake-up ends a pause early
    thread, got = _receive_in_thread(sqs, url, wait=8)
    time.sleep(0.3)
    sqs.send_message(QueueUrl=url, MessageBody="quiet 0", MessageGroupId="quiet")
    thread.join(10)
    [(messages, seconds)] = got
    assert [m["Body"] for m in messages] == ["quiet 0"]  # the busy group's are still held back
    assert seconds < 4  # woken by the new message, not by the end of the 8 s poll
