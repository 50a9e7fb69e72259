"""Discretise an RNN's hidden state and build its finite-state machine, then minimise it.

A hidden vector's *key* is its behaviour, read through the network's own output head: its output
and the outputs after each probe symbol (and pair of symbols, for small alphabets). Where the
behaviour does not separate states whose futures differ (the data shows it as a transition that
is not deterministic), the key also takes a geometric cluster of the vector, at the largest
radius for which at least 99.9% of observed transitions follow one next state. The states on
the data, plus the transitions the data never took (queried from the network's cell), make a
Mealy machine over the alphabet; partition refinement then merges states with the same future
(Moore's algorithm, which gives the same minimal machine as Hopcroft's).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..zoo.sequence.model import SequenceRNN

MAX_ALPHABET = 1024
MAX_STATES = 50_000
RADII = (0.3, 0.1, 0.03, 0.01, 0.003, 0.001)  # times the states' RMS spread


@dataclass
class Machine:
    """next[s, a] (-1 where unknown: the state lies beyond what the data and the network showed)
    and out[s, a], the output on that step; state `initial` before the first input."""

    symbols: np.ndarray  # (k, d) int64: the alphabet, one row per symbol
    next: np.ndarray  # (n, k) int64
    out: np.ndarray  # (n, k) int64
    initial: int
    reps: np.ndarray  # (n, hidden): a hidden vector of each state
    observed: np.ndarray  # (n, k) bool: the transition was taken on the data (not queried)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def n_states(self) -> int:
        return int(self.next.shape[0])

    @property
    def closed(self) -> bool:
        return bool((self.next >= 0).all())

    def run(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs (n, length) and a mask of steps the machine could take (False past unknowns)."""
        return self.run_index(symbol_index(self.symbols, xs))

    def run_index(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`run` on symbol indices (n, length), -1 for a symbol outside the alphabet."""
        state = np.full(len(index), self.initial)
        out = np.zeros(index.shape, dtype=np.int64)
        ok = np.ones(index.shape, dtype=bool)
        alive = np.ones(len(index), dtype=bool)
        for t in range(index.shape[1]):
            a = index[:, t]
            alive &= a >= 0
            safe_state, safe_a = np.where(alive, state, 0), np.where(alive, a, 0)
            nxt = self.next[safe_state, safe_a]
            alive &= nxt >= 0
            out[:, t] = np.where(alive, self.out[safe_state, safe_a], 0)
            ok[:, t] = alive
            state = np.where(alive, nxt, 0)
        return out, ok


def alphabet(model: SequenceRNN) -> np.ndarray:
    """Every combination of each integer input's values seen in training: (k, d)."""
    ranges = [np.arange(int(s.low), int(s.high) + 1) for s in model.config.inputs]
    return np.array(list(itertools.product(*ranges)), dtype=np.int64).reshape(-1, len(ranges))


def is_grid(symbols: np.ndarray) -> bool:
    """Are the symbols every combination of each component's range (itertools.product order)?"""
    lows, highs = symbols.min(0), symbols.max(0)
    return len(symbols) == int(np.prod(highs - lows + 1))


def symbol_index(symbols: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Index into `symbols` of each step of xs (n, length[, d]); -1 for unknown symbols."""
    xs = xs[:, :, None] if xs.ndim == 2 else xs
    if not is_grid(symbols):  # a set of values (token ids): look each one up
        flat = xs.reshape(-1, xs.shape[2])
        lookup = {tuple(row): i for i, row in enumerate(symbols.tolist())}
        found = [lookup.get(tuple(row), -1) for row in flat.tolist()]
        return np.array(found, dtype=np.int64).reshape(xs.shape[:2])
    lows, highs = symbols.min(0), symbols.max(0)
    sizes = highs - lows + 1
    inside = ((xs >= lows) & (xs <= highs)).all(-1)
    index = np.zeros(xs.shape[:2], dtype=np.int64)
    for j in range(xs.shape[2]):  # itertools.product order: the last component varies fastest
        index = index * sizes[j] + np.clip(xs[..., j] - lows[j], 0, sizes[j] - 1)
    return np.where(inside, index, -1)


class _Cell:
    """The network's cell and output head on batches of hidden vectors, in NumPy."""

    def __init__(self, model: SequenceRNN, symbols: np.ndarray) -> None:
        import torch

        self.torch = torch
        self.model = model
        with torch.no_grad():
            self.encoded = model.encode(torch.as_tensor(symbols))  # (k, encoded)

    def step(self, h: np.ndarray, a: np.ndarray) -> np.ndarray:
        torch, out = self.torch, []
        with torch.no_grad():
            for start in range(0, len(h), 65536):
                hh = torch.as_tensor(h[start : start + 65536], dtype=torch.float32)
                out.append(self.model.step(hh, self.encoded[a[start : start + 65536]]).numpy())
        return np.concatenate(out).astype(np.float64) if out else h.copy()

    def output(self, h: np.ndarray) -> np.ndarray:
        torch, out = self.torch, []
        with torch.no_grad():
            for start in range(0, len(h), 65536):
                hh = torch.as_tensor(h[start : start + 65536], dtype=torch.float32)
                out.append(self.model.read(self.model.g(hh)))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _probes(k: int) -> list[tuple[int, ...]]:
    """Probe strings (symbol indices) whose outputs make up a state's behavioural key."""
    singles = (
        list(range(k)) if k <= 16 else sorted({int(round(i)) for i in np.linspace(0, k - 1, 16)})
    )
    probes: list[tuple[int, ...]] = [(a,) for a in singles]
    if k <= 4:
        probes += [(a, b) for a in range(k) for b in range(k)]
        if k <= 2:
            probes += [(a, b, c) for a in range(k) for b in range(k) for c in range(k)]
    return probes


def _signatures(cell: _Cell, h: np.ndarray, probes: list[tuple[int, ...]]) -> np.ndarray:
    """(n, 1 + len(probes)) int64: the output of each vector and after each probe string."""
    columns = [cell.output(h)]
    cache: dict[tuple[int, ...], np.ndarray] = {(): h}
    for probe in probes:
        for depth in range(1, len(probe) + 1):
            prefix = probe[:depth]
            if prefix not in cache:
                cache[prefix] = cell.step(cache[prefix[:-1]], np.full(len(h), prefix[-1]))
        columns.append(cell.output(cache[probe]))
    return np.stack(columns, axis=1)


def _geometric(points: np.ndarray, radius: float) -> np.ndarray:
    """Single-linkage clusters at `radius` (connected components of the radius graph)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    grid = np.floor(points / (radius / 4)).astype(np.int64)
    cells, inverse = np.unique(grid, axis=0, return_inverse=True)
    centres = (cells + 0.5) * (radius / 4)
    pairs = cKDTree(centres).query_pairs(radius, output_type="ndarray")
    n = len(cells)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels[inverse.ravel()]


def _majority(keys: np.ndarray, symbols: np.ndarray, nxt: np.ndarray) -> tuple[np.ndarray, float]:
    """The most frequent next state of each (state, symbol) pair seen in the data, as rows
    (state, symbol, next), and the share of observed transitions that agree with it."""
    rows, counts = np.unique(np.stack([keys, symbols, nxt], axis=1), axis=0, return_counts=True)
    order = np.lexsort((-counts, rows[:, 1], rows[:, 0]))  # per pair, the most frequent first
    rows, counts = rows[order], counts[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:, :2] != rows[:-1, :2]).any(1)
    return rows[first], float(counts[first].sum() / max(1, counts.sum()))


CONSISTENCY = 0.999  # share of observed transitions that must follow one next state per pair


def build_machine(
    model: SequenceRNN, inputs: np.ndarray, *, max_states: int = MAX_STATES
) -> Machine:
    """The minimal Mealy machine of the network's cell, discretised on `inputs` (n, length, d)."""
    symbols = alphabet(model)
    k = len(symbols)
    cell = _Cell(model, symbols)
    _, states = model.run(inputs)  # (n, length + 1, hidden)
    assert states is not None
    n, steps = inputs.shape[0], inputs.shape[1]
    flat = states.reshape(-1, states.shape[-1])  # point i = (sequence i // (steps+1), t)
    sym = symbol_index(symbols, inputs)  # (n, length)
    probes = _probes(k)
    signatures = _signatures(cell, flat, probes)
    spread = float(np.sqrt(((flat - flat.mean(0)) ** 2).sum(-1).mean())) or 1.0

    # Keys of states late in a sequence rest on probes past the training length, where the
    # network was never trained: only transitions into states early enough to probe are used.
    depth = max(len(p) for p in probes)
    usable = max(1, steps - depth)
    source = (np.arange(n)[:, None] * (steps + 1) + np.arange(usable)[None, :]).ravel()
    target = source + 1
    step_symbols = sym[:, :usable].ravel()

    chosen_radius: float | None = None
    geometry = np.zeros(len(flat), dtype=np.int64)
    _, keys = np.unique(signatures, axis=0, return_inverse=True)
    keys = keys.ravel()
    rows, consistency = _majority(keys[source], step_symbols, keys[target])
    if consistency < CONSISTENCY:
        for factor in RADII:
            geometry = _geometric(flat, factor * spread)
            _, keys = np.unique(
                np.concatenate([signatures, geometry[:, None]], axis=1), axis=0, return_inverse=True
            )
            keys = keys.ravel()
            rows, consistency = _majority(keys[source], step_symbols, keys[target])
            chosen_radius = factor * spread
            if consistency >= CONSISTENCY:
                break

    n_states = int(keys.max()) + 1
    # A representative per state: its first point. Outputs per state: the signature's first column.
    first = np.full(n_states, -1)
    order = np.arange(len(keys))[::-1]
    first[keys[order]] = order
    reps = flat[first]
    state_output = signatures[first, 0]
    nxt = np.full((n_states, k), -1, dtype=np.int64)
    nxt[rows[:, 0], rows[:, 1]] = rows[:, 2]
    observed = nxt >= 0

    # Fill the transitions the data never took by asking the network's cell.
    missing = np.argwhere(nxt < 0)
    queried = new_states = 0
    key_index = {
        tuple(row): i for i, row in enumerate(_state_key_rows(signatures, geometry, first))
    }
    tree = None
    if chosen_radius is not None:
        from scipy.spatial import cKDTree

        unique_points, unique_index = np.unique(flat, axis=0, return_index=True)
        tree = cKDTree(unique_points)  # duplicates would make the tree recurse too deep
    if len(missing) and len(missing) * (1 + len(probes)) <= 2_000_000:
        h_new = cell.step(reps[missing[:, 0]], missing[:, 1])
        sig_new = _signatures(cell, h_new, probes)
        geo_new = np.zeros(len(h_new), dtype=np.int64)
        if tree is not None and chosen_radius is not None:
            distance, nearest = tree.query(h_new, distance_upper_bound=chosen_radius)
            hit = np.minimum(nearest, len(unique_index) - 1)
            geo_new = np.where(np.isfinite(distance), geometry[unique_index[hit]], -1)
        queried = len(missing)
        rows = np.concatenate([sig_new, geo_new[:, None]], axis=1)
        for (s, a), row in zip(missing.tolist(), map(tuple, rows.tolist()), strict=True):
            target_state = key_index.get(row)
            if target_state is not None and row[-1] != -1:
                nxt[s, a] = target_state
            else:
                new_states += 1  # beyond the data: left unknown
    machine = Machine(symbols, nxt, np.zeros_like(nxt), int(keys[0]), reps, observed)
    machine.out = np.where(nxt >= 0, state_output[np.maximum(nxt, 0)], 0)
    raw_states = machine.n_states
    machine = minimise(machine)
    machine.stats = {
        "alphabet": k,
        "probe_strings": len(probes),
        "points": len(flat),
        "radius": None if chosen_radius is None else round(chosen_radius, 6),
        "consistency_on_data": round(consistency, 6),
        "states_on_data": raw_states,
        "transitions_queried": queried,
        "transitions_beyond_data": new_states,
        "states_minimal": machine.n_states,
        "closed": machine.closed,
    }
    return machine


def _state_key_rows(signatures: np.ndarray, geometry: np.ndarray, first: np.ndarray) -> np.ndarray:
    return np.concatenate([signatures[first], geometry[first][:, None]], axis=1)


def minimise(machine: Machine) -> Machine:
    """Merge states with the same outputs and futures (unknown transitions count as a distinct
    target, so a state with unknowns is never merged with one that has none); keep only the
    states reachable from the initial one."""
    nxt, out = machine.next, machine.out
    _, block = np.unique(
        np.where(nxt >= 0, out, np.iinfo(np.int64).min), axis=0, return_inverse=True
    )
    block = block.ravel()
    while True:
        successor = np.where(nxt >= 0, block[np.maximum(nxt, 0)], -1)
        _, refined = np.unique(
            np.concatenate([block[:, None], successor], axis=1), axis=0, return_inverse=True
        )
        refined = refined.ravel()
        if refined.max() == block.max():
            break
        block = refined
    # Reachable blocks from the initial state, numbered in breadth-first order.
    number = {int(block[machine.initial]): 0}
    queue = [machine.initial]
    members: list[int] = [machine.initial]
    while queue:
        s = queue.pop(0)
        for a in range(nxt.shape[1]):
            t = int(nxt[s, a])
            if t >= 0 and int(block[t]) not in number:
                number[int(block[t])] = len(number)
                queue.append(t)
                members.append(t)
    m = len(number)
    new_next = np.full((m, nxt.shape[1]), -1, dtype=np.int64)
    new_out = np.zeros((m, nxt.shape[1]), dtype=np.int64)
    new_observed = np.zeros((m, nxt.shape[1]), dtype=bool)
    for s, b in enumerate(block.tolist()):
        if b in number:
            new_observed[number[b]] |= machine.observed[s]
    for s in members:
        i = number[int(block[s])]
        defined = nxt[s] >= 0
        new_next[i, defined] = [number[int(block[t])] for t in nxt[s, defined]]
        new_out[i, defined] = out[s, defined]
    return Machine(
        machine.symbols, new_next, new_out, 0, machine.reps[members], new_observed, machine.stats
    )
