"""Black-box automata from any causal sequence network: L* for Mealy machines, and one-counter
machines where no finite machine fits.

Both see the network only through an oracle, (n, L, d) symbols -> (n, L) output codes, so they
apply to RNNs, GRUs, LSTMs, transformers and net2code's own RNNs alike.

* `learn_mealy`: Angluin's L* for Mealy machines (Shahbaz and Groz's variant), with the
  Rivest-Schapire counterexample analysis (one new distinguishing suffix per counterexample).
  Membership queries are answered in batches: every query a round needs is collected first,
  then run as a few padded forward passes (the network is causal, so padding after a word's
  end never changes its outputs). Equivalence queries are (1) every sequence of the longest
  enumerable length N, against one forward pass cached up front, then (2) random words and
  state-cover walks at 10N. aalpy ships L* too, but its system-under-learning answers one word
  at a time, step by step: with a network that is one forward pass per query, thousands of
  times slower than batching them, so the learner is written here (about 150 lines).
* `fit_counter_machine`: a finite control x one integer counter c. Each symbol adds a fixed
  amount to c (-1, 0 or +1); the control reads the symbol and the counter's sign after the
  update, and gives the output. The control is identified exactly from every sequence up to
  length N (a backtracking search for the smallest consistent machine, level by level over the
  prefix tree), for each counter update; the one that also matches the network on the long
  walks wins. It emits a loop with `c += ...`, which runs at any length.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import Net2CodeError
from ..program import Code, Expr, SizedByLines, to_source
from .base import Candidate
from .loops import (
    DOC_ONE,
    Formulas,
    LoopProgram,
    SequenceBehaviour,
    _batch_head,
    _loop_head,
    _np,
    _search,
    _step_inputs,
    fit_formulas,
    fit_stateless,
    unpack_bits_numpy,
    unpack_bits_python,
)
from .machine import Machine, minimise

Oracle = Callable[[np.ndarray], np.ndarray]  # (n, L, d) symbols -> (n, L) output codes
Word = tuple[int, ...]  # symbol indices

MAX_STATES = 64
FORMULA_SECONDS = 12.0  # the search for transition/output formulas, in all
COUNTER_SECONDS = 20.0  # the search for a counter machine, in all
LONG_WORDS = 200
PREFIX_CACHE_LENGTH = 64  # words up to this long also cache every prefix's outputs


# ---------------------------------------------------------------------------- membership
class QueryTooLong(Exception):
    """A query past the longest input the network takes (a traced length, position
    embeddings): learning stops with what it has."""


class Queries:
    """Membership queries, cached and batched: `ask` runs every unknown word in a few padded
    forward passes; `out` then reads a word's outputs (one per step)."""

    def __init__(self, oracle: Oracle, symbols: np.ndarray, longest: int | None = None) -> None:
        self.oracle = oracle
        self.symbols = symbols  # (k, d)
        self.longest = longest
        self.cache: dict[Word, tuple[int, ...]] = {(): ()}
        self.sequences = 0  # words run through the network
        self.calls = 0

    def ask(self, words: list[Word]) -> None:
        todo = sorted({w for w in words if w not in self.cache}, key=len)
        if self.longest is not None and todo and len(todo[-1]) > self.longest:
            raise QueryTooLong(
                f"a query of length {len(todo[-1])} is past the longest input the network "
                f"takes ({self.longest})"
            )
        start = 0
        while start < len(todo):  # buckets of lengths within a factor of 2, padded to the longest
            end = start
            while end < len(todo) and len(todo[end]) <= 2 * len(todo[start]) + 4:
                end += 1
            bucket = todo[start:end]
            longest = len(bucket[-1])
            index = np.zeros((len(bucket), longest), dtype=np.int64)
            for i, w in enumerate(bucket):
                index[i, : len(w)] = w
            outputs = self.oracle(self.symbols[index])  # (n, longest)
            self.calls += 1
            self.sequences += len(bucket)
            for i, w in enumerate(bucket):
                row = tuple(int(v) for v in outputs[i, : len(w)])
                self.cache[w] = row
                if len(w) <= PREFIX_CACHE_LENGTH:
                    for t in range(1, len(w)):
                        self.cache.setdefault(w[:t], row[:t])
            start = end

    def out(self, word: Word) -> tuple[int, ...]:
        if word not in self.cache:
            self.ask([word])
        return self.cache[word]


