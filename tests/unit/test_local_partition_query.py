"""The local emulator's partition-scoped Query answers exactly what moto's whole-table Query does."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.dynamodb.models.table import Table
from ticket_enhancer_dev.local import partition_query

from tests.support import moto_env

partition_query.install()

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
        m.setattr(Table, "query", partition_query.whole_table_query())
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
        Table.query = partition_query.whole_table_query()  # type: ignore[method-assign]
        try:
            whole = min(timed() for _ in range(3))
        finally:
            Table.query = original  # type: ignore[method-assign]
    assert scoped * 5 < whole, (scoped, whole)
