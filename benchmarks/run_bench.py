"""`make bench`: train a few networks, extract them, and measure network vs program.

Writes benchmarks/results/results.json and results.md (one table). Runs are cached under
runs/bench/ so a second call only re-measures; pass --retrain to start over.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import net2code
from net2code._util import atomic_write_json, atomic_write_text, provenance
from net2code.bench import BenchConfig, bench, render_bench_markdown
from net2code.zoo.modular.train import TrainConfig, save_run, train

ROOT = Path(__file__).resolve().parent
RUNS = ROOT.parent / "runs" / "bench"

CASES = {
    "add59-transformer": TrainConfig(p=59, op="add", model="transformer", seed=0),
    "add59-mlp": TrainConfig(p=59, op="add", model="mlp", d_mlp=512, lr=3e-3, seed=0),
    "mul59-mlp-concat": TrainConfig(
        p=59, op="mul", model="mlp-concat", d_model=64, d_mlp=1024, lr=3e-3,
        weight_decay=0.1, train_fraction=1.0, seed=0,
    ),
    "square-add59-mlp-concat": TrainConfig(
        p=59, op="a*a + b", model="mlp-concat", d_model=64, d_mlp=1024, lr=3e-3,
        weight_decay=0.1, train_fraction=1.0, seed=0,
    ),
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--retrain", action="store_true", help="Ignore cached runs.")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="Cap per measurement.")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args()

    rows = []
    for name, config in CASES.items():
        run = RUNS / name
        if args.retrain and run.exists():
            shutil.rmtree(run)
        if not (run / "model.safetensors").exists():
            print(f"training {name} ...", flush=True)
            save_run(train(config, progress=sys.stderr.isatty()), run)
        trained = json.loads((run / "config.json").read_text())["training"]
        start = time.perf_counter()
        extraction = net2code.extract_path(run, timeout=120)
        extraction.save(run)
        extract_seconds = time.perf_counter() - start
        print(extraction.summary_line(), flush=True)
        report = bench(run, config=BenchConfig(max_seconds=args.max_seconds))
        print(render_bench_markdown(report, title=name), flush=True)
        rows.append(
            {
                "case": name,
                "network": report["network"],
                "train_steps": trained["steps"],
                "train_seconds": trained["seconds"],
                "network_accuracy": trained["full_domain_accuracy"],
                "program": extraction.program.summary if extraction.program else None,
                "verified": extraction.verified,
                "agreement": extraction.agreement,
                "extract_seconds": round(extract_seconds, 2),
                "bench": report,
            }
        )

    atomic_write_json(args.out / "results.json", {"results": rows, **provenance(0)})
    lines = [
        "# net2code benchmark results",
        "",
        "Whole domain (3,481 pairs); network vs emitted program in one run; ratios are "
        "program/network throughput and network/program peak RSS. Made by `make bench`.",
        "",
        "| case | program | verified | batch-1 speed-up | full-batch speed-up | "
        "peak RSS ratio (batch 1) | network batch-1 points/s | program batch-1 points/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        r = row["bench"]["ratios"]
        by = {(x["variant"], x["batch"]): x for x in row["bench"]["rows"]}
        lines.append(
            f"| {row['case']} | `{row['program']}` | {row['verified']} "
            f"({100 * row['agreement']:.2f}%) | {r['throughput_batch_1']:,.0f}x | "
            f"{r['throughput_batch_full']:,.1f}x | {r['peak_rss_batch_1']:.1f}x | "
            f"{by[('network', '1')]['per_s']:,.0f} | "
            f"{by[('program', '1')]['per_s']:,.0f} |"
        )
    meta = provenance(0)
    lines += ["", f"Versions: {meta['versions']}", f"Device: {meta['device']}", ""]
    atomic_write_text(args.out / "results.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
