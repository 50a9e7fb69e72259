"""Train the two small checkpoints the mechanism tests read (about 10 minutes on 2 cores).

    python scripts/make_fixtures.py

Each is `net2code train modular --op add --p 59 --model transformer` at attention rate 1
(a Clock) or 0 (a Pizza), weight decay 2, trained past grokking for 4,000 full-batch steps so
that weight decay has cleaned up the Fourier structure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def main() -> None:
    procs = []
    for name, rate in (("clock59", "1"), ("pizza59", "0")):
        command = [
            sys.executable, "-m", "net2code", "train", "modular", "--op", "add", "--p", "59",
            "--model", "transformer", "--attention-rate", rate, "--seed", "0",
            "--weight-decay", "2", "--min-steps", "4000", "--max-steps", "4000",
            "--no-progress", "-o", str(FIXTURES / name),
        ]  # fmt: skip
        procs.append(subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"}))
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit(proc.returncode)


if __name__ == "__main__":
    main()
