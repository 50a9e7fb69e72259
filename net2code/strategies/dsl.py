"""Behavioural extraction by bottom-up enumeration of integer expressions.

Expressions over the inputs are enumerated by size (node count). Two expressions that give
the same values on the evaluation points are observationally equivalent, and only the first
(smallest) is kept; this is what makes the search tractable. Three kinds of goal are checked
for every new expression e:

* ``e`` itself equals the network's outputs;
* ``e % m`` does, for each candidate modulus m (a constant above the largest output);
* ``(e ± f) % m`` does, for some already-enumerated f: found by a meet-in-the-middle lookup of
  the residual ``(y - e) mod m`` in a hash table of every expression's values mod m. This finds
  ``(2*a + 3*b) % p`` after enumerating expressions of size 3 only.

Constants come from the domain (each input's range size), the network's output width and a
few small integers; never from a task label. Candidates that match on the evaluation sample
are re-checked on every point before they are accepted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..program import Expr, ExpressionProgram, binary, call, canonical, const, depth, size, var
from ..program import evaluate as evaluate_expr
from .base import Behaviour, Candidate

COMMUTATIVE = {"+", "*", "max", "min", "=="}
BINARY = ("*", "+", "-", "//", "%", "max", "min", "<", "==")


def _mod(values: np.ndarray, m: int) -> np.ndarray:
    """values mod m (Python semantics) through float64, several times faster than integer np.mod.

    Exact for |values| < 2**52; the two corrections absorb any rounding of the quotient.
    """
    quotient = np.floor(values.astype(np.float64) / m).astype(np.int64)
    out = values - quotient * m
    out += m * (out < 0)
    out -= m * (out >= m)
    return out


@dataclass(frozen=True)
class DSLConfig:
    """Search limits. `max_level` bounds the size of enumerated sub-expressions; the programs
    found can be larger: a modulus adds 2 nodes, a meet-in-the-middle sum 3 plus its other half."""

    max_level: int = 7
    max_program_size: int = 15
    sample_points: int = 1024  # observational equivalence is judged on these points
    goal_points: int = 128  # modular goals are screened on this prefix, then checked on all
    value_bound: int = 2**31 - 1
    block_elements: int = 2**22
    store_limit: int = 250_000  # expressions kept per level for recombination
    small_constants: tuple[int, ...] = (0, 1, 2, 3)
    extra_constants: tuple[int, ...] = ()
    seed: int = 0


def _builder(kind: str, exprs: list[Expr], exponent: int | None) -> Callable[[int], Expr]:
    """Build the i-th expression of a unary block (abs, or a power) on demand."""
    if kind == "abs":
        return lambda i: call("abs", exprs[i])
    return lambda i: binary("**", exprs[i], const(exponent or 0))


@dataclass
class _Level:
    values: np.ndarray  # (n, k) int64, values on the evaluation points
    exprs: list[Expr]
    is_const: np.ndarray  # (n,) bool


@dataclass(order=True)
class _Found:
    size: int
    depth: int  # among programs of equal size, the shallower reads better
    order: int
    expr: Expr = field(compare=False)


class DSLSearch:
    """Bottom-up enumerative search with observational-equivalence pruning."""

    name = "dsl"

    def __init__(self, config: DSLConfig | None = None) -> None:
        self.config = config or DSLConfig()

    # The constants the search may use: small integers, each input's range size, the output width.
    def constants(self, behaviour: Behaviour) -> list[int]:
        values = set(self.config.small_constants) | set(self.config.extra_constants)
        for column in behaviour.inputs.T:
            values.add(int(column.max() - column.min() + 1))
        if behaviour.n_classes:
            values.add(int(behaviour.n_classes))
        return sorted(values)

    def applicable(self, behaviour: Behaviour) -> str | None:
        if not behaviour.exhaustive:
            return "needs a finite domain"
        if not behaviour.integer_outputs:
            return "needs integer outputs"
        return None

    def search(
        self, behaviour: Behaviour, *, timeout: float = 60.0, progress: bool = False
    ) -> Candidate:
        return _Run(self.config, behaviour, self.constants(behaviour), timeout, progress).run()


class _Run:
    """State of one search: the levels, the fingerprint sets and the goals."""

    def __init__(
        self,
        config: DSLConfig,
        behaviour: Behaviour,
        constants: list[int],
        timeout: float,
        progress: bool,
    ) -> None:
        self.config = config
        self.behaviour = behaviour
        self.constants = constants
        self.deadline = time.perf_counter() + timeout
        self.progress = progress
        rng = np.random.default_rng(config.seed)
        n = len(behaviour.outputs)
        if n > config.sample_points:
            self.sample = np.sort(rng.choice(n, size=config.sample_points, replace=False))
        else:
            self.sample = np.arange(n)
        points = behaviour.inputs[self.sample]  # (k, n_inputs)
        self.env = {name: points[:, i].astype(np.int64) for i, name in enumerate(behaviour.names)}
        self.full_env = {
            name: behaviour.inputs[:, i].astype(np.int64) for i, name in enumerate(behaviour.names)
        }
        self.y = behaviour.outputs[self.sample].astype(np.int64)  # (k,)
        self.y_full = behaviour.outputs.astype(np.int64)
        k = len(self.sample)
        self.weights = rng.integers(-(2**62), 2**62, size=k, dtype=np.int64)
        self.fp_y = self._fingerprint(self.y[None, :])[0]
        self.prefix = min(k, config.goal_points)
        self.y_prefix = self.y[: self.prefix]
        self.fp_y_prefix = int(self.y_prefix @ self.weights[: self.prefix])
        low, high = int(self.y.min()), int(self.y.max())
        self.moduli = [m for m in constants if m > high and m >= 2 and low >= 0]
        self.seen: set[int] = set()
        self.mod_tables: dict[int, dict[int, Expr]] = {m: {} for m in self.moduli}
        self.levels: dict[int, _Level] = {}
        self.found: list[_Found] = []
        self.best_partial: tuple[int, int, Expr] | None = None  # (agreeing points, -size, expr)
        self.counter = 0
        self.enumerated = 0
        self.rejected_on_full = 0
        self.timed_out = False

    # ------------------------------------------------------------------ helpers
    def _fingerprint(self, values: np.ndarray) -> np.ndarray:
        return values @ self.weights  # (n,) int64, wraps modulo 2**64

    def _time_left(self) -> bool:
        if time.perf_counter() > self.deadline:
            self.timed_out = True
        return not self.timed_out

    def _record(self, expr: Expr, total: int) -> None:
        if total <= self.config.max_program_size:
            self.counter += 1
            self.found.append(_Found(total, depth(expr), self.counter, expr))

    def _note_partial(self, agreeing: int, expr_size: int, make: Callable[[], Expr]) -> None:
        best = self.best_partial
        if best is None or (agreeing, -expr_size) > (best[0], best[1]):
            self.best_partial = (agreeing, -expr_size, make())

    # ------------------------------------------------------------------ enumeration
    def run(self) -> Candidate:
        from tqdm.auto import tqdm

        start = time.perf_counter()
        bar = tqdm(
            total=self.config.max_level,
            desc="dsl search",
            unit="level",
            disable=None if self.progress else True,
            leave=False,
        )
        level = 0
        accepted: Expr | None = None
        for level in range(1, self.config.max_level + 1):
            if not self._time_left():
                break
            self._enumerate_level(level)
            bar.update(1)
            bar.set_postfix(kept=sum(len(lv.exprs) for lv in self.levels.values()))
            accepted = self._accept(level)
            if accepted is not None:
                break
        bar.close()
        if accepted is None:
            accepted = self._accept(level + 1, final=True)
        stats: dict[str, Any] = {
            "levels_enumerated": level,
            "expressions_enumerated": self.enumerated,
            "distinct_kept": len(self.seen),
            "evaluation_points": len(self.sample),
            "constants": self.constants,
            "moduli": self.moduli,
            "rejected_on_full_domain": self.rejected_on_full,
            "timed_out": self.timed_out,
            "seconds": round(time.perf_counter() - start, 3),
        }
        names = self.behaviour.names
        if accepted is not None:
            return Candidate(
                "dsl", ExpressionProgram(canonical(accepted, names), names), exact=True, stats=stats
            )
        partial = (
            None if self.best_partial is None else ExpressionProgram(self.best_partial[2], names)
        )
        return Candidate("dsl", partial, exact=False, stats=stats)

    def _accept(self, level: int, final: bool = False) -> Expr | None:
        """The smallest found program that holds on every point, once no smaller one can appear."""
        for item in sorted(self.found):
            if not final and item.size > level + 1:
                return None  # the next level could still give a direct match of size level + 1
            try:
                values = evaluate_expr(item.expr, self.full_env)
            except (ZeroDivisionError, FloatingPointError, OverflowError):
                values = None
            if values is not None and np.array_equal(
                np.broadcast_to(values, self.y_full.shape), self.y_full
            ):
                return item.expr
            self.rejected_on_full += 1
            self.found.remove(item)
        return None

    def _enumerate_level(self, level: int) -> None:
        new_values: list[np.ndarray] = []
        new_exprs: list[Expr] = []
        new_const: list[np.ndarray] = []
        store = level <= self.config.max_level - 1

        def keep(values: np.ndarray, exprs: list[Expr], is_const: np.ndarray) -> None:
            if store and sum(len(e) for e in new_exprs) < self.config.store_limit:
                new_values.append(values)
                new_exprs.extend(exprs)
                new_const.append(is_const)

        for block, make, is_const in self._candidates(level):
            if not self._time_left():
                break
            self._process(level, block, make, is_const, keep)
        if new_exprs:
            self.levels[level] = _Level(
                np.concatenate(new_values), new_exprs, np.concatenate(new_const)
            )

    def _candidates(
        self, level: int
    ) -> Iterator[tuple[np.ndarray, Callable[[int], Expr], np.ndarray]]:
        """Yield blocks of candidate values (c, k), a builder for each, and const flags."""
        k = len(self.sample)
        if level == 1:
            # Constants first, so that commutative products read "3 * b" rather than "b * 3".
            exprs = [const(c) for c in self.constants] + [var(n) for n in self.behaviour.names]
            values = np.stack(
                [np.full(k, c, dtype=np.int64) for c in self.constants]
                + [np.broadcast_to(self.env[n], (k,)) for n in self.behaviour.names]
            )
            flags = np.array([True] * len(self.constants) + [False] * len(self.behaviour.names))
            yield values, exprs.__getitem__, flags
            return
        for op in BINARY:
            for left_size in range(1, level - 1):
                right_size = level - 1 - left_size
                if op in COMMUTATIVE and left_size > right_size:
                    continue
                left, right = self.levels.get(left_size), self.levels.get(right_size)
                if left is None or right is None:
                    continue
                yield from self._binary_blocks(op, left, right, left_size == right_size)
        bound = self.config.value_bound
        if (child := self.levels.get(level - 1)) is not None:
            yield np.abs(child.values), _builder("abs", child.exprs, None), child.is_const
        if (child := self.levels.get(level - 2)) is not None:
            for exponent in (2, 3):
                ok = (np.abs(child.values.astype(np.float64)) ** exponent <= bound).all(-1)
                idx = np.flatnonzero(ok & ~child.is_const)
                if len(idx):
                    exprs = [child.exprs[i] for i in idx.tolist()]
                    yield (
                        child.values[idx] ** exponent,
                        _builder("**", exprs, exponent),
                        np.zeros(len(idx), dtype=bool),
                    )

    def _binary_blocks(
        self, op: str, left: _Level, right: _Level, same: bool
    ) -> Iterator[tuple[np.ndarray, Callable[[int], Expr], np.ndarray]]:
        n_right, k = len(right.exprs), len(self.sample)
        rows = max(1, self.config.block_elements // max(1, n_right * k))
        right_ok = np.ones(n_right, dtype=bool)
        if op in ("//", "%"):
            right_ok = (right.values != 0).all(-1)
        for start in range(0, len(left.exprs), rows):
            stop = min(start + rows, len(left.exprs))
            lv = left.values[start:stop, None, :]  # (c, 1, k)
            rv = right.values[None, :, :]  # (1, n_right, k)
            mask = np.broadcast_to(right_ok[None, :], (stop - start, n_right)).copy()
            mask &= ~(left.is_const[start:stop, None] & right.is_const[None, :])
            if same and op in COMMUTATIVE:
                mask &= np.arange(start, stop)[:, None] <= np.arange(n_right)[None, :]
            pairs = np.flatnonzero(mask)
            if not len(pairs):
                continue
            li, ri = np.divmod(pairs, n_right)
            a, b = lv[li, 0, :], rv[0, ri, :]
            with np.errstate(all="ignore"):
                if op == "+":
                    vals = a + b
                elif op == "-":
                    vals = a - b
                elif op == "*":
                    vals = a * b
                    big = (
                        np.abs(a.astype(np.float64) * b.astype(np.float64))
                        > self.config.value_bound
                    )
                    vals[big] = self.config.value_bound + 1  # rejected by the bound check
                elif op == "//":
                    vals = np.floor_divide(a, b)
                elif op == "%":
                    vals = np.mod(a, b)
                elif op == "max":
                    vals = np.maximum(a, b)
                elif op == "min":
                    vals = np.minimum(a, b)
                elif op == "<":
                    vals = (a < b).astype(np.int64)
                else:
                    vals = (a == b).astype(np.int64)
            left_index, right_index = li + start, ri

            def make(i: int, o: str = op, lx=left_index, rx=right_index) -> Expr:
                l_expr, r_expr = left.exprs[lx[i]], right.exprs[rx[i]]
                if o in ("max", "min"):
                    return call(o, l_expr, r_expr)
                return binary(o, l_expr, r_expr)

            yield vals, make, np.zeros(len(pairs), dtype=bool)

    # ------------------------------------------------------------------ goals
    def _process(
        self,
        level: int,
        values: np.ndarray,
        make: Callable[[int], Expr],
        is_const: np.ndarray,
        keep: Callable[[np.ndarray, list[Expr], np.ndarray], None],
    ) -> None:
        self.enumerated += len(values)
        valid = (np.abs(values) <= self.config.value_bound).all(-1)
        fps = self._fingerprint(values)
        fresh = []
        for i, (fp, ok) in enumerate(zip(fps.tolist(), valid.tolist(), strict=True)):
            if ok and fp not in self.seen:
                self.seen.add(fp)
                fresh.append(i)
        if not fresh:
            return
        idx = np.array(fresh)
        vals, new_fps = values[idx], fps[idx]
        exprs: dict[int, Expr] = {}

        def expr_of(j: int) -> Expr:
            if j not in exprs:
                exprs[j] = make(int(idx[j]))
            return exprs[j]

        for j in np.flatnonzero(new_fps == self.fp_y).tolist():
            if np.array_equal(vals[j], self.y):
                self._record(expr_of(j), level)
        agree = (vals == self.y).sum(-1)
        top = int(agree.argmax())
        self._note_partial(int(agree[top]), level, lambda: expr_of(top))
        for m in self.moduli:
            self._modular_goals(level, m, vals, expr_of)
        if level < self.config.max_level:
            stored = [expr_of(j) for j in range(len(idx))]
            keep(vals, stored, is_const[idx])

    def _modular_goals(
        self, level: int, m: int, vals: np.ndarray, expr_of: Callable[[int], Expr]
    ) -> None:
        """Goals under a final `% m`, screened on a prefix of the points (kept cheap)."""
        reduced = _mod(vals[:, : self.prefix], m)  # (c, prefix)
        y = self.y_prefix
        weights = self.weights[: self.prefix]
        modulus = const(m)
        fps = reduced @ weights
        for j in np.flatnonzero(fps == self.fp_y_prefix).tolist():
            if np.array_equal(_mod(vals[j], m), self.y):
                self._record(binary("%", expr_of(j), modulus), level + 2)
        agree = (reduced == y).sum(-1)
        top = int(agree.argmax())
        self._note_partial(
            int(agree[top]) * len(self.y) // self.prefix,
            level + 2,
            lambda: binary("%", expr_of(top), modulus),
        )

        table = self.mod_tables[m]
        if level <= self.config.max_level - 1:  # insert first: pairs within one block must meet
            for j, fp in enumerate(fps.tolist()):
                if fp not in table:
                    table[fp] = expr_of(j)
        if not table or level + 4 > self.config.max_program_size:
            return
        # Both y and e mod m lie in [0, m), so one conditional add or subtract reduces these.
        diff = y - reduced
        total = y + reduced
        queries = (
            ("+", np.where(diff < 0, diff + m, diff)),  # e + f == y  ->  f == y - e
            ("-", np.where(diff > 0, m - diff, -diff)),  # e - f == y  ->  f == e - y
            ("r-", np.where(total >= m, total - m, total)),  # f - e == y  ->  f == y + e
        )
        for kind, residual in queries:
            for j, fp in enumerate((residual @ weights).tolist()):
                other = table.get(fp)
                if other is None:
                    continue
                e = expr_of(j)
                if kind == "+":
                    combined = binary("+", other, e)
                elif kind == "-":
                    combined = binary("-", e, other)
                else:
                    combined = binary("-", other, e)
                self._record(binary("%", combined, modulus), size(combined) + 2)
