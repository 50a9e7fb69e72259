"""One function that runs the sequence pipeline on a trained run: load -> machine -> program ->
emit -> verify (training length, longer, 10x against the ground truth) -> result.json."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._util import atomic_write_json, provenance, staged_dir
from ..emit import load_function
from ..errors import ConfigError
from .extract import extract_loop
from .tasks import get_task
from .train import load_rnn_run
from .verify import Check, check

EXTRACT_SEQUENCES = 4000  # training inputs the state is discretised on
LONG_SEQUENCES = 500


def load_truth(spec: str) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """A preset name, or a .py file defining truth(xs) -> list of outputs for one sequence."""
    if spec.endswith(".py"):
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(f"--truth file {spec!r} does not exist")
        namespace: dict[str, Any] = {}
        exec(
            compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace
        )  # the user's own file
        if not callable(namespace.get("truth")):
            raise ConfigError(f"--truth file {spec!r} does not define truth(xs)")
        from .verify import as_python

        def vectorised(x: np.ndarray) -> np.ndarray:
            return np.array([namespace["truth"](seq) for seq in as_python(x)])

        return str(path), vectorised
    task = get_task(spec)
    return task.name, lambda x: task.truth(x[:, :, 0] if x.ndim == 3 and x.shape[2] == 1 else x)


def _sample_like(inputs: np.ndarray, n: int, length: int, seed: int) -> np.ndarray:
    """Sequences whose steps are drawn from the steps seen in `inputs` (n, length, d)."""
    pool = inputs.reshape(-1, inputs.shape[-1])
    rng = np.random.default_rng(seed)
    return pool[rng.integers(len(pool), size=(n, length))]


def extract_run(
    folder: Path | str,
    output: Path | str | None = None,
    *,
    truth: str | None = None,
    timeout: float = 60.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Extract, verify and write program.py, result.json and report.md for an RNN run."""
    folder = Path(folder)
    output = Path(output) if output is not None else (folder if folder.is_dir() else folder.parent)
    start = time.perf_counter()
    model, raw, inputs = load_rnn_run(folder)
    truth_spec = truth or raw.get("task")
    truth_name, truth_fn = load_truth(truth_spec) if truth_spec else (None, None)
    train, test = inputs["train"], inputs["test"]
    length = int(train.shape[1])
    doc = [
        f"Extracted by net2code from the recurrent network in {folder}.",
        "Takes one sequence (a list of numbers, or of tuples) of any length;",
        "returns one output per step.",
    ]
    program, machine = extract_loop(model, train[:EXTRACT_SEQUENCES], timeout=timeout, doc=doc)
    extract_seconds = time.perf_counter() - start
    tolerance = model.config.output.tolerance
    checks: dict[str, Check] = {}
    if program.source:
        function = load_function(program.source)
        checks["network_at_L"] = check(function, test, model.run(test)[0], "network", tolerance)
        longer = _sample_like(test, LONG_SEQUENCES, 2 * length, seed + 1)
        checks["network_at_2L"] = check(
            function, longer, model.run(longer)[0], "network", tolerance
        )
        if truth_fn is not None:
            if truth_name in _presets():  # the preset's own input distribution
                x10 = get_task(truth_name).sample(LONG_SEQUENCES, 10 * length, seed + 2)
                x10 = x10[:, :, None] if x10.ndim == 2 else x10
            else:
                x10 = _sample_like(test, LONG_SEQUENCES, 10 * length, seed + 2)
            checks["truth_at_10L"] = check(function, x10, truth_fn(x10), "truth", tolerance)
            checks["network_at_10L_vs_truth"] = check(
                lambda xs: list(model.run(np.asarray([xs]).reshape(1, len(xs), -1))[0][0]),
                x10[:100], truth_fn(x10[:100]), "truth", tolerance,
            )  # fmt: skip
    verified = bool(checks.get("network_at_L") and checks["network_at_L"].passed)
    correct_10 = checks.get("truth_at_10L").passed if "truth_at_10L" in checks else None  # type: ignore[union-attr]
    training = raw.get("training", {})
    result = {
        "verified": verified,
        "agreement": checks["network_at_L"].steps_agree if "network_at_L" in checks else 0.0,
        "correct_at_10L": correct_10,
        "training_length": length,
        "program": "program.py",
        "kind": program.kind,
        "description": program.description,
        "general": program.general,
        "lines": program.lines,
        "details": program.details,
        "machine": machine.stats if machine is not None else None,
        "checks": {name: c.to_dict() for name, c in checks.items()},
        "truth": truth_name,
        "network": {
            "hidden": model.config.hidden,
            "width": model.config.width,
            "output": model.config.output.kind,
            "test_accuracy": training.get("test_accuracy"),
        },
        "timings": {
            "extract": round(extract_seconds, 2),
            "total": round(time.perf_counter() - start, 2),
        },
        **provenance(seed),
    }
    with staged_dir(output) as tmp:
        if program.source:
            (tmp / "program.py").write_text(program.source, encoding="utf-8")
        atomic_write_json(tmp / "result.json", result)
        (tmp / "report.md").write_text(_report(result, program.source), encoding="utf-8")
    return result


def _presets() -> set[str]:
    from .tasks import TASKS

    return set(TASKS)


def _report(result: dict[str, Any], source: str) -> str:
    lines = [
        "# net2code: recurrent network -> loop",
        "",
        f"- program kind: {result['kind']} ({result['description']})",
        f"- verified against the network at the training length {result['training_length']}: "
        f"{result['verified']} (agreement {100 * result['agreement']:.3f}% of steps)",
        f"- correct at 10x the training length against {result['truth']}: "
        f"{result['correct_at_10L']}",
        f"- lines of code: {result['lines']}",
        "",
        "| check | length | sequences | steps agree | sequences agree | program errors |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in result["checks"].items():
        lines.append(
            f"| {name} | {c['length']} | {c['sequences']} | {100 * c['steps_agree']:.2f}% | "
            f"{100 * c['sequences_agree']:.2f}% | {c['program_errors']} |"
        )
    lines += ["", "```python", source.rstrip(), "```", ""]
    return "\n".join(lines)