# ---------------------------------------------------------------------------- L*
@dataclass
class Learned:
    """What L* returns: the machine, and how it got there."""

    machine: Machine
    exhaustive_length: int
    agrees_long: bool | None  # None: no long walks ran (the network cannot take them)
    stats: dict[str, Any] = field(default_factory=dict)


class _Table:
    """The observation table: access words S (prefix-closed, pairwise distinct rows) and
    suffixes E; row(u) = the outputs on the last |e| steps of u.e for each e."""

    def __init__(self, queries: Queries, k: int) -> None:
        self.q = queries
        self.k = k
        self.S: list[Word] = [()]
        self.E: list[Word] = [(a,) for a in range(k)]

    def row(self, u: Word) -> tuple[tuple[int, ...], ...]:
        return tuple(self.q.out(u + e)[len(u) :] for e in self.E)

    def fill(self, words: list[Word]) -> None:
        self.q.ask([u + e for u in words for e in self.E])

    def close(self, max_states: int) -> bool:
        """Add access words until every one-symbol extension's row is some state's row.
        False when that would pass `max_states`."""
        while True:
            frontier = [s + (a,) for s in self.S for a in range(self.k)]
            self.fill(self.S + frontier)
            rows = {self.row(s): i for i, s in enumerate(self.S)}
            new = next((u for u in frontier if self.row(u) not in rows), None)
            if new is None:
                return True
            if len(self.S) >= max_states:
                return False
            self.S.append(new)

    def hypothesis(self, symbols: np.ndarray) -> Machine:
        """The machine of the table; an extension whose row is no state's (a table the state
        budget left open) leads nowhere (-1)."""
        rows = {self.row(s): i for i, s in enumerate(self.S)}
        n = len(self.S)
        nxt = np.zeros((n, self.k), dtype=np.int64)
        out = np.zeros((n, self.k), dtype=np.int64)
        for i, s in enumerate(self.S):
            for a in range(self.k):
                nxt[i, a] = rows.get(self.row(s + (a,)), -1)
                out[i, a] = self.q.out(s + (a,))[-1]
        return Machine(
            symbols=symbols,
            next=nxt,
            out=out,
            initial=0,
            reps=np.zeros((n, 0)),
            observed=nxt >= 0,
        )

    def refine(self, machine: Machine, word: Word) -> None:
        """Rivest-Schapire: find the step at which the hypothesis's state stops predicting the
        network, and add the rest of the word as a new suffix."""
        m = len(word)
        states = [machine.initial]
        for a in word:
            states.append(int(machine.next[states[-1], a]))
        queries = [self.S[states[i]] + word[i:] for i in range(m + 1)]
        self.q.ask(queries)
        predicted = _outputs_from(machine, states, word)
        agree = [self.q.out(queries[i])[len(self.S[states[i]]) :] == predicted[i] for i in range(m)]
        agree.append(True)
        i = max(j for j in range(m) if not agree[j])
        suffix = word[i + 1 :]
        if suffix and suffix not in self.E:
            self.E.append(suffix)
        else:  # cannot happen with a consistent table; fall back to every suffix
            self.E.extend(s for s in (word[j:] for j in range(1, m)) if s not in self.E)


def _outputs_from(machine: Machine, states: list[int], word: Word) -> list[tuple[int, ...]]:
    """predicted[i]: the hypothesis's outputs on word[i:] from the state after word[:i]."""
    m = len(word)
    result: list[tuple[int, ...]] = []
    for i in range(m):
        s, outs = states[i], []
        for a in word[i:]:
            outs.append(int(machine.out[s, a]))
            s = int(machine.next[s, a])
        result.append(tuple(outs))
    return result


