"""``resolve_order``: pipeline steps ordered by what they require, with clear errors."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ticket_enhancer.plugins import PluginDependencyError, resolve_order


@dataclass(frozen=True)
class Step:
    name: str
    requires: tuple[str, ...] = ()


def names(steps: Sequence[Step]) -> list[str]:
    return [s.name for s in steps]


def dependency_error(steps: Sequence[Step]) -> str:
    with pytest.raises(PluginDependencyError) as caught:
        resolve_order(steps)
    return str(caught.value)


def test_empty() -> None:
    assert resolve_order([]) == []


def test_requirements_come_first() -> None:
    steps = [Step("compose", ("fetch", "search")), Step("search", ("fetch",)), Step("fetch")]
    assert names(resolve_order(steps)) == ["fetch", "search", "compose"]


def test_returns_the_given_step_objects() -> None:
    steps = [Step("b", ("a",)), Step("a")]
    ordered = resolve_order(steps)
    assert ordered[0] is steps[1]
    assert ordered[1] is steps[0]


def test_independent_steps_keep_given_order() -> None:
    assert names(resolve_order([Step("z"), Step("a"), Step("m")])) == ["z", "a", "m"]


def test_ties_keep_given_order() -> None:
    steps = [Step("c", ("a",)), Step("b", ("a",)), Step("a"), Step("d")]
    assert names(resolve_order(steps)) == ["a", "c", "b", "d"]


def test_an_order_that_already_works_is_unchanged() -> None:
    steps = [Step("a"), Step("b", ("a",)), Step("c")]
    assert names(resolve_order(steps)) == ["a", "b", "c"]


def test_missing_requirement_names_step_and_requirement() -> None:
    message = dependency_error([Step("fetch"), Step("compose", ("fetch", "search"))])
    assert message == "Step 'compose' requires 'search', which is not registered; registered: fetch, compose"


def test_missing_requirement_with_single_step() -> None:
    message = dependency_error([Step("compose", ("fetch",))])
    assert message == "Step 'compose' requires 'fetch', which is not registered; registered: compose"


def test_two_step_cycle_is_named() -> None:
    message = dependency_error([Step("a", ("b",)), Step("b", ("a",))])
    assert message == "Steps form a dependency cycle: a -> b -> a"


def test_three_step_cycle_is_named_in_requirement_direction() -> None:
    message = dependency_error([Step("a", ("b",)), Step("b", ("c",)), Step("c", ("a",)), Step("d")])
    cycle = message.removeprefix("Steps form a dependency cycle: ")
    assert cycle != message
    hops = cycle.split(" -> ")
    assert hops[0] == hops[-1]
    assert sorted(hops[:-1]) == ["a", "b", "c"]
    requires = {"a": "b", "b": "c", "c": "a"}
    assert all(requires[x] == y for x, y in itertools.pairwise(hops))


def test_self_requirement_is_a_cycle() -> None:
    assert dependency_error([Step("a", ("a",))]) == "Steps form a dependency cycle: a -> a"


def test_duplicate_step_names_are_rejected() -> None:
    assert dependency_error([Step("a"), Step("b"), Step("a")]) == "Step 'a' is declared twice"


def test_error_is_a_plugin_error() -> None:
    from ticket_enhancer.plugins import PluginError

    with pytest.raises(PluginError):
        resolve_order([Step("a"), Step("a")])


@st.composite
def dags(draw: st.DrawFn) -> list[Step]:
    """Steps s0..sN where each requires only earlier ones (so the graph is acyclic)."""
    count = draw(st.integers(min_value=0, max_value=12))
    return [
        Step(f"s{i}", tuple(f"s{j}" for j in draw(st.sets(st.integers(0, i - 1)) if i else st.just(set()))))
        for i in range(count)
    ]


@given(dags(), st.data())
def test_every_step_follows_its_requirements(steps: list[Step], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(steps))
    ordered = resolve_order(shuffled)
    assert sorted(names(ordered)) == sorted(names(steps))
    position = {step.name: i for i, step in enumerate(ordered)}
    for step in ordered:
        for needed in step.requires:
            assert position[needed] < position[step.name]


@given(dags())
def test_a_valid_order_is_kept(steps: list[Step]) -> None:
    assert resolve_order(steps) == steps
