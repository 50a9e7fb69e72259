"""Program spaces for the learned decompiler: random programs from net2code's own DSLs, one per
semantics, split into train / validation / held-out by semantics.

Two spaces:

* `boolean(k)`: formulas over bits x1..xk (k <= 6) with and, or, xor (`^`) and not;
* `modular(p)`: integer expressions over a, b with + - * and small constants, taken mod p.

A program's semantics is its truth table (or value table) on the whole domain. Programs with
equal semantics are one program: the sampler keeps the smallest it drew. The split is a
function of the semantics alone (a hash), so no semantics can sit in two splits.

Programs are expression trees (`net2code.program`) and read and write as prefix tokens, the
decoder's output language: `["xor", "x1", "and", "x2", "x3"]`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...program import Expr, and_, binary, const, evaluate, not_, or_, size, var

SPLITS = ("train", "validation", "held-out")
SHARES = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class Space:
    """A program space: its operators, leaves and domain."""

    kind: str  # "boolean" or "modular"
    k: int = 4  # boolean: number of input bits
    p: int = 23  # modular: the modulus
    constants: tuple[int, ...] = (1, 2, 3)  # modular: constants a program may use

    def __post_init__(self) -> None:
        if self.kind not in ("boolean", "modular"):
            raise ConfigError(f"program space {self.kind!r} is not boolean or modular")
        if self.kind == "boolean" and not 1 <= self.k <= 6:
            raise ConfigError(f"boolean space k={self.k} must be 1..6 bits")
        if self.kind == "modular" and not 2 <= self.p <= 97:
            raise ConfigError(f"modular space p={self.p} must be 2..97")

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> Space:
        """The space `dataclasses.asdict` wrote (JSON turns its tuple into a list)."""
        return cls(
            kind=str(fields["kind"]),
            k=int(fields.get("k", 4)),
            p=int(fields.get("p", 23)),
            constants=tuple(int(c) for c in fields.get("constants", (1, 2, 3))),
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"x{i + 1}" for i in range(self.k)) if self.kind == "boolean" else ("a", "b")

    @property
    def spec(self) -> str:
        if self.kind == "boolean":
            return f"boolean(k={self.k})"
        return f"modular(p={self.p})"

    @property
    def domain(self) -> str:
        """The net2code domain spec the networks of this space are extracted on."""
        if self.kind == "boolean":
            return " ".join(f"{name}:bit" for name in self.names)
        return f"a:0..{self.p - 1} b:0..{self.p - 1}"

    @cached_property
    def points(self) -> np.ndarray:
        """Every input.  # (n_points, n_inputs) int64"""
        if self.kind == "boolean":
            return np.array(list(itertools.product((0, 1), repeat=self.k)), dtype=np.int64)
        grid = np.arange(self.p)
        return np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)

    @property
    def unary(self) -> tuple[str, ...]:
        return ("not",) if self.kind == "boolean" else ()

    @property
    def binary(self) -> tuple[str, ...]:
        return ("and", "or", "xor") if self.kind == "boolean" else ("+", "-", "*")

    @property
    def leaves(self) -> tuple[str, ...]:
        if self.kind == "boolean":
            return self.names
        return self.names + tuple(str(c) for c in self.constants)

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """Every token a prefix program of this space can use."""
        return self.unary + self.binary + self.leaves

    def table(self, expr: Expr) -> np.ndarray:
        """The program's outputs on every point: 0/1, or the value mod p.  # (n_points,)"""
        env = {name: self.points[:, i] for i, name in enumerate(self.names)}
        values = np.broadcast_to(np.asarray(evaluate(expr, env)), (len(self.points),))
        if self.kind == "boolean":
            return (values != 0).astype(np.int64)
        return np.mod(values, self.p).astype(np.int64)

    def key(self, table: np.ndarray) -> str:
        """The semantics as a short hash of the table."""
        return hashlib.sha256(table.astype(np.int64).tobytes()).hexdigest()[:16]


def boolean(k: int = 4) -> Space:
    return Space("boolean", k=k)


def modular(p: int = 23) -> Space:
    return Space("modular", p=p)


# ---------------------------------------------------------------------- prefix tokens
def to_prefix(expr: Expr) -> list[str]:
    """Prefix tokens: operators before their operands."""
    kind, attr = expr[0], expr[1]
    if kind == "var":
        return [attr]
    if kind == "const":
        return [str(attr)]
    if kind == "not":
        return ["not", *to_prefix(expr[2])]
    if kind in ("and", "or"):
        operands = expr[2:]
        out: list[str] = []
        for operand in operands[:-1]:
            out += [kind, *to_prefix(operand)]
        return out + to_prefix(operands[-1])
    if kind == "bin":
        op = "xor" if attr == "^" else attr
        return [op, *to_prefix(expr[2]), *to_prefix(expr[3])]
    raise ValueError(f"node {kind!r} has no prefix form in a program space")


