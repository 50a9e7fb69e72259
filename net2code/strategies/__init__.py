"""Strategies: the ways of finding a program, each a plug-in behind `Strategy` (`base.py`).

Every strategy is registered here by the name `--strategy` selects, with the family whose
observation it reads. A family lists its strategies in the order it tries them, cheapest first.
To add one: write a class with `name`, `applicable(observation)` and `search(observation, *,
timeout, progress)` returning a `Candidate`, register it below, and add its name to the
family's `strategies`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from ..errors import ConfigError
from .base import Behaviour, Candidate, Strategy

# name -> (family, "module:Class")
STRATEGIES: dict[str, tuple[str, str]] = {
    "boolean": ("feed-forward", "net2code.strategies.boolean:BooleanSearch"),
    "dsl": ("feed-forward", "net2code.strategies.dsl:DSLSearch"),
    "tree": ("feed-forward", "net2code.strategies.tree:DecisionTree"),
    "symbolic": ("feed-forward", "net2code.strategies.symbolic:SymbolicSearch"),
    "approx-tree": ("feed-forward", "net2code.strategies.approx:ApproxTree"),
    "lookup": ("feed-forward", "net2code.strategies.approx:LookupTable"),
    "learned": ("feed-forward", "net2code.strategies.learned:LearnedDecompiler"),
    "stateless": ("recurrent", "net2code.strategies.loops:Stateless"),
    "formula": ("recurrent", "net2code.strategies.loops:Formula"),
    "counter": ("recurrent", "net2code.strategies.loops:Counter"),
    "recurrence": ("recurrent", "net2code.strategies.loops:Recurrence"),
    "table": ("recurrent", "net2code.strategies.loops:Table"),
    "lstar": ("recurrent", "net2code.strategies.automata:LStar"),
    "counter-machine": ("recurrent", "net2code.strategies.automata:CounterMachineStrategy"),
    "deletion-only": ("iterated", "net2code.strategies.rules:DeletionOnly"),
    "by-count": ("iterated", "net2code.strategies.rules:ByCount"),
    "rule-table": ("iterated", "net2code.strategies.rules:RuleTableStrategy"),
    "scan": ("iterated", "net2code.strategies.scan:ScanStrategy"),
    "brent": ("bilinear", "net2code.strategies.brent:BrentRounding"),
}


def family_of(name: str) -> str:
    """The family a strategy serves; a one-line error for an unknown name."""
    if name not in STRATEGIES:
        raise ConfigError(f"strategy {name!r} is unknown; choose from {', '.join(STRATEGIES)}")
    return STRATEGIES[name][0]


def make(name: str) -> Strategy:
    module, _, cls = STRATEGIES[name][1].partition(":")
    return getattr(importlib.import_module(module), cls)()


def for_family(
    family: str, defaults: Sequence[str], chosen: Sequence[str | Strategy] | None
) -> list[Strategy]:
    """Strategy objects for `family`: `chosen` (names or objects) or the family's defaults.
    A name that belongs to another family fails before anything runs."""
    out: list[Strategy] = []
    for item in chosen or defaults:
        if not isinstance(item, str):
            out.append(item)
            continue
        owner = family_of(item)
        if owner != family:
            own = [name for name, (of, _) in STRATEGIES.items() if of == family]
            raise ConfigError(
                f"strategy {item!r} is for {owner} networks; the {family} family uses "
                f"{', '.join(own)}"
            )
        out.append(make(item))
    return out


__all__ = ["STRATEGIES", "Behaviour", "Candidate", "Strategy", "family_of", "for_family", "make"]
