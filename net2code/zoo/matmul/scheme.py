"""Bilinear matrix-multiplication schemes and their exact proof.

A scheme of rank R for an (n x m) . (m x p) product is three matrices: U (R, n*m) and V
(R, m*p) map the entries of A and B to R linear forms, the forms are multiplied pairwise, and
W (n*p, R) maps the R products to the entries of C (row-major `vec` throughout). It computes
A @ B for every A and B exactly iff the Brent equations hold:

    sum_r U[r, i] * V[r, j] * W[k, r] = T[i, j, k]   for every (i, j, k),

T the matrix-multiplication tensor. Checking them in rational arithmetic is a proof, not a
sample. Coefficients are `fractions.Fraction`s (integers and half-integers in practice).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

Shape = tuple[int, int, int]
MAX_SIDE = 8  # n, m, p: the Brent system has (n m)(m p)(n p) equations


def parse_shape(text: str | tuple[int, ...]) -> Shape:
    """'2,2,3' (or a tuple) -> (2, 2, 3), validated."""
    if isinstance(text, str):
        parts = [t.strip() for t in text.replace("x", ",").split(",") if t.strip()]
        try:
            values = tuple(int(t) for t in parts)
        except ValueError:
            raise ValueError(f"shape {text!r} is not three integers like 2,2,3") from None
    else:
        values = tuple(int(t) for t in text)
    if len(values) != 3:
        raise ValueError(f"shape {text!r} has {len(values)} sides; give n,m,p (A n x m, B m x p)")
    for side in values:
        if not 1 <= side <= MAX_SIDE:
            raise ValueError(f"shape side {side} is outside 1..{MAX_SIDE}")
    return (values[0], values[1], values[2])


def matmul_tensor(shape: Shape) -> np.ndarray:
    """T[i, j, k] = 1 where A's entry i times B's entry j is a term of C's entry k.
    # (n*m, m*p, n*p) int64"""
    n, m, p = shape
    t = np.zeros((n * m, m * p, n * p), dtype=np.int64)
    for r, s, c in itertools.product(range(n), range(m), range(p)):
        t[r * m + s, s * p + c, r * p + c] = 1
    return t


def naive_rank(shape: Shape) -> int:
    n, m, p = shape
    return n * m * p


