"""Order pipeline steps by what they require (a topological sort with clear errors)."""

from __future__ import annotations

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
    ordered: list[S] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        ordered.extend(by_name[name] for name in ready)
        sorter.done(*ready)
    return ordered
