"""Bring-your-own sequence networks: Tomita 1-7, Dyck-1 and parity x {RNN, GRU, LSTM, causal
transformer}, each trained here with plain PyTorch (`net2code.zoo.sequence.byo`), handed to
net2code with `from_module`, and extracted black-box.

For each network: its accuracy (every step right, on 1,000 held-out sequences of the training
length 16); the machine's states (or the counter machine); verified on every sequence up to
N = 12; agreement at 10N and 100N with the network and with the truth; extraction time; and
the program's speed against the network at length 1,000 (one sequence, and a batch of 20), as
ratios measured in one run.

    python benchmarks/sequence_bench.py [--out docs/sequence] [--only tomita3,dyck1] [--arch gru]

Writes byo.md and byo.json into --out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import net2code
from net2code._util import atomic_write_json, atomic_write_text, provenance
from net2code.emit import NUMPY_FILE, PROGRAM_FILE, load_function
from net2code.strategies.automata import learn_mealy
from net2code.zoo.sequence.byo import ARCHITECTURES, train
from net2code.zoo.sequence.languages import get_language

LANGUAGES = [*(f"tomita{i}" for i in range(1, 8)), "dyck1", "parity"]
N = 12
TRAIN_LENGTH = 16
TRANSFORMER = {"max_length": 2048, "layers": 2}  # positions to 2,048: the long checks can run


def timed(function, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def speed(network, extraction, domain) -> dict[str, float] | None:  # type: ignore[no-untyped-def]
    """Network against program at length 1,000: one sequence (program.py) and a batch of 20
    (program_numpy.py when there is one), best of 3, in this process. None when the program
    refuses such a sequence (an open table: a state beyond the machine it learned)."""
    try:
        return _speed(network, extraction, domain)
    except ValueError:
        return None


def _speed(network, extraction, domain) -> dict[str, float]:  # type: ignore[no-untyped-def]
    x = domain.sample(20, 1000, seed=5)  # (20, 1000, 1)
    program = load_function(extraction.files[PROGRAM_FILE])
    batch = load_function(extraction.files[NUMPY_FILE]) if NUMPY_FILE in extraction.files else None
    one = x[:1]
    seq = one[0, :, 0].tolist()
    network_one = timed(lambda: network.read(one, domain))
    program_one = timed(lambda: program(seq))
    network_batch = timed(lambda: network.read(x, domain))
    sequences = [s[:, 0].tolist() for s in x]
    program_batch = timed(
        (lambda: batch(x)) if batch is not None else (lambda: [program(s) for s in sequences])
    )
    return {
        "one": network_one / program_one,
        "batch": network_batch / program_batch,
    }


def canonical(machine) -> tuple:  # type: ignore[no-untyped-def,type-arg]
    """Breadth-first renumbering from the start: equal for isomorphic machines."""
    order, number = [machine.initial], {machine.initial: 0}
    for s in order:
        for t in machine.next[s].tolist():
            if t >= 0 and t not in number:
                number[t] = len(order)
                order.append(t)
    return tuple(
        (tuple(number.get(int(t), -1) for t in machine.next[s]), tuple(machine.out[s].tolist()))
        for s in order
    )


def language_machine(language: str, domain) -> tuple | None:  # type: ignore[no-untyped-def,type-arg]
    """The language's own minimal Mealy machine, learned by the same L* with the truth as the
    oracle (None for a language that is not regular)."""
    lang = get_language(language)
    if not lang.regular:
        return None
    learned = learn_mealy(lambda x: lang.truth(x), domain.symbols(), N, long_length=10 * N)
    return canonical(learned.machine)


def run_one(language: str, arch: str, steps: int) -> dict:  # type: ignore[type-arg]
    lang = get_language(language)
    options = TRANSFORMER if arch == "transformer" else {}
    trained = train(lang, arch, steps=steps, length=TRAIN_LENGTH, **options)
    network = net2code.from_module(trained.model, max_length=options.get("max_length"))
    spec = f"seq(x:0..1) len:0..{N} -> {lang.readout}"
    start = time.perf_counter()
    extraction = net2code.extract(network, spec, truth=language, timeout=120)
    seconds = time.perf_counter() - start
    checks = {c.name: c for c in extraction.checks}
    stats = extraction.candidate.stats
    states = (
        f"counter + {stats['control_states']}"
        if extraction.strategy == "counter-machine"
        else str(stats.get("states", "?"))
    )
    row = {
        "language": language,
        "architecture": arch,
        "accuracy": trained.accuracy,
        "train_seconds": round(trained.seconds, 1),
        "strategy": extraction.strategy,
        "program": extraction.program.summary if extraction.program else None,
        "states": states,
        "verified": extraction.verified,
        "exhaustive": f"{checks['network'].n_agree:,}/{checks['network'].n:,}",
        "extract_seconds": round(seconds, 1),
    }
    for factor in (10, 100):
        for against in ("network", "truth"):
            check = checks.get(f"{against} at {factor}N={factor * N}")
            row[f"{against}_{factor}N"] = None if check is None else check.agreement
    domain = extraction.domain
    expected = language_machine(language, domain)
    machine = getattr(extraction.program, "machine", None)
    row["language_machine"] = (
        None if expected is None or machine is None else canonical(machine) == expected
    )
    row["speedup_1000"] = speed(network, extraction, domain)
    return row


def times(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def mark(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def render(rows: list[dict], total: float) -> str:  # type: ignore[type-arg]
    record = provenance(None)
    device, versions = record["device"], record["versions"]
    lines = [
        "# Bring-your-own sequence networks: benchmark",
        "",
        f"Generated by `python benchmarks/sequence_bench.py` in {total / 60:.1f} min on "
        f"{device['cpu_count']} CPU cores ({device['torch_threads']} torch threads), torch "
        f"{versions.get('torch', '?')}. Each network is trained by plain PyTorch "
        f"(`net2code.zoo.sequence.byo`, training length {TRAIN_LENGTH}; transformers: 2 layers) "
        "and handed over with "
        "`net2code.from_module`; extraction is black-box (L*, then a counter machine when the "
        f"machine grows with the length), with N = {N}: every sequence of length 0 to {N} "
        f"is checked against the network ({2 ** (N + 1) - 1:,} sequences, the empty one "
        "included).",
        "",
        f"Accuracy: every step right on 1,000 held-out sequences of length {TRAIN_LENGTH}. "
        "10N / 100N: "
        "share of 200 / 50 random sequences of length 120 / 1,200 on which program.py agrees "
        "with the network (net) and with the language (truth). Speed-up: network time / "
        "program time at length 1,000, for one sequence (program.py) and a batch of 20 "
        "(program_numpy.py, or program.py in a loop where there is none), measured in one run. "
        "= language: the extracted machine is isomorphic to the language's minimal Mealy "
        "machine (learned by the same L* with the truth as the oracle).",
        "",
        "| language | network | accuracy | program | states | = language | verified to N | "
        "net 10N | net 100N | truth 10N | truth 100N | extract (s) | speed-up 1 / 20 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        program = (r["program"] or "-").replace("|", "\\|")
        if len(program) > 60:
            program = program[:57] + "..."
        s = r["speedup_1000"]
        ratio = "- (open table)" if s is None else f"{times(s['one'])} / {times(s['batch'])}"
        lines.append(
            f"| {r['language']} | {r['architecture']} | {100 * r['accuracy']:.1f}% | "
            f"`{program}` | {r['states']} | {mark(r['language_machine'])} | "
            f"{'yes' if r['verified'] else 'no'} "
            f"({r['exhaustive']}) | {percent(r['network_10N'])} | {percent(r['network_100N'])} | "
            f"{percent(r['truth_10N'])} | {percent(r['truth_100N'])} | {r['extract_seconds']} | "
            f"{ratio} |"
        )
    learned = [r for r in rows if r["accuracy"] == 1.0 and r["language"].startswith("tomita")]
    verified = [r for r in learned if r["verified"]]
    exact = [r for r in verified if r["language_machine"]]
    fast = [r for r in exact if r["extract_seconds"] < 60]
    others = [f"{r['architecture']} on {r['language']}" for r in verified if r not in exact]
    lines += [
        "",
        f"Tomita networks that learned their language (100% on held-out sequences): "
        f"{len(learned)}; extracted and verified against the network: {len(verified)}; whose "
        f"machine is exactly the language's minimal machine: {len(exact)}, {len(fast)} of them "
        "in under 60 s."
        + (
            f" Verified but not the language's machine ({', '.join(others)}): the network "
            "itself differs from the language on some sequence of length 12 or less, which "
            "random held-out sequences did not show; the exhaustive check did."
            if others
            else ""
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/sequence"))
    parser.add_argument("--only", default=",".join(LANGUAGES))
    parser.add_argument("--arch", default=",".join(ARCHITECTURES))
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    start = time.perf_counter()
    rows = []
    for language in args.only.split(","):
        for arch in args.arch.split(","):
            row = run_one(language, arch, args.steps)
            rows.append(row)
            print(json.dumps(row), flush=True)
            total = time.perf_counter() - start  # written after every row: a partial table
            args.out.mkdir(parents=True, exist_ok=True)
            record = {"rows": rows, "seconds": total, **provenance(0)}
            atomic_write_json(args.out / "byo.json", record)
            atomic_write_text(args.out / "byo.md", render(rows, total))
    print(f"wrote {args.out / 'byo.md'}")


if __name__ == "__main__":
    main()
