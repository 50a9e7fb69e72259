"""The recurrent family's strategies: a network's loop becomes a program with explicit state.

Integer-valued networks: the minimal machine (`machine.py`) gets integer state labels, and the
integer DSL searches for the transition s' = F(s, x) and the output y = G(s') (or G(s, x))
over every transition the data took. Several labelings are tried, each computed from the
machine alone: the output after a reference symbol, the last symbol read, breadth-first order,
and the order along the states' first principal component; the smallest pair of formulas wins.

The strategies, cheapest first:

* `stateless`: a one-state machine, y = G(x);
* `formula`: s' = F(s, x), y = G(s') or G(s, x) under one of the labelings;
* `counter`: an open machine read as an integer register s' = s + phi(x), from the lattice of
  the hidden state (the network may only need the counter's sign);
* `recurrence`: y_t = sum a_i y_{t-i} + sum b_j x_{t-j} + c, fitted to the network's outputs
  with coefficients rounded to small fractions (real outputs, or integer ones);
* `table`: the machine itself, exact at any length when it is closed; when it is open the
  program refuses a step beyond the machine rather than guess.

Every program has `program(xs)` (one sequence, one output per step) and a NumPy variant
(a batch of sequences at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ..program import Code, Expr, ExpressionProgram, SizedByLines, size, to_ast, to_source
from .base import Behaviour, Candidate
from .dsl import DSLConfig, DSLSearch
from .machine import Machine, alphabet, build_machine, is_grid, symbol_index

if TYPE_CHECKING:
    from ..zoo.sequence.model import SequenceRNN

UNKNOWN = np.iinfo(np.int64).min  # the NumPy table program's output beyond its machine


def input_names(d: int) -> tuple[str, ...]:
    if d == 1:
        return ("x",)
    if d == 2:
        return ("a", "b")
    return tuple(f"x{i + 1}" for i in range(d))


@dataclass(repr=False)
class SequenceBehaviour:
    """The recurrent family's observation. White-box (net2code's own RNNs): the network's cell
    and the inputs its state is discretised on (training inputs, never labels). Black-box (any
    causal sequence network): `oracle`, the network's outputs on any batch of sequences, over
    the domain's `symbols`. The machine is built on first use: from the cell when there is one,
    else by L* (`automata.py`)."""

    model: SequenceRNN | None
    inputs: np.ndarray  # (n, length, d): what candidates are screened on
    integer_inputs: bool
    integer_outputs: bool
    tolerance: float  # real outputs agree within this
    oracle: Callable[[np.ndarray], np.ndarray] | None = None  # (n, L, d) -> (n, L)
    symbols: np.ndarray | None = None  # (k, d): the alphabet, when finite
    exhaustive_length: int | None = None  # every sequence up to it can be enumerated
    long_length: int | None = None  # equivalence walks at this length (None: none run)
    bits: int | None = None  # outputs are packed bits (the bits readout), this many
    max_length: int | None = None  # the longest sequence the network takes (None: any)
    seed: int = 0
    _machine: Machine | None = field(default=None, init=False)
    _reference: np.ndarray | None = field(default=None, init=False)
    _learned: Any = field(default=None, init=False)
    _shorter: dict[int, Any] = field(default_factory=dict, init=False)

    @property
    def white_box(self) -> bool:
        return self.model is not None

    @property
    def reference(self) -> np.ndarray:
        """The network's outputs on `inputs`.  # (n, length)"""
        if self._reference is None:
            if self.oracle is not None:
                self._reference = self.oracle(self.inputs)
            else:
                assert self.model is not None
                self._reference = self.model.run(self.inputs, states=False)[0]
        return self._reference

    def learned(self, timeout: float) -> Any:
        """The L* result (`automata.Learned`), learned on first use."""
        from .automata import learn_mealy

        if self._learned is None:
            assert self.oracle is not None and self.symbols is not None
            assert self.exhaustive_length is not None
            self._learned = learn_mealy(
                self.oracle,
                self.symbols,
                self.exhaustive_length,
                long_length=self.long_length,
                timeout=timeout,
                seed=self.seed,
                longest=self.max_length,
            )
        return self._learned

    def learned_at(self, length: int, timeout: float = 30.0) -> Any:
        """L* up to a shorter exhaustive length, without long walks (is the machine growing?)."""
        from .automata import learn_mealy

        if length not in self._shorter:
            assert self.oracle is not None and self.symbols is not None
            self._shorter[length] = learn_mealy(
                self.oracle,
                self.symbols,
                length,
                long_length=None,
                timeout=timeout,
                seed=self.seed,
                longest=self.max_length,
            )
        return self._shorter[length]

    @property
    def names(self) -> tuple[str, ...]:
        return input_names(self.inputs.shape[2])

    @property
    def finite(self) -> bool:
        return self.integer_inputs and self.integer_outputs

    @property
    def machine(self) -> Machine:
        if self._machine is None:
            if self.model is None:
                self._machine = self.learned(60.0).machine
            else:
                self._machine = build_machine(self.model, self.inputs)
        return self._machine

    def __repr__(self) -> str:
        n, length, d = self.inputs.shape
        return f"SequenceBehaviour({n:,} sequences of length {length}, {d} input(s) per step)"


