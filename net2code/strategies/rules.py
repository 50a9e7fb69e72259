"""The recurrent block as a cellular automaton: discretise, learn the rule table, simplify, emit.

1. Discretise. Each pixel's state is read through the network's own head: s_t = 1 when the net
   currently predicts "on the path" there (walls are 0), the probe "not yet filled". The rule
   starts after a few warm-up iterations, once the bits depend only on the pixel kind.
2. Learn the table from the network's trajectories on many mazes: the key is the pixel's kind
   (open, start, end), its bit and the bits of its 4 neighbours; the value is the majority
   outcome of the runs of that key (see `learn_rule`).
3. Candidates: the full table; by neighbour count (totalistic), if the table depends on the
   neighbours only through their number; and "deletion only" (dead stays dead, a live pixel's
   fate by its count), which ignores the network's rare revivals. Each is run to its fixed
   point (no iteration count to guess) on fresh mazes and the one that agrees with the network
   most often is kept. If its answers equal dead-end filling's on all of them, it is named so
   and emitted as dead-end filling.

The candidates are the strategies `deletion-only`, `by-count` and `rule-table`, simplest first;
the family's checks verify the one kept. The emitted `program(kinds)` iterates the rule to its
fixed point, and its NumPy variant does the same for a batch of mazes (n, H, W).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..program import Code, SizedByLines
from .base import Candidate

if TYPE_CHECKING:
    import torch

    from ..zoo.thinking.model import DTNet

WALL, OPEN, START, END = 0, 1, 2, 3  # pixel kinds, as in net2code.zoo.thinking.data

KIND_NAMES = {OPEN: "open", START: "start", END: "end"}
N_KEYS = 4 * 2 * 16  # kind x bit x neighbour pattern


def neighbour_pattern(bits: np.ndarray) -> np.ndarray:
    """4-bit code of the up, down, left, right neighbours' bits (outside the grid: 0)."""
    b = bits.astype(np.int64)
    code = np.zeros_like(b)
    code[..., 1:, :] |= b[..., :-1, :] << 0  # up
    code[..., :-1, :] |= b[..., 1:, :] << 1  # down
    code[..., :, 1:] |= b[..., :, :-1] << 2  # left
    code[..., :, :-1] |= b[..., :, 1:] << 3  # right
    return code


POPCOUNT = np.array([bin(i).count("1") for i in range(16)])


def keys_of(kinds: np.ndarray, bits: np.ndarray) -> np.ndarray:
    return (kinds.astype(np.int64) * 2 + bits) * 16 + neighbour_pattern(bits)


