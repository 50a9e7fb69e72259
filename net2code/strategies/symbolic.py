"""Formulas for real-valued networks on a box: symbolic regression with the network as oracle.

The search sees the network's outputs on sample points of the box, never a task:

1. **Features**, enumerated bottom-up by node count from the inputs with unary operators
   (abs, relu, **2, sqrt, exp, log, sin, cos, tanh) and binary ones (+ - * / max min). Two
   features whose values on the sample are equal up to scale and shift are one feature: only
   the smaller is kept (observational equivalence, as the integer DSL search does).
2. **Fitted features** u(a*g + b) for u in sin, cos, tanh, exp and small features g: the inner
   constants are fitted by scipy least squares (variable projection: the outer coefficients are
   solved exactly at each step).
3. **Models** c0 + c1*f1 + ... + ck*fk (k <= 3), chosen by greedy forward selection with exact
   least-squares coefficients, then **snapped**: each constant becomes the simplest rational
   (or rational multiple of pi) within its share of the error budget.
4. **A complexity/error Pareto front** of the snapped formulas (nodes against the sampled max
   |N - P|), as PySR reports one.

For a ReLU network the operators are the piecewise-linear ones only (abs, relu, + -, max, min,
constants), so each formula is piecewise affine and `net2code.regions` proves its exact max
|N - P| over the whole box. The smallest formula within the budget (5% of the output range by
default) wins; the exact decision tree is kept beside it as the verified fallback. For any other
network the bound is sampled (max and RMS on fresh points, with their count) and says so.
"""

from __future__ import annotations

import ast
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .. import regions
from ..checks import tolerance
from ..program import (
    MATH_FUNCTIONS,
    Expr,
    ExpressionProgram,
    binary,
    call,
    const,
    size,
    to_ast,
    to_source,
    to_sympy,
    uses_math,
    var,
)
from ..program import evaluate as evaluate_expr
from .base import Behaviour, Candidate

PIECEWISE_UNARY = ("abs", "relu")
CURVED_UNARY = ("square", "sqrt", "exp", "log", "sin", "cos", "tanh")
PIECEWISE_BINARY = ("+", "-", "max", "min")
CURVED_BINARY = ("*", "/")
FITTED = ("sin", "cos", "tanh", "exp")  # u(a*g + b), a and b fitted
KINKED = ("abs", "relu")  # u(g - c) and u(c - g), the kink's place c fitted
COMMUTATIVE = {"+", "*", "max", "min"}
MAX_VALUE = 1e4  # features beyond this on the box (exp(exp(x)), 1/x near 0) are dropped
SMALL_TREE = 8  # leaves: an exact tree this small is readable, and beats an inexact formula


@dataclass(frozen=True)
class SymbolicConfig:
    """Search limits. `budget` is the largest max |N - P| accepted, as a share of the range of
    the network's output on the box."""

    budget: float = 0.05
    fit_points: int = 1024
    piecewise_size: int = 5  # largest feature (nodes) with the piecewise-linear operators
    curved_size: int = 4  # ... and with every operator
    max_features: int = 30_000
    max_terms: int = 3
    shortlist: int = 40  # first features tried in forward selection
    fitted_inner: int = 12  # small features g tried inside u(a*g + b)
    max_denominator: int = 12
    max_complexity: int = 15  # a bigger curved formula (sampled bound) is never the program
    seed: int = 0


@dataclass
class _Feature:
    expr: Expr
    values: np.ndarray  # (n,) on the fit points


@dataclass(order=True)
class Formula:
    """One member of the Pareto front."""

    complexity: int
    max_abs_error: float
    expr: Expr = field(compare=False)
    rms_error: float = field(default=0.0, compare=False)
    piecewise: bool = field(default=True, compare=False)

    def to_dict(self) -> dict[str, Any]:
        symbolic = to_sympy(self.expr)
        return {
            "complexity": self.complexity,
            "max_abs_error": self.max_abs_error,
            "rms_error": self.rms_error,
            "python": to_source(self.expr),
            "numpy": ast.unparse(to_ast(self.expr, numpy=True)),
            "sympy": str(symbolic),
            "latex": _latex(symbolic),
        }


def _latex(symbolic: Any) -> str:
    import sympy

    return str(sympy.latex(symbolic))


