"""The pipeline, one function for every family of networks, in order:

    load -> detect family -> domain -> observe -> search (strategies, cheapest first)
    -> emit -> check -> analyses -> result (result.json, report.md, report.html)

`extract()` runs it on a network in memory; `extract_path()` starts from a file or run folder.
The family decides the domain, what to observe, which strategies to try and which checks
define `verified`; everything else is shared (one program protocol, one emitter, one check
record, one result schema, one report).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from ._util import Timer, atomic_write_json, provenance, staged_dir
from .checks import Check, error_summary, headline, is_verified, percent, verified_by
from .emit import NUMPY_FILE, PROGRAM_FILE, emit
from .errors import ConfigError
from .families import Family, Options, detect, refuse_unused
from .network import Network, load
from .strategies import for_family
from .strategies.base import Candidate, Strategy

RESULT_FILE = "result.json"
SCHEMA_VERSION = 1
MAX_PROGRAM_BYTES = 100_000  # emitted files over this are withheld unless allow_large
EXACT_FILES = {PROGRAM_FILE: "program_exact.py", NUMPY_FILE: "program_exact_numpy.py"}


@dataclass(repr=False)
class Extraction:
    """Everything one extraction produced; `to_dict()` is result.json."""

    network: Network
    family: Family
    domain: Any
    candidate: Candidate
    checks: list[Check]
    files: dict[str, str]  # file name -> source: program.py, program_numpy.py, analysis files
    options: Options
    section: dict[str, Any] = field(default_factory=dict)
    tried: list[dict[str, Any]] = field(default_factory=list)
    analyses: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    fallback_checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # withheld files, why there is no program

    @property
    def program(self) -> Any:
        return self.candidate.program

    @property
    def strategy(self) -> str:
        return self.candidate.strategy

    @property
    def verified(self) -> bool:
        return is_verified(self.checks)

    @property
    def verified_by(self) -> list[str]:
        return verified_by(self.checks)

    @property
    def headline(self) -> Check | None:
        return headline(self.checks)

    @property
    def agreement(self) -> float:
        check = self.headline
        return check.agreement if check else 0.0

    def check(self, name: str) -> Check:
        """The check called `name` (KeyError if none ran)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check {name!r}; ran: {', '.join(c.name for c in self.checks)}")

    @property
    def python_source(self) -> str | None:
        return self.files.get(PROGRAM_FILE)

    @property
    def numpy_source(self) -> str | None:
        return self.files.get(NUMPY_FILE)

    @property
    def figures(self) -> dict[str, bytes]:
        return {name: png for a in self.analyses.values() for name, png in a.figures.items()}

    def summary_line(self) -> str:
        return summary_line(self.to_dict())

    def __repr__(self) -> str:
        program = self.program.summary if self.program is not None else "no program"
        status = "verified" if self.verified else "not verified"
        return f"Extraction({self.family.name}: {program!r}, {status}, strategy {self.strategy})"

    def to_dict(self) -> dict[str, Any]:
        program = self.program
        check = self.headline
        return {
            "schema": SCHEMA_VERSION,
            "family": self.family.name,
            "network": {
                "description": self.network.description,
                "source": self.network.source,
                "architecture": self.network.architecture,
                "parameters": self.network.n_parameters,
                "signature": self.network.signature(),
            },
            "domain": self.domain.to_dict(),
            "strategy": self.strategy,
            "program": {
                "file": PROGRAM_FILE if PROGRAM_FILE in self.files else None,
                "numpy_file": NUMPY_FILE if NUMPY_FILE in self.files else None,
                "entry": "program",
                "kind": program.kind if program is not None else None,
                "summary": program.summary if program is not None else None,
                "size": program.size if program is not None else None,
                "size_unit": program.size_unit if program is not None else None,
            },
            "verified": self.verified,
            "verified_by": self.verified_by,
            "agreement": check.agreement if check else 0.0,
            "error": error_summary(self.checks),
            "checks": [c.to_dict() for c in self.checks],
            "fallback": self._fallback_dict(),
            "notes": self.notes,
            "search": {"strategies_tried": self.tried, "stats": _jsonable(self.candidate.stats)},
            "options": self.options.to_dict(),
            "timings": self.timings,
            "provenance": provenance(self.options.seed),
            self.family.name: _jsonable(self.section),
            "analyses": {name: a.to_dict() for name, a in self.analyses.items()},
        }

    def _fallback_dict(self) -> dict[str, Any] | None:
        fallback = self.candidate.fallback
        if fallback is None or fallback.program is None:
            return None
        file = EXACT_FILES[PROGRAM_FILE]
        return {
            "strategy": fallback.strategy,
            "file": file if file in self.files else None,
            "numpy_file": EXACT_FILES[NUMPY_FILE]
            if EXACT_FILES[NUMPY_FILE] in self.files
            else None,
            "size": fallback.program.size,
            "size_unit": fallback.program.size_unit,
            "leaves": fallback.stats.get("leaves"),
            "verified": is_verified(self.fallback_checks),
            "verified_by": verified_by(self.fallback_checks),
            "checks": [c.to_dict() for c in self.fallback_checks],
        }

    def save(self, folder: Path | str) -> Path:
        """Write the program files, result.json, report.md, report.html and any analysis
        files and figures into `folder`: all or nothing."""
        from .report import write
        from .result import validate

        folder = Path(folder)
        data = self.to_dict()
        validate(data)
        files = dict(self.files)
        for analysis in self.analyses.values():
            files.update(analysis.files)
        with staged_dir(folder) as tmp:
            for name, source in files.items():
                (tmp / name).write_text(source, encoding="utf-8")
            atomic_write_json(tmp / RESULT_FILE, data)
            write(tmp, data, files, self.figures)
        return folder

    def _repr_markdown_(self) -> str:
        from .report import render_markdown

        return render_markdown(self.to_dict(), self.files)

    def _repr_html_(self) -> str:
        from .report import render_html

        return render_html(self.to_dict(), self.files, figures=self.figures, standalone=False)