def _first_disagreement(machine: Machine, words: np.ndarray, reference: np.ndarray) -> Word | None:
    """The shortest prefix of the first word on which machine and network differ."""
    predicted, ok = machine.run_index(words)
    wrong = (predicted != reference) | ~ok
    rows = np.flatnonzero(wrong.any(1))
    if not len(rows):
        return None
    lengths = wrong[rows].argmax(1)
    best = rows[lengths.argmin()]
    t = int(wrong[best].argmax())
    return tuple(int(a) for a in words[best, : t + 1])


def learn_mealy(
    oracle: Oracle,
    symbols: np.ndarray,
    exhaustive_length: int,
    *,
    long_length: int | None,
    max_states: int = MAX_STATES,
    timeout: float = 60.0,
    seed: int = 0,
    longest: int | None = None,
) -> Learned:
    """L* with the network as the oracle; see the module docstring. The machine returned agrees
    with the network on every word up to `exhaustive_length` (when the state budget allows)."""
    start = time.perf_counter()
    k = len(symbols)
    queries = Queries(oracle, symbols, longest)
    table = _Table(queries, k)
    n = exhaustive_length
    words = np.indices((k,) * n).reshape(n, -1).T if n else np.zeros((1, 0), dtype=np.int64)
    reference = oracle(symbols[words]) if n else np.zeros((1, 0), dtype=np.int64)
    queries.calls += 1
    queries.sequences += len(words)
    stats: dict[str, Any] = {"counterexamples_exhaustive": 0, "counterexamples_long": 0}

    def out_of_time() -> bool:
        return time.perf_counter() - start > timeout

    state: dict[str, Any] = {"exhaustive_ok": False, "found": None, "agrees_long": None}
    try:
        _lstar_rounds(
            table,
            symbols,
            words,
            reference,
            long_length,
            max_states,
            seed,
            stats,
            state,
            out_of_time,
        )
    except QueryTooLong as exc:
        stats["stopped"] = str(exc)
    exhaustive_ok, found, agrees_long = state["exhaustive_ok"], state["found"], state["agrees_long"]
    if found is None:
        try:
            found = table.hypothesis(symbols)
        except QueryTooLong:
            found = _trivial(symbols)
        stats.update(_stats(table, queries, start, exhaustive_ok, None))
        return Learned(found, n, None, stats)
    stats.update(_stats(table, queries, start, exhaustive_ok, agrees_long))
    return Learned(minimise(found), n, agrees_long, stats)


def _trivial(symbols: np.ndarray) -> Machine:
    """A one-state machine with no transitions (nothing could be learned)."""
    k = len(symbols)
    return Machine(
        symbols=symbols,
        next=np.full((1, k), -1, dtype=np.int64),
        out=np.zeros((1, k), dtype=np.int64),
        initial=0,
        reps=np.zeros((1, 0)),
        observed=np.zeros((1, k), dtype=bool),
    )


