"""Input domains and output readouts: the domain language, the same in Python and on the CLI.

    "a:0..58 b:0..58"            two integer inputs (finite: every point is enumerated)
    "x1:bit x2:bit x3:bit"       bits (short for x:0..1)
    "x:[-1,1] y:[-2.5,2.5]"      a real box (not enumerable: sampled, or proved per region)
    "x1:bit x2:bit -> bit"       a readout after "->": argmax | bit | round | real
    "seq(x:0..1) len:0..14 -> argmax"          sequences: every step in 0..1, lengths 0 to 14
    "seq(x:{0,1}) prefix:2 len:0..12 -> bits"  a set of token ids, a BOS token 2 before each
                                               sequence (its output dropped), bits per step

Each family has its domain type: `Domain` (points: finite or a real box) for feed-forward
networks, `SequenceDomain` for recurrent ones, `ProblemDomain` for iterated ones. All three
give `spec()` (one line), `kind` and `size` (the points, sequences or problems a check can
enumerate; None where there is no end to them).

Readouts turn the network's raw output vector into the value a program must reproduce:
``argmax`` (the class), ``bit`` (1 if the single logit is > 0), ``round`` (the nearest integer)
or ``real`` (the value itself). The default is argmax for several outputs; for one output it
is bit on a finite domain and real on a box.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DomainError

MAX_DOMAIN_POINTS = 10_000_000
READOUTS = ("argmax", "bit", "round", "real")

_NAME = r"(?P<name>[A-Za-z_]\w*)"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_INT = re.compile(rf"^{_NAME}:(?P<lo>-?\d+)\.\.(?P<hi>-?\d+)$")
_BIT = re.compile(rf"^{_NAME}:bit$")
_REAL = re.compile(rf"^{_NAME}:\[(?P<lo>{_NUMBER}),(?P<hi>{_NUMBER})\]$")


@dataclass(frozen=True)
class IntRange:
    """An integer input taking every value in lo..hi (inclusive)."""

    name: str
    lo: int
    hi: int

    def __post_init__(self) -> None:
        if self.hi < self.lo:
            raise DomainError(f"input {self.name!r}: range {self.lo}..{self.hi} is empty (hi < lo)")

    @property
    def size(self) -> int:
        return self.hi - self.lo + 1

    @property
    def is_bit(self) -> bool:
        return self.lo == 0 and self.hi == 1

    def spec(self) -> str:
        return f"{self.name}:bit" if self.is_bit else f"{self.name}:{self.lo}..{self.hi}"


@dataclass(frozen=True)
class RealInterval:
    """A real input anywhere in [lo, hi]."""

    name: str
    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)) or self.hi <= self.lo:
            raise DomainError(
                f"input {self.name!r}: interval [{self.lo}, {self.hi}] must be finite with lo < hi"
            )

    def spec(self) -> str:
        return f"{self.name}:[{self.lo:g},{self.hi:g}]"


@dataclass(frozen=True)
class Domain:
    """The inputs, in the order the network takes them, and an optional readout."""

    inputs: tuple[IntRange | RealInterval, ...]
    readout: str | None = None

    def __post_init__(self) -> None:
        if not self.inputs:
            raise DomainError("a domain needs at least one input")
        names = [r.name for r in self.inputs]
        if len(set(names)) != len(names):
            raise DomainError(f"input names must be distinct, got {' '.join(names)}")
        if self.readout is not None and self.readout not in READOUTS:
            raise DomainError(f"readout {self.readout!r} is unknown; choose one of {READOUTS}")
        kinds = {isinstance(r, RealInterval) for r in self.inputs}
        if len(kinds) > 1:
            raise DomainError(f"domain {self.spec()!r} mixes integer and real inputs; use one kind")

    @classmethod
    def parse(cls, spec: str) -> Domain:
        """Parse the domain language (see the module docstring)."""
        inputs_part, arrow, readout_part = spec.partition("->")
        readout = readout_part.strip() or None
        if arrow and readout is None:
            raise DomainError(f"domain {spec!r} has '->' but no readout; choose one of {READOUTS}")
        ranges: list[IntRange | RealInterval] = []
        for token in inputs_part.split():
            if match := _INT.match(token):
                ranges.append(IntRange(match["name"], int(match["lo"]), int(match["hi"])))
            elif match := _BIT.match(token):
                ranges.append(IntRange(match["name"], 0, 1))
            elif match := _REAL.match(token):
                ranges.append(RealInterval(match["name"], float(match["lo"]), float(match["hi"])))
            else:
                raise DomainError(
                    f"cannot parse domain token {token!r}: expected NAME:LO..HI, NAME:bit "
                    "or NAME:[LO,HI]"
                )
        domain = cls(tuple(ranges), readout)
        domain.check_size()
        return domain

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.inputs)

    @property
    def kind(self) -> str:
        return "finite" if self.is_finite else "box"

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec(),
            "kind": self.kind,
            "size": self.size if self.is_finite else None,
        }

    @property
    def is_finite(self) -> bool:
        return all(isinstance(r, IntRange) for r in self.inputs)

    @property
    def is_boolean(self) -> bool:
        return all(isinstance(r, IntRange) and r.is_bit for r in self.inputs)

    @property
    def size(self) -> int:
        """Number of points (finite domains only)."""
        if not self.is_finite:
            raise DomainError(f"domain {self.spec()!r} is a real box: it has no finite size")
        return math.prod(r.hi - r.lo + 1 for r in self.inputs if isinstance(r, IntRange))

    def spec(self) -> str:
        text = " ".join(r.spec() for r in self.inputs)
        return f"{text} -> {self.readout}" if self.readout else text

    def with_readout(self, readout: str) -> Domain:
        return Domain(self.inputs, readout)

    def check_size(self, limit: int = MAX_DOMAIN_POINTS) -> None:
        if self.is_finite and self.size > limit:
            raise DomainError(
                f"domain {self.spec()!r} has {self.size:,} points, over the enumeration limit "
                f"of {limit:,}"
            )

    def enumerate(self) -> np.ndarray:
        """Every point, row-major (the last input varies fastest).  # (size, n_inputs) int64"""
        self.check_size()
        axes = [np.arange(int(r.lo), int(r.hi) + 1, dtype=np.int64) for r in self.inputs]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.reshape(-1) for m in mesh], axis=1)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """Uniform random points of a box.  # (n, n_inputs) float64"""
        rng = np.random.default_rng(seed)
        lows = np.array([r.lo for r in self.inputs], dtype=np.float64)
        highs = np.array([r.hi for r in self.inputs], dtype=np.float64)
        return lows + (highs - lows) * rng.random((n, len(self.inputs)))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corners of the box around the domain.  # (n_inputs,) each"""
        lows = np.array([r.lo for r in self.inputs], dtype=np.float64)
        highs = np.array([r.hi for r in self.inputs], dtype=np.float64)
        return lows, highs


