"""The pipeline, in order: load -> domain -> probe -> extract -> verify -> emit (-> bench/report).

`extract()` runs it on an in-memory network; `extract_path()` starts from a file or run folder.
Strategies are tried cheapest first; the first exact one wins.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import __version__
from ._util import Timer, atomic_write_json, provenance, staged_dir
from .domain import Domain
from .emit import emit_numpy, emit_python, load_function
from .errors import ConfigError
from .extract.approx import ApproxTree, LookupTable
from .extract.base import Behaviour, Candidate, Strategy
from .extract.boolean import BooleanSearch
from .extract.dsl import DSLSearch
from .extract.tree import DecisionTree
from .mechanism.run import MECHANISM_FILE, MechanismResult, applies, run_mechanism
from .network import Network, load
from .probe import probe
from .program import Program
from .verify import Verification, percent, verify, verify_scalar

PROGRAM_FILE = "program.py"
NUMPY_FILE = "program_numpy.py"
RESULT_FILE = "result.json"
REPORT_FILE = "report.md"
HTML_FILE = "report.html"
BOX_CHECK_POINTS = 100_000

STRATEGIES: dict[str, type] = {
    "boolean": BooleanSearch,
    "dsl": DSLSearch,
    "tree": DecisionTree,
    "approx-tree": ApproxTree,
    "lookup": LookupTable,
}
# Cheapest first. On a finite domain a failed search is reported as such (with its best
# candidate's agreement); the lookup table is there when asked for. On a real box the exact
# tree comes first and a fitted tree, never called verified, is the fallback.
DEFAULT_FINITE = ("boolean", "dsl", "tree")
DEFAULT_BOX = ("tree", "approx-tree")


def make_strategies(names: Sequence[str | Strategy] | None, finite: bool = True) -> list[Strategy]:
    """Strategy objects from names (or objects); None gives the default order."""
    out: list[Strategy] = []
    for item in names or (DEFAULT_FINITE if finite else DEFAULT_BOX):
        if isinstance(item, str):
            if item not in STRATEGIES:
                raise ConfigError(
                    f"strategy {item!r} is unknown; choose from {', '.join(STRATEGIES)}"
                )
            out.append(STRATEGIES[item]())
        else:
            out.append(item)
    return out


@dataclass
class Extraction:
    """Everything one extraction produced. `verified` is true only at 100% agreement on a
    finite domain, or with a per-region proof on a box."""

    network: Network
    domain: Domain
    candidate: Candidate
    verification: Verification
    scalar_check: dict[str, Any]
    python_source: str | None
    numpy_source: str | None
    tried: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    mechanism: MechanismResult | None = None

    @property
    def program(self) -> Program | None:
        return self.candidate.program

    @property
    def verified(self) -> bool:
        return self.verification.verified

    @property
    def agreement(self) -> float:
        return self.verification.agreement

    @property
    def strategy(self) -> str:
        return self.candidate.strategy

    def summary_line(self) -> str:
        v = self.verification
        status = "verified" if self.verified else "NOT verified"
        expression = self.program.source if self.program else "(none)"
        if len(expression) > 120:
            expression = expression[:117] + "..."
        where = "points agree" if v.exhaustive else "sampled points agree"
        return (
            f"{expression}  [{status}: {v.n_agree:,}/{v.n_points:,} {where} "
            f"({percent(v.n_agree, v.n_points)}), strategy {self.strategy}]"
        )

    def to_dict(self) -> dict[str, Any]:
        v = self.verification
        return {
            "verified": self.verified,
            "agreement": v.agreement,
            "domain": self.domain.spec(),
            "domain_size": self.domain.size if self.domain.is_finite else None,
            "strategy": self.strategy,
            "program": PROGRAM_FILE if self.python_source else None,
            "program_numpy": NUMPY_FILE if self.numpy_source else None,
            "expression": self.program.source if self.program else None,
            "program_size": self.program.size if self.program else None,
            "network": {
                "description": self.network.description,
                "source": self.network.source,
                "n_inputs": self.network.n_inputs,
                "n_outputs": self.network.n_outputs,
                "parameters": self.network.n_parameters,
                "white_box_layers": None
                if self.network.layers is None
                else [list(layer.weight.shape) for layer in self.network.layers],
            },
            "verification": {**v.to_dict(), "scalar_program": self.scalar_check},
            "search": self.candidate.stats,
            "strategies_tried": self.tried,
            "mechanism": self.mechanism.to_dict() if self.mechanism else None,
            "timings": self.timings,
            **provenance(self.seed),
        }

    def save(self, folder: Path | str) -> Path:
        """Write program.py, program_numpy.py, result.json and report.md; all or nothing."""
        from .report import render_html, render_markdown

        folder = Path(folder)
        with staged_dir(folder) as tmp:
            if self.python_source:
                (tmp / PROGRAM_FILE).write_text(self.python_source, encoding="utf-8")
            if self.numpy_source:
                (tmp / NUMPY_FILE).write_text(self.numpy_source, encoding="utf-8")
            atomic_write_json(tmp / RESULT_FILE, self.to_dict())
            (tmp / REPORT_FILE).write_text(render_markdown(self), encoding="utf-8")
            if self.mechanism is not None:
                (tmp / MECHANISM_FILE).write_text(self.mechanism.source, encoding="utf-8")
                (tmp / HTML_FILE).write_text(render_html(self), encoding="utf-8")
        return folder

    def _repr_markdown_(self) -> str:
        from .report import render_markdown

        return render_markdown(self)

    def _repr_html_(self) -> str:
        from .report import render_html

        return render_html(self, standalone=False)


def _header(network: Network, domain: Domain, candidate: Candidate, v: Verification) -> list[str]:
    where = f" ({network.source})" if network.source else ""
    size = f"{domain.size:,} points" if domain.is_finite else "a real box"
    lines = [
        f"Extracted by net2code {__version__} from the network {network.description}{where}.",
        f"Strategy: {candidate.strategy}. Domain: {domain.spec()} ({size}).",
    ]
    if v.verified and v.exhaustive:
        lines.append(
            f"Agreement with the network: {v.n_agree:,}/{v.n_points:,} points (100%): "
            "verified on every point of the domain."
        )
    elif v.verified:
        lines.append(
            "Verified on the whole box: proved equal per activation region, and "
            f"{v.n_agree:,}/{v.n_points:,} random points agree."
        )
    else:
        kind = "points" if v.exhaustive else "sampled points (not a proof)"
        lines.append(
            f"NOT VERIFIED. Agreement with the network: {v.n_agree:,}/{v.n_points:,} {kind} "
            f"({percent(v.n_agree, v.n_points)}); result.json lists the inputs that disagree."
        )
    return lines


def _check_points(network: Network, domain: Domain, behaviour: Behaviour) -> Behaviour:
    """The points verification runs on: the whole finite domain, or fresh box samples."""
    if behaviour.exhaustive:
        return behaviour
    return probe(network, domain, samples=BOX_CHECK_POINTS, seed=1)


def extract(
    network: Network,
    domain: Domain | str | None = None,
    *,
    strategies: Sequence[str | Strategy] | None = None,
    timeout: float = 120.0,
    progress: bool = False,
    mechanism: bool = True,
    figures: bool = True,
) -> Extraction:
    """Extract the smallest program that reproduces `network` on its domain.

    The extractor sees only the network and the domain. When no strategy finds an exact
    program, the best-agreeing candidate is returned and `verified` is False. When the program
    is modular addition on a net2code token network, `mechanism` also reads how the network
    computes it (Clock or Pizza) and emits the faithful program.
    """
    timer = Timer()
    make_strategies(strategies)  # unknown names fail before anything runs
    if timeout <= 0:
        raise ConfigError(f"timeout={timeout} must be > 0 seconds")
    with timer("domain"):
        if domain is None:
            domain = network.natural_domain
        elif isinstance(domain, str):
            domain = Domain.parse(domain)
        domain.check_size()
        network.check_domain(domain)
    with timer("probe"):
        behaviour: Behaviour = probe(network, domain)
        domain = behaviour.domain or domain
        checks = _check_points(network, domain, behaviour)
    chosen = make_strategies(strategies, finite=domain.is_finite)
    deadline = time.perf_counter() + timeout
    tried: list[dict[str, Any]] = []
    candidates: list[tuple[Candidate, Verification]] = []
    with timer("search"):
        for strategy in chosen:
            reason = strategy.applicable(behaviour)
            if reason is not None:
                tried.append({"strategy": strategy.name, "skipped": reason})
                continue
            left = deadline - time.perf_counter()
            if left <= 0:
                tried.append({"strategy": strategy.name, "skipped": "no time left"})
                continue
            candidate = strategy.search(behaviour, timeout=left, progress=progress)
            check = verify(
                None
                if candidate.program is None
                else load_function(emit_numpy(candidate.program, [])),
                checks,
                proof=candidate.proof,
            )
            tried.append(
                {"strategy": strategy.name, "exact": candidate.exact, "agreement": check.agreement}
            )
            candidates.append((candidate, check))
            if candidate.exact and check.agreement == 1.0:
                break
    if not candidates:
        reasons = "; ".join(f"{t['strategy']}: {t.get('skipped')}" for t in tried)
        raise ConfigError(f"no strategy applies to this network and domain ({reasons})")
    best, verification = max(
        candidates, key=lambda cv: (cv[1].verified, cv[1].agreement, cv[0].program is not None)
    )
    python_source = numpy_source = None
    scalar: dict[str, Any] = {}
    with timer("emit"):
        if best.program is not None:
            header = _header(network, domain, best, verification)
            python_source = emit_python(best.program, header)
            numpy_source = emit_numpy(best.program, header)
    with timer("verify"):
        if python_source is not None and numpy_source is not None:
            # Re-check the final artefacts themselves: the vectorised file on every point,
            # and the plain-Python file point by point.
            verification = verify(load_function(numpy_source), checks, proof=best.proof)
            scalar = verify_scalar(load_function(python_source), checks)
            missed = scalar["checked"] - scalar["agree"]
            if missed:  # program.py itself must agree too, or nothing is verified
                verification = replace(
                    verification,
                    n_agree=min(verification.n_agree, verification.n_points - missed),
                    method=f"{verification.method}; program.py disagreed on {missed:,} points",
                )
    mechanism_result = None
    if mechanism and verification.verified and applies(network, best.program):
        with timer("mechanism"):
            mechanism_result = run_mechanism(
                network, _header(network, domain, best, verification)[:1], figures=figures
            )
    return Extraction(
        mechanism=mechanism_result,
        network=network,
        domain=domain,
        candidate=best,
        verification=verification,
        scalar_check=scalar,
        python_source=python_source,
        numpy_source=numpy_source,
        tried=tried,
        timings=timer.timings,
    )


def extract_path(path: Path | str, domain: Domain | str | None = None, **kwargs: Any) -> Extraction:
    """Load a network from a run folder or file, then `extract` it."""
    return extract(load(path), domain, **kwargs)
