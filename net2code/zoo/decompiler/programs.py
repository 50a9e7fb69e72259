"""Program spaces for the learned decompiler: random programs from net2code's own DSLs, one per
semantics, split into train / validation / held-out by semantics.

Two spaces:

* `boolean(k)`: formulas over bits x1..xk (k <= 6) with and, or, xor (`^`) and not;
* `modular(p)`: integer expressions over a, b with + - * and small constants, taken mod p.

A program's semantics is its truth table (or value table) on the whole domain. Programs with
equal semantics are one program, written in one of three forms:

* `canonical` (boolean spaces): the one spelling `canonical` derives from the truth table
  (an expansion on one input after another, commutative operands sorted), so that a
  function has exactly one program and "exact match" asks the decoder for something the
  weights determine;
* `expansion` (boolean spaces, the default there): the same program unsorted, in the order
  the expansion makes it (each input before what it guards), so that a decoder writing
  prefix tokens left to right never has to foresee a later subtree to choose an earlier
  token;
* `shrunk` (the modular default): the smallest expression drawn, pruned by `shrink`.

The split is a function of the semantics alone, up to renaming the inputs (a hash of the
smallest renamed table), so no semantics can sit in two splits, and neither can two functions
that differ only by the names of their inputs: training under input renamings cannot show the
model a held-out function.

Programs are expression trees (`net2code.program`) and read and write as prefix tokens, the
decoder's output language: `["xor", "x1", "and", "x2", "x3"]`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...program import Expr, and_, binary, const, evaluate, not_, or_, size, var

SPLITS = ("train", "validation", "held-out")
SHARES = (0.8, 0.1, 0.1)
FORMS = ("canonical", "expansion", "shrunk")
TABLE_FORMS = ("canonical", "expansion")  # written from the truth table: boolean spaces only


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
    def default_form(self) -> str:
        """How this space writes a program unless told: the table forms need a truth table;
        of those, a decoder learns `expansion` faster (no operand order to foresee)."""
        return "expansion" if self.kind == "boolean" else "shrunk"

    def form(self, form: str | None) -> str:
        """`form`, or the default; ConfigError for a form this space cannot write."""
        form = form or self.default_form
        if form not in FORMS:
            raise ConfigError(f"program form {form!r} is not one of {', '.join(FORMS)}")
        if form in TABLE_FORMS and self.kind != "boolean":
            raise ConfigError(f"the {form} form is for boolean spaces, not {self.spec}")
        return form

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

    def class_key(self, table: np.ndarray) -> str:
        """The semantics up to a renaming of the inputs (boolean spaces: the smallest of the
        k! renamed tables), as a short hash. Training shows every network under renamings of
        its inputs, so splitting by this key keeps a held-out function's renamings out of
        training too."""
        if self.kind != "boolean":
            return self.key(table)
        renamed_tables = np.asarray(table)[_renaming_indices(self)]  # (k!, n_points)
        packed = np.packbits(renamed_tables.astype(np.uint8), axis=1)
        smallest = min(row.tobytes() for row in packed)
        return hashlib.sha256(smallest).hexdigest()[:16]


@lru_cache(maxsize=8)
def _renaming_indices(space: Space) -> np.ndarray:
    """For each permutation pi of the inputs, the index of the point x[pi] for every point x.
    # (k!, n_points) int64"""
    weights = 1 << np.arange(space.k - 1, -1, -1)
    return np.array(
        [space.points[:, list(pi)] @ weights for pi in itertools.permutations(range(space.k))]
    )


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
    """One program of a space: its expression in `form`, its semantics and its split."""

    prefix: tuple[str, ...]
    size: int
    key: str
    split: str
    form: str = "shrunk"


def split_of(key: str) -> str:
    """train / validation / held-out, from a semantics hash alone (`Space.class_key`)."""
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


def renamed(
    tokens: Sequence[str], sigma: Sequence[int], space: Space, form: str = "shrunk"
) -> list[str]:
    """The program of the network whose first-layer rows are the original's permuted so that
    input sigma[i] plays input i: each x(i+1) becomes x(sigma[i]+1), then commutative
    operands are put back in token order. In the canonical and expansion forms the renamed
    function is written in its form again (both depend on the order of the inputs)."""
    names = {f"x{i + 1}": f"x{sigma[i] + 1}" for i in range(len(sigma))}
    expr = ordered(rename(from_prefix(list(tokens), space), names))
    if space.form(form) in TABLE_FORMS:
        expr = canonical(_fast_table(space)(expr), space, form)
    return to_prefix(expr)


def canonical(table: int | np.ndarray, space: Space, form: str = "canonical") -> Expr:
    """The one program of a boolean space for a truth table (an array over `space.points`,
    or those bits as one integer, point i at bit i): a Shannon / Davio expansion on the
    first input the function depends on, then the next, ... Writing f0 and f1 for the
    function with that input v at 0 and at 1:

        f0 = 0, f1 = 1: v          f0 = 1, f1 = 0: not v
        f0 = 0: v and f1           f1 = 0: not v and f0
        f1 = 1: v or f0            f0 = 1: not v or f1
        f1 = not f0: v xor f0      otherwise: (v and (f0 xor f1)) xor f0

    In the `canonical` form commutative operands are then `ordered`; in the `expansion` form
    they stay as written above, so that every input comes before what it guards. Every 4-bit
    function but the constants has such a program of at most 29 nodes. ConfigError for a
    constant table, a non-boolean space or a form not written from the table."""
    if space.kind != "boolean":
        raise ConfigError(f"the {form} form is for boolean spaces, not {space.spec}")
    if form not in TABLE_FORMS:
        raise ConfigError(f"form {form!r} is not written from a truth table ({TABLE_FORMS})")
    if not isinstance(table, int):
        table = table_bits(table)
    full = (1 << len(space.points)) - 1
    if table in (0, full):
        raise ConfigError("a constant function has no program in a boolean space")
    expr = _expansion(table, space.k)
    return ordered(expr) if form == "canonical" else expr