# ---------------------------------------------------------------------- the program
@dataclass(frozen=True, repr=False)
class Formulas:
    labeling: str
    start: int  # the state before the first input
    next_expr: Expr | None  # None: stateless
    out_expr: Expr
    moore: bool  # the output is a function of the new state only

    @property
    def size(self) -> int:
        return (0 if self.next_expr is None else size(self.next_expr)) + size(self.out_expr)

    def describe(self) -> str:
        out = to_source(self.out_expr)
        if self.next_expr is None:
            return f"y = {out}"
        nxt = to_source(self.next_expr)
        return f"s = {nxt}; y = {out}" if self.moore else f"y = {out}; s = {nxt}"


@dataclass(frozen=True, repr=False)
class LoopProgram(SizedByLines):
    """`program(xs)`: state, a for loop over the steps, one output per step.

    One of `formulas`, `machine` (a table) and `recurrence` defines it, in that order; a
    machine kept beside formulas is the one they were fitted to."""

    kind: str  # "stateless", "formula", "counter", "table" or "recurrence"
    names: tuple[str, ...]
    general: bool  # nothing in it is limited to the lengths the machine saw
    formulas: Formulas | None = None
    machine: Machine | None = None
    recurrence: dict[str, Any] | None = None
    bits: int | None = None  # the output is this many bits, packed (unit i is bit i)

    @property
    def summary(self) -> str:
        if self.formulas is not None:
            return self.formulas.describe()
        if self.recurrence is not None:
            return f"y = {self.recurrence['expression']}"
        assert self.machine is not None
        closed = "closed" if self.machine.closed else "open"
        return f"a {self.machine.n_states}-state machine ({closed})"

    def usage(self) -> str:
        step = self.names[0] if len(self.names) == 1 else f"({', '.join(self.names)})"
        return (
            f"Usage: program(xs) with xs a list of steps {step}, of any length; "
            "it returns one output per step."
        )

    def details(self) -> dict[str, Any]:
        if self.formulas is not None:
            f = self.formulas
            return {
                "labeling": f.labeling,
                "start": f.start,
                "moore_output": f.moore,
                "next_state": None if f.next_expr is None else to_source(f.next_expr),
                "output": to_source(f.out_expr),
            }
        if self.recurrence is not None:
            return dict(self.recurrence)
        assert self.machine is not None
        return {"states": self.machine.n_states, "closed": self.machine.closed}

    def __repr__(self) -> str:
        return f"LoopProgram({self.kind}: {self.summary})"

    def python(self) -> Code:
        if self.formulas is not None:
            body = _formulas_python(self.formulas, self.names)
        elif self.recurrence is not None:
            body = _recurrence_python(self.recurrence, len(self.names))
        else:
            assert self.machine is not None
            body = _table_python(self.machine, self.names)
        return Code((), unpack_bits_python(body, self.bits))

    def numpy(self) -> Code | None:
        if self.formulas is not None:
            body = _formulas_numpy(self.formulas, self.names)
        elif self.recurrence is not None:
            body = _recurrence_numpy(self.recurrence, len(self.names))
        else:
            assert self.machine is not None
            if not is_grid(self.machine.symbols):
                return None
            body = _table_numpy(self.machine, self.names)
        return Code(("import numpy as np",), unpack_bits_numpy(body, self.bits))