# ---------------------------------------------------------------------- constants
def nice_constant(
    value: float, tol: float, max_denominator: int = 12, *, pi: bool = False
) -> Expr | None:
    """The simplest constant within `tol` of `value`: an integer, p/q, or with `pi` p*pi/q
    (simplest: smallest denominator, then shortest numerator; pi counts as two more); None if
    none is close enough."""
    found: list[tuple[int, Expr]] = []
    for q in range(1, max_denominator + 1):
        fraction = Fraction(value).limit_denominator(q)
        if fraction.denominator == q and abs(float(fraction) - value) <= tol:
            found.append((q + len(str(abs(fraction.numerator))), _rational(fraction)))
        multiple = Fraction(value / math.pi).limit_denominator(q)
        if (
            pi
            and multiple != 0
            and multiple.denominator == q
            and abs(float(multiple) * math.pi - value) <= tol
        ):
            found.append((q + len(str(abs(multiple.numerator))) + 2, _pi_times(multiple)))
    if Fraction(0) == Fraction(value).limit_denominator(1) and abs(value) <= tol:
        return const(0)
    return min(found, key=lambda item: item[0])[1] if found else None


def _pi_times(fraction: Fraction) -> Expr:
    pi = const(math.pi)
    if fraction == 1:
        return pi
    if fraction == -1:
        return const(-math.pi)
    if fraction.denominator == 1:
        return binary("*", const(fraction.numerator), pi)
    top = pi if fraction.numerator == 1 else binary("*", const(fraction.numerator), pi)
    return binary("/", top, const(fraction.denominator))


def _rational(fraction: Fraction) -> Expr:
    """p/q as a short decimal when it has one (0.5, 0.25, 0.2), else as a division (1 / 3)."""
    if fraction.denominator == 1:
        return const(int(fraction.numerator))
    if len(repr(float(fraction))) <= 6:
        return const(float(fraction))
    return binary("/", const(int(fraction.numerator)), const(int(fraction.denominator)))


def _rounded(value: float) -> Expr:
    return const(float(f"{value:.4g}"))


def _scaled(coefficient: Expr, feature: Expr) -> tuple[int, Expr]:
    """(sign, |c| * feature) written to read well: x, 3 * x, x / 2, 3 * x / 2, 0.173 * x."""
    if coefficient[0] == "const":
        c = coefficient[1]
        sign = -1 if c < 0 else 1
        magnitude = abs(c)
        if magnitude == 1:
            return sign, feature
        if isinstance(magnitude, float) and magnitude != math.pi:
            fraction = Fraction(magnitude).limit_denominator(1000)
            if float(fraction) == magnitude and fraction.denominator <= 12:
                top = (
                    feature
                    if fraction.numerator == 1
                    else binary("*", const(fraction.numerator), feature)
                )
                return sign, binary("/", top, const(fraction.denominator))
        return sign, binary("*", const(magnitude), feature)
    if coefficient[1] == "/" and coefficient[2][0] == "const" and coefficient[3][0] == "const":
        p, q = coefficient[2][1], coefficient[3][1]  # p / q
        top = feature if abs(p) == 1 else binary("*", const(abs(p)), feature)
        return (-1 if p < 0 else 1), binary("/", top, const(q))
    # p * pi / q and the like: negative when it starts with a negative constant
    value = float(evaluate_expr(coefficient, {}))
    sign = -1 if value < 0 else 1
    positive = _negate_constant(coefficient) if value < 0 else coefficient
    return sign, binary("*", positive, feature)


def _negate_constant(expr: Expr) -> Expr:
    if expr[0] == "const":
        return const(-expr[1])
    if expr[0] == "bin" and expr[1] in ("*", "/"):
        return binary(expr[1], _negate_constant(expr[2]), expr[3])
    return binary("*", const(-1), expr)


def linear_combination(terms: list[tuple[Expr, Expr]], intercept: Expr | None) -> Expr:
    """c1*f1 + c2*f2 + ... + c0, negative terms as subtractions."""
    out: Expr | None = None
    for coefficient, feature in terms:
        sign, term = _scaled(coefficient, feature)
        if out is None:
            out = term if sign > 0 else _negate(term)
        else:
            out = binary("+" if sign > 0 else "-", out, term)
    if intercept is not None:
        value = float(evaluate_expr(intercept, {}))
        if out is None:
            return intercept
        if value != 0:
            magnitude = _negate_constant(intercept) if value < 0 else intercept
            out = binary("+" if value > 0 else "-", out, magnitude)
    assert out is not None
    return out