MAX_SEQUENCES = 1 << 20  # the most sequences an exhaustive check enumerates
SEQUENCE_READOUTS = ("argmax", "bits", "round", "real")
_SET = re.compile(rf"^{_NAME}:\{{(?P<values>-?\d+(?:,-?\d+)*)\}}$")
_LEN = re.compile(r"^len:(?:(?P<lo>\d+)\.\.)?(?P<hi>\d+)$")
_PREFIX = re.compile(r"^prefix:\{?(?P<values>-?\d+(?:,-?\d+)*)\}?$")
_BITS = re.compile(r"^bits(?:\((?P<units>\d+(?:,\d+)*)\))?$")


@dataclass(frozen=True)
class IntSet:
    """An integer input taking the listed values (token ids, say), in increasing order."""

    name: str
    values: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise DomainError(f"input {self.name!r}: the set of values is empty")
        if list(self.values) != sorted(set(self.values)):
            object.__setattr__(self, "values", tuple(sorted(set(self.values))))

    @property
    def size(self) -> int:
        return len(self.values)

    @property
    def lo(self) -> int:
        return self.values[0]

    @property
    def hi(self) -> int:
        return self.values[-1]

    def spec(self) -> str:
        return f"{self.name}:{{{','.join(str(v) for v in self.values)}}}"


Step = IntRange | IntSet | RealInterval


def _step_values(r: IntRange | IntSet) -> list[int]:
    return list(r.values) if isinstance(r, IntSet) else list(range(r.lo, r.hi + 1))