@dataclass
class RuleTable:
    """next bit by (kind, bit, neighbour pattern); initial bit by kind."""

    table: np.ndarray  # (4, 2, 16) uint8
    initial: np.ndarray  # (4,) uint8
    counts: np.ndarray  # (4, 2, 16, 2) transitions seen with next bit 0 / 1
    initial_counts: np.ndarray  # (4, 2)
    stats: dict[str, Any] = field(default_factory=dict)
    form: str = "table"  # "table", "by count", "deletion only" (", all alive at first")
    name: str | None = None  # set when the rule is recognised (dead-end filling)

    @property
    def seen(self) -> np.ndarray:
        return self.counts.sum(-1) > 0

    def consistency(self) -> float:
        """Share of the runs read (flips and settled stays) that the majority table reproduces."""
        total = self.counts.sum()
        return float(self.counts.max(-1).sum() / total) if total else 1.0

    def totalistic(self) -> np.ndarray | None:
        """(4, 2, 5) table by neighbour count if every seen pattern with the same count agrees."""
        out = np.full((4, 2, 5), -1, dtype=np.int64)
        for kind in (OPEN, START, END):
            for bit in (0, 1):
                for pattern in range(16):
                    if not self.seen[kind, bit, pattern]:
                        continue
                    c = POPCOUNT[pattern]
                    value = int(self.table[kind, bit, pattern])
                    if out[kind, bit, c] not in (-1, value):
                        return None
                    out[kind, bit, c] = value
        # an unseen count takes the value of the nearest seen count below (else above), so a
        # threshold seen on some counts extends to all; a row with nothing seen keeps the bit
        for kind in range(4):
            for bit in (0, 1):
                row = out[kind, bit]
                seen = [c for c in range(5) if row[c] >= 0]
                for c in range(5):
                    if row[c] < 0:
                        below = [s for s in seen if s < c]
                        above = [s for s in seen if s > c]
                        near = below[-1] if below else (above[0] if above else None)
                        row[c] = out[kind, bit, near] if near is not None else bit
                if kind == WALL:
                    row[:] = 0
        return out

    def deletion_only(self, min_share: float = 0.02) -> RuleTable:
        """Dead pixels stay dead; a live pixel's fate is the majority over its neighbour count.
        Counts holding under `min_share` of a row's runs take the nearest better-seen count."""
        by_count = np.zeros((4, 2, 5), dtype=np.int64)
        for kind in (OPEN, START, END):
            row = np.zeros((5, 2), dtype=np.int64)
            np.add.at(row, POPCOUNT, self.counts[kind, 1])
            total = max(1, int(row.sum()))
            seen = [c for c in range(5) if row[c].sum() >= max(1, min_share * total)]
            for c in range(5):
                near = min(seen, key=lambda s: (abs(s - c), s)) if seen else None
                by_count[kind, 1, c] = int(row[near].argmax()) if near is not None else 1
        return RuleTable(
            table=by_count[:, :, POPCOUNT].astype(np.uint8),
            initial=self.initial.copy(),
            counts=self.counts,
            initial_counts=self.initial_counts,
            stats=dict(self.stats),
            form="deletion only",
        )

    def by_count(self) -> RuleTable | None:
        tot = self.totalistic()
        if tot is None:
            return None
        return RuleTable(
            table=tot[:, :, POPCOUNT].astype(np.uint8),
            initial=self.initial.copy(),
            counts=self.counts,
            initial_counts=self.initial_counts,
            stats=dict(self.stats),
            form="by count",
        )

    def count_table(self) -> np.ndarray | None:
        """(4, 2, 5) by neighbour count, read off the table itself if it is totalistic."""
        representative = np.array([0, 1, 3, 7, 15])
        out = self.table[:, :, representative]
        return out if np.array_equal(out[:, :, POPCOUNT], self.table) else None

    def is_dead_end_filling(self) -> bool:
        """Seen entries match: open cells die at <= 1 live neighbour, live otherwise; endpoints
        stay alive; dead stays dead; all non-wall pixels start alive."""
        if not (self.initial[OPEN] == 1 and self.initial[START] == 1 and self.initial[END] == 1):
            return False
        for kind in (OPEN, START, END):
            for bit in (0, 1):
                for pattern in range(16):
                    if not self.seen[kind, bit, pattern]:
                        continue
                    want = 0 if bit == 0 else int(kind != OPEN or POPCOUNT[pattern] >= 2)
                    if int(self.table[kind, bit, pattern]) != want:
                        return False
        # the deciding entries must have been seen, or the name is a guess
        counts_seen = {int(POPCOUNT[p]) for p in range(16) if self.seen[OPEN, 1, p]}
        return {1, 2} <= counts_seen

    def run(self, kinds: np.ndarray, max_steps: int | None = None) -> tuple[np.ndarray, int, bool]:
        """Iterate to the fixed point on (..., H, W) kinds; (bits, steps, converged)."""
        bits = self.initial[kinds].astype(np.int64)
        limit = max_steps if max_steps is not None else 4 * kinds.shape[-1] * kinds.shape[-2]
        flat = self.table.reshape(-1)
        for step in range(limit):
            new = flat[keys_of(kinds, bits)].astype(np.int64)
            new[kinds == WALL] = 0
            if np.array_equal(new, bits):
                return bits.astype(np.uint8), step, True
            bits = new
        return bits.astype(np.uint8), limit, False

    def to_dict(self) -> dict[str, Any]:
        tot = self.totalistic()
        return {
            "name": self.name,
            "form": self.form,
            "table_is_dead_end_filling": self.is_dead_end_filling(),
            "consistency": round(self.consistency(), 6),
            "keys_seen": int(self.seen[1:].sum()),
            "keys_total": 3 * 2 * 16,
            "totalistic": tot is not None,
            "initial": {KIND_NAMES[k]: int(self.initial[k]) for k in (OPEN, START, END)},
            "table": self.table.tolist(),
            "by_count": tot.tolist() if tot is not None else None,
            **self.stats,
        }


def _readout_bits(model: DTNet, state: torch.Tensor, walls: torch.Tensor) -> torch.Tensor:
    bits = model.readout(state).argmax(1)  # (batch, H, W)
    bits[walls] = 0
    return bits