@dataclass(frozen=True)
class Scheme:
    """U (R, n*m), V (R, m*p), W (n*p, R) with rational entries."""

    shape: Shape
    U: tuple[tuple[Fraction, ...], ...]
    V: tuple[tuple[Fraction, ...], ...]
    W: tuple[tuple[Fraction, ...], ...]

    @property
    def rank(self) -> int:
        return len(self.U)

    @classmethod
    def from_arrays(cls, shape: Shape, u: Any, v: Any, w: Any) -> Scheme:
        def rational(matrix: Any) -> tuple[tuple[Fraction, ...], ...]:
            return tuple(
                tuple(Fraction(x).limit_denominator(1 << 20) for x in row) for row in matrix
            )

        scheme = cls(shape, rational(u), rational(v), rational(w))
        scheme.validate()
        return scheme

    def validate(self) -> None:
        n, m, p = self.shape
        r = self.rank
        for name, rows, width in (("U", self.U, n * m), ("V", self.V, m * p)):
            if len(rows) != r or any(len(row) != width for row in rows):
                raise ValueError(f"{name} must be ({r}, {width}) for shape {self.shape}")
        if len(self.W) != n * p or any(len(row) != r for row in self.W):
            raise ValueError(f"W must be ({n * p}, {r}) for shape {self.shape}")

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.array(self.U, dtype=float),
            np.array(self.V, dtype=float),
            np.array(self.W, dtype=float),
        )

    def coefficients(self) -> list[Fraction]:
        return sorted({x for rows in (self.U, self.V, self.W) for row in rows for x in row})

    def residual(self) -> np.ndarray:
        """Sum_r U V W - T in exact integers, scaled by the common denominator D^3 (zero
        exactly where an equation holds).  # (n*m, m*p, n*p) object ints"""
        denominators = [x.denominator for x in self.coefficients()] or [1]
        d = int(np.lcm.reduce(np.array(denominators, dtype=object)))
        u, v, w = (
            np.array([[int(x * d) for x in row] for row in rows], dtype=object)
            for rows in (self.U, self.V, self.W)
        )
        product = np.zeros((u.shape[1], v.shape[1], w.shape[0]), dtype=object)
        for r in range(self.rank):  # sum of R rank-one tensors, exact
            product += np.multiply.outer(np.multiply.outer(u[r], v[r]), w[:, r])
        return product - matmul_tensor(self.shape).astype(object) * d**3

    def failing_equations(self) -> list[tuple[int, int, int]]:
        """The (i, j, k) whose Brent equation does not hold, exactly."""
        found = np.nonzero(self.residual())
        return [(int(i), int(j), int(k)) for i, j, k in zip(*found, strict=True)]

    def is_exact(self) -> bool:
        return not self.failing_equations()

    def count_operations(self) -> dict[str, int]:
        """Multiplications (the R products, plus scalings by coefficients other than +-1) and
        additions in the straight-line program."""
        products = self.rank
        scalings = sum(
            1
            for rows in (self.U, self.V, self.W)
            for row in rows
            for x in row
            if x not in (0, 1, -1)
        )
        additions = sum(max(0, sum(1 for x in row if x) - 1) for row in (*self.U, *self.V))
        additions += sum(max(0, sum(1 for x in row if x) - 1) for row in self.W)
        return {"products": products, "scalings": scalings, "additions": additions}

    def to_dict(self) -> dict[str, Any]:
        def text(rows: tuple[tuple[Fraction, ...], ...]) -> list[list[str]]:
            return [[str(x) for x in row] for row in rows]

        return {
            "shape": list(self.shape),
            "rank": self.rank,
            "U": text(self.U),
            "V": text(self.V),
            "W": text(self.W),
            "coefficients": [str(x) for x in self.coefficients()],
            **self.count_operations(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scheme:
        def rows(name: str) -> Any:
            return [[Fraction(x) for x in row] for row in data[name]]

        return cls.from_arrays(parse_shape(tuple(data["shape"])), rows("U"), rows("V"), rows("W"))


@dataclass
class Rounding:
    """What rounding a trained network gave: the scheme, whether it is exact, how many Brent
    equations fail, and the repairs tried."""

    scheme: Scheme
    failing: int
    repairs: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.failing == 0


def round_scheme(
    shape: Shape, u: np.ndarray, v: np.ndarray, w: np.ndarray, step: float = 0.5
) -> Rounding:
    """Round to multiples of `step`, then repair: fix two factors and solve the third exactly
    in rational arithmetic (each factor in turn). The first exact result wins; otherwise the
    rounded scheme with the fewest failing equations is returned."""
    snapped = [np.round(x / step) * step for x in (u, v, w)]
    best = Rounding(Scheme.from_arrays(shape, *snapped), 0)
    best.failing = len(best.scheme.failing_equations())
    if best.exact:
        return best
    tried = []
    for free in ("W", "U", "V"):
        solved = _solve_factor(best.scheme, free)
        tried.append(
            f"solve {free} exactly with the other two fixed: " + ("ok" if solved else "no solution")
        )
        if solved is not None:
            failing = len(solved.failing_equations())
            if failing == 0:
                return Rounding(solved, 0, tried)
    best.repairs = tried
    return best


def _solve_factor(scheme: Scheme, free: str) -> Scheme | None:
    """The scheme with factor `free` replaced by an exact rational solution of the Brent
    equations given the other two (free parameters set to 0), or None when none exists."""
    import sympy

    n, m, p = scheme.shape
    t = matmul_tensor(scheme.shape)
    u = sympy.Matrix(scheme.U)
    v = sympy.Matrix(scheme.V)
    w = sympy.Matrix(scheme.W)
    r = scheme.rank
    if free == "W":  # for each k: sum_r (U[r,i] V[r,j]) W[k,r] = T[i,j,k]
        system = sympy.Matrix(
            [[u[q, i] * v[q, j] for q in range(r)] for i in range(n * m) for j in range(m * p)]
        )
        targets = [t[:, :, k].reshape(-1) for k in range(n * p)]
    elif free == "U":  # for each i: sum_r U[r,i] (V[r,j] W[k,r]) = T[i,j,k]
        system = sympy.Matrix(
            [[v[q, j] * w[k, q] for q in range(r)] for j in range(m * p) for k in range(n * p)]
        )
        targets = [t[i].reshape(-1) for i in range(n * m)]
    else:  # for each j: sum_r V[r,j] (U[r,i] W[k,r]) = T[i,j,k]
        system = sympy.Matrix(
            [[u[q, i] * w[k, q] for q in range(r)] for i in range(n * m) for k in range(n * p)]
        )
        targets = [t[:, j, :].reshape(-1) for j in range(m * p)]
    columns = []
    for target in targets:
        try:
            solution, params = system.gauss_jordan_solve(sympy.Matrix([int(x) for x in target]))
        except ValueError:
            return None
        solution = solution.subs({symbol: 0 for symbol in params})
        columns.append([Fraction(int(x.p), int(x.q)) for x in solution])
    if free == "W":
        return Scheme(scheme.shape, scheme.U, scheme.V, tuple(tuple(c) for c in columns))
    factor = tuple(tuple(columns[e][q] for e in range(len(columns))) for q in range(r))
    if free == "U":
        return Scheme(scheme.shape, factor, scheme.V, scheme.W)
    return Scheme(scheme.shape, scheme.U, factor, scheme.W)


def strassen() -> Scheme:
    """Strassen's rank-7 scheme for 2 x 2 (a reference for tests and docs)."""
    # products: (a11+a22)(b11+b22), (a21+a22)b11, a11(b12-b22), a22(b21-b11),
    # (a11+a12)b22, (a21-a11)(b11+b12), (a12-a22)(b21+b22)
    u = [[1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 1], [1, 1, 0, 0], [-1, 0, 1, 0],
         [0, 1, 0, -1]]  # fmt: skip
    v = [[1, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, -1], [-1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0],
         [0, 0, 1, 1]]  # fmt: skip
    w = [[1, 0, 0, 1, -1, 0, 1], [0, 0, 1, 0, 1, 0, 0], [0, 1, 0, 1, 0, 0, 0],
         [1, -1, 1, 0, 0, 1, 0]]  # fmt: skip
    return Scheme.from_arrays((2, 2, 2), u, v, w)