def _negate(term: Expr) -> Expr:
    if term[0] == "bin" and term[1] == "*" and term[2][0] == "const":
        return binary("*", const(-term[2][1]), term[3])
    if term[0] == "bin" and term[1] == "/" and term[2][0] == "bin" and term[2][2][0] == "const":
        return binary("/", _negate(term[2]), term[3])
    return binary("*", const(-1), term)


# ---------------------------------------------------------------------- features
def _unary(op: str, expr: Expr) -> Expr:
    if op == "relu":
        return call("max", expr, const(0))
    if op == "square":
        return binary("**", expr, const(2))
    return call(op, expr)


def _apply_unary(op: str, values: np.ndarray) -> np.ndarray | None:
    with np.errstate(all="ignore"):
        if op == "abs":
            return np.abs(values)
        if op == "relu":
            return np.maximum(values, 0.0)
        if op == "square":
            return values * values
        if op in ("sqrt", "log") and values.min() <= (0.0 if op == "log" else -1e-12):
            return None
        return getattr(np, op)(np.maximum(values, 0.0) if op == "sqrt" else values)


def _apply_binary(op: str, left: np.ndarray, right: np.ndarray) -> np.ndarray | None:
    """Elementwise over the rows of `right` (m, n) against one `left` (n,)."""
    with np.errstate(all="ignore"):
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "max":
            return np.maximum(left, right)
        if op == "min":
            return np.minimum(left, right)
        out = left / right
        out[np.abs(right).min(axis=1) < 1e-3] = np.nan  # a denominator near zero
        return out


class _Library:
    """Features kept up to observational equivalence (equal up to scale and shift)."""

    def __init__(self, n: int, limit: int, seed: int) -> None:
        self.features: list[_Feature] = []
        self.by_size: dict[int, list[int]] = {}
        self.keys: set[bytes] = set()
        self.limit = limit
        self.direction = np.random.default_rng(seed).standard_normal(n)

    def full(self) -> bool:
        return len(self.features) >= self.limit

    def keys_of(self, values: np.ndarray) -> list[bytes | None]:
        """Keys of rows (m, n): normalised values, sign-fixed and rounded; None if unusable."""
        values = np.atleast_2d(values)
        finite = np.isfinite(values).all(axis=1) & (np.abs(values).max(axis=1) < MAX_VALUE)
        safe = np.where(finite[:, None], values, 0.0)
        centred = safe - safe.mean(axis=1, keepdims=True)
        spread = np.sqrt((centred**2).mean(axis=1))
        usable = finite & (spread > 1e-9 * (1 + np.abs(safe).max(axis=1)))
        normal = centred / np.where(spread > 0, spread, 1.0)[:, None]
        sign = np.where(normal @ self.direction >= 0, 1.0, -1.0)
        rounded = np.round(normal[:, :48] * sign[:, None] * 1e5).astype(np.int64)
        return [rounded[i].tobytes() if usable[i] else None for i in range(len(values))]

    def add_rows(self, exprs: list[Expr], values: np.ndarray) -> None:
        for expr, row, key in zip(exprs, values, self.keys_of(values), strict=True):
            if key is None or key in self.keys or self.full():
                continue
            self.keys.add(key)
            self.by_size.setdefault(size(expr), []).append(len(self.features))
            self.features.append(_Feature(expr, np.array(row)))

    def of_size(self, s: int) -> list[_Feature]:
        return [self.features[i] for i in self.by_size.get(s, [])]


