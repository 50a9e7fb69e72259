"""Activation regions of ReLU networks on a real box, and exact bounds on |network - program|.

A network of affine layers and ReLUs is one affine map on each activation region; so is a
program built from + - * (by constants), abs, min and max. On the common refinement of both,
network - program is affine, and its largest absolute value over a convex region sits at a
vertex (in 2-D) or is found by two LPs (in n-D). The maximum over all pieces is the exact
max |N - P| over the box: a proof, not a sample.

Regions are convex and kept only when they have an interior:

* `Polygon` (2-D): vertices, clipped by each split line exactly (Sutherland-Hodgman on a
  convex polygon); a split whose line misses the polygon costs one dot product;
* `Polytope` (n-D): half-spaces, pruned first by interval bounds over the region's box, then
  one LP (scipy HiGHS) for the side its interior point does not lie on.

`walk` is the one recursion over neurons that both the exact decision tree (`strategies/tree.py`)
and the flat list of affine pieces (`affine_pieces`) use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .program import Expr, children

# An n-D region needs a ball this wide (times the box's side), above HiGHS's feasibility
# tolerance (1e-7): with 1e-9, slivers the solver rounded into existence counted (930 regions
# where the 51 lines of a 2-64-1 network cut the square into 837). Thinner slivers join their
# neighbours: on them the tree and the bound are off by at most the slope times that width.
INTERIOR = 1e-6
AREA = 1e-12  # a 2-D region needs this share of the box's area


class RegionTimeout(Exception):
    """The enumeration ran past its deadline or its region cap."""


class Polygon:
    """A convex polygon, vertices counter-clockwise.  # vertices: (k, 2)"""

    def __init__(self, vertices: np.ndarray, min_area: float) -> None:
        self.vertices = vertices
        self.min_area = min_area

    @classmethod
    def box(cls, lows: np.ndarray, highs: np.ndarray) -> Polygon:
        (x0, y0), (x1, y1) = lows, highs
        vertices = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
        return cls(vertices, AREA * (x1 - x0) * (y1 - y0))

    def area(self) -> float:
        x, y = self.vertices[:, 0], self.vertices[:, 1]
        return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))

    def point(self) -> np.ndarray:
        return self.vertices.mean(axis=0)

    def split(self, w: np.ndarray, b: float) -> tuple[Polygon | None, Polygon | None]:
        """The parts where w.x + b >= 0 and <= 0, each None when it has no interior."""
        s = self.vertices @ w + b  # (k,)
        scale = float(np.abs(w).sum() * np.abs(self.vertices).max() + abs(b))
        s[np.abs(s) <= 1e-12 * max(scale, 1e-300)] = 0.0
        if s.min() >= 0:
            return self, None
        if s.max() <= 0:
            return None, self
        on: list[np.ndarray] = []
        off: list[np.ndarray] = []
        k = len(s)
        for i in range(k):
            j = (i + 1) % k
            v, sv, sn = self.vertices[i], s[i], s[j]
            if sv >= 0:
                on.append(v)
            if sv <= 0:
                off.append(v)
            if sv * sn < 0:
                cut = v + (self.vertices[j] - v) * (sv / (sv - sn))
                on.append(cut)
                off.append(cut)
        return self._kept(on), self._kept(off)

    def _kept(self, vertices: list[np.ndarray]) -> Polygon | None:
        if len(vertices) < 3:
            return None
        polygon = Polygon(np.array(vertices), self.min_area)
        return polygon if polygon.area() > self.min_area else None

    def extremes(self, w: np.ndarray, b: float) -> tuple[float, float, np.ndarray, np.ndarray]:
        """min and max of w.x + b over the polygon, and where: at vertices."""
        values = self.vertices @ w + b
        lo, hi = int(np.argmin(values)), int(np.argmax(values))
        return float(values[lo]), float(values[hi]), self.vertices[lo], self.vertices[hi]