@lru_cache(maxsize=1 << 18)
def _expansion(table: int, k: int) -> Expr:
    full = (1 << (1 << k)) - 1
    # column v: the points (indices i of itertools.product order) where input v is 1
    columns = [sum(1 << i for i in range(1 << k) if (i >> (k - 1 - v)) & 1) for v in range(k)]

    def cofactors(f: int, v: int) -> tuple[int, int]:
        shift, high = 1 << (k - 1 - v), columns[v]
        one, zero = f & high, f & ~high & full
        return zero | (zero << shift), one | (one >> shift)  # each spread over both halves

    def build(f: int, start: int) -> Expr:
        for v in range(start, k):
            f0, f1 = cofactors(f, v)
            if f0 != f1:
                break
        else:
            raise AssertionError("a constant reached the expansion")
        x = var(f"x{v + 1}")
        if f0 == 0 and f1 == full:
            return x
        if f0 == full and f1 == 0:
            return not_(x)
        if f0 == 0:
            return and_(x, build(f1, v + 1))
        if f1 == 0:
            return and_(not_(x), build(f0, v + 1))
        if f1 == full:
            return or_(x, build(f0, v + 1))
        if f0 == full:
            return or_(not_(x), build(f1, v + 1))
        if f1 == full ^ f0:
            return binary("^", x, build(f0, v + 1))
        return binary("^", and_(x, build(f0 ^ f1, v + 1)), build(f0, v + 1))

    return build(table, 0)


def consensus(
    programs: Sequence[Sequence[str]], space: Space, form: str | None = None
) -> tuple[str, ...] | None:
    """The function most of the boolean `programs` compute, written in `form` (canonical or
    expansion; by default the space's, as `renamed` does); ties go to the earlier program.
    None when all of them are constant (no program)."""
    semantics = _fast_table(space)
    full = (1 << len(space.points)) - 1
    tables = [semantics(from_prefix(list(tokens), space)) for tokens in programs]
    votes = Counter(table for table in tables if table not in (0, full))
    if not votes:
        return None
    return tuple(to_prefix(canonical(votes.most_common(1)[0][0], space, space.form(form))))


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

    changed = True
    while changed:
        changed = False
        for at, node in paths(expr):  # top-down: the biggest cuts first
            kids = [] if node[0] in ("var", "const") else list(node[2:])
            grandkids = [g for kid in kids if kid[0] not in ("var", "const") for g in kid[2:]]
            for new in [*kids, *grandkids, *leaves]:
                if size(new) >= size(node):
                    continue
                candidate = replace_at(expr, at, new)
                if semantics(candidate) == table:
                    expr, changed = candidate, True
                    break
            if changed:
                break
    return ordered(expr)


def table_bits(table: np.ndarray) -> int:
    """A truth table over `Space.points` as one integer: point i at bit i (as `_fast_table`)."""
    return sum(1 << i for i in np.flatnonzero(np.asarray(table).reshape(-1)).tolist())


def replace_at(expr: Expr, at: Sequence[int], new: Expr) -> Expr:
    """`expr` with the node at path `at` (child indices from the root) replaced by `new`."""
    if not at:
        return new
    kids = list(expr[2:])
    kids[at[0]] = replace_at(kids[at[0]], at[1:], new)
    return (expr[0], expr[1], *kids)


@lru_cache(maxsize=16)
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
    form: str | None = None,
) -> list[SampledProgram]:
    """Up to `n` programs with distinct semantics and `sizes` nodes (inclusive). Each draw is
    a random tree of a size uniform in `draw_sizes` (default: `sizes`); its semantics is
    written in `form` (default: the space's) and kept when that program's size is in `sizes`.
    In the shrunk form each semantics keeps the smallest expression drawn for it (ties: the
    first in token order). Constant programs are left out (no network needs decompiling to say
    "always 1"). The random trees set which functions are drawn, and how often by size; the
    form sets how each is written, so that the decoder has one consistent target."""
    low, high = sizes
    if not 1 <= low <= high:
        raise ConfigError(f"program sizes {low}..{high} must satisfy 1 <= low <= high")
    draw_low, draw_high = draw_sizes or sizes
    if not 1 <= draw_low <= draw_high:
        raise ConfigError(f"draw sizes {draw_low}..{draw_high} must satisfy 1 <= low <= high")
    form = space.form(form)
    rng = np.random.default_rng(seed)
    best: dict[str, tuple[int, Expr]] = {}
    classes: dict[str, str] = {}
    seen: set[str] = set()
    draws = max_draws if max_draws is not None else 50 * n
    for _ in range(draws):
        if len(best) >= n:
            break
        expr = ordered(random_expr(space, int(rng.integers(draw_low, draw_high + 1)), rng))
        table = space.table(expr)
        if np.all(table == table[0]):
            continue
        key = space.key(table)
        if form in TABLE_FORMS:
            if key in seen:
                continue
            seen.add(key)
            expr = canonical(table, space, form)
        else:
            expr = shrink(expr, space)
        if not low <= size(expr) <= high:
            continue
        if key not in best or (size(expr), to_prefix(expr)) < (
            best[key][0],
            to_prefix(best[key][1]),
        ):
            best[key] = (size(expr), expr)
            classes.setdefault(key, space.class_key(table))
    return [
        SampledProgram(tuple(to_prefix(expr)), s, key, split_of(classes[key]), form)
        for key, (s, expr) in sorted(best.items(), key=lambda item: (item[1][0], item[0]))
    ]
