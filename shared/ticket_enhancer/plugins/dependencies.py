"""Order pipeline steps by what they require (a topological sort with clear errors)."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from graphlib import CycleError, TopologicalSorter
from typing import Protocol, TypeVar

from ticket_enhancer.plugins.errors import PluginDependencyError


class Step(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def requires(self) -> Sequence[str]: ...


S = TypeVar("S", bound=Step)


def resolve_order(steps: Sequence[S]) -> list[S]:
    """Steps in an order where each comes after everything it requires.

    Ties keep the given order. ``PluginDependencyError`` names a missing step or the cycle.
    """
    by_name: dict[str, S] = {}
    for step in steps:
        if step.name in by_name:
            raise PluginDependencyError(f"Step {step.name!r} is declared twice")
        by_name[step.name] = step
    for step in steps:
        for needed in step.requires:
            if needed not in by_name:
                raise PluginDependencyError(
                    f"Step {step.name!r} requires {needed!r}, which is not registered; "
                    f"registered: {', '.join(by_name) or 'none'}"
                )
    sorter = TopologicalSorter({s.name: list(s.requires) for s in steps})
    position = {name: i for i, name in enumerate(by_name)}
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = exc.args[1]
        raise PluginDependencyError(
            "Steps form a dependency cycle: " + " -> ".join(reversed(cycle))
        ) from None
    # One step at a time, always the earliest given one that is ready: an order that already
    # satisfies every requirement comes back unchanged.
    names = list(by_name)
    ready = [position[name] for name in sorter.get_ready()]
    heapq.heapify(ready)
    ordered: list[S] = []
    while ready:
        name = names[heapq.heappop(ready)]
        ordered.append(by_name[name])
        sorter.done(name)
        for nxt in sorter.get_ready():
            heapq.heappush(ready, position[nxt])
    return ordered
