"""`tenants.deserialize_item` reads DynamoDB items exactly as boto3's TypeDeserializer does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer
from hypothesis import given
from hypothesis import strategies as st
from ticket_enhancer.tenants import deserialize_item, deserialize_value

numbers = st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9)
scalars = st.one_of(
    st.text(max_size=20).map(lambda s: {"S": s}),
    numbers.map(lambda d: {"N": str(d)}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.binary(max_size=10).map(lambda b: {"B": b}),
    st.sets(st.text(max_size=5), min_size=1, max_size=4).map(lambda s: {"SS": sorted(s)}),
    st.sets(numbers, min_size=1, max_size=4).map(lambda s: {"NS": sorted(str(d) for d in s)}),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: {"L": items}),
        st.dictionaries(st.text(max_size=8), inner, max_size=4).map(lambda m: {"M": m}),
    ),
    max_leaves=20,
)


def _plain(value: Any) -> Any:
    if isinstance(value, Binary):
        return value.value  # type: ignore[attr-defined]  # Binary has no stubs for .value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@given(st.dictionaries(st.text(max_size=8), values, max_size=6))
def test_matches_boto3_type_deserializer(item: dict[str, Any]) -> None:
    boto3_view = {key: _plain(TypeDeserializer().deserialize(value)) for key, value in item.items()}
    assert deserialize_item(item) == boto3_view


def test_tenant_row_shapes() -> None:
    row = {
        "enabled": {"BOOL": False},
        "options": {"M": {"synthesis_provider": {"S": "offline"}}},
        "expires_at": {"N": "1700000000"},
    }
    assert deserialize_item(row) == {
        "enabled": False,
        "options": {"synthesis_provider": "offline"},
        "expires_at": Decimal(1700000000),
    }


def test_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown DynamoDB type 'X'"):
        deserialize_value({"X": "1"})
