"""`make bench-thinking`: the DT-net targets of docs/thinking/README.md, measured on this machine.

Trains (each run cached under runs/thinking/; --retrain starts over), evaluates, extracts and
reports: the recall maze net (<= 15 min), the no-recall and feed-forward baselines (the same
number of steps, no time cap), and the prefix-sum nets. Writes docs/thinking/results.json,
results.md and the pictures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from net2code._util import atomic_write_json, atomic_write_text, provenance
from net2code.checks import Check
from net2code.families import get
from net2code.pipeline import extract_path
from net2code.report import write_report
from net2code.zoo.thinking.evaluate import (
    EvaluateConfig,
    evaluate_run,
    refresh_error_correction,
    render_eval,
)
from net2code.zoo.thinking.train import ThinkTrainConfig, train_thinking

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs" / "thinking"
DOCS = ROOT / "docs" / "thinking"


def configs(baseline_steps: int) -> dict[str, ThinkTrainConfig]:
    return {
        "maze-recall": ThinkTrainConfig(
            task="maze", size=9, width=32, alpha=0.5, max_iters=20, steps=4000, seed=1,
            max_minutes=15,
        ),
        "maze-no-recall": ThinkTrainConfig(
            task="maze", size=9, width=32, alpha=0.5, max_iters=20, recall=False,
            steps=baseline_steps, seed=1,
        ),
        "maze-feed-forward": ThinkTrainConfig(
            task="maze", size=9, width=32, model="ff_net", alpha=0.0, max_iters=20,
            steps=baseline_steps, seed=1,
        ),
        "prefix-recall": ThinkTrainConfig(
            task="prefix_sums", size=32, width=64, alpha=0.5, lr=2e-3, max_iters=20, batch=64,
            steps=3000, max_minutes=8,
        ),
        "prefix-no-recall": ThinkTrainConfig(
            task="prefix_sums", size=32, width=64, alpha=0.5, lr=2e-3, max_iters=20, batch=64,
            recall=False, steps=3000, max_minutes=8,
        ),
    }  # fmt: skip


EVALS = {
    "maze-recall": EvaluateConfig(),
    "maze-no-recall": EvaluateConfig(
        sizes=(9, 13, 21, 33),
        iters=(10, 20, 30, 50, 100, 200, 400),
        stop=False,
        error_correction=False,
    ),
    "maze-feed-forward": EvaluateConfig(
        sizes=(9, 13, 21, 33), iters=(10, 20, 30), stop=False, error_correction=False
    ),
    "prefix-recall": EvaluateConfig(),
    "prefix-no-recall": EvaluateConfig(
        iters=(10, 20, 30, 35, 50, 100, 200, 400, 800), stop=False, error_correction=False
    ),
}


def finished(run: Path, config: ThinkTrainConfig) -> bool:
    """A cached run counts if it trained all its steps or stopped at its time cap."""
    if not (run / "train.json").is_file():
        return False
    done = json.loads((run / "train.json").read_text())["training"]
    return done["steps"] >= config.steps or bool(done["stopped_early"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--retrain", action="store_true", help="Ignore cached runs.")
    parser.add_argument("--only", nargs="*", help="Run only these cases.")
    parser.add_argument(
        "--baseline-steps",
        type=int,
        default=2800,
        help="Steps for both baselines (the recall net makes about 2,800 in its 15 minutes).",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads.")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument(
        "--refresh-error-correction", nargs="*", default=[], help="Redo only that eval block."
    )
    parser.add_argument(
        "--summary-only", action="store_true", help="Only rewrite results.md from results.json."
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    DOCS.mkdir(parents=True, exist_ok=True)
    results_file = DOCS / "results.json"
    if args.summary_only:
        atomic_write_text(DOCS / "results.md", summarise(json.loads(results_file.read_text())))
        return

    def record(name: str, entry: dict) -> dict:
        # re-read first, so that cases run by separate processes at once all land
        results = json.loads(results_file.read_text()) if results_file.is_file() else {}
        results[name] = entry
        atomic_write_json(results_file, results)
        return results

    for name in args.refresh_error_correction:
        entry = json.loads(results_file.read_text())[name]
        record(name, {**entry, "eval": refresh_error_correction(RUNS / name)})
    for name, config in configs(args.baseline_steps).items():
        if args.only and name not in args.only:
            continue
        run = RUNS / name
        if args.retrain and run.exists():
            shutil.rmtree(run)
        entry: dict = {"config": config.__dict__}
        if not finished(run, config):
            print(f"[{name}] training ...", flush=True)
            train_thinking(config, run, progress=args.progress)
        entry["training"] = json.loads((run / "train.json").read_text())
        print(f"[{name}] evaluating ...", flush=True)
        entry["eval"] = evaluate_run(run, EVALS[name], progress=args.progress)
        if config.model == "dt_net" and config.recall:
            print(f"[{name}] extracting ...", flush=True)
            start = time.perf_counter()
            extraction = extract_path(run, progress=args.progress)
            extraction.save(run)
            entry["extract"] = extraction.to_dict()
            entry["extract_seconds"] = round(time.perf_counter() - start, 1)
            print(extraction.summary_line(), flush=True)
        record(name, entry)
    for name, compare in (
        ("maze-recall", ["maze-no-recall", "maze-feed-forward"]),
        ("prefix-recall", ["prefix-no-recall"]),
    ):
        if (RUNS / name / "result.json").is_file():
            existing = [RUNS / c for c in compare if (RUNS / c / "eval.json").is_file()]
            write_report(RUNS / name, compare=existing)
            target = DOCS / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            shutil.copytree(RUNS / name / "figures", target / "figures")
            for extra in ("report.md", "eval.md", "program.py", "program_numpy.py", "result.json"):
                if (RUNS / name / extra).is_file():
                    shutil.copy(RUNS / name / extra, target / extra)
    results = record("provenance", provenance(0))
    atomic_write_text(DOCS / "results.md", summarise(results))
    print((DOCS / "results.md").read_text())


def summarise(results: dict) -> str:
    lines = ["# DT-net benchmark (generated by `make bench-thinking`)", ""]
    for name, entry in results.items():
        if name == "provenance":
            continue
        t = entry["training"]["training"]
        lines += [
            f"## {name}",
            "",
            f"Trained {t['steps']} steps in {t['seconds']} s ({t['parameters']:,} parameters, "
            f"width {t['width']}, alpha {t['alpha']}, batch {t['batch']}, "
            f"{'recall' if t['recall'] else 'no recall'}, {t['model']}).",
            "",
        ]
        # the run folder's own eval.md, and the family's part of the extraction report
        lines += render_eval(entry["eval"]).splitlines()[2:]
        if "extract" in entry:
            result = entry["extract"]
            status = "verified" if result["verified"] else "not verified"
            failing = [
                c for c in result["checks"]
                if c["against"] == "network" and c["within_domain"] and not c["passed"]
            ]  # fmt: skip
            lines += [
                "",
                f"Extraction took {entry['extract_seconds']} s: `{result['program']['summary']}`, "
                f"{status}.",
                *[f"- verified by: {text}" for text in result["verified_by"]],
                *[f"- not verified: {Check.from_dict(c).sentence()}" for c in failing[:1]],
                "",
            ]
            lines += get("iterated").report(result)
        lines.append("")
    p = results.get("provenance", {})
    lines.append(f"Seed {p.get('seed')}; {p.get('versions')}; device {p.get('device')}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