def from_prefix(tokens: list[str] | tuple[str, ...], space: Space) -> Expr:
    """The expression the tokens spell; ConfigError when they do not spell exactly one."""
    position = 0

    def read() -> Expr:
        nonlocal position
        if position >= len(tokens):
            raise ConfigError(f"prefix program {' '.join(tokens)!r} ends too early")
        token = tokens[position]
        position += 1
        if token in space.unary:
            return not_(read())
        if token in space.binary:
            left, right = read(), read()
            if token == "and":
                return and_(left, right)
            if token == "or":
                return or_(left, right)
            return binary("^" if token == "xor" else token, left, right)
        if token in space.names:
            return var(token)
        if token in space.leaves:
            return const(int(token))
        raise ConfigError(f"token {token!r} is not in the {space.spec} vocabulary")

    expr = read()
    if position != len(tokens):
        raise ConfigError(f"prefix program {' '.join(tokens)!r} has tokens left over")
    return expr


# ---------------------------------------------------------------------- sampling
@dataclass(frozen=True)
class SampledProgram:
    """One program of a space: its smallest expression found, its semantics and its split."""

    prefix: tuple[str, ...]
    size: int
    key: str
    split: str


def split_of(key: str) -> str:
    """train / validation / held-out, from the semantics hash alone."""
    share = int(key, 16) / 16 ** len(key)
    edge = 0.0
    for name, part in zip(SPLITS, SHARES, strict=True):
        edge += part
        if share < edge:
            return name
    return SPLITS[-1]


def random_expr(space: Space, target: int, rng: np.random.Generator) -> Expr:
    """A random tree of about `target` nodes (exactly, when the operators allow it)."""
    if target <= 1 or (target == 2 and not space.unary):
        return _leaf(space, rng)
    if space.unary and (target == 2 or rng.random() < 0.2):
        return not_(random_expr(space, target - 1, rng))
    op = space.binary[int(rng.integers(len(space.binary)))]
    left = int(rng.integers(1, target - 1))
    right = target - 1 - left
    a, b = random_expr(space, left, rng), random_expr(space, right, rng)
    if op == "and":
        return and_(a, b)
    if op == "or":
        return or_(a, b)
    return binary("^" if op == "xor" else op, a, b)


def ordered(expr: Expr) -> Expr:
    """The operands of commutative operators (and, or, xor, +, *) in token order, so that a
    program has one spelling wherever a swap is all that tells two spellings apart."""
    kind = expr[0]
    if kind in ("var", "const"):
        return expr
    kids = [ordered(child) for child in expr[2:]]
    if kind in ("and", "or") or (kind == "bin" and expr[1] in ("^", "+", "*")):
        kids.sort(key=lambda child: to_prefix(child))
    return (kind, expr[1], *kids)


def rename(expr: Expr, names: dict[str, str]) -> Expr:
    """The expression with each input renamed by `names`."""
    if expr[0] == "var":
        return var(names[expr[1]])
    if expr[0] == "const":
        return expr
    return (expr[0], expr[1], *(rename(child, names) for child in expr[2:]))


def renamed(tokens: Sequence[str], sigma: Sequence[int], space: Space) -> list[str]:
    """The program of the network whose first-layer rows are the original's permuted so that
    input sigma[i] plays input i: each x(i+1) becomes x(sigma[i]+1), then commutative
    operands are put back in token order."""
    names = {f"x{i + 1}": f"x{sigma[i] + 1}" for i in range(len(sigma))}
    return to_prefix(ordered(rename(from_prefix(list(tokens), space), names)))


def input_permutations(space: Space, limit: int = 24, seed: int = 0) -> list[tuple[int, ...]]:
    """Renamings of the inputs to train on: all k! of them when there are at most `limit`, else
    the identity and `limit - 1` drawn at random. Only a boolean space's inputs are
    interchangeable this way (a modular space's a and b feed different one-hot blocks)."""
    if space.kind != "boolean":
        return [tuple(range(len(space.names)))]
    every = list(itertools.permutations(range(space.k)))
    if len(every) <= limit:
        return every
    rng = np.random.default_rng(seed)
    return [every[0], *(every[i] for i in rng.choice(len(every) - 1, limit - 1, replace=False) + 1)]


