"""Repair: a proposal that is wrong in one sub-expression becomes a program that verifies, by
replacing that sub-expression with one drawn from an enumeration of small formulas.

This is how the meta-model's proposals seed the enumerative search: the proposal keeps all of
its context, and only the missing piece is enumerated. For every node of a proposal, the
values the node must take for the whole formula to equal the network's truth table follow
from the values of its siblings (semantic back-propagation, Krawiec & Pawlak 2013):

    not u       = T on care C  ->  u = not T on C
    u and v     = T on C       ->  u = T where T = 1 or v = 1 (impossible where T = 1, v = 0)
    u or v      = T on C       ->  u = T where T = 0 or v = 0 (impossible where T = 0, v = 1)
    u xor v     = T on C       ->  u = T xor v on C

so a node gets a target T and a care mask C (elsewhere its value does not matter). The
library holds the smallest formula of every truth table up to `max_size` nodes (bottom-up
enumeration with one formula per table, as the DSL search does); the smallest one with
(f xor T) and C = 0 replaces the node. Tables are the bits of one integer (point i at bit i,
`programs._fast_table`), at most 64 of them, so a library lookup is one vectorised pass over
uint64 words.

A repaired program equals the target on every point by construction; the caller checks it
against the network again all the same.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...errors import ConfigError
from ...program import Expr, and_, binary, not_, or_, size, var
from .programs import Space, _fast_table, ordered, replace_at

# The largest replacement, in nodes. On 119 held-out 6-bit networks of 21-25 nodes (the
# bench's programs, widths 24 and 48, seed 7), proposals with repair verified 117 with 7 nodes
# (5 ms per network on average, counting those that needed none) and 118 with 9 (19 ms).
REPAIR_SIZE = 7


def wanted(op: str, want: int, care: int, sibling: int | None, full: int) -> tuple[int, int]:
    """(target, care) for an operand of `op` when the node must equal `want` on `care`,
    given the table of its sibling (for and / or / xor; the others' combined table), or None
    while the sibling is not yet known (a left operand, in prefix order): then an and's
    operand must be 1 where the node must be 1, an or's 0 where it must be 0, and an xor's
    is free. The rules above; where the sibling makes the node impossible (and: a 0 where
    a 1 is wanted) the operand's requirement cannot help, and callers check that."""
    if op == "not":
        return full ^ want, care
    if op == "and":
        return want, care & want if sibling is None else care & (want | sibling)
    if op == "or":
        return want, care & ~want & full if sibling is None else care & (~want | ~sibling) & full
    if sibling is None:  # xor
        return 0, 0
    return want ^ sibling, care


@dataclass(frozen=True)
class Library:
    """The smallest formula of each truth table reachable within `max_size` nodes, smallest
    first: tables (n,) uint64 and a recipe per entry to rebuild its formula."""

    k: int
    max_size: int
    tables: np.ndarray  # (n,) uint64
    sizes: np.ndarray  # (n,) int64, non-decreasing
    ops: np.ndarray  # (n,) int8: 0 var, 1 not, 2 and, 3 or, 4 xor
    left: np.ndarray  # (n,) int64: var index, or the operand's entry
    right: np.ndarray  # (n,) int64: the second operand's entry (binary ops)

    def expr(self, i: int) -> Expr:
        op, a, b = int(self.ops[i]), int(self.left[i]), int(self.right[i])
        if op == 0:
            return var(f"x{a + 1}")
        if op == 1:
            return not_(self.expr(a))
        if op == 2:
            return and_(self.expr(a), self.expr(b))
        if op == 3:
            return or_(self.expr(a), self.expr(b))
        return binary("^", self.expr(a), self.expr(b))

    def smallest(self, target: int, care: int) -> int | None:
        """The first (smallest) entry equal to `target` wherever `care` has a 1."""
        hits = ((self.tables ^ np.uint64(target)) & np.uint64(care)) == 0
        first = int(hits.argmax())
        return first if hits[first] else None


@lru_cache(maxsize=8)
def library(k: int, max_size: int = REPAIR_SIZE, limit: int = 400_000) -> Library:
    """Every distinct truth table on k bits reachable with and, or, xor, not in at most
    `max_size` nodes (stopping early once `limit` tables are kept), each with its smallest
    formula. k=6: 6,707 tables within 7 nodes (0.01 s), 81,970 within 9 (0.07 s)."""
    if not 1 <= k <= 6:
        raise ConfigError(f"repair library k={k} must be 1..6 bits")
    full = np.uint64((1 << (1 << k)) - 1)
    bits = _fast_table(Space("boolean", k=k))
    columns = [bits(var(f"x{v + 1}")) for v in range(k)]
    seen: set[int] = {0, int(full)}  # constants are not formulas of the space
    by_size: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # size -> (tables, entry ids)
    tables: list[np.ndarray] = []
    recipe: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    sizes: list[np.ndarray] = []
    count = 0

    def add(values: np.ndarray, op: int, a: np.ndarray, b: np.ndarray, s: int) -> None:
        nonlocal count
        values, first = np.unique(values, return_index=True)
        fresh = np.array([int(v) not in seen for v in values.tolist()], dtype=bool)
        values, first = values[fresh], first[fresh]
        if not len(values) or count >= limit:
            return
        values, first = values[: limit - count], first[: limit - count]
        seen.update(values.tolist())
        ids = np.arange(count, count + len(values))
        count += len(values)
        tables.append(values)
        recipe.append((np.full(len(values), op, np.int8), a[first], b[first]))
        sizes.append(np.full(len(values), s, np.int64))
        old = by_size.get(s)
        by_size[s] = (
            (values, ids) if old is None else (np.concatenate([old[0], values]), np.r_[old[1], ids])
        )

    base = np.array(columns, dtype=np.uint64)
    add(base, 0, np.arange(k), np.zeros(k, np.int64), 1)
    for s in range(2, max_size + 1):
        if (child := by_size.get(s - 1)) is not None:
            add(child[0] ^ full, 1, child[1], np.zeros(len(child[1]), np.int64), s)
        for left_size in range(1, (s - 1) // 2 + 1):
            left, right = by_size.get(left_size), by_size.get(s - 1 - left_size)
            if left is None or right is None:
                continue
            a = np.repeat(left[1], len(right[1]))
            b = np.tile(right[1], len(left[1]))
            lt = np.repeat(left[0], len(right[0]))
            rt = np.tile(right[0], len(left[0]))
            for op, values in ((2, lt & rt), (3, lt | rt), (4, lt ^ rt)):
                add(values, op, a, b, s)
    ops, a, b = (np.concatenate(parts) for parts in zip(*recipe, strict=True))
    return Library(k, max_size, np.concatenate(tables), np.concatenate(sizes), ops, a, b)


@dataclass(frozen=True)
class Repair:
    """A repaired proposal: the program, which proposal it came from (1-based, in the order
    given), the replaced node's size and its replacement's."""

    expr: Expr
    rank: int
    removed: int
    inserted: int


def repairs_of(expr: Expr, target: int, space: Space, lib: Library) -> list[tuple[Expr, int, int]]:
    """Every one-node repair of `expr` that makes its table `target`: (program, removed
    size, inserted size), one per repairable node, top-down."""
    bits = _fast_table(space)
    full = (1 << len(space.points)) - 1
    out: list[tuple[Expr, int, int]] = []
    stack: list[tuple[Expr, tuple[int, ...], int, int]] = [(expr, (), target, full)]
    while stack:
        node, at, want, care = stack.pop()
        found = lib.smallest(want, care)
        if found is not None:
            new = lib.expr(found)
            out.append((replace_at(expr, at, new), size(node), int(lib.sizes[found])))
        kind = node[0]
        if kind in ("var", "const"):
            continue
        kids = node[2:]
        if kind == "not":
            stack.append((kids[0], (*at, 0), *wanted("not", want, care, None, full)))
            continue
        op = "xor" if kind == "bin" else kind
        values = [bits(kid) for kid in kids]
        for i, kid in enumerate(kids):
            others = [v for j, v in enumerate(values) if j != i]
            rest = full if op == "and" else 0
            for v in others:
                rest = rest & v if op == "and" else rest | v if op == "or" else rest ^ v
            if op == "and" and care & want & ~rest:
                continue  # the siblings force a 0 where a 1 is wanted
            if op == "or" and care & ~want & rest & full:
                continue  # the siblings force a 1 where a 0 is wanted
            stack.append((kid, (*at, i), *wanted(op, want, care, rest, full)))
    return out


def repair(
    proposals: Sequence[Expr],
    target: int,
    space: Space,
    *,
    max_size: int = REPAIR_SIZE,
    timeout: float = 10.0,
) -> Repair | None:
    """The smallest one-node repair of any proposal (ties: the earliest proposal), or None.
    `target` is the network's truth table as one integer (point i at bit i)."""
    if space.kind != "boolean":
        raise ConfigError(f"repair works on boolean spaces, not {space.spec}")
    lib = library(space.k, max_size)
    start = time.perf_counter()
    best: Repair | None = None
    for rank, expr in enumerate(proposals, 1):
        if time.perf_counter() - start > timeout:
            break
        for new, removed, inserted in repairs_of(expr, target, space, lib):
            if best is None or size(new) < size(best.expr):
                best = Repair(ordered(new), rank, removed, inserted)
    return best


__all__ = ["REPAIR_SIZE", "Library", "Repair", "library", "repair", "repairs_of", "wanted"]
