"""Boolean strategy: a truth table over bit inputs becomes the smallest readable formula.

Candidate forms, each checked against the whole truth table:
* a constant or a single literal;
* parity: an XOR of inputs (solved over GF(2));
* a multiplexer: ``b if s else a`` with literals a, b;
* a linear threshold ``w·x >= t`` with the smallest integer weights (an integer program,
  scipy's `milp`): majority, comparators, at-least-k;
* a minimal sum of products (sympy's Quine-McCluskey `SOPform`, up to 12 inputs), or the
  negation of the complement's; beyond 12 inputs an espresso-style heuristic (expand each
  uncovered minterm into a prime implicant, then keep an irredundant greedy cover), small but
  not guaranteed minimal.
The smallest (in nodes) wins.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..program import Expr, ExpressionProgram, and_, binary, const, if_, not_, or_, size, var
from .base import Behaviour, Candidate

MAX_INPUTS = 20
MAX_SOP_INPUTS = 12


class BooleanSearch:
    name = "boolean"

    def applicable(self, behaviour: Behaviour) -> str | None:
        domain = behaviour.domain
        if domain is None or not domain.is_boolean:
            return "needs bit inputs"
        if len(domain.inputs) > MAX_INPUTS:
            return f"{len(domain.inputs)} bit inputs exceed the limit of {MAX_INPUTS}"
        if not set(np.unique(behaviour.outputs).tolist()) <= {0, 1}:
            return "needs 0/1 outputs"
        return None

    def search(
        self, behaviour: Behaviour, *, timeout: float = 60.0, progress: bool = False
    ) -> Candidate:
        start = time.perf_counter()
        x, y = behaviour.inputs.astype(np.int64), behaviour.outputs.astype(np.int64)
        names = behaviour.names
        found: dict[str, Expr] = {}
        for form, finder in (
            ("constant", _constant),
            ("literal", _literal),
            ("parity", _parity),
            ("multiplexer", _multiplexer),
            ("sum of products", _sum_of_products),
            ("threshold", _threshold),
        ):
            if time.perf_counter() - start > timeout:
                break
            expr = finder(x, y, names)
            if expr is not None:
                found[form] = expr
        stats: dict[str, Any] = {
            "forms_found": {form: size(e) for form, e in found.items()},
            "seconds": round(time.perf_counter() - start, 3),
        }
        if not found:
            return Candidate(self.name, None, exact=False, stats=stats)
        form, expr = min(found.items(), key=lambda item: size(item[1]))
        stats["form"] = form
        return Candidate(self.name, ExpressionProgram(expr, names), exact=True, stats=stats)


def _matches(expr: Expr, x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> bool:
    return bool((ExpressionProgram(expr, names)(x) == y).all())


def _constant(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Expr | None:
    return const(int(y[0])) if (y == y[0]).all() else None


def _literals(names: tuple[str, ...]) -> list[Expr]:
    return [var(n) for n in names] + [not_(var(n)) for n in names]


def _literal(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Expr | None:
    for i, name in enumerate(names):
        if (x[:, i] == y).all():
            return var(name)
        if (x[:, i] != y).all():
            return not_(var(name))
    return None


def _parity(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Expr | None:
    """y = c XOR (XOR of a subset of inputs)? Read c and the subset off unit vectors."""
    zero = (x == 0).all(axis=1)
    if not zero.any():
        return None
    c = int(y[zero][0])
    subset = []
    for i in range(len(names)):
        unit = (x[:, i] == 1) & (x.sum(axis=1) == 1)
        if not unit.any():
            return None
        if int(y[unit][0]) != c:
            subset.append(i)
    if len(subset) < 2:
        return None
    predicted = np.bitwise_xor.reduce(x[:, subset], axis=1) ^ c
    if not (predicted == y).all():
        return None
    expr = var(names[subset[0]])
    for i in subset[1:]:
        expr = binary("^", expr, var(names[i]))
    return binary("^", expr, const(1)) if c else expr


def _multiplexer(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Expr | None:
    """y = (then if s else otherwise) for an input s and literals then/otherwise."""
    options = _literals(names)
    for i, selector in enumerate(names):
        on, off = x[:, i] == 1, x[:, i] == 0
        then = next((e for e in options if _matches(e, x[on], y[on], names)), None)
        otherwise = next((e for e in options if _matches(e, x[off], y[off], names)), None)
        if then is not None and otherwise is not None and then != otherwise:
            return if_(var(selector), then, otherwise)
    return None


def _sum_of_products(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Expr | None:
    if y.all() or not y.any():
        return None
    if len(names) > MAX_SOP_INPUTS:
        return _greedy_cover(x, y, names)
    import sympy

    symbols = sympy.symbols(list(names))
    rows = x.tolist()
    ones = [row for row, v in zip(rows, y.tolist(), strict=True) if v]
    zeros = [row for row, v in zip(rows, y.tolist(), strict=True) if not v]
    direct = _from_sympy(sympy.SOPform(symbols, ones))
    negated = not_(_from_sympy(sympy.SOPform(symbols, zeros)))
    return min((direct, negated), key=size)


def _greedy_cover(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Expr:
    """Espresso-style SOP: expand uncovered minterms into prime implicants, then cover greedily."""
    on = y == 1
    covered = np.zeros(len(y), dtype=bool)
    cubes: list[tuple[dict[int, int], np.ndarray]] = []
    for row in np.flatnonzero(on):
        if covered[row]:
            continue
        literals = {i: int(v) for i, v in enumerate(x[row])}
        for i in range(len(names)):  # EXPAND: drop a literal while the cube stays in the on-set
            trial = {j: v for j, v in literals.items() if j != i}
            mask = np.all([x[:, j] == v for j, v in trial.items()], axis=0) if trial else on | ~on
            if on[mask].all():
                literals = trial
        mask = np.all([x[:, j] == v for j, v in literals.items()], axis=0)
        cubes.append((literals, mask))
        covered |= mask
    chosen: list[dict[int, int]] = []  # IRREDUNDANT: greedy set cover of the on-set
    left = on.copy()
    while left.any():
        literals, mask = max(cubes, key=lambda cube: int((cube[1] & left).sum()))
        chosen.append(literals)
        left &= ~mask
    terms = [
        and_(*(var(names[j]) if v else not_(var(names[j])) for j, v in sorted(lits.items())))
        for lits in chosen
    ]
    return or_(*terms)


def _from_sympy(formula: Any) -> Expr:
    import sympy

    if formula is sympy.true:
        return const(1)
    if formula is sympy.false:
        return const(0)
    if isinstance(formula, sympy.Symbol):
        return var(str(formula))
    if isinstance(formula, sympy.Not):
        return not_(_from_sympy(formula.args[0]))
    args = sorted((_from_sympy(a) for a in formula.args), key=lambda e: (size(e), repr(e)))
    if isinstance(formula, sympy.And):
        return and_(*args)
    if isinstance(formula, sympy.Or):
        return or_(*args)
    raise ValueError(f"unexpected sympy node {formula!r}")


def _threshold(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Expr | None:
    """Smallest integer weights w and threshold t with y = [w·x >= t] (an integer program)."""
    if y.all() or not y.any():
        return None
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = len(names)
    bound = 2 ** min(n, 12)
    # variables: w_plus (n), w_minus (n), t
    sign = np.where(y == 1, 1.0, -1.0)[:, None]  # y=1: w.x - t >= 0 ; y=0: -(w.x - t) >= 1
    rows = np.hstack([x, -x, -np.ones((len(x), 1))]) * sign
    lower = np.where(y == 1, 0.0, 1.0)
    constraint = LinearConstraint(rows, lower, np.inf)
    cost = np.concatenate([np.ones(2 * n), [0.0]])
    bounds = Bounds(
        np.concatenate([np.zeros(2 * n), [-bound * n]]),
        np.concatenate([np.full(2 * n, bound), [bound * n]]),
    )
    result = milp(cost, constraints=[constraint], integrality=np.ones(2 * n + 1), bounds=bounds,
                  options={"time_limit": 10})  # fmt: skip
    if not result.success or result.x is None:
        return None
    solution = np.rint(result.x).astype(np.int64)
    weights, threshold = solution[:n] - solution[n : 2 * n], int(solution[-1])
    if not ((x @ weights >= threshold).astype(np.int64) == y).all():
        return None
    return _render_threshold(weights, threshold, names)


def _weighted_sum(terms: list[tuple[int, str]]) -> Expr | None:
    expr: Expr | None = None
    for weight, name in terms:
        term = var(name) if weight == 1 else binary("*", const(weight), var(name))
        expr = term if expr is None else binary("+", expr, term)
    return expr


def _render_threshold(weights: np.ndarray, threshold: int, names: tuple[str, ...]) -> Expr:
    """w·x >= t, written as (positive terms) compared with (negative terms) + constant."""
    positive = _weighted_sum([(int(w), n) for w, n in zip(weights, names, strict=True) if w > 0])
    negative = _weighted_sum([(int(-w), n) for w, n in zip(weights, names, strict=True) if w < 0])
    left = positive if positive is not None else const(0)
    if negative is None:
        return binary(">=", left, const(threshold))
    if threshold == 1:
        return binary(">", left, negative)
    if threshold == 0:
        return binary(">=", left, negative)
    if threshold > 0:
        return binary(">=", left, binary("+", negative, const(threshold)))
    return binary(">=", binary("+", left, const(-threshold)), negative)
