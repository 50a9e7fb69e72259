"""Approximate strategies: never called exact on their own evidence.

* `ApproxTree`: a scikit-learn decision tree fitted to the network's outputs, reported with
  its fidelity, never more than `MAX_LEAVES` leaves (a bigger tree is no more readable than
  the network; the `symbolic` strategy gives formulas instead). On a finite domain the verify
  step still checks it on every point.
* `LookupTable`: the honest fallback for small finite domains: the network's outputs as a
  table, indexed by the inputs. Exact by construction, and as large as the domain.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..domain import IntRange
from ..program import Expr, ExpressionProgram, binary, const, if_, lookup, var
from .base import Behaviour, Candidate

MAX_DEPTH = 16
MAX_LEAVES = 256
LOOKUP_LIMIT = 1 << 16


class ApproxTree:
    name = "approx-tree"

    def __init__(self, max_leaves: int = MAX_LEAVES) -> None:
        self.max_leaves = max_leaves

    def applicable(self, behaviour: Behaviour) -> str | None:
        try:
            import sklearn  # noqa: F401
        except ImportError:
            return "needs scikit-learn, which the default install includes: pip install net2code"
        return None

    def search(
        self, behaviour: Behaviour, *, timeout: float = 60.0, progress: bool = False
    ) -> Candidate:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        start = time.perf_counter()
        x, y = behaviour.inputs.astype(np.float64), behaviour.outputs
        best: tuple[float, int, Any] | None = None
        capped = False
        for depth in range(1, MAX_DEPTH + 1):
            limits = {"max_depth": depth, "max_leaf_nodes": self.max_leaves, "random_state": 0}
            if behaviour.integer_outputs:
                model: Any = DecisionTreeClassifier(**limits).fit(x, y)
                fidelity = float((model.predict(x) == y).mean())
            else:
                model = DecisionTreeRegressor(**limits).fit(x, y)
                fidelity = float(1.0 - np.mean((model.predict(x) - y) ** 2) / max(np.var(y), 1e-12))
            if best is None or fidelity > best[0] + 1e-12:
                best = (fidelity, depth, model)
            capped = model.get_n_leaves() >= self.max_leaves
            if fidelity >= 1.0 or capped or time.perf_counter() - start > timeout:
                break
        assert best is not None
        fidelity, depth, model = best
        expr = _sklearn_to_expr(model.tree_, 0, behaviour.names, behaviour.integer_outputs, model)
        stats = {
            "fidelity_on_probe_points": fidelity,
            "fidelity_measure": "accuracy" if behaviour.integer_outputs else "R^2",
            "probe_points": len(y),
            "depth": depth,
            "leaves": int(model.get_n_leaves()),
            "seconds": round(time.perf_counter() - start, 3),
        }
        if capped:
            stats["capped"] = (
                f"stopped at the cap of {self.max_leaves} leaves; on real outputs the symbolic "
                "strategy finds formulas with an error bound (--strategy symbolic)"
            )
        return Candidate(
            self.name, ExpressionProgram(expr, behaviour.names), exact=False, stats=stats
        )


def _sklearn_to_expr(
    tree: Any, node: int, names: tuple[str, ...], classes: bool, model: Any
) -> Expr:
    left, right = tree.children_left[node], tree.children_right[node]
    if left == right:  # a leaf
        values = tree.value[node][0]
        if classes:
            return const(int(model.classes_[int(np.argmax(values))]))
        return const(float(values[0]))
    test = binary("<=", var(names[tree.feature[node]]), const(float(tree.threshold[node])))
    return if_(
        test,
        _sklearn_to_expr(tree, left, names, classes, model),
        _sklearn_to_expr(tree, right, names, classes, model),
    )


class LookupTable:
    name = "lookup"

    def applicable(self, behaviour: Behaviour) -> str | None:
        if not behaviour.exhaustive:
            return "needs a finite domain"
        if not behaviour.integer_outputs:
            return "needs integer outputs"
        if len(behaviour.outputs) > LOOKUP_LIMIT:
            return f"{len(behaviour.outputs):,} points exceed the table limit of {LOOKUP_LIMIT:,}"
        return None

    def search(
        self, behaviour: Behaviour, *, timeout: float = 60.0, progress: bool = False
    ) -> Candidate:
        assert behaviour.domain is not None
        ranges = [r for r in behaviour.domain.inputs if isinstance(r, IntRange)]
        index: Expr | None = None
        stride = 1
        for r in reversed(ranges):  # row-major: the last input varies fastest
            term: Expr = var(r.name) if r.lo == 0 else binary("-", var(r.name), const(r.lo))
            if stride != 1:
                term = binary("*", term, const(stride))
            index = term if index is None else binary("+", term, index)
            stride *= r.size
        assert index is not None
        values = tuple(int(v) for v in behaviour.outputs.tolist())
        program = ExpressionProgram(lookup("TABLE", index), behaviour.names, (("TABLE", values),))
        stats = {"entries": len(values), "distinct_values": len(set(values))}
        return Candidate(self.name, program, exact=True, stats=stats)
