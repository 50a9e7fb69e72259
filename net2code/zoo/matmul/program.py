"""A matrix-multiplication scheme as a program: a straight-line `program(A, B)` on lists of
lists for the scheme's own shape, and a NumPy `program(A, B)` that applies the scheme
recursively to blocks of large matrices (zero-padded to a multiple of the shape), falling back
to `numpy.matmul` below a cut-off."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ...program import Code
from .scheme import Scheme

CUTOFF = 64  # blocks smaller than this go to numpy.matmul


def _term(coefficient: Fraction, name: str, first: bool) -> str:
    if coefficient == 1:
        return name if first else f" + {name}"
    if coefficient == -1:
        return f"-{name}" if first else f" - {name}"
    magnitude = abs(coefficient)
    text = str(magnitude.numerator) if magnitude.denominator == 1 else f"{float(magnitude)!r}"
    sign = "-" if coefficient < 0 else ""
    if first:
        return f"{sign}{text} * {name}"
    return f" {'-' if coefficient < 0 else '+'} {text} * {name}"


def _factor(source: str) -> str:
    return source if source.isidentifier() else f"({source})"


def linear(coefficients: tuple[Fraction, ...], names: list[str]) -> str:
    """sum_i c_i * name_i as source, '0' when every c_i is 0."""
    parts = [(c, n) for c, n in zip(coefficients, names, strict=True) if c]
    if not parts:
        return "0"
    return "".join(_term(c, n, i == 0) for i, (c, n) in enumerate(parts))


@dataclass(frozen=True)
class SchemeProgram:
    """The Program of a bilinear scheme (see `net2code.program.Program`)."""

    scheme: Scheme
    cutoff: int = CUTOFF

    @property
    def kind(self) -> str:
        return "bilinear scheme"

    @property
    def summary(self) -> str:
        n, m, p = self.scheme.shape
        ops = self.scheme.count_operations()
        return (
            f"rank-{self.scheme.rank} scheme for ({n}x{m})({m}x{p}): {ops['products']} "
            f"products, {ops['additions']} additions"
        )

    @property
    def size(self) -> int:
        return self.scheme.rank

    @property
    def size_unit(self) -> str:
        return "products"

    def usage(self) -> str:
        n, m, p = self.scheme.shape
        return (
            f"program(A, B) takes A ({n} x {m}) and B ({m} x {p}) as lists of lists and returns "
            f"their product ({n} x {p}) as a list of lists, with {self.scheme.rank} "
            "multiplications."
        )

    def numpy_usage(self) -> str:
        n, m, p = self.scheme.shape
        return (
            f"program(A, B) multiplies NumPy matrices of any size (or stacks of them), applying "
            f"the scheme to ({n} x {m}) x ({m} x {p}) grids of blocks (zero-padded to fit), "
            f"recursively down to blocks of {self.cutoff}, below which numpy.matmul runs."
        )

    def details(self) -> dict[str, Any]:
        return self.scheme.to_dict()

    def __call__(self, a: Any, b: Any) -> Any:
        from ...emit import load_function, render

        return load_function(render(self.python(), [], ""))(a, b)

    def python(self) -> Code:
        n, m, p = self.scheme.shape
        a = [f"a{r}{s}" for r in range(n) for s in range(m)]
        b = [f"b{s}{c}" for s in range(m) for c in range(p)]
        lines = ["def program(A: list[list[float]], B: list[list[float]]) -> list[list[float]]:"]
        lines.append('    """The product A @ B."""')
        for r in range(n):
            row = ", ".join(a[r * m : (r + 1) * m])
            lines.append(f"    {row}{',' if m == 1 else ''} = A[{r}]")
        for s in range(m):
            row = ", ".join(b[s * p : (s + 1) * p])
            lines.append(f"    {row}{',' if p == 1 else ''} = B[{s}]")
        for q in range(self.scheme.rank):
            left, right = linear(self.scheme.U[q], a), linear(self.scheme.V[q], b)
            lines.append(f"    m{q} = {_factor(left)} * {_factor(right)}")
        products = [f"m{q}" for q in range(self.scheme.rank)]
        rows = []
        for r in range(n):
            entries = [linear(self.scheme.W[r * p + c], products) for c in range(p)]
            rows.append("[" + ", ".join(entries) + "]")
        lines.append("    return [" + ", ".join(rows) + "]")
        return Code((), "\n".join(lines) + "\n")

    def numpy(self) -> Code:
        n, m, p = self.scheme.shape

        def table(rows: tuple[tuple[Fraction, ...], ...]) -> str:
            def value(x: Fraction) -> str:
                return str(x.numerator) if x.denominator == 1 else repr(float(x))

            return (
                "(\n"
                + "".join("    (" + ", ".join(value(x) for x in row) + ",),\n" for row in rows)
                + ")"
            )

        body = f'''SHAPE = ({n}, {m}, {p})
CUTOFF = {self.cutoff}
U = {table(self.scheme.U)}
V = {table(self.scheme.V)}
W = {table(self.scheme.W)}


def _combine(coefficients, blocks):
    out = None
    for c, block in zip(coefficients, blocks, strict=True):
        if c:
            term = block if c == 1 else -block if c == -1 else c * block
            out = term if out is None else out + term
    return out if out is not None else np.zeros_like(blocks[0])


def _multiply(a, b, top=False):
    n, m, p = SHAPE
    rows, inner = a.shape[-2:]
    cols = b.shape[-1]
    if not top and min(rows // n, inner // m, cols // p) < CUTOFF:
        return a @ b
    pad = (-rows % n, -inner % m, -cols % p)
    if any(pad):
        lead = [(0, 0)] * (a.ndim - 2)
        a = np.pad(a, [*lead, (0, pad[0]), (0, pad[1])])
        b = np.pad(b, [*lead, (0, pad[1]), (0, pad[2])])
    h, w, k = a.shape[-2] // n, a.shape[-1] // m, b.shape[-1] // p
    a_blocks = [a[..., r * h : r * h + h, s * w : s * w + w] for r in range(n) for s in range(m)]
    b_blocks = [b[..., s * w : s * w + w, c * k : c * k + k] for s in range(m) for c in range(p)]
    products = [
        _multiply(_combine(U[q], a_blocks), _combine(V[q], b_blocks)) for q in range(len(U))
    ]
    c_blocks = [_combine(W[e], products) for e in range(n * p)]
    out = np.block([[c_blocks[r * p + c] for c in range(p)] for r in range(n)])
    return out[..., :rows, :cols]


def program(A, B):
    """The product A @ B of two matrices, or of two stacks of them (..., rows, cols): the
    scheme is applied at least once, then recursively to blocks of CUTOFF or more."""
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim < 2 or B.ndim < 2 or A.shape[-1] != B.shape[-2]:
        raise ValueError(f"cannot multiply {{A.shape}} by {{B.shape}}")
    return _multiply(A, B, top=True)
'''
        return Code(("import numpy as np",), body)
