"""Exact decision trees from ReLU networks (Aytekin 2022: a ReLU network is a decision tree).

A network made of affine layers and ReLUs is one affine map on each activation region. This
strategy splits the domain neuron by neuron, layer by layer: each split tests the sign of a
pre-activation, which on the current region is an affine function of the input. Only regions
the domain reaches are kept: on a finite domain a region is the set of points in it; on a
real box it is a convex polygon (2-D, clipped exactly) or polytope (n-D, kept when an LP finds
it has an interior), from `net2code.regions`, whose recursion this strategy shares.
At the end of the hidden layers the output is one affine map per region; the readout turns it
into a leaf (the formula itself, or constant classes, splitting further where needed). Equal
sibling leaves are merged bottom-up.

On a box this is a proof: each leaf's polytope has a fixed activation pattern, so the network
equals the leaf's affine map on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import regions
from ..program import Expr, ExpressionProgram, binary, const, if_, var
from .base import Behaviour, Candidate

MAX_REGIONS = 20_000


@dataclass(frozen=True)
class _Leaf:
    coefficients: tuple[float, ...] | None  # affine leaf: value = coefficients . x + offset
    offset: float  # or, with coefficients None, a constant

    def same(self, other: _Leaf) -> bool:
        if (self.coefficients is None) != (other.coefficients is None):
            return False
        a = np.array([*(self.coefficients or ()), self.offset])
        b = np.array([*(other.coefficients or ()), other.offset])
        return bool(np.allclose(a, b, rtol=1e-12, atol=1e-12))


@dataclass(frozen=True)
class _Split:
    weight: np.ndarray  # test: weight . x + bias > 0 (or >= 0 when inclusive)
    bias: float
    inclusive: bool
    then: _Leaf | _Split
    otherwise: _Leaf | _Split


class _Points:
    """Regions of a finite domain: the indices of the points in them."""

    def __init__(self, points: np.ndarray) -> None:
        self.points = points.astype(np.float64)

    def root(self) -> np.ndarray:
        return np.arange(len(self.points))

    def split(
        self, region: np.ndarray, w: np.ndarray, b: float, inclusive: bool
    ) -> tuple[Any, Any]:
        values = self.points[region] @ w + b
        positive = values >= 0 if inclusive else values > 0
        on, off = region[positive], region[~positive]
        return (on if len(on) else None), (off if len(off) else None)


class _Box:
    """Regions of a real box (`net2code.regions`): convex, kept when they have an interior;
    polygons clipped exactly in 2-D, half-spaces checked by LP in n-D."""

    def __init__(self, lows: np.ndarray, highs: np.ndarray, method: str = "auto") -> None:
        self.box = regions.root(lows, highs, method)

    @property
    def lps(self) -> int:
        return regions.lps_solved(self.box)

    def root(self) -> regions.Region:
        return self.box

    def split(
        self, region: regions.Region, w: np.ndarray, b: float, inclusive: bool
    ) -> tuple[Any, Any]:
        if not np.any(w):
            side = (b >= 0) if inclusive else (b > 0)
            return (region, None) if side else (None, region)
        return region.split(w, b)


class DecisionTree:
    """The exact tree of a ReLU network on the region its domain reaches."""

    name = "tree"

    def __init__(self, method: str = "auto") -> None:
        self.method = method  # box regions: "auto" (polygons in 2-D), "lp" or "polygon"

    def applicable(self, behaviour: Behaviour) -> str | None:
        if behaviour.layers is None:
            return "needs a network made of affine layers and ReLUs (white-box)"
        if behaviour.readout == "round":
            return "does not support the round readout"
        return None

    def search(
        self, behaviour: Behaviour, *, timeout: float = 60.0, progress: bool = False
    ) -> Candidate:
        assert behaviour.layers is not None and behaviour.domain is not None
        start = time.perf_counter()
        self.readout = behaviour.readout
        if behaviour.exhaustive:
            self.oracle: Any = _Points(behaviour.inputs)
        else:
            self.oracle = _Box(*behaviour.domain.bounds(), method=self.method)
        walk = regions.Walk(
            behaviour.layers,
            split=lambda region, w, b: self.oracle.split(region, w, b, inclusive=False),
            leaf=self._readout,
            join=lambda w, b, then, otherwise: _Split(w, b, False, then, otherwise),
            deadline=start + timeout,
            max_regions=MAX_REGIONS,
        )
        n = len(behaviour.names)
        stats: dict[str, Any] = {}
        try:
            tree = walk.run(self.oracle.root(), n)
        except regions.RegionTimeout as exc:
            seconds = round(time.perf_counter() - start, 3)
            reason = f"{exc} after {seconds:g} s ({walk.regions:,} activation regions so far)"
            stats.update(timed_out=True, reason=reason, seconds=seconds)
            return Candidate(self.name, None, exact=False, stats=stats)
        self.regions = walk.regions
        raw_leaves = _count_leaves(tree)
        tree = _merge(tree)
        expr = _to_expr(tree, behaviour.names)
        stats.update(
            activation_regions=self.regions,
            leaves_before_merge=raw_leaves,
            leaves=_count_leaves(tree),
            hidden_neurons=sum(layer.weight.shape[0] for layer in behaviour.layers[:-1]),
            lps_solved=getattr(self.oracle, "lps", 0),
            seconds=round(time.perf_counter() - start, 3),
        )
        proof = None
        if not behaviour.exhaustive:
            shape = (
                "convex polygon with an interior (clipped exactly)"
                if isinstance(self.oracle.box, regions.Polygon)
                else f"polytope with an interior (LP-checked, {stats['lps_solved']} LPs)"
            )
            proof = (
                f"exact region splitting of the box: {self.regions} activation regions, each a "
                f"{shape} on which every ReLU's sign is fixed, so the network is one affine map "
                "there; the program returns that map (or its readout) on each, and merging only "
                "joined equal leaves"
            )
        return Candidate(
            self.name,
            ExpressionProgram(expr, behaviour.names, real=not behaviour.exhaustive),
            exact=True,
            stats=stats,
            proof=proof,
        )

    # ----------------------------------------------------------------- readout
    def _readout(self, region: Any, out: np.ndarray, out0: np.ndarray) -> _Leaf | _Split:
        if self.readout == "real":
            return _Leaf(tuple(out[0].tolist()), float(out0[0]))
        if self.readout == "bit":
            on, off = self.oracle.split(region, out[0], float(out0[0]), inclusive=False)
            if on is None or off is None:
                return _Leaf(None, 1.0 if off is None else 0.0)
            return _Split(out[0].copy(), float(out0[0]), False, _Leaf(None, 1.0), _Leaf(None, 0.0))
        return self._argmax(region, out, out0, list(range(len(out0))))

    def _argmax(
        self, region: Any, out: np.ndarray, out0: np.ndarray, classes: list[int]
    ) -> _Leaf | _Split:
        """Split until one class wins the whole region (ties go to the lower index, as argmax)."""
        if len(classes) == 1:
            return _Leaf(None, float(classes[0]))
        first, second = classes[0], classes[1]
        w, b = out[first] - out[second], float(out0[first] - out0[second])
        on, off = self.oracle.split(region, w, b, inclusive=True)
        keep_first = [c for c in classes if c != second]
        keep_second = [c for c in classes if c != first]
        if off is None:
            return self._argmax(on, out, out0, keep_first)
        if on is None:
            return self._argmax(off, out, out0, keep_second)
        return _Split(
            w,
            b,
            True,
            self._argmax(on, out, out0, keep_first),
            self._argmax(off, out, out0, keep_second),
        )


def _merge(node: _Leaf | _Split) -> _Leaf | _Split:
    if isinstance(node, _Leaf):
        return node
    then, otherwise = _merge(node.then), _merge(node.otherwise)
    if isinstance(then, _Leaf) and isinstance(otherwise, _Leaf) and then.same(otherwise):
        return then
    return _Split(node.weight, node.bias, node.inclusive, then, otherwise)


def _count_leaves(node: _Leaf | _Split) -> int:
    if isinstance(node, _Leaf):
        return 1
    return _count_leaves(node.then) + _count_leaves(node.otherwise)


def _affine(coefficients: np.ndarray, offset: float, names: tuple[str, ...]) -> Expr:
    """sum_i c_i x_i + offset, with negative terms written as subtractions."""
    expr: Expr | None = None
    for weight, name in zip(coefficients.tolist(), names, strict=True):
        if weight == 0:
            continue
        magnitude = abs(weight)
        term = var(name) if magnitude == 1 else binary("*", const(float(magnitude)), var(name))
        if expr is None:
            expr = term if weight > 0 else binary("*", const(float(weight)), var(name))
        else:
            expr = binary("+" if weight > 0 else "-", expr, term)
    if expr is None:
        return const(float(offset))
    if offset == 0:
        return expr
    return binary("+" if offset > 0 else "-", expr, const(float(abs(offset))))


def _to_expr(node: _Leaf | _Split, names: tuple[str, ...]) -> Expr:
    if isinstance(node, _Leaf):
        if node.coefficients is None:
            return const(int(node.offset))
        return _affine(np.array(node.coefficients), node.offset, names)
    linear = _affine(node.weight, 0.0, names)
    threshold = 0.0 - node.bias  # 0.0 - b, not -b: no "-0.0" in the code
    test = binary(">=" if node.inclusive else ">", linear, const(float(threshold)))
    return if_(test, _to_expr(node.then, names), _to_expr(node.otherwise, names))