def summary_line(result: dict[str, Any]) -> str:
    """One line: the program, verified or not with the figure behind it (on real outputs the
    proved or sampled error bound), the strategy, and the exact fallback if one was kept."""
    summary = result["program"]["summary"] or "(no program)"
    if len(summary) > 120:
        summary = summary[:117] + "..."
    checks = [Check.from_dict(c) for c in result["checks"]]
    check = headline(checks)
    status = "verified" if result["verified"] else "NOT verified"
    error = result.get("error")
    if error and not result["verified"] and result["program"]["summary"]:
        figure = error["short"]
    elif check:
        figure = (
            f"{check.n_agree:,}/{check.n:,} {check.unit} agree "
            f"({percent(check.n_agree, check.n)}, {check.scope})"
        )
    else:
        figure = "no check ran"
    line = f"{summary}  [{status}: {figure}, strategy {result['strategy']}]"
    fallback = result.get("fallback")
    if fallback:
        where = f"in {fallback['file']}" if fallback["file"] else "withheld, over the size cap"
        state = "verified" if fallback["verified"] else "NOT verified"
        leaves = f"{fallback['leaves']:,} leaves, " if fallback.get("leaves") else ""
        line += (
            f"; exact {fallback['strategy']} ({leaves}{fallback['size']:,} "
            f"{fallback['size_unit']}) {where}, {state}"
        )
    return line