def _lstar_rounds(
    table: _Table,
    symbols: np.ndarray,
    words: np.ndarray,
    reference: np.ndarray,
    long_length: int | None,
    max_states: int,
    seed: int,
    stats: dict[str, Any],
    state: dict[str, Any],
    out_of_time: Callable[[], bool],
) -> None:
    """The L* loop; what it reaches is left in `state` (exhaustive_ok, found, agrees_long), so
    that a query past the network's longest input keeps everything learned before it."""
    k = len(symbols)
    oracle = table.q.oracle
    machine = table.hypothesis(symbols) if table.close(max_states) else None
    while machine is not None and not out_of_time():
        word = _first_disagreement(machine, words, reference)
        if word is None:
            state["exhaustive_ok"], state["found"] = True, machine
            stats["states_up_to_exhaustive_length"] = minimise(machine).n_states
            break
        stats["counterexamples_exhaustive"] += 1
        table.refine(machine, word)
        machine = table.hypothesis(symbols) if table.close(max_states) else None
    found = state["found"]
    if found is None or not long_length:
        return
    rng = np.random.default_rng(seed)
    budget = max(2 * found.n_states, found.n_states + 16, 8)
    current: Machine | None = found
    while current is not None and not out_of_time():
        walks = np.array(_walks(current, table.S, k, long_length, rng))
        try:
            long_reference = oracle(symbols[walks])
        except Net2CodeError as exc:  # the network cannot take that length after all
            stats["long_walks_failed"] = str(exc)
            return
        state["agrees_long"] = False
        table.q.calls += 1
        table.q.sequences += len(walks)
        word = _first_disagreement(current, walks, long_reference)
        if word is None:
            state["found"], state["agrees_long"] = current, True
            return
        stats["counterexamples_long"] += 1
        table.refine(current, word)
        current = table.hypothesis(symbols) if table.close(min(budget, max_states)) else None
        if current is not None and _first_disagreement(current, words, reference) is not None:
            current = None  # cannot happen: the table only ever splits states