Encode = Callable[[np.ndarray], np.ndarray]  # pixel kinds (n, H, W) -> network inputs (n, C, H, W)


def choose_warmup(
    model: DTNet, kinds: np.ndarray, encode: Encode, longest: int = 8
) -> tuple[int, float]:
    """The first iteration at which the bits are a function of the pixel kind on >= 99% of
    non-wall pixels (the rule's start state), else the purest one; (iteration, purity)."""
    import torch

    x = torch.from_numpy(encode(kinds))
    walls = torch.from_numpy(kinds == WALL)
    open_ = kinds != WALL
    best = (0, -1.0)
    with torch.no_grad():
        state = model.initial_state(x)
        for t in range(longest + 1):
            if t:
                state = model.step(state, x, t - 1)
            bits = _readout_bits(model, state, walls).numpy()
            table = np.zeros((4, 2), dtype=np.int64)
            np.add.at(table, (kinds[open_], bits[open_]), 1)
            purity = float(table.max(1).sum() / max(1, open_.sum()))
            if purity >= 0.99:
                return t, purity
            if purity > best[1]:
                best = (t, purity)
    return best


def learn_rule(
    model: DTNet,
    mazes: Sequence[np.ndarray],
    encode: Encode,
    warmup: np.ndarray | None = None,
    iters: int | None = None,
    batch: int = 50,
    progress: bool = False,
) -> RuleTable:
    """Collect the network's bit trajectories on each stack of mazes (n, H, W) in `mazes` (one
    stack per size) and tabulate them.

    The network may take several iterations for what the rule does in one, so transitions are
    read per run: while a pixel's key (kind, bit, neighbour bits) stays the same, does the pixel
    flip (the key leads to the other bit) or stay until the trajectory has settled (the key
    keeps its bit)? Runs cut short by a neighbour's change say neither and are only counted.
    When neighbours flip in the same iteration as the pixel, the key uses their new bits.
    The rule starts after `choose_warmup` iterations, once the bits depend only on the pixel
    kind (a network may first light up the maze). A trajectory runs until no bit changed for 5
    iterations, or `iters` (default (size + 2)^2 / 2) iterations; a maze that never settles has
    its final runs cut short. `warmup` (mazes of the first size) chooses that start."""
    import torch
    from tqdm.auto import tqdm

    counts = np.zeros((N_KEYS, 2), dtype=np.int64)
    initial_counts = np.zeros((4, 2), dtype=np.int64)
    runs = censored = 0
    model.eval()
    start_mazes = mazes[0][:batch] if warmup is None else warmup
    warmup_iters, purity = choose_warmup(model, start_mazes, encode)
    for stack in tqdm(mazes, disable=not progress, desc="learn rule", unit="size"):
        size = stack.shape[-1] - 2
        limit = iters if iters is not None else (size + 2) ** 2 // 2
        x_all = torch.from_numpy(encode(stack))
        for start in range(0, len(stack), batch):
            kinds = stack[start : start + batch]
            x = x_all[start : start + batch]
            walls = torch.from_numpy(kinds == WALL)
            open_ = kinds != WALL
            with torch.no_grad():
                state = model.initial_state(x)
                for t in range(warmup_iters):
                    state = model.step(state, x, t)
                bits = _readout_bits(model, state, walls).numpy()
                np.add.at(initial_counts, (kinds[open_], bits[open_]), 1)
                key = keys_of(kinds, bits)
                still = np.zeros(len(kinds), dtype=np.int64)  # iterations without a change
                for t in range(warmup_iters, limit):
                    state = model.step(state, x, t)
                    new = _readout_bits(model, state, walls).numpy()
                    new_key = keys_of(kinds, new)
                    ended = (new_key != key) & open_
                    flipped = ended & (new != bits)
                    # neighbours that flip in the same iteration flip first: the network may
                    # do several rule steps per iteration (sound for monotone rules)
                    flip_key = (kinds.astype(np.int64) * 2 + bits) * 16 + neighbour_pattern(new)
                    np.add.at(counts, (flip_key[flipped], new[flipped]), 1)
                    runs += int(flipped.sum())
                    censored += int((ended & ~flipped).sum())
                    changed = (new != bits).reshape(len(kinds), -1).any(1)
                    still = np.where(changed, 0, still + 1)
                    bits, key = new, new_key
                    if (still >= 5).all():
                        break
                settled = (still >= 5)[:, None, None] & open_
                np.add.at(counts, (key[settled], bits[settled]), 1)
                runs += int(settled.sum())
                censored += int((open_ & ~settled).sum())
    table = counts.argmax(-1).astype(np.uint8)
    unseen = counts.sum(-1) == 0
    keep_bit = (np.arange(N_KEYS) // 16) % 2
    table[unseen] = keep_bit[unseen]
    table = table.reshape(4, 2, 16)
    table[WALL] = 0
    initial = initial_counts.argmax(-1).astype(np.uint8)
    initial[WALL] = 0
    rule = RuleTable(
        table=table,
        initial=initial,
        counts=counts.reshape(4, 2, 16, 2),
        initial_counts=initial_counts,
    )
    by_count = rule.totalistic()
    if by_count is not None:  # unseen patterns follow their neighbour count
        rule.table = by_count[:, :, POPCOUNT].astype(np.uint8)
    rule.stats = {
        "sizes": [int(stack.shape[-1]) - 2 for stack in mazes],
        "mazes_per_size": [len(stack) for stack in mazes],
        "runs_read": runs,
        "runs_cut_short": censored,
        "warmup_iterations": warmup_iters,
        "start_purity": round(purity, 6),
    }
    return rule


# --- the program ------------------------------------------------------------------------------

_NEIGHBOURS = '''
def live_neighbours(bits):
    """How many of the 4 neighbours are alive (outside the grid counts as dead); works on one
    maze (H, W) or a stack (n, H, W)."""
    n = np.zeros_like(bits)
    n[..., 1:, :] += bits[..., :-1, :]
    n[..., :-1, :] += bits[..., 1:, :]
    n[..., :, 1:] += bits[..., :, :-1]
    n[..., :, :-1] += bits[..., :, 1:]
    return n
'''

_DEAD_END_STEP = '''

def step(alive, kinds):
    """One synchronous step, as one iteration of the network: a live open pixel that is not an
    endpoint dies when at most one of its 4 neighbours is alive."""
    endpoint = (kinds == 2) | (kinds == 3)
    return (alive & ((live_neighbours(alive) >= 2) | endpoint)).astype(np.int8)
'''

_DEAD_END = '''

def program(kinds):
    """Dead-end filling to its fixed point. Deaths only make more deaths possible, so the
    fixed point does not depend on the order: a work list reaches the one `step` reaches, in
    time linear in the number of pixels instead of one sweep per iteration."""
    kinds = np.asarray(kinds)
    h, w = kinds.shape
    alive = (kinds != 0).astype(np.int8)
    degree = live_neighbours(alive)
    endpoint = (kinds == 2) | (kinds == 3)
    todo = [divmod(int(i), w) for i in np.flatnonzero((alive == 1) & (degree <= 1) & ~endpoint)]
    while todo:
        r, c = todo.pop()
        if not alive[r, c]:
            continue
        alive[r, c] = 0
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < h and 0 <= nc < w and alive[nr, nc]:
                degree[nr, nc] -= 1
                if degree[nr, nc] <= 1 and not endpoint[nr, nc]:
                    todo.append((nr, nc))
    return alive.astype(np.uint8)
'''

_DEAD_END_BATCH = '''

def program(kinds):
    """Dead-end filling on a stack of mazes (n, H, W), one synchronous step at a time, to the
    fixed point."""
    kinds = np.asarray(kinds)
    alive = (kinds != 0).astype(np.int8)
    for _ in range(kinds[0].size + 1):
        new = step(alive, kinds)
        if np.array_equal(new, alive):
            break
        alive = new
    return alive.astype(np.uint8)
'''

_TABLES = """
# NEXT[kind][bit][{index}] -> next bit; kinds 0 wall, 1 open, 2 start, 3 end.
NEXT = np.array(
{table},
    dtype=np.int8,
)
INITIAL = np.array({initial}, dtype=np.int8)
"""

_PATTERN = '''

def pattern(bits):
    """The 4 neighbours' bits as a code: up + 2 down + 4 left + 8 right."""
    p = np.zeros_like(bits)
    p[..., 1:, :] |= bits[..., :-1, :]
    p[..., :-1, :] |= bits[..., 1:, :] << 1
    p[..., :, 1:] |= bits[..., :, :-1] << 2
    p[..., :, :-1] |= bits[..., :, 1:] << 3
    return p
'''

_ITERATE = '''

def program(kinds, max_steps=None):
    """{doc}"""
    kinds = np.asarray(kinds)
    bits = INITIAL[kinds]
    for _ in range(max_steps or 4 * kinds.shape[-1] * kinds.shape[-2]):
        new = NEXT[kinds, bits, {index}(bits)]
        if np.array_equal(new, bits):
            break
        bits = new
    return bits.astype(np.uint8)
'''

_ALIAS = """

solve = program  # the name before net2code 0.2; kept for one release
"""


def _rows(table: np.ndarray) -> str:
    """A (4, 2, k) table as a list literal, one (kind, bit) row per line."""
    lines = ["    ["]
    for kind in range(4):
        lines.append("        [")
        for bit in range(2):
            lines.append(f"            {table[kind, bit].tolist()},")
        lines.append("        ],")
    lines.append("    ]")
    return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class RuleProgram(SizedByLines):
    """A cellular automaton on maze pixels: `program(kinds)` runs it to its fixed point."""

    rule: RuleTable
    kind: str = "rule"

    @property
    def named(self) -> bool:
        return self.rule.name == "dead-end filling"

    @property
    def summary(self) -> str:
        return self.rule.name or f"a cellular automaton ({self.rule.form})"

    def usage(self) -> str:
        return (
            "Usage: program(kinds) with kinds a maze as pixel kinds (H, W): 0 wall, 1 open, "
            "2 start, 3 end (the compact grid); it returns 1 on the path. The rule runs to its "
            "fixed point, so any maze size works."
        )

    def run(self, kinds: np.ndarray) -> np.ndarray:
        """The rule's fixed point on one maze (H, W)."""
        return self.rule.run(kinds, max_steps=4 * kinds.size)[0]

    def _body(self, batch: bool) -> str:
        if self.named:
            return _NEIGHBOURS + _DEAD_END_STEP + (_DEAD_END_BATCH if batch else _DEAD_END)
        by_count = self.rule.count_table()
        if by_count is not None:
            tables = _TABLES.format(
                index="live neighbours", table=_rows(by_count), initial=self.rule.initial.tolist()
            )
            doc = "The extracted totalistic rule, iterated to its fixed point."
            return tables + _NEIGHBOURS + _ITERATE.format(doc=doc, index="live_neighbours")
        tables = _TABLES.format(
            index="pattern", table=_rows(self.rule.table), initial=self.rule.initial.tolist()
        )
        doc = "The extracted rule table, iterated to its fixed point."
        return tables + _PATTERN + _ITERATE.format(doc=doc, index="pattern")

    def python(self) -> Code:
        return Code(("import numpy as np",), self._body(batch=False) + _ALIAS)

    def numpy(self) -> Code:
        return Code(("import numpy as np",), self._body(batch=True))


def describe(rule: RuleTable) -> str:
    """The rule in words, one line per (kind, bit) that does something."""
    tot = rule.count_table()
    if rule.name == "dead-end filling":
        return (
            "dead-end filling: every non-wall pixel starts alive; a live open pixel that is not "
            "an endpoint dies when at most one of its 4 neighbours is alive"
        )
    if tot is None:
        return f"a rule table over neighbour patterns ({int(rule.seen[1:].sum())} keys seen)"
    lines = []
    for kind in (OPEN, START, END):
        for bit in (0, 1):
            row = tot[kind, bit]
            becomes = [c for c in range(5) if row[c] != bit]
            if becomes:
                lines.append(
                    f"a {KIND_NAMES[kind]} pixel with bit {bit} flips at {becomes} live neighbours"
                )
    return "; ".join(lines) or "nothing changes"


def dead_end_filling_rule() -> RuleTable:
    """Dead-end filling as a rule table: the reference a learned rule is compared with."""
    by_count = np.zeros((4, 2, 5), dtype=np.int64)
    by_count[OPEN, 1, 2:] = 1
    by_count[START, 1, :] = 1
    by_count[END, 1, :] = 1
    empty = np.zeros((4, 2, 16, 2), dtype=np.int64)
    return RuleTable(
        table=by_count[:, :, POPCOUNT].astype(np.uint8),
        initial=np.array([0, 1, 1, 1], dtype=np.uint8),
        counts=empty,
        initial_counts=np.zeros((4, 2), dtype=np.int64),
        form="by count",
        name="dead-end filling",
    )


# --- the strategies -----------------------------------------------------------------------------
@dataclass(repr=False)
class IterationBehaviour:
    """The iterated family's observation: the network, fresh problems of the training size with
    the network's answers at its stopping rule, and (for mazes) the rule table learned from its
    trajectories, computed on first use."""

    model: DTNet
    problem: str  # "maze" or "bits"
    problems: np.ndarray  # (n, H, W) pixel kinds, or (n, L) bits
    answers: np.ndarray  # the network's answers, same shape
    learn: Callable[[], RuleTable] | None = None
    _learned: RuleTable | None = field(default=None, init=False)

    @property
    def learned(self) -> RuleTable:
        if self._learned is None:
            assert self.learn is not None, "a rule table needs mazes"
            self._learned = self.learn()
        return self._learned

    def agreement(self, outputs: np.ndarray) -> np.ndarray:
        """Per problem: do `outputs` equal the network's answers (walls excluded)?  # (n,)"""
        counted = self.problems != WALL if self.problem == "maze" else np.ones_like(self.answers)
        same = (outputs == self.answers) | ~counted.astype(bool)
        return same.reshape(len(same), -1).all(1)

    def __repr__(self) -> str:
        return f"IterationBehaviour({len(self.problems)} {self.problem} problems)"


def _maze_candidate(
    name: str, rule: RuleTable, observation: IterationBehaviour, simplicity: str
) -> Candidate:
    """Run `rule` to its fixed point on the observed mazes; name it dead-end filling when its
    answers are dead-end filling's on all of them."""
    program = RuleProgram(rule)
    outputs = np.stack([program.run(k) for k in observation.problems])
    agree = observation.agreement(outputs)
    reference = np.stack([dead_end_filling_rule().run(k)[0] for k in observation.problems])
    counted = observation.problems != WALL
    same = (((outputs == reference) | ~counted).reshape(len(outputs), -1).all(1)).mean()
    if same == 1.0:
        rule.name = "dead-end filling"
    stats = {
        "form": rule.form,
        "simplicity": simplicity,
        "agreement_with_network": float(agree.mean()),
        "same_answers_as_dead_end_filling": float(same),
        "selection_mazes": len(outputs),
        "description": describe(rule),
        **rule.to_dict(),
    }
    return Candidate(name, RuleProgram(rule), exact=bool(agree.all()), stats=stats)


def _needs_mazes(observation: IterationBehaviour) -> str | None:
    return None if observation.problem == "maze" else "needs mazes (2-D problems)"


class DeletionOnly:
    """Dead pixels stay dead; a live pixel's fate by its live-neighbour count. When the learned
    start is not "every open pixel alive" (a network may remove dead ends in its first
    iterations), the same rule started from all alive is tried too; the better one is kept."""

    name = "deletion-only"

    def applicable(self, observation: IterationBehaviour) -> str | None:
        return _needs_mazes(observation)

    def search(
        self, observation: IterationBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        deletion = observation.learned.deletion_only()
        best = _maze_candidate(self.name, deletion, observation, "deletion only")
        if not (deletion.initial[1:] == 1).all():
            from_all = deletion.deletion_only()
            from_all.initial = np.array([0, 1, 1, 1], dtype=np.uint8)
            from_all.form = "deletion only, all alive at first"
            other = _maze_candidate(self.name, from_all, observation, "deletion only")
            if other.stats["agreement_with_network"] > best.stats["agreement_with_network"]:
                best = other
        return best


class ByCount:
    """The learned table, read by live-neighbour count (when it depends on the neighbours
    only through their number)."""

    name = "by-count"

    def applicable(self, observation: IterationBehaviour) -> str | None:
        reason = _needs_mazes(observation)
        if reason is None and observation.learned.by_count() is None:
            return "the learned table is not totalistic"
        return reason

    def search(
        self, observation: IterationBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        rule = observation.learned.by_count()
        assert rule is not None
        return _maze_candidate(self.name, rule, observation, "by count")


class RuleTableStrategy:
    """The learned table itself, keyed by (pixel kind, bit, the 4 neighbours' bits)."""

    name = "rule-table"

    def applicable(self, observation: IterationBehaviour) -> str | None:
        return _needs_mazes(observation)

    def search(
        self, observation: IterationBehaviour, *, timeout: float, progress: bool = False
    ) -> Candidate:
        learned = observation.learned
        rule = RuleTable(
            learned.table.copy(),
            learned.initial.copy(),
            learned.counts,
            learned.initial_counts,
            dict(learned.stats),
        )
        return _maze_candidate(self.name, rule, observation, "table")
