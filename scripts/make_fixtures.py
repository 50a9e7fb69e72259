"""Train the two small checkpoints the mechanism tests read (about 12 minutes on 2 cores).

    python scripts/make_fixtures.py

Each is `net2code train modular --op add --p 59 --model transformer` at attention rate 1
(a Clock) or 0 (a Pizza), weight decay 2, trained past grokking for a fixed number of
full-batch steps so that weight decay has cleaned up the Fourier structure: 8,000 for the
Clock (at 4,000 its distance irrelevance was still 0.60 and its circles mixed), 4,000 for
the Pizza (which, trained on, spreads over more circles and its distance irrelevance rises).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def main() -> None:
    procs = []
    for name, rate, steps in (("clock59", "1", "8000"), ("pizza59", "0", "4000")):
        command = [
            sys.executable, "-m", "net2code", "train", "modular", "--op", "add", "--p", "59",
            "--model", "transformer", "--attention-rate", rate, "--seed", "0",
            "--weight-decay", "2", "--min-steps", steps, "--max-steps", steps,
            "--no-progress", "-o", str(FIXTURES / name),
        ]  # fmt: skip
        procs.append(subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"}))
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit(proc.returncode)


if __name__ == "__main__":
    main()