def _stats(
    table: _Table, queries: Queries, start: float, exhaustive: bool, long: bool | None
) -> dict[str, Any]:
    return {
        "access_words": len(table.S),
        "suffixes": len(table.E),
        "longest_suffix": max(len(e) for e in table.E),
        "membership_sequences": queries.sequences,
        "forward_calls": queries.calls,
        "agrees_up_to_exhaustive_length": exhaustive,
        "agrees_on_long_walks": long,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _walks(
    machine: Machine, access: list[Word], k: int, length: int, rng: np.random.Generator
) -> list[Word]:
    """Random words of `length`, and state-cover walks: each state's access word, each symbol,
    then a random tail (the W-method's idea without its exponential suffix set)."""
    walks = [tuple(int(a) for a in rng.integers(k, size=length)) for _ in range(LONG_WORDS)]
    for s in access[: machine.n_states]:
        for a in range(k):
            head = (*s, a)
            if len(head) < length:
                tail = rng.integers(k, size=length - len(head))
                walks.append(head + tuple(int(v) for v in tail))
    return walks


# ---------------------------------------------------------------------------- counters
@dataclass(frozen=True)
class CounterMachine:
    """c += delta[symbol]; z = sign(c); then the control machine over (symbol, z):
    `control.symbols` rows are (symbol components..., z)."""

    delta: tuple[int, ...]  # per symbol index
    control: Machine

    def run(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and a mask of steps the control could take.  # (n, L) symbol indices"""
        delta = np.array(self.delta, dtype=np.int64)
        c = np.cumsum(delta[index], axis=1) if index.size else np.zeros(index.shape, np.int64)
        z = np.sign(c)
        letters = index * 3 + (z + 1)
        control = self.control
        state = np.full(len(index), control.initial)
        out = np.zeros(index.shape, dtype=np.int64)
        ok = np.ones(index.shape, dtype=bool)
        alive = np.ones(len(index), dtype=bool)
        for t in range(index.shape[1]):
            a = letters[:, t]
            nxt = control.next[np.where(alive, state, 0), a]
            alive &= nxt >= 0
            out[:, t] = np.where(alive, control.out[np.where(alive, state, 0), a], 0)
            ok[:, t] = alive
            state = np.where(alive, nxt, 0)
        return out, ok


def _identify(
    parents: list[np.ndarray],
    letters: list[np.ndarray],
    outputs: list[np.ndarray],
    n_letters: int,
    m: int,
    deadline: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The (next, out) tables of an m-state Mealy machine over `n_letters` consistent with the
    prefix tree given level by level (each level: every node's parent index in the level above,
    the letter on its edge and the output there), or None. Backtracking over the transitions
    the tree reaches, level by level, new states numbered in order of first use."""
    nxt = np.full((m, n_letters), -1, dtype=np.int64)
    out = np.full((m, n_letters), -1, dtype=np.int64)

    def level(t: int, states: np.ndarray, used: int) -> tuple[np.ndarray, np.ndarray] | None:
        if t == len(parents):
            return nxt.copy(), out.copy()
        if time.perf_counter() > deadline:
            return None
        s = states[parents[t]]
        key = s * n_letters + letters[t]
        known = nxt.reshape(-1)[key] >= 0
        if (out.reshape(-1)[key[known]] != outputs[t][known]).any():
            return None
        fresh, where = np.unique(key[~known], return_inverse=True)
        for f_i in range(len(fresh)):  # one output per new transition
            values = outputs[t][~known][where == f_i]
            if (values != values[0]).any():
                return None
        firsts = [int(outputs[t][~known][where == i][0]) for i in range(len(fresh))]
        return assign(t, key, fresh.tolist(), firsts, 0, used)

    def assign(
        t: int, key: np.ndarray, fresh: list[int], firsts: list[int], i: int, used: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if i == len(fresh):
            return level(t + 1, nxt.reshape(-1)[key], used)
        f = fresh[i]
        for target in range(min(m, used + 1)):
            nxt.reshape(-1)[f], out.reshape(-1)[f] = target, firsts[i]
            found = assign(t, key, fresh, firsts, i + 1, max(used, target + 1))
            if found is not None:
                return found
        nxt.reshape(-1)[f], out.reshape(-1)[f] = -1, -1
        return None

    return level(0, np.zeros(1, dtype=np.int64), 1)


def _prefix_tree(
    index: np.ndarray, codes: np.ndarray, reference: np.ndarray, k: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Level by level over every word (index (n, N), all k^N words): each prefix node's parent
    (index into the level above), the letter code of its edge and the network's output."""
    n, length = index.shape
    parents, letters, outputs = [], [], []
    previous = np.zeros(n, dtype=np.int64)  # each row's node at the level above
    prefix = np.zeros(n, dtype=np.int64)
    for t in range(length):
        prefix = prefix * k + index[:, t]
        nodes, first, inverse = np.unique(prefix, return_index=True, return_inverse=True)
        parents.append(previous[first])
        letters.append(codes[first, t])
        outputs.append(reference[first, t])
        previous = inverse.reshape(-1)
        del nodes
    return parents, letters, outputs


def _deltas(k: int) -> list[tuple[int, ...]]:
    """Counter updates per symbol in {-1, 0, 1}, not all zero, first nonzero one positive (its
    mirror image gives the same machine with the sign flipped); fewest nonzero ones first."""
    found = [
        d for d in itertools.product((-1, 0, 1), repeat=k) if any(d) and next(v for v in d if v) > 0
    ]
    return sorted(found, key=lambda d: (sum(v != 0 for v in d), d))


def fit_counter_machine(
    oracle: Oracle,
    symbols: np.ndarray,
    exhaustive_length: int,
    *,
    long_length: int | None,
    max_control: int = 4,
    timeout: float = 60.0,
    seed: int = 0,
) -> tuple[CounterMachine | None, dict[str, Any]]:
    """The smallest counter machine that matches the network on every word up to N, preferring
    one that also matches random words at `long_length`; see the module docstring."""
    start = time.perf_counter()
    deadline = start + timeout
    k = len(symbols)
    if k > 6:
        return None, {"skipped": f"{k} symbols: too many counter updates to try (limit 6)"}
    n = exhaustive_length
    index = np.indices((k,) * n).reshape(n, -1).T
    reference = oracle(symbols[index])
    rng = np.random.default_rng(seed)
    stats: dict[str, Any] = {"updates_tried": 0}
    long_index = rng.integers(k, size=(LONG_WORDS, long_length)) if long_length else None
    long_reference = None
    if long_index is not None:
        try:
            long_reference = oracle(symbols[long_index])
        except Net2CodeError as exc:
            stats["long_walks_failed"] = str(exc)
            long_index = None
    for m in range(1, max_control + 1):
        fits: list[tuple[float, CounterMachine]] = []
        for delta in _deltas(k):
            if time.perf_counter() > deadline:
                stats["timed_out"] = True
                return None, stats
            stats["updates_tried"] += 1
            c = np.cumsum(np.array(delta)[index], axis=1)
            codes = index * 3 + (np.sign(c) + 1)
            parents, letters, outputs = _prefix_tree(index, codes, reference, k)
            tables = _identify(parents, letters, outputs, 3 * k, m, deadline)
            if tables is None:
                continue
            nxt, out = tables
            control_symbols = np.array(
                [[*symbols[a].tolist(), z] for a in range(k) for z in (-1, 0, 1)], dtype=np.int64
            )
            control = Machine(
                symbols=control_symbols,
                next=nxt,
                out=np.where(out >= 0, out, 0),
                initial=0,
                reps=np.zeros((m, 0)),
                observed=nxt >= 0,
            )
            machine = CounterMachine(delta, control)
            agreement = 1.0
            if long_index is not None and long_reference is not None:
                predicted, ok = machine.run(long_index)
                agreement = float(((predicted == long_reference) & ok).all(1).mean())
            fits.append((agreement, machine))
            if agreement == 1.0:
                break
        if fits:
            agreement, best = max(fits, key=lambda f: f[0])
            stats.update(
                control_states=m,
                delta=list(best.delta),
                long_agreement=agreement,
                seconds=round(time.perf_counter() - start, 3),
            )
            return best, stats
    stats["seconds"] = round(time.perf_counter() - start, 3)
    return None, stats


# ---------------------------------------------------------------------------- programs
@dataclass(frozen=True, repr=False)
class CounterProgram(SizedByLines):
    """`program(xs)`: an integer counter and a finite control over (input, counter sign)."""

    names: tuple[str, ...]
    machine: CounterMachine
    delta_expr: Expr | None  # c += delta_expr (None: a lookup table)
    formulas: Formulas | None  # the control as formulas in (s, inputs..., z); else a table
    bits: int | None = None
    kind: str = "counter-machine"
    general: bool = True

    @property
    def summary(self) -> str:
        delta = to_source(self.delta_expr) if self.delta_expr is not None else "DELTA[x]"
        control = (
            self.formulas.describe()
            if self.formulas is not None
            else f"a {self.machine.control.n_states}-state control table"
        )
        return f"c += {delta}; z = sign(c); {control}"

    def usage(self) -> str:
        step = self.names[0] if len(self.names) == 1 else f"({', '.join(self.names)})"
        return (
            f"Usage: program(xs) with xs a list of steps {step}, of any length; "
            "it returns one output per step."
        )

    def details(self) -> dict[str, Any]:
        control = self.machine.control
        return {
            "delta": dict(
                zip(
                    map(str, _symbol_keys(control.symbols[::3], self.names)),
                    self.machine.delta,
                    strict=True,
                )
            ),
            "control_states": control.n_states,
            "control": None if self.formulas is None else self.formulas.describe(),
        }

    def __repr__(self) -> str:
        return f"CounterProgram({self.summary})"

    def _delta_line(self, numpy: bool) -> str:
        if self.delta_expr is not None:
            return _np(self.delta_expr) if numpy else to_source(self.delta_expr)
        return "DELTA[x]"

    def python(self) -> Code:
        names = self.names
        control = self.machine.control
        x = names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"
        src = ""
        if self.delta_expr is None:
            keys = _symbol_keys(control.symbols[::3], names)
            table = dict(zip(keys, self.machine.delta, strict=True))
            src += f"DELTA = {table!r}  # the counter's change per input\n\n\n"
        if self.formulas is None:
            src += _control_table(control, names) + "\n\n"
        src += "def program(xs):\n" + DOC_ONE
        src += "    c = 0  # the counter\n"
        f = self.formulas
        start = f.start if f is not None else control.initial
        labeling = f"the control state: {f.labeling}" if f is not None else "the control state"
        if f is None or f.next_expr is not None:  # a control with more than one state
            src += f"    s = {start}  # {labeling}\n"
        src += "    ys = []\n" + _loop_head(names)
        delta = self._delta_line(False).replace("DELTA[x]", f"DELTA[{x}]")
        src += f"        c += {delta}\n"
        src += "        z = (c > 0) - (c < 0)  # the counter's sign\n"
        if f is None:
            src += f"        if ({x}, z) not in STEP[s]:\n"
            message = f'f"input {{{x}!r}}, counter sign {{z}}, state {{s}}: beyond the machine"'
            src += f"            raise ValueError({message})\n"
            src += f"        s, y = STEP[s][{x}, z]\n        ys.append(y)\n"
        else:
            nxt = None if f.next_expr is None else to_source(f.next_expr)
            out = to_source(f.out_expr)
            if nxt is None:
                src += f"        ys.append({out})\n"
            elif f.moore:
                src += f"        s = {nxt}\n        ys.append({out})\n"
            else:
                src += f"        ys.append({out})\n        s = {nxt}\n"
        src += "    return ys\n"
        return Code((), unpack_bits_python(src, self.bits))

    def numpy(self) -> Code | None:
        f = self.formulas
        if f is None or self.delta_expr is None:
            return None
        state = (
            []
            if f.next_expr is None
            else [f"s = np.full(xs.shape[0], {f.start}, dtype=np.int64)  # the control state"]
        )
        src = _batch_head(
            "np.int64", ("c = np.zeros(xs.shape[0], dtype=np.int64)  # the counter", *state)
        )
        src += _step_inputs(self.names)
        src += f"        c = c + {self._delta_line(True)}\n        z = np.sign(c)\n"
        if f.next_expr is None:
            src += f"        ys[:, t] = {_np(f.out_expr)}\n"
        elif f.moore:
            src += f"        s = {_np(f.next_expr)}\n        ys[:, t] = {_np(f.out_expr)}\n"
        else:
            src += f"        ys[:, t] = {_np(f.out_expr)}\n        s = {_np(f.next_expr)}\n"
        src += "    return ys\n"
        return Code(("import numpy as np",), unpack_bits_numpy(src, self.bits))


def _symbol_keys(symbols: np.ndarray, names: tuple[str, ...]) -> list[Any]:
    rows = [tuple(int(v) for v in row[: len(names)]) for row in symbols]
    return [r[0] for r in rows] if len(names) == 1 else rows


def _control_table(control: Machine, names: tuple[str, ...]) -> str:
    """STEP[state][(input, z)] = (next state, output), one entry per line."""
    keys: list[Any] = []
    for row in control.symbols.tolist():
        step = row[0] if len(names) == 1 else tuple(row[:-1])
        keys.append((step, row[-1]))
    rows = []
    for s in range(control.n_states):
        entries = [
            f"        {keys[a]!r}: ({int(control.next[s, a])}, {int(control.out[s, a])}),"
            for a in range(len(keys))
            if control.next[s, a] >= 0
        ]
        rows.append("    {\n" + "\n".join(entries) + "\n    },")
    head = "STEP = [  # STEP[state][input, counter sign] = (next state, output)\n"
    return head + "\n".join(rows) + "\n]\n"


# ---------------------------------------------------------------------------- strategies
def _black_box(observation: SequenceBehaviour) -> str | None:
    if observation.oracle is None or observation.symbols is None:
        return "needs a finite alphabet to query the network on"
    if not observation.integer_outputs:
        return "needs discrete outputs (argmax, bits or round readout)"
    if not observation.exhaustive_length:
        return "needs an enumerable length (len:...)"
    return None


def grows_with_length(observation: SequenceBehaviour, learned: Learned) -> str | None:
    """Why the machine looks like it counts: it has more states when every sequence up to N is
    checked than up to N/2 (a finite language's machine stops growing); else None."""
    n = learned.exhaustive_length
    full = learned.stats.get("states_up_to_exhaustive_length")
    if n < 4 or full is None:
        return None
    half = observation.learned_at(n // 2).stats.get("states_up_to_exhaustive_length")
    if half is not None and half < full:
        return f"{half} states up to length {n // 2}, {full} up to {n}"
    return None


class LStar:
    """Black-box: the minimal Mealy machine by L*, emitted as formulas where they fit."""

    name = "lstar"

    def applicable(self, observation: SequenceBehaviour) -> str | None:
        return _black_box(observation)

    def search(
        self, observation: SequenceBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        learned = observation.learned(timeout / 2)
        machine = learned.machine
        names = observation.names
        formula_timeout = min(FORMULA_SECONDS / 4, timeout / 8)
        deadline = time.perf_counter() + min(FORMULA_SECONDS, timeout / 4)
        formulas = None
        if machine.closed and machine.n_states == 1:
            formulas = fit_stateless(machine, names, formula_timeout)
        elif machine.closed and machine.n_states <= 32:
            formulas = fit_formulas(machine, names, formula_timeout, deadline)
        if formulas is not None:
            kind = "stateless" if formulas.next_expr is None else "formula"
            program = LoopProgram(
                kind, names, True, formulas, machine=machine, bits=observation.bits
            )
        else:
            program = LoopProgram(
                "table", names, machine.closed, machine=machine, bits=observation.bits
            )
        growth = grows_with_length(observation, learned)
        stats = {
            **learned.stats,
            "states": machine.n_states,
            "closed": machine.closed,
            "grows_with_length": growth,
        }
        exact = bool(learned.stats.get("agrees_up_to_exhaustive_length")) and growth is None
        exact = exact and learned.agrees_long is not False
        return Candidate(self.name, program, exact, stats=stats)


class CounterMachineStrategy:
    """Black-box: a one-counter machine (finite control x one integer counter)."""

    name = "counter-machine"

    def applicable(self, observation: SequenceBehaviour) -> str | None:
        return _black_box(observation)

    def search(
        self, observation: SequenceBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        assert observation.oracle is not None and observation.symbols is not None
        assert observation.exhaustive_length is not None
        learned = observation.learned(timeout / 4)
        growth = grows_with_length(observation, learned)
        if growth is None and learned.stats.get("agrees_up_to_exhaustive_length"):
            reason = (
                f"L* found a {learned.machine.n_states}-state machine that does not grow with "
                "the length: no counter is needed"
            )
            return Candidate(self.name, None, exact=False, stats={"skipped": reason})
        machine, stats = fit_counter_machine(
            observation.oracle,
            observation.symbols,
            observation.exhaustive_length,
            long_length=observation.long_length,
            timeout=min(COUNTER_SECONDS, timeout / 2),
            seed=observation.seed,
        )
        if machine is None:
            return Candidate(self.name, None, exact=False, stats=stats)
        names = observation.names
        formula_timeout = min(FORMULA_SECONDS / 4, timeout / 8)
        deadline = time.perf_counter() + min(FORMULA_SECONDS, timeout / 4)
        delta_expr = _search(observation.symbols, np.array(machine.delta), names, formula_timeout)
        control = machine.control
        control_names = (*names, "z")
        if control.n_states == 1:
            formulas = fit_stateless(control, control_names, formula_timeout)
        else:
            formulas = fit_formulas(control, control_names, formula_timeout, deadline)
        program = CounterProgram(names, machine, delta_expr, formulas, bits=observation.bits)
        # Exact on every sequence up to N by construction; how far the network itself keeps
        # counting beyond is what the long checks report (stats: long_agreement).
        return Candidate(self.name, program, True, stats=stats)
