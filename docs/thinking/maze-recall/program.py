"""dead-end filling

Extracted by net2code 0.2.0 from the iterated network recall dt_net on maze (width
32, 59,472 parameters) (/work/main/runs/thinking/maze-recall).
Strategy: deletion-only. Domain: maze:5x5.
NOT VERIFIED: 13,775/13,824 mazes agree with the network (99.646%): program_numpy.py
on every 5x5 maze (13,824), against the network's answer at its stopping rule
(exhaustive); result.json lists the inputs that disagree.
Other checks:
- program.py: 13,775/13,824 mazes agree with the network (99.646%): program.py on
every 5x5 maze, one at a time, against the network's answer at its stopping rule
(exhaustive).
- network at 9: 100/100 mazes agree with the network (100%): program.py on 100
held-out problems of size 9, against the network at its stopping rule (both timed on
them) (sampled, beyond the domain).
- truth at 9: 100/100 mazes agree with the ground truth (100%): program.py against
the true answer on the same 100 problems (sampled, beyond the domain).
- network at 13: 100/100 mazes agree with the network (100%): program.py on 100
held-out problems of size 13, against the network at its stopping rule (both timed
on them) (sampled, beyond the domain).
- truth at 13: 100/100 mazes agree with the ground truth (100%): program.py against
the true answer on the same 100 problems (sampled, beyond the domain).
- network at 21: 99/100 mazes agree with the network (99.000%): program.py on 100
held-out problems of size 21, against the network at its stopping rule (both timed
on them) (sampled, beyond the domain).
- truth at 21: 100/100 mazes agree with the ground truth (100%): program.py against
the true answer on the same 100 problems (sampled, beyond the domain).
- network at 33: 95/100 mazes agree with the network (95.000%): program.py on 100
held-out problems of size 33, against the network at its stopping rule (both timed
on them) (sampled, beyond the domain).
- truth at 33: 100/100 mazes agree with the ground truth (100%): program.py against
the true answer on the same 100 problems (sampled, beyond the domain).
- network at 59: 27/30 mazes agree with the network (90.000%): program.py on 30
held-out problems of size 59, against the network at its stopping rule (both timed
on them) (sampled, beyond the domain).
- truth at 59: 30/30 mazes agree with the ground truth (100%): program.py against
the true answer on the same 30 problems (sampled, beyond the domain).
- truth at 201: 20/20 mazes agree with the ground truth (100%): program.py against
the true answer on 20 problems too large to run the network on here (sampled, beyond
the domain).

Usage: program(kinds) with kinds a maze as pixel kinds (H, W): 0 wall, 1 open, 2
start, 3 end (the compact grid); it returns 1 on the path. The rule runs to its
fixed point, so any maze size works.
"""

import numpy as np


def live_neighbours(bits):
    """How many of the 4 neighbours are alive (outside the grid counts as dead); works on one
    maze (H, W) or a stack (n, H, W)."""
    n = np.zeros_like(bits)
    n[..., 1:, :] += bits[..., :-1, :]
    n[..., :-1, :] += bits[..., 1:, :]
    n[..., :, 1:] += bits[..., :, :-1]
    n[..., :, :-1] += bits[..., :, 1:]
    return n


def step(alive, kinds):
    """One synchronous step, as one iteration of the network: a live open pixel that is not an
    endpoint dies when at most one of its 4 neighbours is alive."""
    endpoint = (kinds == 2) | (kinds == 3)
    return (alive & ((live_neighbours(alive) >= 2) | endpoint)).astype(np.int8)


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


solve = program  # the name before net2code 0.2; kept for one release