def header_lines(
    network: Network, family: Family, domain: Any, candidate: Candidate, checks: list[Check]
) -> list[str]:
    """The docstring every emitted file starts with: what, from which network, which checks."""
    program = candidate.program
    where = f" ({network.source})" if network.source else ""
    lines = [
        f"{program.summary if program is not None else 'No program'}",
        "",
        f"Extracted by net2code {__version__} from the {family.name} network "
        f"{network.description}{where}.",
        f"Strategy: {candidate.strategy}. Domain: {domain.spec()}.",
    ]
    error = error_summary(checks)
    if is_verified(checks):
        lines.append("Verified: " + "; ".join(c.sentence() for c in checks if c.defining) + ".")
    elif error is not None and program is not None and error["kind"] == "proved":
        lines.append(
            f"Error: {error['statement']}. NOT VERIFIED: that needs agreement within float "
            "tolerance" + ("; program_exact.py is exact." if candidate.fallback else ".")
        )
    elif error is not None and program is not None:
        lines.append(f"Error: {error['statement']}. NOT VERIFIED: sampling proves nothing.")
    else:
        check = headline(checks)
        reason = check.sentence() if check else "no check ran"
        if check is not None and check.passed:
            reason = f"no exhaustive or proved check defines it ({reason})"
        lines.append(f"NOT VERIFIED: {reason}; result.json lists the inputs that disagree.")
    others = [c for c in checks if not c.defining]
    if others:
        lines.append("Other checks:")
        lines += [f"- {c.name}: {c.sentence()}." for c in others]
    return lines