class Polytope:
    """{x in box : a x <= c} with an interior point; splits cost at most one LP."""

    def __init__(
        self,
        a: np.ndarray,  # (m, n)
        c: np.ndarray,  # (m,)
        lows: np.ndarray,
        highs: np.ndarray,
        inner: np.ndarray,  # a point strictly inside
        counter: list[int],
        prune: bool = True,
    ) -> None:
        self.a, self.c, self.lows, self.highs, self.inner = a, c, lows, highs, inner
        self.counter = counter  # LPs solved, shared by every region of one enumeration
        self.prune = prune  # False: two LPs per split, as net2code 0.2 did (benchmarks)

    @classmethod
    def box(cls, lows: np.ndarray, highs: np.ndarray, prune: bool = True) -> Polytope:
        n = len(lows)
        return cls(np.zeros((0, n)), np.zeros(0), lows, highs, (lows + highs) / 2, [0], prune)

    def point(self) -> np.ndarray:
        return self.inner

    def _interval(self, w: np.ndarray, b: float) -> tuple[float, float]:
        """Bounds of w.x + b over the region's bounding box (no LP)."""
        centre, half = (self.lows + self.highs) / 2, (self.highs - self.lows) / 2
        mid, spread = float(w @ centre + b), float(np.abs(w) @ half)
        return mid - spread, mid + spread

    def _chebyshev(self, a: np.ndarray, c: np.ndarray) -> np.ndarray | None:
        """A point with a ball of radius > INTERIOR inside {a x <= c} and the box, or None."""
        from scipy.optimize import linprog

        self.counter[0] += 1
        n = a.shape[1]
        rows, limits, least = a, c, 1e-9  # before: any radius, the box unchecked (lp-plain)
        if self.prune:  # the ball inside the box too, and wider than the solver's tolerance
            rows = np.vstack([a, np.eye(n), -np.eye(n)])
            limits = np.concatenate([c, self.highs, -self.lows])
            least = INTERIOR * float(np.max(self.highs - self.lows))
        norms = np.linalg.norm(rows, axis=1)
        result = linprog(
            c=np.concatenate([np.zeros(n), [-1.0]]),
            A_ub=np.hstack([rows, norms[:, None]]),
            b_ub=limits,
            bounds=[*zip(self.lows.tolist(), self.highs.tolist(), strict=True), (0.0, 1.0)],
            method="highs",
        )
        if result.status != 0 or -result.fun <= least:
            return None
        return np.asarray(result.x[:n])

    def split(self, w: np.ndarray, b: float) -> tuple[Polytope | None, Polytope | None]:
        lo, hi = self._interval(w, b)
        if self.prune and lo >= 0:
            return self, None
        if self.prune and hi <= 0:
            return None, self
        on_a, on_c = np.vstack([self.a, -w]), np.append(self.c, b)  # w.x + b >= 0
        off_a, off_c = np.vstack([self.a, w]), np.append(self.c, -b)  # w.x + b <= 0
        inside = float(w @ self.inner + b) if self.prune else 0.0
        if inside > 0:  # the interior point is strictly on one side: only the other needs an LP
            other = self._chebyshev(off_a, off_c)
            on = self._child(on_a, on_c, self.inner)
            return on, (self._child(off_a, off_c, other) if other is not None else None)
        if inside < 0:
            other = self._chebyshev(on_a, on_c)
            off = self._child(off_a, off_c, self.inner)
            return (self._child(on_a, on_c, other) if other is not None else None), off
        on_point, off_point = self._chebyshev(on_a, on_c), self._chebyshev(off_a, off_c)
        return (
            self._child(on_a, on_c, on_point) if on_point is not None else None,
            self._child(off_a, off_c, off_point) if off_point is not None else None,
        )

    def _child(self, a: np.ndarray, c: np.ndarray, inner: np.ndarray) -> Polytope:
        return Polytope(a, c, self.lows, self.highs, inner, self.counter, self.prune)

    def extremes(self, w: np.ndarray, b: float) -> tuple[float, float, np.ndarray, np.ndarray]:
        from scipy.optimize import linprog

        bounds = list(zip(self.lows.tolist(), self.highs.tolist(), strict=True))
        found = []
        for sign in (1.0, -1.0):
            self.counter[0] += 1
            result = linprog(sign * w, A_ub=self.a, b_ub=self.c, bounds=bounds, method="highs")
            x = np.asarray(result.x) if result.status == 0 else self.inner
            found.append((float(w @ x + b), x))
        (lo, x_lo), (hi, x_hi) = found
        return lo, hi, x_lo, x_hi


Region = Polygon | Polytope


METHODS = ("auto", "polygon", "lp", "lp-plain")


def root(lows: np.ndarray, highs: np.ndarray, method: str = "auto") -> Region:
    """The whole box as a region: a polygon in 2-D ("auto", "polygon"), else a polytope split
    with interval pruning and one LP ("lp"), or two LPs per split and no pruning ("lp-plain",
    the method before polygons, kept for the benchmark)."""
    lows, highs = np.asarray(lows, dtype=np.float64), np.asarray(highs, dtype=np.float64)
    if method not in METHODS:
        raise ValueError(f"region method {method!r} is not one of {', '.join(METHODS)}")
    if len(lows) == 2 and method in ("auto", "polygon"):
        return Polygon.box(lows, highs)
    if method == "polygon":
        raise ValueError(f"polygon regions need 2 inputs, not {len(lows)}")
    return Polytope.box(lows, highs, prune=method != "lp-plain")


