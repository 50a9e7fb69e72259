"""Bilinear networks c = W((U a) * (V b)): a matrix-multiplication scheme in network form.

`BilinearNetwork` holds the three factors (float) and the shape (n, m, p) it claims: a is
vec(A) for A (n x m), b is vec(B) for B (m x p), c is vec(C) for C (n x p), row-major. It comes
from a net2code run folder (`net2code train matmul`), or from a safetensors file with three
matrices named U, V, W (or u, v, w; any orientation that fits the shape).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError, ConfigError
from .network import Network

SPEC = re.compile(r"^\s*matmul\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)\s*$")


@dataclass(frozen=True)
class MatmulDomain:
    """Every pair of matrices A (n x m), B (m x p): what a scheme is proved on."""

    shape: tuple[int, int, int]

    @classmethod
    def parse(cls, spec: str) -> MatmulDomain:
        from .zoo.matmul.scheme import parse_shape

        match = SPEC.match(spec)
        if not match:
            raise ConfigError(
                f"domain {spec!r} is not of the form matmul(n,m,p), e.g. matmul(2,2,2)"
            )
        return cls(parse_shape(tuple(int(g) for g in match.groups())))

    def spec(self) -> str:
        n, m, p = self.shape
        return f"matmul({n},{m},{p})"

    def to_dict(self) -> dict[str, Any]:
        n, m, p = self.shape
        return {"spec": self.spec(), "kind": "bilinear", "size": n * m * m * p * n * p}

    @property
    def equations(self) -> int:
        """Brent equations, one per (i, j, k)."""
        n, m, p = self.shape
        return n * m * m * p * n * p


@dataclass(repr=False, kw_only=True)
class BilinearNetwork(Network):
    u: np.ndarray  # (R, n*m) float64
    v: np.ndarray  # (R, m*p)
    w: np.ndarray  # (n*p, R)
    shape: tuple[int, int, int]

    @property
    def rank(self) -> int:
        return int(self.u.shape[0])

    def signature(self) -> dict[str, Any]:
        n, m, p = self.shape
        return {"kind": "bilinear", "shape": [n, m, p], "rank": self.rank}

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """C for batches of A (batch, n, m) and B (batch, m, p).  # (batch, n, p) float64"""
        n, m, p = self.shape
        batch = a.shape[0]
        forms = (a.reshape(batch, n * m) @ self.u.T) * (b.reshape(batch, m * p) @ self.v.T)
        return (forms @ self.w.T).reshape(batch, n, p)

    def term_scale(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per pair, the largest sum over products of |W| |U a| |V b|: the size of what the
        network adds up, against which its float error is measured.  # (batch,)"""
        batch = a.shape[0]
        n, m, p = self.shape
        forms = np.abs(a.reshape(batch, n * m) @ self.u.T) * np.abs(
            b.reshape(batch, m * p) @ self.v.T
        )
        return np.asarray((forms @ np.abs(self.w).T).max(axis=1))


def shape_from_factors(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[int, int, int]:
    """(n, m, p) from the factors' widths n*m, m*p, n*p; one line when none fits."""
    nm, mp, np_ = u.shape[1], v.shape[1], w.shape[0]
    m2 = nm * mp / np_
    m = round(math.sqrt(m2)) if m2 > 0 else 0
    if m < 1 or m * m * np_ != nm * mp or nm % m or mp % m:
        raise CheckpointError(
            f"factors of widths {nm} (U), {mp} (V) and {np_} (W) fit no n x m by m x p product"
        )
    return nm // m, m, mp // m


def from_factors(
    u: Any, v: Any, w: Any, shape: tuple[int, int, int] | None = None, **network: Any
) -> BilinearNetwork:
    """A BilinearNetwork from U (R, n*m), V (R, m*p), W (n*p, R) (transposes accepted when
    the shape says so), checked against `shape` when given."""
    u, v, w = (np.asarray(x, dtype=np.float64) for x in (u, v, w))
    for name, x in (("U", u), ("V", v), ("W", w)):
        if x.ndim != 2:
            raise CheckpointError(f"{name} has shape {x.shape}; a factor is a 2-D matrix")
    if shape is not None:
        n, m, p = shape
        u = _fit(u, n * m, "U", shape, rows=False)
        v = _fit(v, m * p, "V", shape, rows=False)
        w = _fit(w, n * p, "W", shape, rows=True)
    else:
        if w.shape[1] != u.shape[0] and w.shape[0] == u.shape[0]:
            w = w.T
        shape = shape_from_factors(u, v, w)
    ranks = {u.shape[0], v.shape[0], w.shape[1]}
    if len(ranks) != 1:
        raise CheckpointError(
            f"U, V and W disagree on the rank: {u.shape[0]}, {v.shape[0]}, {w.shape[1]} products"
        )
    if not all(np.isfinite(x).all() for x in (u, v, w)):
        raise CheckpointError("the factors hold NaN or infinite values")
    n, m, p = shape
    defaults = {
        "description": f"bilinear network, rank {u.shape[0]}, ({n}x{m})({m}x{p})",
        "n_parameters": int(u.size + v.size + w.size),
    }
    return BilinearNetwork(u=u, v=v, w=w, shape=shape, **{**defaults, **network})


def _fit(
    x: np.ndarray, width: int, name: str, shape: tuple[int, int, int], rows: bool
) -> np.ndarray:
    axis = 0 if rows else 1
    if x.shape[axis] == width:
        return x
    if x.shape[1 - axis] == width:
        return x.T
    n, m, p = shape
    raise CheckpointError(
        f"{name} has shape {x.shape}: not a factor of an ({n}x{m})({m}x{p}) scheme, which needs "
        f"{width} {'rows' if rows else 'columns'}"
    )


def load_safetensors_factors(
    path: Path, shape: tuple[int, int, int] | None = None
) -> BilinearNetwork:
    """Three matrices U, V, W (any case) in a safetensors file."""
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(path))
    except Exception as exc:  # SafetensorError, OSError
        raise CheckpointError(f"{path} is not a readable safetensors file: {exc}") from None
    named = {k.lower(): v for k, v in tensors.items()}
    missing = [k for k in ("u", "v", "w") if k not in named]
    if missing:
        raise CheckpointError(
            f"{path} has tensors {sorted(tensors)[:6]}; a bilinear network needs three named "
            "U, V and W (c = W((U vec A) * (V vec B)))"
        )
    return from_factors(named["u"], named["v"], named["w"], shape, source=str(path))


def is_factor_file(path: Path) -> bool:
    """Whether a standalone .safetensors file holds exactly the factors U, V, W."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), "np") as handle:
            keys = {k.lower() for k in handle.keys()}  # noqa: SIM118
    except Exception:
        return False
    return keys == {"u", "v", "w"}


def identify(
    matrices: dict[str, np.ndarray],
    run: Any,
    widths: tuple[int, int],
    source: str,
    description: str,
    batch: int = 16,
) -> BilinearNetwork:
    """The factors of a graph with two inputs (vec A, vec B), found by behaviour: every way of
    reading three of its 2-D weights as U, V, W (in either orientation) is run against the
    graph on random inputs, and the one that reproduces it is kept. One line otherwise."""
    import itertools

    n_a, n_b = widths
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((batch, n_a)), rng.standard_normal((batch, n_b))
    try:
        target = np.asarray(run(a, b), dtype=np.float64).reshape(batch, -1)
    except Exception as exc:  # the graph's own error, in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise CheckpointError(
            f"{source}: running the graph on (vec A, vec B) failed: {first}"
        ) from None
    n_c = target.shape[1]
    candidates = [m.astype(np.float64) for m in matrices.values() if m.ndim == 2]
    scale = 1 + np.abs(target).max()
    for trio in itertools.permutations(candidates, 3):
        for flips in itertools.product((False, True), repeat=3):
            u, v, w = (x.T if flip else x for x, flip in zip(trio, flips, strict=True))
            if u.shape[1] != n_a or v.shape[1] != n_b or w.shape[0] != n_c:
                continue
            if not (u.shape[0] == v.shape[0] == w.shape[1]):
                continue
            predicted = ((a @ u.T) * (b @ v.T)) @ w.T
            if np.abs(predicted - target).max() <= 1e-4 * scale:
                shape = shape_from_factors(u, v, w)
                return from_factors(u, v, w, shape, source=source, description=description)
    raise CheckpointError(
        f"{source}: a graph with two inputs (widths {n_a}, {n_b}) and output width {n_c}, but no "
        f"three of its {len(candidates)} weight matrices reproduce it as c = W((U a) * (V b)): "
        "not a bilinear network"
    )
