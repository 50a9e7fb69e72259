"""Dead-end filling, the rule the network's recurrent block runs.

Extracted by net2code from maze-recall (59472 parameters).
Input: a maze as pixel kinds (H, W): 0 wall, 1 open, 2 start, 3 end (compact grid).
Output: 1 on the predicted path. The rule is iterated to its fixed point, so any maze size works.
"""

import numpy as np


def live_neighbours(bits):
    """How many of the 4 neighbours are alive (outside the grid counts as dead)."""
    n = np.zeros_like(bits)
    n[1:, :] += bits[:-1, :]
    n[:-1, :] += bits[1:, :]
    n[:, 1:] += bits[:, :-1]
    n[:, :-1] += bits[:, 1:]
    return n


def step(alive, kinds):
    """One synchronous step, as one iteration of the network: a live open pixel that is not an
    endpoint dies when at most one of its 4 neighbours is alive."""
    endpoint = (kinds == 2) | (kinds == 3)
    return (alive & ((live_neighbours(alive) >= 2) | endpoint)).astype(np.int8)


def solve(kinds):
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
