"""The learned decompiler, measured: how often the shipped meta-model's proposals are the
network's program, and how fast a verified program comes, against the DSL enumeration.

    python benchmarks/decompiler_bench.py [--out docs/decompiler] [--model M ...] [--quick]

Each meta-model (default: the shipped ones, 4 and 6 bits) gets docs/decompiler/<name>.md and
<name>.json.

The held-out programs are drawn again with the shipped model's own sampler (its record says
how) and only those of the held-out split are used: no semantics the model trained on. Their
networks are new too: widths 24 and 48 and seed 7, none of which the zoo used.

1. Accuracy on matched networks: exact match and functional equivalence of the top-1 (greedy)
   proposal, exact match of beam 64's most probable program and of the renamings' vote;
   verified (some proposal agrees with the network on all 2^k points) with beam 1, 8 and 64,
   with the greedy programs of the 24 input renamings, and with both (what the `learned`
   strategy checks); by program size.
2. Time to a verified program, by program size 3..25: the pipeline with `--strategy learned`
   against `--strategy dsl` (the enumeration, `--dsl-timeout` seconds) and `--strategy boolean`
   (sum-of-products minimisation, xor and threshold forms), one held-out network per size;
   then `learned` against `dsl` on up to three held-out networks of each size 16..25.
3. Robustness, beam 64 and the renamings: wider networks (64, 128), networks trained with SGD
   instead of Adam, and imperfect networks (stopped after 25 Adam steps, or taught one wrong
   label). An imperfect network computes a function other than its program: a verified
   program is that function; otherwise the best proposal is returned unverified, with its
   agreement, and we count how often that is the program itself.

One torch thread; the figures are in docs/decompiler/boolean4.md and boolean6.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

SIZE_BUCKETS = ((1, 5), (6, 10), (11, 15), (16, 20), (21, 25))
BEAMS = (1, 8, 64)
NO_REPAIR = "learned, no repair"
UNGUIDED = "learned, unguided"


def heldout(record: dict[str, Any], n: int, seed: int = 0) -> list[Any]:
    """Up to n held-out programs of the shipped model's program space, spread evenly over the
    sizes."""
    import numpy as np

    from net2code.zoo.decompiler.programs import Space, sample_programs

    recipe = record["zoo_recipes"][0]
    space = Space.from_dict(recipe["space"])
    sampler = recipe["sampler"]
    programs = sample_programs(
        space,
        sampler["programs"],
        sizes=tuple(sampler["sizes"]),
        draw_sizes=tuple(sampler["draw_sizes"]),
        seed=sampler["seed"],
        form=recipe.get("form", "shrunk"),  # zoos made before forms were shrunk
    )
    held = [p for p in programs if p.split == "held-out"]
    rng = np.random.default_rng(seed)
    by_size: dict[int, list[Any]] = {}
    for p in held:
        by_size.setdefault(p.size, []).append(p)
    per_size = max(1, n // len(by_size))
    chosen = []
    for size in sorted(by_size):
        group = by_size[size]
        take = rng.choice(len(group), size=min(per_size, len(group)), replace=False)
        chosen += [group[i] for i in sorted(take)]
    return chosen


def accuracy_part(model: Any, programs: list[Any], work: Path) -> dict[str, Any]:
    from net2code.zoo.decompiler.evaluate import by_size, evaluate_zoo, summarise
    from net2code.zoo.decompiler.zoo import ZooConfig, build_zoo

    space = model.space
    folder = build_zoo(space, programs, work / "heldout", ZooConfig(widths=(24, 48), seeds=(7,)))
    start = time.perf_counter()
    rows = evaluate_zoo(model, folder, beams=BEAMS, progress=True)
    seconds = time.perf_counter() - start
    return {
        "rows": rows,
        "summary": summarise(rows, BEAMS),
        "by_size": by_size(rows, SIZE_BUCKETS, BEAMS),
        "seconds": round(seconds, 1),
    }


def timing_part(
    model: Any,
    path: Path,
    programs: list[Any],
    work: Path,
    dsl_timeout: float,
    *,
    sizes: range = range(3, 26, 2),
    per_size: int = 1,
    strategies: tuple[str, ...] = ("learned", "dsl", "boolean"),
) -> list[dict]:
    """Each strategy alone through the whole pipeline on networks (width 32, seed 7) of up to
    `per_size` held-out programs of each size in `sizes`."""
    import net2code
    from net2code.program import to_source
    from net2code.strategies.learned import LearnedDecompiler
    from net2code.zoo.decompiler.programs import from_prefix
    from net2code.zoo.decompiler.zoo import (
        ZooConfig,
        as_module,
        build_zoo,
        load_network,
        read_manifest,
    )

    space = model.space
    picks: dict[int, list[Any]] = {}
    for p in programs:
        if p.size in sizes and len(picks.setdefault(p.size, [])) < per_size:
            picks[p.size].append(p)
    chosen = [p for size in sorted(picks) for p in picks[size]]
    folder = build_zoo(
        space, chosen, work / f"timing{per_size}", ZooConfig(widths=(32,), seeds=(7,)), jobs=1
    )
    out = []
    for row in read_manifest(folder):
        if not row["matched"]:
            continue
        network = net2code.from_module(
            as_module(space, load_network(folder, row)), space.k, 1, description=row["program"]
        )
        source = to_source(from_prefix(row["program"].split(), space))
        entry: dict[str, Any] = {"size": row["size"], "program": source}
        for strategy in strategies:
            timeout = dsl_timeout if strategy == "dsl" else 60.0
            strategy_or_name: Any = strategy
            if strategy == "learned":
                strategy_or_name = LearnedDecompiler(model=path)
            elif strategy == NO_REPAIR:
                strategy_or_name = LearnedDecompiler(model=path, repair=False)
            elif strategy == UNGUIDED:
                strategy_or_name = LearnedDecompiler(model=path, guided=False)
            start = time.perf_counter()
            extraction = net2code.extract(
                network,
                space.domain,
                strategies=[strategy_or_name],
                timeout=timeout,
                analyses=False,
            )
            seconds = time.perf_counter() - start
            program = extraction.program
            entry[strategy] = {
                "verified": extraction.verified,
                "seconds": round(seconds, 2),
                "program": program.summary if program is not None else None,
                "nodes": program.size if program is not None else None,
                "beam_rank": extraction.candidate.stats.get("beam_rank"),
                "found_by": extraction.candidate.stats.get("found_by"),
            }
            print(f"size {row['size']:2d} {strategy:8s} {entry[strategy]}", flush=True)
        out.append(entry)
    return out


def beyond_summary(entries: list[dict]) -> dict[str, Any]:
    """Learned against the enumeration on the 16-25-node networks: how many each verifies,
    how many only `learned` does, and how long each takes."""
    dsl_failed = [e for e in entries if not e["dsl"]["verified"]]
    return {
        "networks": len(entries),
        "learned_verified": sum(e["learned"]["verified"] for e in entries),
        "learned_repaired": sum(
            e["learned"]["verified"] and e["learned"].get("found_by") == "repair" for e in entries
        ),
        "no_repair_verified": sum(e[NO_REPAIR]["verified"] for e in entries if NO_REPAIR in e),
        "dsl_failed_no_repair_verified": sum(
            e[NO_REPAIR]["verified"] for e in dsl_failed if NO_REPAIR in e
        ),
        "unguided_verified": sum(e[UNGUIDED]["verified"] for e in entries if UNGUIDED in e),
        "guided_found": sum(
            e["learned"]["verified"] and str(e["learned"].get("found_by")).startswith("guided")
            for e in entries
        ),
        "dsl_verified": len(entries) - len(dsl_failed),
        "dsl_failed_learned_verified": sum(e["learned"]["verified"] for e in dsl_failed),
        "dsl_failed": len(dsl_failed),
        "dsl_failed_seconds_max": max((e["dsl"]["seconds"] for e in dsl_failed), default=None),
        "learned_verified_seconds": sorted(
            e["learned"]["seconds"] for e in entries if e["learned"]["verified"]
        ),
    }


def robustness_part(model: Any, programs: list[Any], work: Path) -> dict[str, Any]:
    from net2code.zoo.decompiler.evaluate import evaluate_zoo, summarise
    from net2code.zoo.decompiler.zoo import ZooConfig, build_zoo

    space = model.space
    cases = {
        "wider (64, 128)": ZooConfig(widths=(64, 128), seeds=(7,)),
        "SGD, momentum 0.9, 3,000 steps": ZooConfig(
            widths=(32,), seeds=(7,), optimizer="sgd", steps=3000
        ),
        "stopped early (25 Adam steps)": ZooConfig(widths=(32,), seeds=(7,), steps=25),
        "taught one wrong label": ZooConfig(widths=(32,), seeds=(7,), flips=1),
    }
    out = {}
    for number, (name, config) in enumerate(cases.items()):
        folder = build_zoo(space, programs, work / f"robust{number}", config)
        rows = evaluate_zoo(model, folder, beams=(64,), progress=True)
        summary = summarise(rows, (64,))
        if name.startswith(("stopped", "taught")):
            imperfect = [r for r in rows if r["network_agrees_with_program"] < 1]
            n = max(len(imperfect), 1)
            verified = [r["beam64"]["verified_rank"] is not None or r["renamed"]["verified"]
                        for r in imperfect]  # fmt: skip
            guided = [r["guided"]["pooled"]["verified"] for r in imperfect]
            summary |= {
                "imperfect_networks": len(imperfect),
                "mean_program_agreement": sum(r["network_agrees_with_program"] for r in imperfect)
                / n,
                "verified_own_function": sum(verified) / n,
                "verified_own_function_repair": sum(r["repair"]["verified"] for r in imperfect) / n,
                "verified_own_function_guided": sum(guided) / n,
                "best_is_program": sum(
                    not v and r["beam64"]["best_is_program"]
                    for v, r in zip(verified, imperfect, strict=True)
                )
                / n,
            }
        out[name] = summary
    return out


def render(report: dict[str, Any]) -> str:
    acc = report["accuracy"]
    record, device = report["record"], report["record"]["device"]
    # models trained before the record named the torch device say so only in train_config
    trained_on = str(record["train_config"].get("device") or device.get("device", "cpu"))
    if trained_on.startswith("cuda"):
        gpu = f"an {device['gpu']}" if "gpu" in device else "a GPU"
        where = f"batch {record['train_config']['batch']} on {gpu}"
    else:
        where = (
            f"batch {record['train_config']['batch']}, {record['train_config']['threads']} "
            f"torch thread(s) on a {device['cpu_count']}-core CPU"
        )
    lines = [
        "# The learned decompiler: benchmark",
        "",
        f"Meta-model `{report['model']}` ({report['model_bytes'] / 1e6:.2f} MB): "
        f"{record['train_networks']:,} training networks, "
        f"{record['steps_run']:,} steps in {record['minutes']} min, {where}.",
        "",
        f"Generated by `{report.get('command', 'make bench-decompiler')}` "
        f"({report['seconds'] / 60:.1f} min for this model, one torch thread). Held-out "
        "programs only (no semantics seen in training), written in the zoo's "
        f"{report['record'].get('form', 'shrunk')} form, on networks of widths 24 and 48, "
        "seed 7 (not in the zoo).",
        "",
        "## Accuracy on held-out programs",
        "",
        "| sizes | networks | exact top-1 | exact, beam 64's first | exact, vote of the "
        "renamings | functional top-1 | verified, beam 1 | beam 8 | beam 64 | 24 renamings "
        "| beam 64 + renamings | greedy + repair | beam 64 + renamings + repair "
        "| no proposal: library alone |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def share(row: dict[str, Any], key: str) -> str:
        """A rate, or '-' where an older bench did not measure it."""
        return "-" if row.get(key) is None else f"{row[key]:.1%}"

    sized = [*acc["by_size"], {"sizes": "all", **acc["summary"]}]
    table_rows = [row for row in sized if row.get("matched")]  # both tables: by size, then all
    for row in table_rows:
        lines.append(
            f"| {row['sizes']} | {row['matched']} | {row['exact_top1']:.1%} | "
            f"{share(row, 'exact_beam_top1')} | {share(row, 'exact_vote')} | "
            f"{row['functional_top1']:.1%} | {row['verified_beam1']:.1%} | "
            f"{row['verified_beam8']:.1%} | {row['verified_beam64']:.1%} | "
            f"{row['verified_renamed']:.1%} | {row['verified_beam64_and_renamed']:.1%} | "
            f"{row['verified_beam1_repair']:.1%} | {row['verified_all_repair']:.1%} | "
            f"{row['library_alone']:.1%} |"
        )
    lines += [
        "",
        "Exact top-1 is the greedy program (the most probable token at each step); 'beam 64's "
        "first' is the most probable whole program beam search found; 'vote of the renamings' "
        "is the function that most of the 24 renamed greedy programs compute, written in the "
        "zoo's form (self-consistency). None of the three uses the network's outputs: the "
        "verifier only enters in the 'verified' columns.",
        "",
        f"Networks that did not match their program when trained are left out "
        f"({acc['summary']['networks'] - acc['summary']['matched']} of "
        f"{acc['summary']['networks']}).",
        "",
        "Repair (what `learned` does when no proposal verifies): one sub-expression of a "
        "proposal is replaced by the smallest formula of up to 7 nodes (enumerated bottom-up, "
        "one per truth table) that makes the whole proposal equal the network's truth table. "
        "'greedy + repair' repairs the top-1 proposal only; 'library alone' is the share of "
        "networks whose function has a formula of at most 7 nodes, found with no proposal at "
        "all (repairing the root).",
    ]
    if "guided_verified_beam64" in acc["summary"]:
        lines += [
            "",
            "### Guided by the network's outputs",
            "",
            "The same decoding, guided by the network's truth table (what `learned` runs "
            "first): a leaf that would make the partial program disagree with the network is "
            "ruled out (and so is any token after which the holes left need more tokens "
            "than remain), so every program the decoder finishes is verified, and a guided "
            "search fails only when it finishes none. 'Beam 64 over the 24 renamed views' is "
            "one beam of width 64 started from the network under each of the 24 input "
            "renamings, keeping the 64 most probable sequences whichever view they read "
            "('over the views, then beam 64': what `learned` runs before the plain search).",
            "",
            "| sizes | networks | exact top-1, guided | verified, guided beam 1 | beam 8 "
            "| beam 64 | 24 renamings | beam 64 + renamings | beam 64 over the 24 renamed "
            "views | over the views, then beam 64 |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in table_rows:
            lines.append(
                f"| {row['sizes']} | {row['matched']} | {row['guided_exact_top1']:.1%} | "
                f"{row['guided_verified_beam1']:.1%} | {row['guided_verified_beam8']:.1%} | "
                f"{row['guided_verified_beam64']:.1%} | {row['guided_verified_renamed']:.1%} | "
                f"{row['guided_verified_beam64_and_renamed']:.1%} | "
                f"{share(row, 'guided_verified_pooled64')} | "
                f"{share(row, 'guided_verified_strategy')} |"
            )
    lines += [
        "",
        "## Time to a verified program, by program size",
        "",
        "Whole pipeline (`net2code.extract`), one strategy each; `dsl` with a "
        f"{report['dsl_timeout']:.0f} s limit.",
        "",
        "| nodes | program | learned | dsl | boolean |",
        "|---|---|---|---|---|",
    ]

    def cell(entry: dict[str, Any]) -> str:
        if not entry["verified"]:
            return f"not verified ({entry['seconds']:.1f} s)"
        rank = f", rank {entry['beam_rank']}" if entry.get("beam_rank") else ""
        return f"{entry['seconds']:.2f} s ({entry['nodes']} nodes{rank})"

    for entry in report["timing"]:
        lines.append(
            f"| {entry['size']} | `{entry['program']}` | {cell(entry['learned'])} | "
            f"{cell(entry['dsl'])} | {cell(entry['boolean'])} |"
        )
    beyond = report.get("beyond")
    if beyond is not None and beyond["networks"]:
        times = beyond["learned_verified_seconds"]
        spread = f" (in {times[0]:.2f}-{times[-1]:.2f} s)" if times else ""
        if beyond["dsl_failed"]:
            versus = (
                f"of the {beyond['dsl_failed']} that `dsl` did not verify (it stopped after at "
                f"most {beyond['dsl_failed_seconds_max']:.1f} s), `learned` verified "
                f"{beyond['dsl_failed_learned_verified']}"
            )
            if "dsl_failed_no_repair_verified" in beyond:
                versus += f" ({beyond['dsl_failed_no_repair_verified']} without repair)"
            versus += "."
        else:
            versus = "none is beyond the enumeration's reach here."
        lines += [
            "",
            f"Programs of 16-25 nodes: {beyond['networks']} held-out networks (up to 3 programs "
            f"per size, width 32, seed 7). `learned` verified {beyond['learned_verified']}"
            f"{spread}, {beyond.get('learned_repaired', 0)} of them by repair "
            f"({beyond.get('no_repair_verified', '?')} with repair off; "
            f"{beyond.get('guided_found', '?')} by the guided decoding; "
            f"{beyond.get('unguided_verified', '?')} with the guidance off), `dsl` "
            f"{beyond['dsl_verified']}; {versus}",
        ]
    lines += [
        "",
        "## Robustness (beam 64, the renamings, and repair)",
        "",
        "| networks | matched | verified |",
        "|---|---|---|",
    ]
    for name, summary in report["robustness"].items():
        if summary.get("imperfect_networks") is not None:
            lines.append(
                f"| {name} | {summary['imperfect_networks']} of {summary['networks']} differ "
                f"from their program (they agree with it on "
                f"{summary['mean_program_agreement']:.1%} of inputs on average) | the network's "
                f"own function found and verified: {summary['verified_own_function']:.1%} "
                f"({summary['verified_own_function_repair']:.1%} with repair"
                + (
                    f", {summary['verified_own_function_guided']:.1%} guided over the "
                    "renamed views); "
                    if "verified_own_function_guided" in summary
                    else "); "
                )
                + "else, without "
                f"repair, the program itself returned, not verified, with its agreement: "
                f"{summary['best_is_program']:.1%} |"
            )
        elif summary.get("matched"):
            lines.append(
                f"| {name} | {summary['matched']} of {summary['networks']} | "
                f"{summary['verified_beam64']:.1%} with beam 64"
                + (
                    f" ({summary['guided_verified_beam64']:.1%} guided, "
                    f"{summary['guided_verified_pooled64']:.1%} guided over the renamed views), "
                    if "guided_verified_pooled64" in summary
                    else ", "
                )
                + f"{summary['verified_beam64_and_renamed']:.1%} with the renamings too, "
                f"{summary['verified_all_repair']:.1%} with repair "
                f"(exact top-1 {summary['exact_top1']:.1%}; library alone "
                f"{summary['library_alone']:.1%}) |"
            )
    return "\n".join(lines) + "\n"


def bench(
    path: Path, out: Path, programs: int, dsl_timeout: float, quick: bool, command: str
) -> None:
    """Measure one meta-model -> out/<model name>.md and .json."""
    from net2code._util import atomic_write_json, atomic_write_text, provenance
    from net2code.zoo.decompiler.model import load_model

    start = time.perf_counter()
    model, record = load_model(path)
    chosen = heldout(record, 60 if quick else programs)
    print(f"{path.name}: {len(chosen)} held-out programs", flush=True)
    timeout = 5.0 if quick else dsl_timeout
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        accuracy = accuracy_part(model, chosen, work)
        print(json.dumps(accuracy["summary"]), flush=True)
        timing = timing_part(model, path, chosen, work, timeout)
        beyond = timing_part(model, path, chosen, work, timeout, sizes=range(16, 26),
                             per_size=1 if quick else 3,
                             strategies=("learned", NO_REPAIR, UNGUIDED, "dsl"))  # fmt: skip
        robustness = robustness_part(model, chosen[:: 2 if quick else 4], work)
    report = {
        "model": path.name,
        "model_bytes": path.stat().st_size,
        "record": {k: v for k, v in record.items() if k != "history"},
        "accuracy": accuracy,
        "timing": timing,
        "beyond": beyond_summary(beyond),
        "beyond_networks": beyond,
        "robustness": robustness,
        "dsl_timeout": timeout,
        "seconds": round(time.perf_counter() - start, 1),
        "command": command,
        "provenance": provenance(0),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / f"{path.stem}.json", report)
    atomic_write_text(out / f"{path.stem}.md", render(report))
    print(render(report))
    print(f"wrote {out / path.stem}.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/decompiler"))
    parser.add_argument("--programs", type=int, default=250)
    parser.add_argument("--dsl-timeout", type=float, default=30.0)
    parser.add_argument(
        "--model", type=Path, action="append", help="a meta-model (repeatable; default: shipped)"
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import torch

    from net2code.strategies.learned import shipped_models

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    command = "make bench-decompiler"
    if sys.argv[1:] not in ([], ["--out", "docs/decompiler"]):
        command = " ".join(["python benchmarks/decompiler_bench.py", *sys.argv[1:]])
    for path in args.model or shipped_models():
        bench(path, args.out, args.programs, args.dsl_timeout, args.quick, command)


if __name__ == "__main__":
    main()