def unpack_bits_python(body: str, bits: int | None) -> str:
    """Return each step's packed output as the tuple of its bits (unit 0 first)."""
    if bits is None:
        return body
    last = "    return ys\n"
    assert body.endswith(last)
    return (
        body[: -len(last)]
        + f"    return [tuple(y >> i & 1 for i in range({bits})) for y in ys]  # unit i: bit i\n"
    )


def unpack_bits_numpy(body: str, bits: int | None) -> str:
    """(n, length) packed outputs -> (n, length, bits) bits."""
    if bits is None:
        return body
    last = "    return ys\n"
    assert body.endswith(last)
    return body[: -len(last)] + f"    return (ys[..., None] >> np.arange({bits})) & 1\n"


# ---------------------------------------------------------------------- labelings
def _labelings(machine: Machine) -> list[tuple[str, np.ndarray]]:
    """Candidate integer names for the states, each injective; computed from the machine."""
    n, k = machine.next.shape
    symbols = machine.symbols
    found: list[tuple[str, np.ndarray]] = []

    def add(name: str, labels: np.ndarray) -> None:
        labels = np.asarray(labels, dtype=np.int64)
        if len(np.unique(labels)) != n:
            return
        if any(np.array_equal(labels, other) for _, other in found):
            return
        found.append((name, labels))

    # The last symbol read (when every state is entered by one symbol value only).
    if symbols.shape[1] == 1:
        entering: dict[int, set[int]] = {}
        for s, a in np.argwhere(machine.next >= 0).tolist():
            entering.setdefault(int(machine.next[s, a]), set()).add(int(symbols[a, 0]))
        if all(len(v) == 1 for v in entering.values()):
            labels = np.full(n, int(symbols[:, 0].min()) - 1)
            for s, values in entering.items():
                labels[s] = next(iter(values))
            add("the last input", labels)
    # The output after a reference symbol (the all-zero one, else the smallest).
    zero = np.flatnonzero((symbols == 0).all(1))
    ref = int(zero[0]) if len(zero) else int(np.abs(symbols).sum(1).argmin())
    if (machine.next[:, ref] >= 0).all():
        base = machine.out[:, ref]
        add("the output after input 0", base)
        add("the output after input 0, from the start", base - base[machine.initial])
        add("minus the output after input 0", -base)
        others = np.delete(base, machine.initial)
        if len(np.unique(others)) == n - 1 and base[machine.initial] in others:
            apart = base.copy()  # the start collides with a state: give it a label of its own
            apart[machine.initial] = others.min() - 1
            add("the output after input 0 (the start apart)", apart)
    # Breadth-first order from the start (the machine is numbered that way).
    add("breadth-first order", np.arange(n))
    # Order along the first principal component of the states' hidden vectors.
    if n > 2 and machine.reps.shape[1] > 0:
        reps = machine.reps - machine.reps.mean(0)
        _, _, vt = np.linalg.svd(reps, full_matrices=False)
        rank = np.argsort(np.argsort(reps @ vt[0]))
        add("order along the state's first principal axis", rank - rank[machine.initial])
        add("order along the state's first principal axis, reversed", rank[machine.initial] - rank)
    return found


