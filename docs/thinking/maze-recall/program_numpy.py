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

Vectorised variant: program() takes a whole batch (arrays) at once.
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