def shrink(expr: Expr, space: Space) -> Expr:
    """A smaller program with the same table, by semantic pruning: replace a node by one of
    its operands or theirs (`not not x` is x), or by a leaf, wherever the whole program's
    table stays the same; repeat until no replacement is left. The result is locally minimal,
    not always the smallest."""
    semantics = _fast_table(space)
    table = semantics(expr)
    leaves = [_leaf_expr(space, token) for token in space.leaves]

    def paths(e: Expr, at: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...], Expr]]:
        out = [(at, e)]
        for i, child in enumerate(e[2:] if e[0] not in ("var", "const") else ()):
            out += paths(child, (*at, i))
        return out

    def put(e: Expr, at: tuple[int, ...], new: Expr) -> Expr:
        if not at:
            return new
        kids = list(e[2:])
        kids[at[0]] = put(kids[at[0]], at[1:], new)
        return (e[0], e[1], *kids)

    changed = True
    while changed:
        changed = False
        for at, node in paths(expr):  # top-down: the biggest cuts first
            kids = [] if node[0] in ("var", "const") else list(node[2:])
            grandkids = [g for kid in kids if kid[0] not in ("var", "const") for g in kid[2:]]
            for new in [*kids, *grandkids, *leaves]:
                if size(new) >= size(node):
                    continue
                candidate = put(expr, at, new)
                if semantics(candidate) == table:
                    expr, changed = candidate, True
                    break
            if changed:
                break
    return ordered(expr)


def _fast_table(space: Space) -> Any:
    """A function from an expression to something equal exactly when the tables are: for a
    boolean space the truth table as one integer's bits (and, or, xor, not on Python ints, far
    faster than evaluating arrays), else the table's bytes."""
    if space.kind != "boolean":
        return lambda expr: space.table(expr).tobytes()
    points = space.points
    full = (1 << len(points)) - 1
    columns = {
        name: sum(int(bit) << i for i, bit in enumerate(points[:, j]))
        for j, name in enumerate(space.names)
    }

    def bits(expr: Expr) -> int:
        kind = expr[0]
        if kind == "var":
            return columns[expr[1]]
        if kind == "const":
            return full if expr[1] else 0
        if kind == "not":
            return full ^ bits(expr[2])
        values = [bits(child) for child in expr[2:]]
        out = values[0]
        for value in values[1:]:
            if kind == "and":
                out &= value
            elif kind == "or":
                out |= value
            elif expr[1] == "^":
                out ^= value
            else:
                raise ValueError(f"operator {expr[1]!r} is not in the boolean space")
        return out

    return bits


def _leaf_expr(space: Space, token: str) -> Expr:
    return var(token) if token in space.names else const(int(token))


def _leaf(space: Space, rng: np.random.Generator) -> Expr:
    token = space.leaves[int(rng.integers(len(space.leaves)))]
    return var(token) if token in space.names else const(int(token))


def sample_programs(
    space: Space,
    n: int,
    *,
    sizes: tuple[int, int] = (1, 15),
    seed: int = 0,
    max_draws: int | None = None,
    draw_sizes: tuple[int, int] | None = None,
    shrunk: bool = True,
) -> list[SampledProgram]:
    """Up to `n` programs with distinct semantics and `sizes` nodes (inclusive). Each draw is
    a random tree of a size uniform in `draw_sizes` (default: `sizes`), `shrink`-ed (unless
    `shrunk` is False) and kept when its size is in `sizes`; each semantics keeps the smallest
    expression drawn for it (ties: the first in token order), with commutative operands
    `ordered`. Constant programs are left out (no network needs decompiling to say "always
    1"). Shrinking makes the programs locally minimal, so that a semantics has few spellings
    and the decoder a consistent target."""
    low, high = sizes
    if not 1 <= low <= high:
        raise ConfigError(f"program sizes {low}..{high} must satisfy 1 <= low <= high")
    draw_low, draw_high = draw_sizes or sizes
    if not 1 <= draw_low <= draw_high:
        raise ConfigError(f"draw sizes {draw_low}..{draw_high} must satisfy 1 <= low <= high")
    rng = np.random.default_rng(seed)
    best: dict[str, tuple[int, Expr]] = {}
    draws = max_draws if max_draws is not None else 50 * n
    for _ in range(draws):
        if len(best) >= n:
            break
        expr = ordered(random_expr(space, int(rng.integers(draw_low, draw_high + 1)), rng))
        table = space.table(expr)
        if np.all(table == table[0]):
            continue
        if shrunk:
            expr = shrink(expr, space)
        if not low <= size(expr) <= high:
            continue
        key = space.key(table)
        if key not in best or (size(expr), to_prefix(expr)) < (
            best[key][0],
            to_prefix(best[key][1]),
        ):
            best[key] = (size(expr), expr)
    return [
        SampledProgram(tuple(to_prefix(expr)), s, key, split_of(key))
        for key, (s, expr) in sorted(best.items(), key=lambda item: (item[1][0], item[0]))
    ]
