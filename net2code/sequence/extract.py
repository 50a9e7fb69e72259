"""From the network's machine to a program with explicit state and a loop over any length.

Integer-valued networks: the minimal machine (see `machine.py`) gets integer state labels, and
the integer DSL searches for the transition s' = F(s, x) and the output y = G(s') (or G(s, x))
over every known transition. Several labelings are tried, each computed from the machine alone:
the output after a reference symbol, the last symbol read, breadth-first order, and the order
along the states' first principal component; the smallest pair of formulas wins. A closed
machine with no formula is emitted as a table, which is still exact at any length; an open one
(states beyond what the data reached, as counters have) needs its formula to run longer.

Real-valued networks: a linear recurrence y_t = sum a_i y_{t-i} + sum b_j x_{t-j} + c is fitted
to the network's outputs by least squares, its coefficients rounded to small fractions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..extract.base import Behaviour
from ..extract.dsl import DSLConfig, DSLSearch
from ..program import Expr, size, to_source
from .machine import Machine, build_machine
from .model import SequenceRNN


@dataclass
class LoopProgram:
    """A program `program(xs)`: state, a for loop, one output per step."""

    kind: str  # "formula", "table", "recurrence", "stateless"
    source: str  # the Python source of program(xs)
    exact_on_machine: bool  # the formulas/table hold on every known transition
    general: bool  # nothing in it is limited to the training length
    lines: int = 0
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def input_names(d: int) -> tuple[str, ...]:
    if d == 1:
        return ("x",)
    if d == 2:
        return ("a", "b")
    return tuple(f"x{i + 1}" for i in range(d))


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
    if n > 2:
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
    if candidate.exact and candidate.program is not None:
        return candidate.program.expr
    return None


@dataclass
class _Formulas:
    labeling: str
    start: int  # the state before the first input
    next_expr: Expr | None  # None: stateless
    out_expr: Expr
    moore: bool  # the output is a function of the new state only

    @property
    def size(self) -> int:
        return (0 if self.next_expr is None else size(self.next_expr)) + size(self.out_expr)


def _fit_formulas(
    machine: Machine, names: tuple[str, ...], timeout: float, deadline: float
) -> _Formulas | None:
    # Formulas are fitted to the transitions the data took; the network's answers beyond the
    # data (which close a table) are its extrapolation, not its algorithm.
    known = np.argwhere(machine.observed & (machine.next >= 0))  # (m, 2): state, symbol
    xs = machine.symbols[known[:, 1]]  # (m, d)
    outputs = machine.out[known[:, 0], known[:, 1]]
    if machine.n_states == 1:
        expr = _search(xs, outputs, names, timeout)
        return None if expr is None else _Formulas("none", 0, None, expr, False)
    best: _Formulas | None = None
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
        found = _Formulas(name, int(labels[machine.initial]), next_expr, out_expr, moore)
        if best is None or found.size < best.size:
            best = found
        if best.size <= 6:
            break
    return best


# ---------------------------------------------------------------------- counters
def fit_counter(
    model: SequenceRNN, inputs: np.ndarray, names: tuple[str, ...], timeout: float
) -> _Formulas | None:
    """An integer register s_t = s_{t-1} + phi(x_t), s_0 = 0, read from the hidden state.

    The state moves along one main direction; the mean step along it for each symbol, in units
    of the smallest nonzero mean step, gives integer increments phi. This is the lattice of the
    state, and it is found even when single states are too noisy to round (the network only
    needs the counter's sign, say). The output must then be a function of s_t (or of s_{t-1}
    and x_t) on every training sequence.
    """
    from .machine import alphabet, symbol_index

    out, states = model.run(inputs)
    steps = states[:, 1:] - states[:, :-1]  # (n, length, hidden)
    flat = steps.reshape(-1, steps.shape[-1])
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    along = flat @ vt[0]
    symbols = alphabet(model)
    index = symbol_index(symbols, inputs).ravel()
    seen = np.unique(index)
    if len(seen) < len(symbols):
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
    from ..program import binary, var

    next_expr = binary("+", var("s"), phi_expr)
    table: dict[int, int] = {}
    pairs = zip(s.ravel().tolist(), out.ravel().tolist(), strict=True)
    if all(table.setdefault(a, b) == b for a, b in pairs):
        keys = np.array(sorted(table))
        g = _search(keys[:, None], np.array([table[k] for k in keys]), ("s",), timeout)
        if g is not None:
            return _Formulas(
                "a counter of the inputs, read from the hidden state", 0, next_expr, g, True
            )
    x = inputs.reshape(-1, inputs.shape[-1])
    points = np.unique(
        np.concatenate([previous.reshape(-1, 1), x, out.reshape(-1, 1)], axis=1), axis=0
    )
    if len(np.unique(points[:, :-1], axis=0)) != len(points):
        return None
    g = _search(points[:, :-1], points[:, -1], ("s", *names), timeout)
    if g is None:
        return None
    return _Formulas("a counter of the inputs, read from the hidden state", 0, next_expr, g, False)


# ---------------------------------------------------------------------- emission
def _header(lines: list[str]) -> str:
    body = "\n    ".join(lines)
    return f'    """{body}\n    """\n'


def _loop_head(names: tuple[str, ...]) -> str:
    return f"    for {names[0] if len(names) == 1 else ', '.join(names)} in xs:\n"


def emit_formulas(f: _Formulas, names: tuple[str, ...], doc: list[str]) -> str:
    src = "def program(xs):\n" + _header(doc)
    if f.next_expr is None:
        src += "    ys = []\n" + _loop_head(names)
        src += f"        ys.append({to_source(f.out_expr)})\n    return ys\n"
        return src
    src += f"    s = {f.start}  # the state: {f.labeling}\n    ys = []\n" + _loop_head(names)
    if f.moore:
        src += f"        s = {to_source(f.next_expr)}\n"
        out = to_source(f.out_expr)
        src += "        ys.append(s)\n" if out == "s" else f"        ys.append({out})\n"
    else:
        src += f"        ys.append({to_source(f.out_expr)})\n"
        src += f"        s = {to_source(f.next_expr)}\n"
    return src + "    return ys\n"


def emit_table(machine: Machine, names: tuple[str, ...], doc: list[str]) -> str:
    """The machine as two tables keyed by (state, input)."""
    symbols = [tuple(int(v) for v in row) for row in machine.symbols]
    key = (lambda a: symbols[a][0]) if len(names) == 1 else (lambda a: symbols[a])
    transitions = []
    for s in range(machine.n_states):
        row = {
            key(a): (int(machine.next[s, a]), int(machine.out[s, a]))
            for a in range(len(symbols))
            if machine.next[s, a] >= 0
        }
        transitions.append(f"    {row!r},")
    table = (
        "STEP = [  # STEP[state][input] = (next state, output)\n"
        + "\n".join(transitions)
        + "\n]\n\n\n"
    )
    x = names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"
    src = table + "def program(xs):\n" + _header(doc)
    src += f"    state = {machine.initial}\n    ys = []\n" + _loop_head(names)
    src += f"        if {x} not in STEP[state]:\n"
    message = f'f"input {{{x}!r}} in state {{state}} is beyond the extracted machine"'
    src += f"            raise ValueError({message})\n"
    src += f"        state, y = STEP[state][{x}]\n        ys.append(y)\n    return ys\n"
    return src


# ---------------------------------------------------------------------- real values
def _fraction(value: float, max_denominator: int = 12) -> Fraction:
    return Fraction(value).limit_denominator(max_denominator)


def fit_recurrence(
    model: SequenceRNN, inputs: np.ndarray, tolerance: float, max_order: int = 3
) -> tuple[dict[str, Any], str] | None:
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
    y_lags = max([lag for kind, lag, _ in names if kind == "y"], default=0)
    x_lags = max([lag for kind, lag, _ in names if kind == "x"], default=0)
    return {
        "expression": expression,
        "y_lags": y_lags,
        "x_lags": x_lags,
        "max_residual": float(residual),
        "coefficients": {
            f"{k}{lag}_{c}": float(v) for (k, lag, c), v in zip(names, coef, strict=True)
        },
    }, expression


def emit_recurrence(fit: dict[str, Any], d: int, doc: list[str]) -> str:
    y_lags, x_lags = fit["y_lags"], fit["x_lags"]
    src = "def program(xs):\n" + _header(doc)
    state = [f"y{i}" for i in range(1, y_lags + 1)]
    if d == 1:
        state += [f"x{j}" for j in range(1, x_lags + 1)]
    else:
        state += [f"x{j}_{c}" for j in range(1, x_lags + 1) for c in range(d)]
    if state:
        src += "    " + " = ".join(state) + " = 0.0  # the last outputs and inputs\n"
    src += "    ys = []\n"
    current = "x0" if d == 1 else ", ".join(f"x0_{c}" for c in range(d))
    src += f"    for {current} in xs:\n"
    src += f"        y = {fit['expression'].replace('y0', 'y')}\n"
    shifts = []
    for i in range(y_lags, 1, -1):
        shifts.append((f"y{i}", f"y{i - 1}"))
    if y_lags:
        shifts.append(("y1", "y"))
    for j in range(x_lags, 0, -1):
        for c in range(d) if d > 1 else [None]:
            suffix = "" if c is None else f"_{c}"
            shifts.append((f"x{j}{suffix}", f"x{j - 1}{suffix}"))
    if shifts:
        src += f"        {', '.join(a for a, _ in shifts)} = {', '.join(b for _, b in shifts)}\n"
    src += "        ys.append(y)\n    return ys\n"
    return src


# ---------------------------------------------------------------------- the strategy
def extract_loop(
    model: SequenceRNN,
    inputs: np.ndarray,
    *,
    timeout: float = 60.0,
    doc: list[str] | None = None,
) -> tuple[LoopProgram, Machine | None]:
    """The program of the network's loop, discretised on `inputs` (n, length, d)."""
    inputs = inputs[:, :, None] if inputs.ndim == 2 else inputs
    d = inputs.shape[2]
    names = input_names(d)
    doc = doc or ["Extracted by net2code from a recurrent network."]
    all_integer = all(spec.integer for spec in model.config.inputs)
    integer_out = model.config.output.kind == "classes" or model.config.output.integer
    start = time.perf_counter()
    machine = None
    if all_integer and integer_out:
        machine = build_machine(model, inputs)
        formulas = _fit_formulas(
            machine, names, timeout=min(8.0, timeout / 4), deadline=start + timeout
        )
        if formulas is not None:
            src = emit_formulas(formulas, names, doc)
            details = {
                "labeling": formulas.labeling,
                "moore_output": formulas.moore,
                "next_state": None if formulas.next_expr is None else to_source(formulas.next_expr),
                "output": to_source(formulas.out_expr),
            }
            kind = "stateless" if formulas.next_expr is None else "formula"
            return LoopProgram(
                kind, src, True, True, _count(src), _describe(details), details
            ), machine
        src = emit_table(machine, names, doc)
        details = {"states": machine.n_states}
        program = LoopProgram("table", src, True, machine.closed, _count(src), "", details)
        if machine.closed:
            return program, machine
        counter = fit_counter(model, inputs, names, timeout=min(8.0, timeout / 4))
        if counter is not None:
            src = emit_formulas(counter, names, doc)
            details = {
                "labeling": counter.labeling,
                "moore_output": counter.moore,
                "next_state": to_source(counter.next_expr) if counter.next_expr else None,
                "output": to_source(counter.out_expr),
            }
            return LoopProgram(
                "formula", src, True, True, _count(src), _describe(details), details
            ), machine
    fit = fit_recurrence(model, inputs, _recurrence_tolerance(model))
    if fit is not None:
        details, expression = fit
        src = emit_recurrence(details, d, doc)
        return LoopProgram(
            "recurrence", src, True, True, _count(src), f"y = {expression}", details
        ), machine
    if machine is not None:
        return program, machine
    return LoopProgram("none", "", False, False, 0, "no machine and no linear recurrence"), None


def _recurrence_tolerance(model: SequenceRNN) -> float:
    out = model.config.output
    if out.kind == "values" and not out.integer:
        return out.tolerance
    return 0.49  # integer values: read back by rounding


def _count(src: str) -> int:
    """Lines of code: not blank, not comments, not the docstring."""
    import ast

    skip: set[int] = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.FunctionDef) and ast.get_docstring(node) is not None:
            doc = node.body[0]
            skip.update(range(doc.lineno, (doc.end_lineno or doc.lineno) + 1))
    return sum(
        1
        for number, line in enumerate(src.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in skip
    )


def _describe(details: dict[str, Any]) -> str:
    if details.get("next_state") is None:
        return f"y = {details['output']}"
    out = details["output"]
    if details["moore_output"]:
        return f"s = {details['next_state']}; y = {out}"
    return f"y = {out}; s = {details['next_state']}"