def _search(
    points: np.ndarray, targets: np.ndarray, names: tuple[str, ...], timeout: float
) -> Expr | None:
    behaviour = Behaviour(
        inputs=points.astype(np.int64), outputs=targets.astype(np.int64), names=names
    )
    config = DSLConfig(max_level=7, max_program_size=13, seed=0)
    candidate = DSLSearch(config).search(behaviour, timeout=timeout)
    if candidate.exact and isinstance(candidate.program, ExpressionProgram):
        return candidate.program.expr
    return None


def _known(machine: Machine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The transitions the data took: (state, symbol) rows, their symbols and outputs.
    Formulas are fitted to these; the network's answers beyond the data (which close a table)
    are its extrapolation, not its algorithm."""
    known = np.argwhere(machine.observed & (machine.next >= 0))  # (m, 2)
    return known, machine.symbols[known[:, 1]], machine.out[known[:, 0], known[:, 1]]


def fit_stateless(machine: Machine, names: tuple[str, ...], timeout: float) -> Formulas | None:
    _, xs, outputs = _known(machine)
    expr = _search(xs, outputs, names, timeout)
    return None if expr is None else Formulas("none", 0, None, expr, False)


def fit_formulas(
    machine: Machine, names: tuple[str, ...], timeout: float, deadline: float
) -> Formulas | None:
    """The smallest (F, G) over the labelings, searched until `deadline`."""
    known, xs, outputs = _known(machine)
    best: Formulas | None = None
    for name, labels in _labelings(machine):
        if time.perf_counter() > deadline:
            break
        s, s_next = labels[known[:, 0]], labels[machine.next[known[:, 0], known[:, 1]]]
        points = np.concatenate([s[:, None], xs], axis=1)
        next_expr = _search(points, s_next, ("s", *names), timeout)
        if next_expr is None:
            continue
        # Moore output: one output per new state label, then a formula in s alone.
        mapping: dict[int, int] = {}
        pairs = zip(s_next.tolist(), outputs.tolist(), strict=True)
        moore = all(mapping.setdefault(a, b) == b for a, b in pairs)
        out_expr = None
        if moore:
            keys = np.array(sorted(mapping))
            out_expr = _search(keys[:, None], np.array([mapping[v] for v in keys]), ("s",), timeout)
        if out_expr is None:
            moore = False
            out_expr = _search(points, outputs, ("s", *names), timeout)
        if out_expr is None:
            continue
        found = Formulas(name, int(labels[machine.initial]), next_expr, out_expr, moore)
        if best is None or found.size < best.size:
            best = found
        if best.size <= 6:
            break
    return best


def fit_counter(
    model: SequenceRNN, inputs: np.ndarray, names: tuple[str, ...], timeout: float
) -> Formulas | None:
    """An integer register s_t = s_{t-1} + phi(x_t), s_0 = 0, read from the hidden state.

    The state moves along one main direction; the mean step along it for each symbol, in units
    of the smallest nonzero mean step, gives integer increments phi. This is the lattice of the
    state, and it is found even when single states are too noisy to round (the network only
    needs the counter's sign, say). The output must then be a function of s_t (or of s_{t-1}
    and x_t) on every training sequence.
    """
    from ..program import binary, var

    out, states = model.run(inputs)
    assert states is not None
    steps = states[:, 1:] - states[:, :-1]  # (n, length, hidden)
    flat = steps.reshape(-1, steps.shape[-1])
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    along = flat @ vt[0]
    symbols = alphabet(model)
    index = symbol_index(symbols, inputs).ravel()
    if len(np.unique(index)) < len(symbols):
        return None
    means = np.array([along[index == a].mean() for a in range(len(symbols))])
    big = np.abs(means).max()
    if big == 0:
        return None
    unit = np.abs(means[np.abs(means) > 0.05 * big]).min()
    ratio = means / unit
    phi = np.rint(ratio).astype(np.int64)
    if np.abs(ratio - phi).max() > 0.2 or np.abs(phi).max() > 1000:
        return None
    if phi[symbols[:, 0].argsort()[0]] < 0 and phi.sum() < 0:
        phi = -phi  # count up, not down, where the sign is a free choice
    s = np.cumsum(phi[index].reshape(out.shape), axis=1)  # (n, length): s_t
    previous = np.concatenate([np.zeros((len(s), 1), dtype=np.int64), s[:, :-1]], axis=1)
    phi_expr = _search(symbols, phi, names, timeout)
    if phi_expr is None:
        return None
    next_expr = binary("+", var("s"), phi_expr)
    labeling = "a counter of the inputs, read from the hidden state"
    table: dict[int, int] = {}
    pairs = zip(s.ravel().tolist(), out.ravel().tolist(), strict=True)
    if all(table.setdefault(a, b) == b for a, b in pairs):
        keys = np.array(sorted(table))
        g = _search(keys[:, None], np.array([table[k] for k in keys]), ("s",), timeout)
        if g is not None:
            return Formulas(labeling, 0, next_expr, g, True)
    x = inputs.reshape(-1, inputs.shape[-1])
    points = np.unique(
        np.concatenate([previous.reshape(-1, 1), x, out.reshape(-1, 1)], axis=1), axis=0
    )
    if len(np.unique(points[:, :-1], axis=0)) != len(points):
        return None
    g = _search(points[:, :-1], points[:, -1], ("s", *names), timeout)
    if g is None:
        return None
    return Formulas(labeling, 0, next_expr, g, False)


# ---------------------------------------------------------------------- emission
DOC_ONE = '    """Run the loop over one sequence; one output per step."""\n'
DOC_BATCH = (
    '    """Run the loop over a batch xs (n, length) or (n, length, d); returns (n, length)."""\n'
)


def _loop_head(names: tuple[str, ...]) -> str:
    return f"    for {names[0] if len(names) == 1 else ', '.join(names)} in xs:\n"


def _batch_head(dtype: str, before_loop: tuple[str, ...] = ()) -> str:
    """The start of a batch program, up to the loop over steps; `before_loop` lines set up
    the state."""
    lines = [
        "def program(xs):",
        DOC_BATCH.rstrip("\n"),
        f"    xs = np.asarray(xs, dtype={dtype})",
        "    xs = xs.reshape(xs.shape[0], xs.shape[1], -1)",
        f"    ys = np.zeros(xs.shape[:2], dtype={dtype})",
        *(f"    {line}" for line in before_loop),
        "    for t in range(xs.shape[1]):",
    ]
    return "\n".join(lines) + "\n"


def _step_inputs(names: tuple[str, ...]) -> str:
    return "".join(f"        {name} = xs[:, t, {j}]\n" for j, name in enumerate(names))


def _np(expr: Expr) -> str:
    import ast

    return ast.unparse(to_ast(expr, numpy=True))


def _formulas_python(f: Formulas, names: tuple[str, ...]) -> str:
    src = "def program(xs):\n" + DOC_ONE
    if f.next_expr is None:
        src += "    ys = []\n" + _loop_head(names)
        return src + f"        ys.append({to_source(f.out_expr)})\n    return ys\n"
    src += f"    s = {f.start}  # the state: {f.labeling}\n    ys = []\n" + _loop_head(names)
    if f.moore:
        src += f"        s = {to_source(f.next_expr)}\n"
        out = to_source(f.out_expr)
        src += "        ys.append(s)\n" if out == "s" else f"        ys.append({out})\n"
    else:
        src += f"        ys.append({to_source(f.out_expr)})\n"
        src += f"        s = {to_source(f.next_expr)}\n"
    return src + "    return ys\n"


def _formulas_numpy(f: Formulas, names: tuple[str, ...]) -> str:
    if f.next_expr is None:
        src = _batch_head("np.int64") + _step_inputs(names)
        return src + f"        ys[:, t] = {_np(f.out_expr)}\n    return ys\n"
    start = f"s = np.full(xs.shape[0], {f.start}, dtype=np.int64)  # the state: {f.labeling}"
    src = _batch_head("np.int64", (start,)) + _step_inputs(names)
    if f.moore:
        src += f"        s = {_np(f.next_expr)}\n        ys[:, t] = {_np(f.out_expr)}\n"
    else:
        src += f"        ys[:, t] = {_np(f.out_expr)}\n        s = {_np(f.next_expr)}\n"
    return src + "    return ys\n"


def _table_python(machine: Machine, names: tuple[str, ...]) -> str:
    """The machine as a table keyed by (state, input)."""
    symbols = [tuple(int(v) for v in row) for row in machine.symbols]
    key = (lambda a: symbols[a][0]) if len(names) == 1 else (lambda a: symbols[a])
    rows = []
    for s in range(machine.n_states):
        row = {
            key(a): (int(machine.next[s, a]), int(machine.out[s, a]))
            for a in range(len(symbols))
            if machine.next[s, a] >= 0
        }
        rows.append(f"    {row!r},")
    table = (
        "STEP = [  # STEP[state][input] = (next state, output)\n" + "\n".join(rows) + "\n]\n\n\n"
    )
    x = names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"
    src = table + "def program(xs):\n" + DOC_ONE
    src += f"    state = {machine.initial}\n    ys = []\n" + _loop_head(names)
    src += f"        if {x} not in STEP[state]:\n"
    message = f'f"input {{{x}!r}} in state {{state}} is beyond the extracted machine"'
    src += f"            raise ValueError({message})\n"
    src += f"        state, y = STEP[state][{x}]\n        ys.append(y)\n    return ys\n"
    return src


def _table_numpy(machine: Machine, names: tuple[str, ...]) -> str:
    lows = machine.symbols.min(0).tolist()
    sizes = (machine.symbols.max(0) - machine.symbols.min(0) + 1).tolist()
    rows = ",\n".join(f"        {row}" for row in machine.next.tolist())
    outs = ",\n".join(f"        {row}" for row in machine.out.tolist())
    src = (
        "# NEXT[state, symbol] (-1: beyond the extracted machine) and OUT[state, symbol];\n"
        "# a step's symbol index runs over the input components, the last one fastest.\n"
        f"NEXT = np.array(\n    [\n{rows},\n    ]\n)\nOUT = np.array(\n    [\n{outs},\n    ]\n)\n"
        f"LOW = np.array({lows})\nSIZE = np.array({sizes})\n"
        f"UNKNOWN = {UNKNOWN}  # the output at and after a step beyond the machine\n\n\n"
    )
    src += _batch_head(
        "np.int64",
        (
            "inside = ((xs >= LOW) & (xs < LOW + SIZE)).all(-1)",
            "index = np.zeros(xs.shape[:2], dtype=np.int64)",
            "for j in range(xs.shape[2]):",
            "    index = index * SIZE[j] + np.clip(xs[..., j] - LOW[j], 0, SIZE[j] - 1)",
            f"state = np.full(xs.shape[0], {machine.initial})",
        ),
    )
    src += (
        "        alive = (state >= 0) & inside[:, t]\n"
        "        symbol, here = index[:, t], np.maximum(state, 0)\n"
        "        ys[:, t] = np.where(alive, OUT[here, symbol], UNKNOWN)\n"
        "        state = np.where(alive, NEXT[here, symbol], -1)\n"
        "        ys[:, t] = np.where(state >= 0, ys[:, t], UNKNOWN)\n"
        "    return ys\n"
    )
    return src


def _fraction(value: float, max_denominator: int = 12) -> Fraction:
    return Fraction(value).limit_denominator(max_denominator)


def fit_recurrence(
    model: SequenceRNN, inputs: np.ndarray, tolerance: float, max_order: int = 3
) -> dict[str, Any] | None:
    """y_t = sum_i a_i y_{t-i} + sum_j b_j . x_{t-j} + c, fitted to the network's outputs."""
    out, _ = model.run(inputs)
    y = out.astype(np.float64)  # (n, length)
    x = inputs.astype(np.float64)  # (n, length, d)
    n, length, d = x.shape
    best = None
    for order in range(0, max_order + 1):
        for lags in range(0, max_order + 1):
            columns, names = [], []
            for i in range(1, order + 1):
                columns.append(np.pad(y, ((0, 0), (i, 0)))[:, :length])
                names.append(("y", i, 0))
            for j in range(0, lags + 1):
                shifted = np.pad(x, ((0, 0), (j, 0), (0, 0)))[:, :length]
                for c in range(d):
                    columns.append(shifted[..., c])
                    names.append(("x", j, c))
            columns.append(np.ones_like(y))
            names.append(("c", 0, 0))
            design = np.stack([c.ravel() for c in columns], axis=1)
            coef, *_ = np.linalg.lstsq(design, y.ravel(), rcond=None)
            rounded = np.array([float(_fraction(c)) for c in coef])
            residual = np.abs(design @ rounded - y.ravel()).max()
            if residual <= tolerance:
                best = (names, rounded, residual)
                break
        if best is not None:
            break
    if best is None:
        return None
    names, coef, residual = best
    terms = []
    for (kind, lag, comp), c in zip(names, coef, strict=True):
        if c == 0:
            continue
        frac = _fraction(c)
        if kind == "c":
            terms.append(str(frac if frac.denominator == 1 else f"({frac})"))
            continue
        var = f"y{lag}" if kind == "y" else (f"x{lag}_{comp}" if d > 1 else f"x{lag}")
        if frac == 1:
            terms.append(var)
        elif frac == -1:
            terms.append(f"-{var}")
        elif frac.denominator == 1:
            terms.append(f"{frac.numerator} * {var}")
        else:
            terms.append(f"{frac.numerator} * {var} / {frac.denominator}")
    expression = " + ".join(terms).replace("+ -", "- ") or "0"
    return {
        "expression": expression,
        "y_lags": max([lag for kind, lag, _ in names if kind == "y"], default=0),
        "x_lags": max([lag for kind, lag, _ in names if kind == "x"], default=0),
        "max_residual": float(residual),
        "coefficients": {
            f"{k}{lag}_{c}": float(v) for (k, lag, c), v in zip(names, coef, strict=True)
        },
    }


def _recurrence_state(fit: dict[str, Any], d: int) -> tuple[list[str], list[tuple[str, str]]]:
    """The variables the loop carries, and the shifts at the end of each step."""
    y_lags, x_lags = fit["y_lags"], fit["x_lags"]
    state = [f"y{i}" for i in range(1, y_lags + 1)]
    suffixes = [""] if d == 1 else [f"_{c}" for c in range(d)]
    state += [f"x{j}{suffix}" for j in range(1, x_lags + 1) for suffix in suffixes]
    shifts = [(f"y{i}", f"y{i - 1}") for i in range(y_lags, 1, -1)]
    if y_lags:
        shifts.append(("y1", "y"))
    for j in range(x_lags, 0, -1):
        shifts += [(f"x{j}{suffix}", f"x{j - 1}{suffix}") for suffix in suffixes]
    return state, shifts


def _recurrence_python(fit: dict[str, Any], d: int) -> str:
    state, shifts = _recurrence_state(fit, d)
    src = "def program(xs):\n" + DOC_ONE
    if state:
        src += "    " + " = ".join(state) + " = 0.0  # the last outputs and inputs\n"
    src += "    ys = []\n"
    current = "x0" if d == 1 else ", ".join(f"x0_{c}" for c in range(d))
    src += f"    for {current} in xs:\n"
    src += f"        y = {fit['expression'].replace('y0', 'y')}\n"
    if shifts:
        src += f"        {', '.join(a for a, _ in shifts)} = {', '.join(b for _, b in shifts)}\n"
    return src + "        ys.append(y)\n    return ys\n"


def _recurrence_numpy(fit: dict[str, Any], d: int) -> str:
    state, shifts = _recurrence_state(fit, d)
    zeros = (" = ".join(state) + " = np.zeros(xs.shape[0])",) if state else ()
    src = _batch_head("np.float64", zeros)
    current = ["x0"] if d == 1 else [f"x0_{c}" for c in range(d)]
    src += _step_inputs(tuple(current))
    src += f"        y = {fit['expression'].replace('y0', 'y')} + np.zeros(xs.shape[0])\n"
    if shifts:
        src += f"        {', '.join(a for a, _ in shifts)} = {', '.join(b for _, b in shifts)}\n"
    return src + "        ys[:, t] = y\n    return ys\n"


# ---------------------------------------------------------------------- the strategies
def _needs_machine(observation: SequenceBehaviour) -> str | None:
    if not observation.white_box:
        return WHITE_BOX
    if not observation.finite:
        return "needs integer inputs and outputs (a finite machine)"
    return None


WHITE_BOX = "white-box: needs the network's cell (net2code's own RNN runs); try lstar"


def _formula_timeout(timeout: float) -> float:
    return min(8.0, timeout / 4)


class Stateless:
    name = "stateless"

    def applicable(self, observation: SequenceBehaviour) -> str | None:
        reason = _needs_machine(observation)
        if reason is None and observation.machine.n_states != 1:
            return f"the machine has {observation.machine.n_states} states"
        return reason

    def search(
        self, observation: SequenceBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        f = fit_stateless(observation.machine, observation.names, _formula_timeout(timeout))
        if f is None:
            return Candidate(self.name, None, exact=False)
        return Candidate(self.name, LoopProgram("stateless", observation.names, True, f), True)


class Formula:
    name = "formula"

    def applicable(self, observation: SequenceBehaviour) -> str | None:
        reason = _needs_machine(observation)
        if reason is None and observation.machine.n_states == 1:
            return "the machine has one state (stateless)"
        return reason

    def search(
        self, observation: SequenceBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        deadline = time.perf_counter() + timeout
        f = fit_formulas(
            observation.machine, observation.names, _formula_timeout(timeout), deadline
        )
        if f is None:
            return Candidate(self.name, None, exact=False)
        return Candidate(self.name, LoopProgram("formula", observation.names, True, f), True)


class Counter:
    name = "counter"

    def applicable(self, observation: SequenceBehaviour) -> str | None:
        reason = _needs_machine(observation)
        if reason is None and observation.machine.closed:
            return "the machine is closed (a table is exact at any length)"
        return reason

    def search(
        self, observation: SequenceBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        assert observation.model is not None
        f = fit_counter(
            observation.model, observation.inputs, observation.names, _formula_timeout(timeout)
        )
        if f is None:
            return Candidate(self.name, None, exact=False)
        return Candidate(self.name, LoopProgram("counter", observation.names, True, f), True)


class Recurrence:
    name = "recurrence"

    def applicable(self, observation: SequenceBehaviour) -> str | None:
        return None if observation.white_box else WHITE_BOX

    def search(
        self, observation: SequenceBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        tolerance = observation.tolerance if not observation.integer_outputs else 0.49
        assert observation.model is not None
        fit = fit_recurrence(observation.model, observation.inputs, tolerance)
        if fit is None:
            return Candidate(self.name, None, exact=False)
        program = LoopProgram("recurrence", observation.names, True, recurrence=fit)
        return Candidate(self.name, program, True, stats={"max_residual": fit["max_residual"]})


class Table:
    name = "table"

    def applicable(self, observation: SequenceBehaviour) -> str | None:
        return _needs_machine(observation)

    def search(
        self, observation: SequenceBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        machine = observation.machine
        program = LoopProgram("table", observation.names, machine.closed, machine=machine)
        return Candidate(self.name, program, True, stats={"general": machine.closed})
