"""One check record for every family, and the one meaning of `verified`.

A check compares an emitted program with a reference (the network, or a ground truth) on some
inputs, and says how far that comparison reaches:

* ``exhaustive``: every input of a finite domain (every point, every sequence of a length over
  the alphabet, every maze of a size);
* ``proved``: an argument that covers a domain that cannot be enumerated (a real box, split into
  activation regions on which the network is one affine map);
* ``sampled``: some inputs, with their count. Never enough to call a program verified.

A program is **verified** when its family's defining checks all hold and are exhaustive or
proved, and no other check against the network *inside the same domain* found a disagreement
(a sample of a proved box, program.py run point by point). Checks beyond the domain (longer
sequences, larger mazes) are reported beside it and do not decide it. `verified_by` says which
checks those were, in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

MAX_LISTED = 20  # disagreements kept per check
RTOL, ATOL = 1e-4, 1e-5  # real outputs: the network in float32, the program in float64
SCOPES = ("exhaustive", "proved", "sampled")
AGAINST = ("network", "truth")


def percent(n_agree: int, n: int) -> str:
    """A percentage that never rounds a shortfall up to 100%."""
    if n == 0:
        return "n/a"
    if n_agree == n:
        return "100%"
    return f"{min(99.999, 100 * n_agree / n):.3f}%"


def tolerance(outputs: np.ndarray) -> float:
    """Absolute tolerance for real outputs: ATOL of the output scale."""
    return ATOL * max(1.0, float(np.max(np.abs(outputs)))) if len(outputs) else ATOL


@dataclass(frozen=True)
class Check:
    """One comparison of the program with a reference.

    `n` items (points, sequences, mazes, ...; `unit`) were compared and `n_agree` agreed.
    `size` is the sequence length or problem size where one applies. `defining` marks the
    checks that decide `verified` for the family; `within_domain` is False for a check that
    runs beyond the domain `verified` speaks of.
    """

    name: str
    against: str  # "network" or "truth"
    scope: str  # "exhaustive", "proved" or "sampled"
    n: int
    n_agree: int
    description: str  # what was compared, in words
    unit: str = "points"
    size: int | None = None
    defining: bool = False
    within_domain: bool = True
    proof: str | None = None
    disagreements: tuple[dict[str, Any], ...] = ()  # the first MAX_LISTED
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"check scope {self.scope!r} is not one of {SCOPES}")
        if self.against not in AGAINST:
            raise ValueError(f"check reference {self.against!r} is not one of {AGAINST}")
        if not 0 <= self.n_agree <= self.n:
            raise ValueError(f"check {self.name!r}: {self.n_agree} of {self.n} cannot agree")

    @property
    def passed(self) -> bool:
        return self.n > 0 and self.n_agree == self.n

    @property
    def agreement(self) -> float:
        return self.n_agree / self.n if self.n else 0.0

    @property
    def complete(self) -> bool:
        """Exhaustive or proved: enough, if it passed, to call the program verified."""
        return self.scope in ("exhaustive", "proved")

    def sentence(self) -> str:
        """The check in words, with its figure."""
        reference = "the network" if self.against == "network" else "the ground truth"
        beyond = "" if self.within_domain else ", beyond the domain"
        if "rms_error" in self.details:  # real outputs: the error first, then the agreement
            return (
                f"max |N - P| {self.details['max_abs_error']:.4g}, RMS "
                f"{self.details['rms_error']:.3g}; {self.n_agree:,}/{self.n:,} {self.unit} within "
                f"float tolerance of {reference}: {self.description} ({self.scope}{beyond})"
            )
        return (
            f"{self.n_agree:,}/{self.n:,} {self.unit} agree with {reference} "
            f"({percent(self.n_agree, self.n)}): {self.description} ({self.scope}{beyond})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "against": self.against,
            "scope": self.scope,
            "unit": self.unit,
            "size": self.size,
            "n": self.n,
            "n_agree": self.n_agree,
            "agreement": self.agreement,
            "passed": self.passed,
            "defining": self.defining,
            "within_domain": self.within_domain,
            "description": self.description,
            "proof": self.proof,
            "disagreements": list(self.disagreements),
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        return cls(
            name=data["name"],
            against=data["against"],
            scope=data["scope"],
            n=data["n"],
            n_agree=data["n_agree"],
            description=data["description"],
            unit=data.get("unit", "points"),
            size=data.get("size"),
            defining=data.get("defining", False),
            within_domain=data.get("within_domain", True),
            proof=data.get("proof"),
            disagreements=tuple(data.get("disagreements", ())),
            details=dict(data.get("details", {})),
        )

    def worse(self, n_agree: int, note: str) -> Check:
        """The same check with fewer agreeing items (a second look found more disagreements)."""
        return replace(
            self,
            n_agree=min(self.n_agree, n_agree),
            description=f"{self.description}; {note}",
        )


def is_verified(checks: Sequence[Check]) -> bool:
    """Every defining check holds and is exhaustive or proved; no other check against the
    network inside the domain disagrees (a counterexample found by sampling still counts)."""
    defining = [c for c in checks if c.defining]
    if not defining:
        return False
    if not all(c.passed and c.complete for c in defining):
        return False
    return all(c.passed for c in checks if c.against == "network" and c.within_domain)


def verified_by(checks: Sequence[Check]) -> list[str]:
    """The defining checks in words, when they verify the program; else empty."""
    if not is_verified(checks):
        return []
    return [c.sentence() for c in checks if c.defining]


def headline(checks: Sequence[Check]) -> Check | None:
    """The check a one-line summary quotes: the first check against the network inside the
    domain that failed, else the first defining one, else the first against the network."""
    for choose in (
        lambda c: c.against == "network" and c.within_domain and not c.passed,
        lambda c: c.defining,
        lambda c: c.against == "network",
        lambda c: True,
    ):
        for check in checks:
            if choose(check):
                return check
    return None


# ---------------------------------------------------------------------- point comparisons
def agree(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Elementwise agreement: exact for integers, within RTOL/ATOL for reals."""
    if np.issubdtype(reference.dtype, np.floating):
        return np.isclose(
            values.astype(np.float64), reference, rtol=RTOL, atol=tolerance(reference)
        )
    return values == reference


