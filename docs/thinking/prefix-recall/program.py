"""running-parity scan (prefix sum mod 2)

Extracted by net2code 0.2.0 from the iterated network recall dt_net on bits (width
64, 68,784 parameters) (/work/main/runs/thinking/prefix-recall).
Strategy: scan. Domain: bits:12.
Verified: 4,096/4,096 bit strings agree with the network (100%): program_numpy.py on
every 12-bit string (4,096), against the network's answer at its stopping rule
(exhaustive).
Other checks:
- program.py: 4,096/4,096 bit strings agree with the network (100%): program.py on
every 12-bit string, one at a time, against the network's answer at its stopping
rule (exhaustive).
- network at 32: 100/100 bit strings agree with the network (100%): program.py on
100 held-out problems of size 32, against the network at its stopping rule (both
timed on them) (sampled, beyond the domain).
- truth at 32: 100/100 bit strings agree with the ground truth (100%): program.py
against the true answer on the same 100 problems (sampled, beyond the domain).
- network at 64: 100/100 bit strings agree with the network (100%): program.py on
100 held-out problems of size 64, against the network at its stopping rule (both
timed on them) (sampled, beyond the domain).
- truth at 64: 100/100 bit strings agree with the ground truth (100%): program.py
against the true answer on the same 100 problems (sampled, beyond the domain).
- network at 128: 100/100 bit strings agree with the network (100%): program.py on
100 held-out problems of size 128, against the network at its stopping rule (both
timed on them) (sampled, beyond the domain).
- truth at 128: 100/100 bit strings agree with the ground truth (100%): program.py
against the true answer on the same 100 problems (sampled, beyond the domain).
- network at 256: 100/100 bit strings agree with the network (100%): program.py on
100 held-out problems of size 256, against the network at its stopping rule (both
timed on them) (sampled, beyond the domain).
- truth at 256: 100/100 bit strings agree with the ground truth (100%): program.py
against the true answer on the same 100 problems (sampled, beyond the domain).
- network at 512: 30/30 bit strings agree with the network (100%): program.py on 30
held-out problems of size 512, against the network at its stopping rule (both timed
on them) (sampled, beyond the domain).
- truth at 512: 30/30 bit strings agree with the ground truth (100%): program.py
against the true answer on the same 30 problems (sampled, beyond the domain).
- truth at 10000: 20/20 bit strings agree with the ground truth (100%): program.py
against the true answer on 20 problems too large to run the network on here
(sampled, beyond the domain).

Usage: program(bits) with bits a list of 0/1 of any length; one output bit per
position, computed left-to-right.
"""

STEP = [0, 1, 1, 0]  # STEP[2 * previous_output + bit]
FIRST = [0, 1]  # FIRST[first bit]


def program(bits):
    """The scan over one string."""
    bits = [int(b) for b in bits]
    out = []
    for i, bit in enumerate(bits):
        out.append(FIRST[bit] if i == 0 else STEP[2 * out[-1] + bit])
    return out


solve = program  # the name before net2code 0.2; kept for one release