def lps_solved(region: Any) -> int:
    return region.counter[0] if isinstance(region, Polytope) else 0


# ---------------------------------------------------------------------- the one recursion
@dataclass
class Walk:
    """Split a region neuron by neuron, layer by layer, through `layers` (AffineLayer).

    `split(region, w, b)` returns the (on, off) parts (None when empty); `leaf(region, out,
    out0)` is called on each activation region with the last layer's affine map, and
    `join(w, b, on_result, off_result)` combines the two sides of a split that cut.
    """

    layers: tuple[Any, ...]
    split: Callable[[Any, np.ndarray, float], tuple[Any, Any]]
    leaf: Callable[[Any, np.ndarray, np.ndarray], Any]
    join: Callable[[np.ndarray, float, Any, Any], Any]
    deadline: float = float("inf")
    max_regions: int = 200_000
    regions: int = 0

    def run(self, region: Any, n_inputs: int) -> Any:
        return self._layer(region, 0, np.eye(n_inputs), np.zeros(n_inputs))

    def _layer(self, region: Any, index: int, m: np.ndarray, m0: np.ndarray) -> Any:
        """Region reached; the current layer's input is m x + m0 on it."""
        layer = self.layers[index]
        pre, pre0 = layer.weight @ m, layer.weight @ m0 + layer.bias  # (out, n), (out,)
        if not layer.relu:
            self.regions += 1
            if self.regions > self.max_regions:
                raise RegionTimeout(f"more than {self.max_regions:,} activation regions")
            return self.leaf(region, pre, pre0)
        return self._neuron(region, index, pre, pre0, 0, np.zeros(len(pre0), dtype=bool))

    def _neuron(
        self, region: Any, index: int, pre: np.ndarray, pre0: np.ndarray, j: int, active: np.ndarray
    ) -> Any:
        if time.perf_counter() > self.deadline:
            raise RegionTimeout("out of time")
        while j < len(pre0):
            on, off = self.split(region, pre[j], float(pre0[j]))
            if on is None and off is None:  # LP round-off on a sliver: its interior point decides
                point = region.point() if hasattr(region, "point") else None
                side = point is not None and float(pre[j] @ point + pre0[j]) > 0
                on, off = (region, None) if side else (None, region)
            if on is not None and off is not None:
                with_on, with_off = active.copy(), active.copy()
                with_on[j] = True
                return self.join(
                    pre[j].copy(),
                    float(pre0[j]),
                    self._neuron(on, index, pre, pre0, j + 1, with_on),
                    self._neuron(off, index, pre, pre0, j + 1, with_off),
                )
            if on is not None:
                active = active.copy()
                active[j] = True
            region = on if on is not None else off
            j += 1
        mask = active.astype(np.float64)
        return self._layer(region, index + 1, pre * mask[:, None], pre0 * mask)


@dataclass(frozen=True)
class Piece:
    """A convex region and an affine map on it: value = coefficients . x + offset."""

    region: Region
    coefficients: np.ndarray  # (n_inputs,)
    offset: float


def affine_pieces(
    layers: tuple[Any, ...],
    lows: np.ndarray,
    highs: np.ndarray,
    *,
    output: int = 0,
    timeout: float = 60.0,
    method: str = "auto",
) -> tuple[list[Piece], dict[str, Any]]:
    """The network's activation regions on the box with output `output`'s affine map on each,
    and statistics (regions, LPs, seconds)."""
    start = time.perf_counter()
    box = root(lows, highs, method)
    pieces: list[Piece] = []

    def leaf(region: Region, out: np.ndarray, out0: np.ndarray) -> None:
        pieces.append(Piece(region, out[output].copy(), float(out0[output])))

    walk = Walk(
        layers,
        split=lambda region, w, b: region.split(w, b),
        leaf=leaf,
        join=lambda w, b, then, otherwise: None,
        deadline=start + timeout,
    )
    walk.run(box, len(lows))
    stats = {
        "activation_regions": len(pieces),
        "lps_solved": lps_solved(box),
        "method": _method_name(box),
        "seconds": round(time.perf_counter() - start, 3),
    }
    return pieces, stats


def _method_name(box: Region) -> str:
    if isinstance(box, Polygon):
        return "polygon clipping"
    return "LP per split, interval-pruned" if box.prune else "two LPs per split"


# ---------------------------------------------------------------------- programs as pieces
class NotPiecewiseAffine(ValueError):
    """The expression multiplies two inputs, or applies a curved function."""


