"""Running-parity scan (prefix sum mod 2).

Extracted by net2code from prefix-recall (68784 parameters).
Input: a list of bits; output: one bit per position, computed left-to-right, any length.
"""

STEP = [0, 1, 1, 0]  # STEP[2 * previous_output + bit]
FIRST = [0, 1]  # FIRST[first bit]


def solve(bits):
    bits = [int(b) for b in bits]
    out = []
    for i, bit in enumerate(bits):
        out.append(FIRST[bit] if i == 0 else STEP[2 * out[-1] + bit])
    return out
