"""Families of networks, each a plug-in behind one protocol, in one registry.

A family says which networks are its own (from the loaded network's type and signature), what
its domain is, how to observe the network on it, which strategies apply and in what order, and
which checks define `verified` for it. Four families today:

* `feed-forward` (`feedforward.py`): points in, outputs out; a finite domain or a real box;
* `recurrent` (`recurrent.py`): sequences in, one output per step; programs are loops;
* `iterated` (`iterated.py`): a block applied until the answer settles (DT-nets); programs are
  cellular-automaton rules (mazes) or scans (bit strings);
* `bilinear` (`bilinear.py`): c = W((U a) * (V b)); programs are matrix-multiplication
  schemes, proved by the Brent equations.

To add one: write a module with a class that satisfies `Family`, give its networks a type of
their own (or a signature its `claims` recognises), and add it to `FAMILIES`. The conformance
tests (tests/test_conformance.py) then run it through the whole pipeline.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..checks import Check
    from ..network import Network
    from ..strategies.base import Candidate


@dataclass(frozen=True)
class Options:
    """What a user sets on an extraction. `domain`, `truth`, `sizes` and `count` belong to
    particular families; a family refuses the ones it does not use."""

    domain: Any = None  # feed-forward: a Domain or its spec
    truth: str | None = None  # recurrent: a preset name, or a .py defining truth(xs)
    sizes: tuple[int, ...] | None = None  # iterated: the problem sizes to check at
    count: int | None = None  # iterated: problems per size
    strategies: tuple[str, ...] | None = None
    timeout: float = 120.0
    seed: int = 0

    def family_options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FAMILY_OPTIONS}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["domain"] is not None and not isinstance(data["domain"], str):
            data["domain"] = self.domain.spec()
        return data


FAMILY_OPTIONS = ("domain", "truth", "sizes", "count")


@dataclass(frozen=True)
class Workload:
    """What `net2code bench` runs network and program on: `items` (JSON-ready: a point, a
    sequence or a problem each), or `ranges` to enumerate (a finite grid of points)."""

    unit: str
    call: str  # "columns": program(*point) / program(*columns); "item": program(item) / (batch)
    items: list[Any] | None = None
    ranges: list[list[int]] | None = None

    @property
    def size(self) -> int:
        if self.items is not None:
            return len(self.items)
        assert self.ranges is not None
        return math.prod(hi - lo + 1 for lo, hi in self.ranges)


class Family(Protocol):
    """One kind of network, from detection to checks."""

    name: str
    options: frozenset[str]  # which of FAMILY_OPTIONS it takes
    report_options: frozenset[str]  # which options of `net2code report` it takes

    def claims(self, network: Network) -> bool:
        """Is this network one of ours (by its type and signature)?"""
        ...

    def domain(self, network: Network, options: Options) -> Any:
        """The domain to extract on, validated against the network before anything runs."""
        ...

    def strategies(self, domain: Any) -> tuple[str, ...]:
        """The strategies tried by default, cheapest first."""
        ...

    def observe(self, network: Network, domain: Any, options: Options, progress: bool) -> Any:
        """Run the network on its domain: what the strategies may see (never a label)."""
        ...

    def screen(self, observation: Any, candidate: Candidate) -> float:
        """The share of observed inputs on which a candidate matches the network (search)."""
        ...

    def checks(
        self,
        network: Network,
        domain: Any,
        files: dict[str, str],
        options: Options,
        *,
        evidence: dict[str, Any],
        quick: bool = False,
        progress: bool = False,
    ) -> list[Check]:
        """Check the emitted files against the network (and the ground truth where known).
        `evidence` carries what a strategy proved (a box's regions); `quick` keeps the
        defining checks and the cheap ones (for `net2code verify`)."""
        ...

    def section(
        self, network: Network, observation: Any, candidate: Candidate, options: Options
    ) -> dict[str, Any]:
        """The family's own part of result.json."""
        ...

    def report(self, result: dict[str, Any]) -> list[str]:
        """Markdown lines the family adds to the report."""
        ...

    def figures(
        self, network: Network, result: dict[str, Any], folder: Path, **options: Any
    ) -> tuple[dict[str, bytes], list[str]]:
        """Figures (name -> PNG/GIF) and Markdown lines the family adds to `net2code report`."""
        ...

    def workload(self, network: Network, result: dict[str, Any]) -> Workload:
        """The inputs `net2code bench` times network and program on."""
        ...

    def runner(self, network: Network, result: dict[str, Any]) -> Callable[[Any], Any]:
        """A function giving the network's answers on a batch of workload items (what the
        program reproduces), prepared once so that timing it times the network."""
        ...


# name -> "module:Class", in the order detection asks them
FAMILIES: dict[str, str] = {
    "feed-forward": "net2code.families.feedforward:FeedForward",
    "recurrent": "net2code.families.recurrent:Recurrent",
    "iterated": "net2code.families.iterated:Iterated",
    "bilinear": "net2code.families.bilinear:Bilinear",
}


def get(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"family {name!r} is unknown; known: {', '.join(FAMILIES)}")
    module, _, cls = FAMILIES[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


def detect(network: Network) -> Family:
    """The family that claims `network`, or one line saying none does."""
    for name in FAMILIES:
        family = get(name)
        if family.claims(network):
            return family
    raise ConfigError(
        f"no family of networks claims {network.description} (families: {', '.join(FAMILIES)})"
    )


def refuse_unused(family: Family, options: Options) -> None:
    """One line for a family option the family does not use, rather than ignoring it."""
    for name, value in options.family_options().items():
        if value is not None and name not in family.options:
            uses = ", ".join(f"--{o}" for o in sorted(family.options)) or "none of them"
            raise ConfigError(f"--{name} is not used by the {family.name} family (it takes {uses})")
