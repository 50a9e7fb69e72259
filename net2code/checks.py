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