def enumerate_features(
    x: np.ndarray,  # (n, d) fit points
    names: tuple[str, ...],
    *,
    piecewise: bool,
    max_size: int,
    limit: int,
    seed: int = 0,
    deadline: float = float("inf"),
) -> list[_Feature]:
    """Every feature up to `max_size` nodes, one per equivalence class, smallest first."""
    library = _Library(len(x), limit, seed)
    library.add_rows([var(name) for name in names], x.T)
    unary = PIECEWISE_UNARY + (() if piecewise else CURVED_UNARY)
    binary_ops = PIECEWISE_BINARY + (() if piecewise else CURVED_BINARY)
    for s in range(2, max_size + 1):
        if library.full() or time.perf_counter() > deadline:
            break
        for op in unary:
            cost = 2 if op in ("relu", "square") else 1
            for feature in library.of_size(s - cost):
                if op in MATH_FUNCTIONS and uses_math(feature.expr):
                    continue  # no sin(exp(x)): one transcendental function deep
                out = _apply_unary(op, feature.values)
                if out is not None:
                    library.add_rows([_unary(op, feature.expr)], out[None, :])
        for left_size in range(1, s - 1):
            right_size = s - 1 - left_size
            lefts, rights = library.of_size(left_size), library.of_size(right_size)
            if not lefts or not rights:
                continue
            right_values = np.stack([f.values for f in rights])  # (m, n)
            for i, left in enumerate(lefts):
                for op in binary_ops:
                    if op in COMMUTATIVE and left_size > right_size:
                        continue
                    start = i + 1 if op in COMMUTATIVE and left_size == right_size else 0
                    if start >= len(rights):
                        continue
                    out = _apply_binary(op, left.values, right_values[start:])
                    if out is None:
                        continue
                    exprs = [binary(op, left.expr, r.expr) for r in rights[start:]]
                    if op in ("max", "min"):
                        exprs = [call(op, left.expr, r.expr) for r in rights[start:]]
                    library.add_rows(exprs, out)
                if library.full():
                    break
    return library.features


def fitted_features(
    x: np.ndarray,
    y: np.ndarray,
    inner: list[_Feature],
    *,
    ops: tuple[str, ...] = FITTED,
    keep: int = 48,
    deadline: float = float("inf"),
) -> list[_Feature]:
    """u(a*g + b) with a, b fitted by least squares (the outer c0 + c1*u solved exactly); for
    the kinked abs and relu, a is +1 or -1 and only the kink's place b is fitted."""
    from scipy.optimize import least_squares

    found: list[tuple[float, _Feature]] = []
    yc = y - y.mean()
    for feature in inner:
        g = feature.values
        for op in ops:
            best: tuple[float, Any] = (math.inf, None)
            if op in KINKED:
                starts = [
                    (a, -b) for a in (1.0, -1.0) for b in np.quantile(a * g, (0.25, 0.5, 0.75))
                ]
            else:
                starts = [(1.0, 0.0), (3.0, 0.0)]
            for a0, b0 in starts:
                if time.perf_counter() > deadline:
                    break

                def residual(
                    params: np.ndarray, g: np.ndarray = g, op: str = op, a0: float = a0
                ) -> np.ndarray:
                    a, b = (a0, params[0]) if op in KINKED else (params[0], params[1])
                    u = _apply(op, a * g + b)
                    if not np.all(np.isfinite(u)) or np.abs(u).max() > MAX_VALUE:
                        return np.full(len(y), 1e3)
                    centred = u - u.mean()  # y ~ c0 + c1 u, solved in closed form
                    spread = float(centred @ centred)
                    slope = float(centred @ yc) / spread if spread > 1e-12 else 0.0
                    return slope * centred - yc

                x0 = [b0] if op in KINKED else [a0, b0]
                result = least_squares(residual, x0=x0, method="lm", max_nfev=200)
                fit = float(np.mean(result.fun**2))
                if fit < best[0]:
                    best = (fit, (a0, result.x[0]) if op in KINKED else tuple(result.x))
            if best[1] is not None:  # the best start for this (u, g)
                found.append((best[0], _fitted(op, feature, best[1], y)))
    found.sort(key=lambda item: item[0])
    return [feature for _, feature in found[:keep] if feature is not None]