@dataclass(frozen=True)
class SequenceDomain:
    """Sequences whose steps take values in `inputs` (one range or set per component), with
    one output per step read as `readout`: argmax, bits (logit > 0 per output unit, or per
    unit listed in `units`), round or real.

    `length` is the longest length checked: given by the user (``len:0..14``: then every
    sequence up to it is enumerated, at most MAX_SEQUENCES of the longest length), or the
    length a run was trained at (then `exhaustive_length` is the longest enumerable length up
    to it). `prefix` tokens (a BOS token, say) go before every sequence; their outputs are
    dropped. Real components have no alphabet to enumerate: then `exhaustive_length` is None.
    """

    inputs: tuple[Step, ...]
    length: int
    readout: str = "argmax"
    prefix: tuple[int, ...] = ()
    units: tuple[int, ...] | None = None
    min_length: int = 1
    given: bool = False  # the lengths come from the user (len:...), not from a run

    def __post_init__(self) -> None:
        if not self.inputs:
            raise DomainError("a sequence domain needs at least one input per step")
        names = [r.name for r in self.inputs]
        if len(set(names)) != len(names):
            raise DomainError(f"input names must be distinct, got {' '.join(names)}")
        if self.length < 1:
            raise DomainError(f"sequence length {self.length} must be >= 1")
        if not 0 <= self.min_length <= self.length:
            raise DomainError(
                f"lengths {self.min_length}..{self.length}: the shortest must be in 0..longest"
            )
        if self.readout not in SEQUENCE_READOUTS:
            raise DomainError(
                f"sequence readout {self.readout!r} is unknown; choose one of "
                f"{', '.join(SEQUENCE_READOUTS)}"
            )
        if self.units is not None and self.readout != "bits":
            raise DomainError("output units can be chosen for the bits readout only")
        if self.prefix and (len(self.inputs) != 1 or self.alphabet_size is None):
            raise DomainError("prefix tokens need one integer input per step")
        if self.given:
            k = self.alphabet_size
            if k is None:
                raise DomainError("len:... needs integer inputs (real steps cannot be enumerated)")
            if k**self.length > MAX_SEQUENCES:
                raise DomainError(
                    f"len:..{self.length} over {k} symbols is {k}^{self.length} = "
                    f"{k**self.length:,} sequences, over the enumeration limit of "
                    f"{MAX_SEQUENCES:,} (2^20); the longest length that fits is "
                    f"{int(math.log(MAX_SEQUENCES) / math.log(k)) if k > 1 else 'any'}"
                )

    @classmethod
    def parse(cls, spec: str) -> SequenceDomain:
        """``seq(STEP ...) [prefix:T[,T...]] [len:[LO..]HI] [-> READOUT]``, where a STEP is
        NAME:LO..HI, NAME:bit or NAME:{V,V,...} and READOUT is argmax, bits, bits(U,U,...),
        round or real."""
        text = spec.strip()
        head, arrow, readout_part = text.partition("->")
        readout = readout_part.strip() or "argmax"
        if arrow and not readout_part.strip():
            raise DomainError(f"domain {spec!r} has '->' but no readout")
        units = None
        if match := _BITS.match(readout):
            readout = "bits"
            if match["units"]:
                units = tuple(int(u) for u in match["units"].split(","))
        match = re.match(r"^\s*seq\((?P<steps>[^)]*)\)(?P<rest>.*)$", head)
        if match is None:
            raise DomainError(
                f"cannot parse sequence domain {spec!r}: expected seq(NAME:LO..HI ...) "
                "[prefix:T] [len:LO..HI] [-> readout]"
            )
        steps: list[Step] = []
        for token in match["steps"].split():
            if m := _INT.match(token):
                steps.append(IntRange(m["name"], int(m["lo"]), int(m["hi"])))
            elif m := _BIT.match(token):
                steps.append(IntRange(m["name"], 0, 1))
            elif m := _SET.match(token.replace(" ", "")):
                steps.append(IntSet(m["name"], tuple(int(v) for v in m["values"].split(","))))
            elif m := _REAL.match(token):
                steps.append(RealInterval(m["name"], float(m["lo"]), float(m["hi"])))
            else:
                raise DomainError(
                    f"cannot parse step {token!r}: expected NAME:LO..HI, NAME:bit, "
                    "NAME:{V,V,...} or NAME:[LO,HI]"
                )
        prefix: tuple[int, ...] = ()
        lengths: tuple[int, int] | None = None
        for token in match["rest"].split():
            if m := _PREFIX.match(token):
                prefix = tuple(int(v) for v in m["values"].split(","))
            elif m := _LEN.match(token):
                lengths = (int(m["lo"] or 1), int(m["hi"]))
            else:
                raise DomainError(
                    f"cannot parse {token!r} in {spec!r}: expected prefix:T or len:LO..HI"
                )
        if lengths is None:
            raise DomainError(f"sequence domain {spec!r} needs the lengths to check: len:0..N")
        if lengths[1] < lengths[0]:
            raise DomainError(f"len:{lengths[0]}..{lengths[1]} is empty (hi < lo)")
        return cls(
            tuple(steps),
            lengths[1],
            readout,
            prefix=prefix,
            units=units,
            min_length=lengths[0],
            given=True,
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.inputs)

    @property
    def alphabet_size(self) -> int | None:
        if not all(isinstance(r, IntRange | IntSet) for r in self.inputs):
            return None
        return math.prod(r.size for r in self.inputs if isinstance(r, IntRange | IntSet))

    @property
    def exhaustive_length(self) -> int | None:
        k = self.alphabet_size
        if k is None:
            return None
        if self.given:
            return self.length
        n = 0
        while n < self.length and k ** (n + 1) <= MAX_SEQUENCES:
            n += 1
        return n or None

    @property
    def kind(self) -> str:
        return "sequences"

    @property
    def size(self) -> int | None:
        n, k = self.exhaustive_length, self.alphabet_size
        if n is None or k is None:
            return None
        if self.given:  # every sequence of every length checked
            return sum(k**i for i in range(self.min_length, n + 1))
        return k**n

    @property
    def readout_spec(self) -> str:
        if self.units is not None:
            return f"bits({','.join(str(u) for u in self.units)})"
        return self.readout

    def spec(self) -> str:
        steps = " ".join(r.spec() for r in self.inputs)
        prefix = f" prefix:{','.join(str(t) for t in self.prefix)}" if self.prefix else ""
        lo = self.min_length if self.given else 1
        n = self.length if self.given else (self.exhaustive_length or self.length)
        return f"seq({steps}){prefix} len:{lo}..{n} -> {self.readout_spec}"

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec(), "kind": self.kind, "size": self.size}

    def symbols(self) -> np.ndarray:
        """Every step value, the last component varying fastest.  # (k, d) int64"""
        values = [_step_values(r) for r in self.inputs if isinstance(r, IntRange | IntSet)]
        if len(values) != len(self.inputs):
            raise DomainError(f"domain {self.spec()!r} has real steps: no symbols to list")
        return np.array(list(itertools.product(*values)), dtype=np.int64).reshape(
            -1, len(self.inputs)
        )

    def enumerate(self, length: int) -> np.ndarray:
        """Every sequence of `length` steps.  # (k^length, length, d) int64"""
        symbols = self.symbols()
        k = len(symbols)
        if k**length > MAX_SEQUENCES:
            raise DomainError(
                f"{k}^{length} = {k**length:,} sequences exceed the limit of {MAX_SEQUENCES:,}"
            )
        index = np.indices((k,) * length).reshape(length, -1).T  # (k^length, length)
        return symbols[index].reshape(k**length, length, len(self.inputs))

    def sample(self, n: int, length: int, seed: int = 0) -> np.ndarray:
        """Uniform random sequences over the alphabet.  # (n, length, d) int64"""
        symbols = self.symbols()
        rng = np.random.default_rng(seed)
        return symbols[rng.integers(len(symbols), size=(n, length))]


def parse_domain(spec: str) -> Domain | SequenceDomain:
    """A point domain ("a:0..58 b:0..58") or a sequence domain ("seq(x:0..1) len:0..14")."""
    if spec.strip().startswith("seq("):
        return SequenceDomain.parse(spec)
    return Domain.parse(spec)


@dataclass(frozen=True)
class ProblemDomain:
    """Problems an iterated network solves: n x n mazes or bit strings of n bits.

    Every problem of `exhaustive_size` is checked (all mazes of that size, all strings of that
    length); `sizes` are sampled, from the training size up.
    """

    problem: str  # "maze" or "bits"
    exhaustive_size: int
    exhaustive_count: int
    sizes: tuple[int, ...]
    train_size: int

    @property
    def kind(self) -> str:
        return "problems"

    @property
    def size(self) -> int:
        return self.exhaustive_count

    def spec(self) -> str:
        n = self.exhaustive_size
        return f"maze:{n}x{n}" if self.problem == "maze" else f"bits:{n}"

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec(), "kind": self.kind, "size": self.size}