def _affine_value(
    expr: Expr, names: tuple[str, ...], region: Region, slack: float = 0.0
) -> tuple[np.ndarray, float] | tuple[str, np.ndarray, float]:
    """The expression's affine map on `region`, or ("split", w, b) when a kink of abs, min or
    max crosses the region and it must be split along w.x + b = 0 first. A kink whose two
    sides are within `slack` of equal everywhere on the region takes the side that is ahead."""
    n = len(names)
    kind, attr = expr[0], expr[1]
    if kind == "var":
        coefficients = np.zeros(n)
        coefficients[names.index(attr)] = 1.0
        return coefficients, 0.0
    if kind == "const":
        return np.zeros(n), float(attr)
    parts = []
    for child in children(expr):
        value = _affine_value(child, names, region, slack)
        if len(value) == 3:
            return value
        parts.append(value)
    if kind == "bin" and attr in ("+", "-"):
        (a, a0), (b, b0) = parts
        sign = 1.0 if attr == "+" else -1.0
        return a + sign * b, a0 + sign * b0
    if kind == "bin" and attr in ("*", "/"):
        (a, a0), (b, b0) = parts
        if attr == "/" and not np.any(b):
            return a / b0, a0 / b0
        if attr == "*" and not np.any(a):
            return a0 * b, a0 * b0
        if attr == "*" and not np.any(b):
            return b0 * a, b0 * a0
        raise NotPiecewiseAffine(f"{attr} of two input-dependent terms")
    if kind == "call" and attr in ("abs", "max", "min"):
        if attr == "abs":
            (a, a0), (b, b0) = parts[0], (-parts[0][0], -parts[0][1])
            choose_first = True  # |a| = max(a, -a)
        else:
            (a, a0), (b, b0) = parts
            choose_first = attr == "max"
        lo, hi, _, _ = region.extremes(a - b, a0 - b0)
        if lo >= -slack:  # a >= b everywhere on the region
            return (a, a0) if choose_first else (b, b0)
        if hi <= slack:
            return (b, b0) if choose_first else (a, a0)
        return ("split", a - b, a0 - b0)
    raise NotPiecewiseAffine(f"{kind} {attr!r} is not piecewise affine")


def expression_pieces(expr: Expr, names: tuple[str, ...], region: Region) -> list[Piece]:
    """`region` split until the expression is one affine map on each part."""
    out: list[Piece] = []
    stack: list[tuple[Region, float]] = [(region, 0.0)]
    while stack:
        current, slack = stack.pop()
        value = _affine_value(expr, names, current, slack)
        if len(value) == 3:
            _, w, b = value
            on, off = current.split(w, b)
            if on is not None and off is not None:
                stack += [(on, slack), (off, slack)]
                continue
            # The kink only grazes the region (a sliver below the area threshold): its two
            # sides are equal to within the sliver's width times the slope there.
            lo, hi, _, _ = current.extremes(w, b)
            grazing = -lo if on is not None else hi
            if grazing <= slack:
                raise NotPiecewiseAffine("a kink could not be resolved on a region")
            stack.append((current, grazing))
            continue
        coefficients, offset = value
        out.append(Piece(current, coefficients, offset))
    return out


@dataclass(frozen=True)
class Bound:
    """max |network - program| over the box, exact, and where it is reached."""

    max_abs_error: float
    where: tuple[float, ...]
    network_regions: int
    pieces: int
    pieces_within_tolerance: int
    lps_solved: int
    seconds: float
    method: str


def max_abs_difference(
    layers: tuple[Any, ...],
    expr: Expr,
    names: tuple[str, ...],
    lows: np.ndarray,
    highs: np.ndarray,
    *,
    timeout: float = 60.0,
    method: str = "auto",
    tolerance: float = 0.0,
) -> Bound:
    """The exact max over the box of |network - expr| for a ReLU network and a piecewise-affine
    expression: per activation region, the expression's own pieces, and on each the extremes
    of one affine function."""
    start = time.perf_counter()
    pieces, stats = affine_pieces(layers, lows, highs, timeout=timeout, method=method)
    worst, where, count, within = 0.0, np.asarray(pieces[0].region.point()), 0, 0
    for piece in pieces:
        for part in expression_pieces(expr, names, piece.region):
            count += 1
            w = piece.coefficients - part.coefficients
            lo, hi, x_lo, x_hi = part.region.extremes(w, piece.offset - part.offset)
            within += int(max(abs(lo), abs(hi)) <= tolerance)
            for value, x in ((abs(lo), x_lo), (abs(hi), x_hi)):
                if value > worst:
                    worst, where = value, x
        if time.perf_counter() - start > timeout:
            raise RegionTimeout("out of time")
    box = pieces[0].region
    return Bound(
        max_abs_error=worst,
        where=tuple(float(v) for v in where),
        network_regions=len(pieces),
        pieces=count,
        pieces_within_tolerance=within,
        lps_solved=lps_solved(box),
        seconds=round(time.perf_counter() - start, 3),
        method=str(stats["method"]),
    )
