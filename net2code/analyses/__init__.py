"""Analyses: what net2code reads from a network beside its program, each a plug-in.

An analysis says whether it applies (to this network, family and program), runs, and returns
a result with its part of result.json (under `analyses`), extra files, figures and report lines.
The Clock/Pizza mechanism of modular-addition networks is the one analysis today.

An analysis runs after a verified program, or also without one when it sets
`needs_verified = False` (the Clock/Pizza analysis reads imperfect networks too, and says so).

To add one: write a class with `name`, `needs_verified`, `applies(network, family, program)`,
`run(network, header, figures=...)` and `report(data)`, and register it in `ANALYSES`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..network import Network
    from ..program import Program


class AnalysisResult(Protocol):
    files: dict[str, str]  # file name -> source, written beside program.py
    figures: dict[str, bytes]  # figure name -> PNG

    def to_dict(self) -> dict[str, Any]: ...

    def summary(self) -> str:
        """One line for the command line."""
        ...


class Analysis(Protocol):
    name: str
    needs_verified: bool

    def applies(self, network: Network, family: str, program: Program | None) -> bool: ...

    def run(self, network: Network, header: list[str], *, figures: bool) -> AnalysisResult: ...

    def report(self, data: dict[str, Any]) -> list[str]:
        """Markdown lines for the report, from this analysis' part of result.json."""
        ...


ANALYSES: dict[str, str] = {
    "mechanism": "net2code.analyses.mechanism.run:ClockPizza",
}


def get(name: str) -> Analysis:
    module, _, cls = ANALYSES[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


def all_analyses() -> list[Analysis]:
    return [get(name) for name in ANALYSES]