def _jsonable(value: Any) -> Any:
    """Numbers, strings, lists and dicts with string keys, for result.json."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def search(
    family: Family,
    observation: Any,
    strategies: list[Strategy],
    *,
    timeout: float,
    progress: bool,
) -> tuple[Candidate, list[dict[str, Any]]]:
    """Try the strategies in order; the first exact candidate that matches everything the
    network was observed on wins, else the best-matching one."""
    deadline = time.perf_counter() + timeout
    tried: list[dict[str, Any]] = []
    found: list[tuple[Candidate, float]] = []
    for strategy in strategies:
        reason = strategy.applicable(observation)
        if reason is not None:
            tried.append({"strategy": strategy.name, "skipped": reason})
            continue
        left = deadline - time.perf_counter()
        if left <= 0:
            tried.append({"strategy": strategy.name, "skipped": "no time left"})
            continue
        start = time.perf_counter()
        candidate = strategy.search(observation, timeout=left, progress=progress)
        score = family.screen(observation, candidate) if candidate.program is not None else 0.0
        tried.append(
            {
                "strategy": strategy.name,
                "found": candidate.program is not None,
                "exact": candidate.exact,
                "agreement": score,
                "seconds": round(time.perf_counter() - start, 3),
            }
        )
        if candidate.program is None and candidate.stats.get("reason"):
            tried[-1]["reason"] = candidate.stats["reason"]
        found.append((candidate, score))
        if (candidate.exact and score == 1.0) or candidate.accept:
            break
    if not found:
        reasons = "; ".join(f"{t['strategy']}: {t['skipped']}" for t in tried)
        raise ConfigError(f"no strategy applies to this network and domain ({reasons})")
    best, _ = max(
        found,
        key=lambda cs: (
            cs[0].accept or (cs[0].exact and cs[1] == 1.0),
            cs[1],
            cs[0].program is not None,
        ),
    )
    return best, tried


def extract(
    network: Network,
    domain: Any = None,
    *,
    strategies: Sequence[str | Strategy] | None = None,
    timeout: float = 120.0,
    truth: str | None = None,
    sizes: Sequence[int] | None = None,
    count: int | None = None,
    seed: int = 0,
    progress: bool = False,
    analyses: bool = True,
    figures: bool = True,
    allow_large: bool = False,
) -> Extraction:
    """Extract the smallest program that reproduces `network` on its domain, and check it.

    The extractor sees only the network and its domain, never the task or the labels. When no
    strategy finds an exact program the best-matching candidate is returned, and `verified` is
    False. `domain` is for feed-forward networks, `truth` for recurrent ones, `sizes` and
    `count` for iterated ones; a family refuses the options it does not use. Emitted files
    over 100 KB are withheld (with a note) unless `allow_large`.
    """
    timer = Timer()
    if timeout <= 0:
        raise ConfigError(f"timeout={timeout} must be > 0 seconds")
    names = tuple(s for s in strategies if isinstance(s, str)) if strategies else None
    options = Options(
        domain=domain,
        truth=truth,
        sizes=None if sizes is None else tuple(sizes),
        count=count,
        strategies=names,
        timeout=timeout,
        seed=seed,
    )
    with timer("detect"):
        family = detect(network)
        refuse_unused(family, options)
        for_family(family.name, (), names)  # a strategy of another family fails now
    with timer("domain"):
        dom = family.domain(network, options)
        chosen = for_family(family.name, family.strategies(dom), strategies)
    with timer("observe"):
        observation = family.observe(network, dom, options, progress)
    with timer("search"):
        candidate, tried = search(family, observation, chosen, timeout=timeout, progress=progress)
    with timer("emit"):
        draft = emit(candidate.program, []) if candidate.program is not None else {}
    with timer("check"):
        checks = family.checks(
            network, dom, draft, options, evidence=_evidence(candidate), progress=progress
        )
    files: dict[str, str] = {}
    notes: list[str] = []
    if candidate.program is not None:
        files = emit(candidate.program, header_lines(network, family, dom, candidate, checks))
    else:
        notes.append(no_program_line(tried))
    fallback_checks: list[Check] = []
    fallback = candidate.fallback
    if fallback is not None and fallback.program is not None:
        with timer("check"):
            fallback_draft = emit(fallback.program, [])
            fallback_checks = family.checks(
                network, dom, fallback_draft, options, evidence=_evidence(fallback)
            )
        exact = emit(
            fallback.program, header_lines(network, family, dom, fallback, fallback_checks)
        )
        files.update({EXACT_FILES[name]: source for name, source in exact.items()})
    if not allow_large:
        for name, source in list(files.items()):
            if len(source.encode("utf-8")) > MAX_PROGRAM_BYTES:
                del files[name]
                notes.append(
                    f"{name} withheld: {_kilobytes(source)} is over the "
                    f"{MAX_PROGRAM_BYTES // 1000} KB cap on emitted programs "
                    "(--allow-large writes it)"
                )
    with timer("section"):
        section = family.section(network, observation, candidate, options)
    results: dict[str, Any] = {}
    if analyses:
        from .analyses import all_analyses

        verified = is_verified(checks)
        with timer("analyses"):
            for analysis in all_analyses():
                if analysis.needs_verified and not verified:
                    continue
                if analysis.applies(network, family.name, candidate.program):
                    header = header_lines(network, family, dom, candidate, checks)[2:3]
                    results[analysis.name] = analysis.run(network, header, figures=figures)
    return Extraction(
        network=network,
        family=family,
        domain=dom,
        candidate=candidate,
        checks=checks,
        files=files,
        options=options,
        section=section,
        tried=tried,
        analyses=results,
        timings=timer.timings,
        fallback_checks=fallback_checks,
        notes=notes,
    )


def _evidence(candidate: Candidate) -> dict[str, Any]:
    """What a strategy found that the family's checks use: a proof, a scheme. (An error bound
    is not taken from the strategy: the feed-forward checks prove it again from program.py.)"""
    return {
        "proof": candidate.proof,
        "regions": candidate.stats.get("activation_regions"),
        "scheme": candidate.stats.get("scheme"),
    }


def _kilobytes(source: str) -> str:
    size = len(source.encode("utf-8"))
    return f"{size / 1e6:.1f} MB" if size >= 1_000_000 else f"{size / 1000:.0f} KB"


def no_program_line(tried: list[dict[str, Any]]) -> str:
    """Why no strategy produced a program, in one line: each strategy's reason."""
    reasons = []
    for item in tried:
        why = (
            item.get("skipped")
            or item.get("reason")
            or ("nothing found" if not item.get("found") else None)
        )
        if why:
            reasons.append(f"{item['strategy']}: {why}")
    return "no program: " + ("; ".join(reasons) or "no strategy found one")


def extract_path(path: Path | str, domain: Any = None, **kwargs: Any) -> Extraction:
    """Load a network from a run folder or file, then `extract` it."""
    return extract(load(path), domain, **kwargs)
