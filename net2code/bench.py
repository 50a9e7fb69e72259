"""Benchmark: the network against its emitted program, in one run, as ratios, for every family.

The family says what to run both on (`Family.workload`: the finite domain's points, held-out
sequences, or problems of the training size) and how the network answers (`run_network`).
Each (variant, batch) pair runs in a fresh subprocess so that its peak RSS is its own: the
network's includes the torch runtime it needs, the program's only what the program imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._util import atomic_write_json, atomic_write_text, provenance
from .emit import NUMPY_FILE, PROGRAM_FILE
from .errors import Net2CodeError


@dataclass(frozen=True)
class BenchConfig:
    max_seconds: float = 20.0  # per measurement; batch-1 loops stop early past this
    python: str = sys.executable
    length: int | None = None  # sequence families: the sequence length to time at


def _run(spec: dict[str, Any], python: str) -> dict[str, Any]:
    # Run the worker file directly (not `-m net2code...`) so that the program's process never
    # imports the net2code package, and with it torch.
    worker = Path(__file__).with_name("_bench_worker.py")
    launcher = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
    proc = subprocess.run(
        [python, "-c", launcher, str(worker), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise Net2CodeError(f"benchmark worker for {spec['variant']} failed: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench(
    path: Path | str, program_dir: Path | str | None = None, config: BenchConfig | None = None
) -> dict[str, Any]:
    """Throughput and peak memory of network and program on the family's workload, at batch
    1 and full batch. `path` is an output folder with result.json (which names the network),
    or the network itself with `program_dir` holding the program."""
    from .families import get
    from .network import load
    from .result import read

    config = config or BenchConfig()
    path = Path(path)
    result_file, result = read(program_dir if program_dir is not None else path)
    folder = result_file.parent
    source = result["network"]["source"]
    if (program_dir is not None and not path.is_dir()) or source is None:
        source = str(path)  # the network given beside --program-dir
    if not (folder / PROGRAM_FILE).is_file():
        raise Net2CodeError(f"{folder / PROGRAM_FILE} is missing: run `net2code extract` first")
    family = get(result["family"])
    if config.length is not None:
        if result["domain"]["kind"] != "sequences":
            raise Net2CodeError(
                f"--length is for sequence networks; this one is {result['family']}"
            )
        if config.length < 1:
            raise Net2CodeError(f"--length {config.length} must be >= 1")
    workload = family.workload(load(source), {**result, "bench_length": config.length})
    with tempfile.TemporaryDirectory(prefix="net2code-bench-") as tmp:
        items_file = None
        if workload.items is not None:
            items_file = str(Path(tmp) / "items.json")
            Path(items_file).write_text(json.dumps(workload.items), encoding="utf-8")
        base = {
            "family": result["family"],
            "network": str(source),
            "result": str(result_file),
            "program": str(folder / PROGRAM_FILE),
            "program_numpy": str(folder / NUMPY_FILE) if (folder / NUMPY_FILE).is_file() else None,
            "max_seconds": config.max_seconds,
            "call": workload.call,
            "ranges": workload.ranges,
            "items": items_file,
        }
        rows = []
        for batch in ("1", "full"):
            for variant in ("network", "program"):
                measured = _run({**base, "variant": variant, "batch": batch}, config.python)
                rows.append({"variant": variant, "batch": batch, **measured})
    by = {(r["variant"], r["batch"]): r for r in rows}
    ratios = {
        f"throughput_batch_{b}": by[("program", b)]["per_s"] / by[("network", b)]["per_s"]
        for b in ("1", "full")
    }
    ratios.update(
        {
            f"peak_rss_batch_{b}": by[("network", b)]["peak_rss_mb"]
            / by[("program", b)]["peak_rss_mb"]
            for b in ("1", "full")
        }
    )
    return {
        "family": result["family"],
        "domain": result["domain"]["spec"],
        "length": config.length,
        "unit": workload.unit,
        "workload_size": workload.size,
        "program": result["program"]["summary"],
        "verified": result["verified"],
        "network": result["network"]["description"],
        "rows": rows,
        "ratios": ratios,
        **provenance(None),
    }


def render_bench_markdown(report: dict[str, Any], title: str = "net2code bench") -> str:
    unit = report["unit"]
    lines = [
        f"# {title}",
        "",
        f"Network: {report['network']} ({report['family']}); program `{report['program']}` "
        f"(verified: {report['verified']}); {report['workload_size']:,} {unit} of "
        f"`{report['domain']}`"
        + (f", each {report['length']:,} steps long." if report.get("length") else "."),
        "",
        f"| variant | batch | {unit} timed | {unit}/s | peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['variant']} | {row['batch']} | {row['timed']:,} | "
            f"{row['per_s']:,.0f} | {row['peak_rss_mb']:.1f} |"
        )
    r = report["ratios"]
    lines += [
        "",
        f"Program / network throughput: **{r['throughput_batch_1']:,.0f}x** at batch 1, "
        f"**{r['throughput_batch_full']:,.1f}x** at full batch.",
        f"Network / program peak RSS: {r['peak_rss_batch_1']:.1f}x at batch 1, "
        f"{r['peak_rss_batch_full']:.1f}x at full batch.",
        "",
        f"Versions: {report['versions']}; device: {report['device']}.",
        "",
    ]
    return "\n".join(lines)


def write_bench(report: dict[str, Any], folder: Path | str, suffix: str = "") -> None:
    """bench.json and bench.md (bench-LENGTH.* when several lengths are timed)."""
    folder = Path(folder)
    atomic_write_json(folder / f"bench{suffix}.json", report)
    atomic_write_text(folder / f"bench{suffix}.md", render_bench_markdown(report))