def compare_points(
    program: Callable[..., Any] | None,
    inputs: np.ndarray,
    reference: np.ndarray,
    names: tuple[str, ...],
) -> tuple[int, tuple[dict[str, Any], ...], str | None]:
    """Run the vectorised `program(*columns)` on `inputs` (n, k) and compare with `reference`
    (n,). Returns (n_agree, first disagreements, error). A program that raises agrees nowhere."""
    n = len(reference)
    if program is None:
        return 0, (), "no program"
    columns = [inputs[:, i] for i in range(inputs.shape[1])]
    try:
        with np.errstate(all="raise"):
            values = np.broadcast_to(np.asarray(program(*columns)), (n,))
    except (ArithmeticError, FloatingPointError, ValueError, IndexError) as exc:
        return 0, (), f"the program raised {type(exc).__name__}: {exc}"
    ok = agree(values, reference)
    wrong = np.flatnonzero(~ok)[:MAX_LISTED]
    listed = tuple(
        {
            "input": {name: inputs[i, j].item() for j, name in enumerate(names)},
            "network": reference[i].item(),
            "program": values[i].item(),
        }
        for i in wrong
    )
    return int(ok.sum()), listed, None


def compare_scalar(
    program: Callable[..., Any], inputs: np.ndarray, reference: np.ndarray, limit: int = 200_000
) -> tuple[int, int, bool]:
    """Run the plain-Python `program` point by point on every point (or an even sample of
    `limit`). Returns (checked, agreeing, exhaustive)."""
    n = len(reference)
    index = np.arange(n) if n <= limit else np.linspace(0, n - 1, limit).astype(np.int64)
    floats = np.issubdtype(reference.dtype, np.floating)
    atol = tolerance(reference) if floats else 0.0
    agreeing = 0
    for i in index.tolist():
        try:
            value = program(*(v.item() for v in inputs[i]))
        except ArithmeticError:
            continue
        expected = reference[i].item()
        if floats:
            agreeing += int(abs(value - expected) <= atol + RTOL * abs(expected))
        else:
            agreeing += int(value == expected)
    return len(index), agreeing, len(index) == n


# ---------------------------------------------------------------------- real outputs
def error_figures(values: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """max and RMS |program - network| on real outputs, and the network's output range."""
    difference = np.abs(values.astype(np.float64) - reference.astype(np.float64))
    worst = int(np.argmax(difference)) if len(difference) else 0
    return {
        "max_abs_error": float(difference.max()) if len(difference) else 0.0,
        "rms_error": float(np.sqrt(np.mean(difference**2))) if len(difference) else 0.0,
        "worst_index": worst,
        "output_range": [float(reference.min()), float(reference.max())],
    }


def _share(error: float, output_range: Sequence[float]) -> str:
    spread = output_range[1] - output_range[0]
    return f"{100 * error / spread:.2f}% of the output range" if spread > 0 else "a constant output"


def error_summary(checks: Sequence[Check]) -> dict[str, Any] | None:
    """How far the program is from the network on real outputs, for result.json's `error`:
    the proved max |N - P| over the whole box where a check proved one, else the sampled max
    and RMS with their count. None when the outputs are not real."""
    proved = next((c for c in checks if c.scope == "proved" and "max_abs_error" in c.details), None)
    sampled = next(
        (
            c
            for c in checks
            if c.scope == "sampled" and c.against == "network" and "rms_error" in c.details
        ),
        None,
    )
    if proved is None and sampled is None:
        return None
    base = sampled.details if sampled is not None else proved.details  # type: ignore[union-attr]
    if "output_range" not in base:
        return None
    output_range = base["output_range"]
    out: dict[str, Any] = {"output_range": output_range}
    if sampled is not None:
        out.update(
            sampled_max_abs_error=sampled.details["max_abs_error"],
            rms_error=sampled.details["rms_error"],
            samples=sampled.n,
        )
    if proved is not None:
        error = float(proved.details["max_abs_error"])
        out.update(kind="proved", max_abs_error=error, where=proved.details.get("where"))
        if error == 0.0:
            out["statement"] = (
                "equal to the network on every activation region of the box (proved); "
                + (
                    f"sampled max |N - P| {out['sampled_max_abs_error']:.3g} is float rounding"
                    if sampled is not None
                    else "float rounding aside"
                )
            )
            out["short"] = "exact on every region (proved)"
        else:
            out["statement"] = (
                f"proved within {error:.4g} ({_share(error, output_range)}) over the whole box"
                + (
                    f"; sampled RMS {out['rms_error']:.3g} on {out['samples']:,} points"
                    if sampled is not None
                    else ""
                )
            )
            out["short"] = f"proved within {error:.4g} ({_share(error, output_range)})"
    else:
        assert sampled is not None
        error = float(sampled.details["max_abs_error"])
        out.update(kind="sampled", max_abs_error=error)
        out["statement"] = (
            f"sampled: max |N - P| {error:.4g} ({_share(error, output_range)}), RMS "
            f"{out['rms_error']:.3g}, on {sampled.n:,} random points (not a bound)"
        )
        out["short"] = (
            f"sampled max |N - P| {error:.4g} ({_share(error, output_range)}) on "
            f"{sampled.n:,} points"
        )
    return out