def _apply(op: str, values: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.maximum(values, 0.0) if op == "relu" else getattr(np, op)(values)


def _fitted(op: str, feature: _Feature, params: tuple[float, float], y: np.ndarray) -> Any:
    """The fitted u(a*g + b) with a and b snapped to simple values where that costs (almost)
    nothing in fit."""
    a, b = float(params[0]), float(params[1])

    def rss(a: float, b: float) -> float:
        u = _apply(op, a * feature.values + b)
        if not np.all(np.isfinite(u)):
            return math.inf
        design = np.stack([np.ones_like(u), u], axis=1)
        coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
        return float(np.mean((design @ coefficients - y) ** 2))

    base = rss(a, b)
    slack = 1e-6 * float(np.var(y)) + 0.01 * base
    periodic = op not in KINKED  # pi belongs inside sin(pi * x), not in a kink's place
    nice_a = nice_constant(a, 0.03 * abs(a) + 1e-9, pi=periodic) or _rounded(a)
    nice_b = nice_constant(b, 0.03, pi=periodic) or _rounded(b)
    a_expr, b_expr = _rounded(a), _rounded(b)
    for pair in ((nice_a, nice_b), (nice_a, _rounded(b)), (_rounded(a), nice_b)):
        snapped = [float(evaluate_expr(c, {})) for c in pair]
        if rss(*snapped) <= base + slack:  # both snapped together first: cos(2*y), not 2.04
            a_expr, b_expr = pair
            break
    a_value, b_value = (float(evaluate_expr(c, {})) for c in (a_expr, b_expr))
    inner: Expr = feature.expr if a_value == 1 else binary("*", a_expr, feature.expr)
    if a_value == -1 and b_value != 0:  # c - g
        inner = binary("-", b_expr, feature.expr)
    elif b_value != 0:
        inner = linear_combination([(const(1), inner)], b_expr)
    values = _apply(op, a_value * feature.values + b_value)
    if not np.all(np.isfinite(values)):
        return None
    return _Feature(_unary(op, inner), values)


# ---------------------------------------------------------------------- models
def forward_selection(
    features: np.ndarray,  # (m, n)
    y: np.ndarray,  # (n,)
    *,
    max_terms: int,
    shortlist: int,
    small: tuple[int, ...] = (),
) -> list[tuple[int, ...]]:
    """Subsets of up to `max_terms` features: every single feature, and greedy extensions of
    the `shortlist` best ones and of the `small` ones by exact least-squares residuals."""
    centred = features - features.mean(axis=1, keepdims=True)
    norms = (centred**2).sum(axis=1)  # (m,)
    yc = y - y.mean()
    gain = (centred @ yc) ** 2 / np.maximum(norms, 1e-300)
    order = np.argsort(-gain)
    subsets: list[tuple[int, ...]] = [(int(i),) for i in range(len(features))]
    frontier: list[tuple[int, ...]] = list(
        dict.fromkeys([(int(i),) for i in order[:shortlist]] + [(i,) for i in small])
    )
    for _ in range(max_terms - 1):
        grown: list[tuple[int, ...]] = []
        for subset in frontier:
            basis, _ = np.linalg.qr(centred[list(subset)].T)  # (n, k), orthonormal
            residual = yc - basis @ (basis.T @ yc)
            projections = centred @ basis  # (m, k)
            rest = norms - (projections**2).sum(axis=1)
            score = (centred @ residual) ** 2 / np.maximum(rest, 1e-12 * norms.max())
            score[list(subset)] = -1
            score[rest <= 1e-9 * norms] = -1
            picks = [int(j) for j in np.argsort(-score)[:4]]
            if small:  # and the best small feature, which a closer curved one may outrank
                picks.append(int(np.asarray(small)[np.argmax(score[list(small)])]))
            for j in picks:
                if score[j] >= 0:
                    grown.append(tuple(sorted((*subset, j))))
        frontier = list(dict.fromkeys(grown))[: shortlist * 4]
        subsets += frontier
    return list(dict.fromkeys(subsets))


def snap_model(
    chosen: list[_Feature], y: np.ndarray, tol: float, max_denominator: int
) -> tuple[Expr, np.ndarray]:
    """Least squares, then each coefficient snapped to the simplest constant within its share
    of `tol`; the intercept is refitted after the snapping. Returns the formula and its values."""
    design = np.stack([np.ones(len(y)), *[f.values for f in chosen]], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    share = tol / (2 * (len(chosen) + 1))
    terms: list[tuple[Expr, Expr]] = []
    fitted = np.zeros(len(y))
    for c, feature in zip(coefficients[1:], chosen, strict=True):
        scale = float(np.abs(feature.values).max()) or 1.0
        snapped = nice_constant(float(c), share / scale, max_denominator) or _rounded(float(c))
        value = float(evaluate_expr(snapped, {}))
        if value != 0:
            terms.append((snapped, feature.expr))
            fitted = fitted + value * feature.values
    c0 = float(np.mean(y - fitted))
    intercept = nice_constant(c0, share, max_denominator) or _rounded(c0)
    c0_value = float(evaluate_expr(intercept, {}))
    return linear_combination(terms, intercept), fitted + c0_value


def pareto_front(candidates: list[Formula]) -> list[Formula]:
    """The members no other beats on both complexity and error, simplest first."""
    front: list[Formula] = []
    for formula in sorted(candidates, key=lambda f: (f.complexity, f.max_abs_error)):
        if not front or formula.max_abs_error < front[-1].max_abs_error * (1 - 1e-9):
            front.append(formula)
    return front


def search_formulas(
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    *,
    piecewise: bool,
    config: SymbolicConfig,
    deadline: float = float("inf"),
) -> list[Formula]:
    """The Pareto front of snapped formulas fitted to (x, y)."""
    output_range = float(y.max() - y.min()) or 1.0
    max_size = config.piecewise_size if piecewise else config.curved_size
    features = enumerate_features(
        x, names, piecewise=piecewise, max_size=max_size, limit=config.max_features,
        seed=config.seed, deadline=deadline,
    )  # fmt: skip
    # Fitted features: kinked ones (abs(x - 1/2)) for the piecewise-linear search, curved ones
    # (sin(pi * x)) otherwise; against y, and against what a linear model in the inputs
    # leaves of it (so that x + cos(2*y) finds cos(2*y)). One feature found twice is kept once.
    inner = [f for f in features if size(f.expr) <= 3 and not uses_math(f.expr)]
    inner = inner[: config.fitted_inner]
    design = np.column_stack([np.ones(len(y)), x])
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    fitted = []
    ops = KINKED if piecewise else FITTED
    for goal in (y, residual):
        fitted += fitted_features(x, goal, inner, ops=ops, deadline=deadline)
    unique: dict[bytes, _Feature] = {}
    for f in sorted(fitted, key=lambda f: size(f.expr)):  # equal values: the smaller
        unique.setdefault(np.round(f.values[:64], 9).tobytes(), f)
    features = features + list(unique.values())
    values = np.stack([f.values for f in features])  # (m, n)
    small = tuple(i for i, f in enumerate(features) if size(f.expr) <= 3)
    subsets = forward_selection(
        values, y, max_terms=config.max_terms, shortlist=config.shortlist, small=small
    )
    tol = config.budget * output_range
    formulas: list[Formula] = [
        Formula(1, float(np.abs(y - y.mean()).max()), _rounded(float(y.mean())))
    ]
    best_error: dict[int, float] = {}
    for subset in subsets:
        if time.perf_counter() > deadline:
            break
        expr, values = snap_model([features[i] for i in subset], y, tol, config.max_denominator)
        error = float(np.abs(values - y).max())
        complexity = size(expr)
        if error >= best_error.get(complexity, math.inf):
            continue
        best_error[complexity] = error
        rms = float(np.sqrt(np.mean((values - y) ** 2)))
        formulas.append(Formula(complexity, error, expr, rms, piecewise))
    return pareto_front(formulas)


# ---------------------------------------------------------------------- the strategy
class SymbolicSearch:
    """Readable formulas for a real output on a box, with a proved or sampled error bound."""

    name = "symbolic"

    def __init__(self, config: SymbolicConfig | None = None) -> None:
        self.config = config or SymbolicConfig()

    def applicable(self, behaviour: Behaviour) -> str | None:
        if behaviour.exhaustive:
            return "needs a real box"
        if behaviour.readout != "real":
            return "needs the real readout"
        return None

    def search(
        self, behaviour: Behaviour, *, timeout: float = 60.0, progress: bool = False
    ) -> Candidate:
        assert behaviour.domain is not None
        start = time.perf_counter()
        deadline = start + 0.6 * timeout
        config = self.config
        names = behaviour.names
        y_all = behaviour.outputs.astype(np.float64)
        output_range = float(y_all.max() - y_all.min())
        allowed = config.budget * max(output_range, 1e-12)
        x = behaviour.inputs[: config.fit_points].astype(np.float64)
        y = y_all[: config.fit_points]
        check = behaviour.holdout or behaviour
        white_box = behaviour.layers is not None
        stats: dict[str, Any] = {
            "budget": config.budget,
            "allowed_max_abs_error": allowed,
            "output_range": [float(y_all.min()), float(y_all.max())],
            "fit_points": len(y),
            "check_points": len(check.outputs),
        }
        fronts: list[Formula] = []
        chosen: Formula | None = None
        bound: regions.Bound | None = None
        for piecewise in (True, False) if white_box else (False,):
            with _progress(progress, "piecewise-linear" if piecewise else "every operator"):
                front = search_formulas(
                    x, y, names, piecewise=piecewise, config=config, deadline=deadline
                )
            front = [_sampled(f, check.inputs, check.outputs, names) for f in front]
            fronts += front
            for formula in sorted(front, key=lambda f: f.complexity):
                if formula.max_abs_error > allowed:
                    continue
                if not piecewise and formula.complexity > config.max_complexity:
                    continue  # a big curved formula fitted to samples: more likely overfitted
                if piecewise and behaviour.layers is not None:
                    lows, highs = behaviour.domain.bounds()
                    try:
                        proved = regions.max_abs_difference(
                            behaviour.layers, formula.expr, names, lows, highs,
                            timeout=max(1.0, start + timeout - time.perf_counter()),
                            tolerance=tolerance(y_all),
                        )  # fmt: skip
                    except regions.RegionTimeout:
                        continue
                    if proved.max_abs_error > allowed:
                        continue
                    bound = proved
                chosen = formula
                break
            if chosen is not None:
                break
        stats["pareto_front"] = [f.to_dict() for f in pareto_front(fronts)]

        def nothing(reason: str) -> Candidate:
            stats.update(found=False, reason=reason, seconds=round(time.perf_counter() - start, 3))
            return Candidate(self.name, None, exact=False, stats=stats)

        if chosen is None:
            best = min((f.max_abs_error for f in fronts), default=math.inf)
            return nothing(
                f"no formula within {config.budget:.0%} of the output range ({allowed:.4g}); "
                f"the closest was {best:.4g} away"
            )
        fallback = None
        if white_box:  # the exact tree, kept beside the formula as the verified fallback
            from .tree import DecisionTree

            left = max(1.0, start + timeout - time.perf_counter())
            fallback = DecisionTree().search(behaviour, timeout=left, progress=progress)
            if fallback.program is None:
                fallback = None
        exact = bound is not None and bound.max_abs_error <= tolerance(y_all)
        leaves = fallback.stats.get("leaves", math.inf) if fallback is not None else math.inf
        if not exact and leaves <= SMALL_TREE:
            return nothing(
                f"{to_source(chosen.expr)} is within {chosen.max_abs_error:.4g} but not exact, "
                f"and the exact tree has only {leaves} leaves: the tree is kept"
            )
        program = ExpressionProgram(chosen.expr, names, real=True)
        error: dict[str, Any] = {
            "kind": "proved" if bound is not None else "sampled",
            "max_abs_error": bound.max_abs_error if bound else chosen.max_abs_error,
            "rms_error": chosen.rms_error,
            "samples": len(check.outputs),
            "output_range": stats["output_range"],
            "budget": config.budget,
        }
        if bound is not None:
            error.update(
                where=dict(zip(names, bound.where, strict=True)),
                network_regions=bound.network_regions,
                pieces=bound.pieces,
                pieces_within_tolerance=bound.pieces_within_tolerance,
                seconds=bound.seconds,
                method=bound.method,
            )
        stats.update(found=True, error=error, complexity=chosen.complexity)
        if fallback is not None:
            stats["exact_tree"] = {
                "leaves": fallback.stats.get("leaves"),
                "activation_regions": fallback.stats.get("activation_regions"),
                "nodes": fallback.program.size if fallback.program else None,
            }
        stats["seconds"] = round(time.perf_counter() - start, 3)
        return Candidate(
            self.name, program, exact=exact, stats=stats, accept=True,
            fallback=fallback,
        )  # fmt: skip


def _sampled(
    formula: Formula, inputs: np.ndarray, outputs: np.ndarray, names: tuple[str, ...]
) -> Formula:
    """The formula's max and RMS error on the fresh check points."""
    env = {name: inputs[:, i].astype(np.float64) for i, name in enumerate(names)}
    with np.errstate(all="ignore"):
        values = np.broadcast_to(evaluate_expr(formula.expr, env), outputs.shape)
    difference = np.abs(values - outputs)
    if not np.all(np.isfinite(difference)):
        return Formula(formula.complexity, math.inf, formula.expr, math.inf, formula.piecewise)
    return Formula(
        formula.complexity,
        float(difference.max()),
        formula.expr,
        float(np.sqrt(np.mean(difference**2))),
        formula.piecewise,
    )


class _progress:
    """A one-line tqdm status while a front is searched (off unless `progress`)."""

    def __init__(self, enabled: bool, what: str) -> None:
        self.enabled, self.what = enabled, what

    def __enter__(self) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=1, desc=f"symbolic search ({self.what})", leave=False)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.update(1)
            self.bar.close()
