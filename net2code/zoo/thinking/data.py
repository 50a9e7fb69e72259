"""Data made locally from a seed: mazes by randomised depth-first search, and prefix-sum parity.

A maze is an array of pixel kinds (WALL, OPEN, START, END) on the compact grid: an n x n maze
has c = (n + 1) / 2 cells a side and 2c + 1 pixels a side (cells on odd pixels, walls between).
Its label marks the unique shortest path, endpoints included. Mazes are trees (perfect mazes),
so the path is read off the depth-first tree in O(path) and every label is checked.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError

WALL, OPEN, START, END = 0, 1, 2, 3
# Pixel colours as in the easy-to-hard data: open white, walls black, start green, end red.
COLOURS = np.array([[0, 0, 0], [1, 1, 1], [0, 1, 0], [1, 0, 0]], dtype=np.float32)
MAX_MAZE_SIZE = 401
MAX_BITS = 100_000


@dataclass(frozen=True)
class Mazes:
    kinds: np.ndarray  # (n, H, W) uint8 pixel kinds
    labels: np.ndarray  # (n, H, W) uint8, 1 on the path

    @property
    def size(self) -> int:
        """The maze size n (interior pixels a side) on the compact grid."""
        return int(self.kinds.shape[-1]) - 2

    def __len__(self) -> int:
        return int(self.kinds.shape[0])

    def inputs(self) -> np.ndarray:
        """RGB images (n, 3, H, W) float32."""
        return np.ascontiguousarray(COLOURS[self.kinds].transpose(0, 3, 1, 2))


def check_maze_size(size: int) -> int:
    """Cells a side for an n x n maze; n must be odd and at least 3."""
    if not isinstance(size, int | np.integer) or size < 3 or size % 2 == 0:
        raise ConfigError(f"maze size {size} must be an odd integer >= 3 (e.g. 9, 13, 21, 33)")
    if size > MAX_MAZE_SIZE:
        raise ConfigError(f"maze size {size} is above the limit of {MAX_MAZE_SIZE}")
    return (int(size) + 1) // 2


def _one_maze(cells: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    side = 2 * cells + 1
    kinds = np.zeros((side, side), dtype=np.uint8)
    n = cells * cells
    start, end = (int(v) for v in rng.choice(n, size=2, replace=False))
    parent = np.full(n, -1, dtype=np.int64)
    seen = np.zeros(n, dtype=bool)
    seen[start] = True
    stack = [start]
    kinds[1::2, 1::2] = OPEN
    steps = ((-1, 0), (1, 0), (0, -1), (0, 1))
    while stack:
        cell = stack[-1]
        r, c = divmod(cell, cells)
        options = [
            (r + dr) * cells + c + dc
            for dr, dc in steps
            if 0 <= r + dr < cells and 0 <= c + dc < cells and not seen[(r + dr) * cells + c + dc]
        ]
        if not options:
            stack.pop()
            continue
        nxt = options[int(rng.integers(len(options)))]
        nr, nc = divmod(nxt, cells)
        kinds[r + nr + 1, c + nc + 1] = OPEN  # knock down the wall between the two cells
        seen[nxt] = True
        parent[nxt] = cell
        stack.append(nxt)
    label = np.zeros_like(kinds)
    cell = end
    while True:
        r, c = divmod(cell, cells)
        label[2 * r + 1, 2 * c + 1] = 1
        if cell == start:
            break
        pr, pc = divmod(int(parent[cell]), cells)
        label[r + pr + 1, c + pc + 1] = 1
        cell = int(parent[cell])
    sr, sc = divmod(start, cells)
    er, ec = divmod(end, cells)
    kinds[2 * sr + 1, 2 * sc + 1] = START
    kinds[2 * er + 1, 2 * ec + 1] = END
    return kinds, label


def make_mazes(count: int, size: int, seed: int = 0, check: bool = True) -> Mazes:
    """`count` n x n mazes (n = `size`), deterministic from `seed`; labels checked if `check`."""
    cells = check_maze_size(size)
    if count < 1:
        raise ConfigError(f"maze count {count} must be >= 1")
    rng = np.random.default_rng([int(seed), int(size)])
    pairs = [_one_maze(cells, rng) for _ in range(count)]
    mazes = Mazes(np.stack([k for k, _ in pairs]), np.stack([lab for _, lab in pairs]))
    if check:
        bad = [i for i in range(count) if not is_valid_path(mazes.kinds[i], mazes.labels[i])]
        if bad:
            raise AssertionError(f"maze generator made {len(bad)} invalid labels (first {bad[0]})")
    return mazes


MAX_ENUMERATED_MAZE = 5  # 13,824 mazes; the next size, 7, has about 24 million


@functools.cache
def _spanning_trees(cells: int) -> list[list[tuple[int, int]]]:
    """Every spanning tree of the cells x cells grid graph, as lists of edges (cell, cell)."""
    edges = [(r * cells + c, r * cells + c + 1) for r in range(cells) for c in range(cells - 1)] + [
        (r * cells + c, (r + 1) * cells + c) for r in range(cells - 1) for c in range(cells)
    ]
    trees = []
    for chosen in itertools.combinations(edges, cells * cells - 1):
        parent = list(range(cells * cells))

        def root(v: int, parent: list[int] = parent) -> int:
            while parent[v] != v:
                parent[v] = parent[parent[v]]
                v = parent[v]
            return v

        for a, b in chosen:
            ra, rb = root(a), root(b)
            if ra == rb:
                break
            parent[ra] = rb
        else:
            trees.append(list(chosen))
    return trees


def maze_count(size: int) -> int:
    """How many n x n mazes `all_mazes` gives: spanning trees x ordered start-end pairs."""
    cells = check_maze_size(size)
    return len(_spanning_trees(cells)) * cells * cells * (cells * cells - 1)


def all_mazes(size: int) -> Mazes:
    """Every n x n maze (n = `size` <= 5): every spanning tree of the cell grid with every
    ordered pair of distinct start and end cells, labels included. 48 mazes at 3, 13,824 at 5."""
    cells = check_maze_size(size)
    if size > MAX_ENUMERATED_MAZE:
        raise ConfigError(
            f"maze size {size} has too many mazes to enumerate; the limit is {MAX_ENUMERATED_MAZE}"
        )
    side = 2 * cells + 1
    kinds_list, labels = [], []
    for tree in _spanning_trees(cells):
        base = np.zeros((side, side), dtype=np.uint8)
        base[1::2, 1::2] = OPEN
        for a, b in tree:
            (r1, c1), (r2, c2) = divmod(a, cells), divmod(b, cells)
            base[r1 + r2 + 1, c1 + c2 + 1] = OPEN
        for start, end in itertools.permutations(range(cells * cells), 2):
            kinds = base.copy()
            sr, sc = divmod(start, cells)
            er, ec = divmod(end, cells)
            kinds[2 * sr + 1, 2 * sc + 1] = START
            kinds[2 * er + 1, 2 * ec + 1] = END
            kinds_list.append(kinds)
            labels.append(tree_path(kinds))
    return Mazes(np.stack(kinds_list), np.stack(labels))


def tree_path(kinds: np.ndarray) -> np.ndarray:
    """The unique start-end path of a tree maze, by breadth-first search."""
    from collections import deque

    h, w = kinds.shape
    start = tuple(int(v) for v in np.argwhere(kinds == START)[0])
    end = tuple(int(v) for v in np.argwhere(kinds == END)[0])
    parent = {start: start}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if (r, c) == end:
            break
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < h and 0 <= nc < w and kinds[nr, nc] != WALL and (nr, nc) not in parent:
                parent[(nr, nc)] = (r, c)
                queue.append((nr, nc))
    label = np.zeros_like(kinds)
    node = end
    while node != start:
        label[node] = 1
        node = parent[node]
    label[start] = 1
    return label


def all_bit_strings(bits: int) -> PrefixSums:
    """Every string of `bits` bits (at most 20) with its running parity."""
    if not 1 <= bits <= 20:
        raise ConfigError(f"bit-string length {bits} must be in 1..20 to enumerate every string")
    x = ((np.arange(2**bits)[:, None] >> np.arange(bits)[::-1]) & 1).astype(np.uint8)
    return PrefixSums(x, (np.cumsum(x, axis=1) % 2).astype(np.uint8))


def neighbour_count(mask: np.ndarray) -> np.ndarray:
    """Number of 4-neighbours set in `mask` (..., H, W), zero outside the grid."""
    m = mask.astype(np.int16)
    out = np.zeros_like(m)
    out[..., 1:, :] += m[..., :-1, :]
    out[..., :-1, :] += m[..., 1:, :]
    out[..., :, 1:] += m[..., :, :-1]
    out[..., :, :-1] += m[..., :, 1:]
    return out


def is_tree(kinds: np.ndarray) -> bool:
    """Open pixels are connected and have no loop (edges = pixels - 1)."""
    open_ = kinds != WALL
    edges = int((open_[1:, :] & open_[:-1, :]).sum() + (open_[:, 1:] & open_[:, :-1]).sum())
    return edges == int(open_.sum()) - 1 and _connected(open_)


def _connected(mask: np.ndarray) -> bool:
    from scipy.ndimage import label as components

    _, count = components(mask)
    return int(count) == 1


def is_valid_path(kinds: np.ndarray, label: np.ndarray) -> bool:
    """`label` is a simple path of open pixels from START to END (so, in a tree, the shortest)."""
    on = label.astype(bool)
    if (on & (kinds == WALL)).any():
        return False
    ends = (kinds == START) | (kinds == END)
    if int(ends.sum()) != 2 or not on[ends].all():
        return False
    degree = neighbour_count(on)
    if (degree[ends] != 1).any() or (degree[on & ~ends] != 2).any():
        return False
    return _connected(on)


def enlarge(grid: np.ndarray) -> np.ndarray:
    """The paper's format: each pixel becomes 2 x 2 and a 1-pixel border (wall) is added."""
    big = np.repeat(np.repeat(grid, 2, axis=-2), 2, axis=-1)
    pad = [(0, 0)] * (grid.ndim - 2) + [(1, 1), (1, 1)]
    return np.pad(big, pad)


@dataclass(frozen=True)
class PrefixSums:
    bits: np.ndarray  # (n, L) uint8
    labels: np.ndarray  # (n, L) uint8, the running sum mod 2

    def __len__(self) -> int:
        return int(self.bits.shape[0])

    @property
    def size(self) -> int:
        return int(self.bits.shape[1])

    def inputs(self) -> np.ndarray:
        """(n, 1, L) float32."""
        return self.bits[:, None, :].astype(np.float32)


def make_prefix_sums(count: int, bits: int, seed: int = 0) -> PrefixSums:
    """`count` random bit strings of length `bits` with their running parity."""
    if not isinstance(bits, int | np.integer) or bits < 1 or bits > MAX_BITS:
        raise ConfigError(f"bit-string length {bits} must be in 1..{MAX_BITS}")
    if count < 1:
        raise ConfigError(f"count {count} must be >= 1")
    rng = np.random.default_rng([int(seed), int(bits), 7])
    x = rng.integers(0, 2, size=(count, bits), dtype=np.uint8)
    return PrefixSums(x, (np.cumsum(x, axis=1) % 2).astype(np.uint8))
