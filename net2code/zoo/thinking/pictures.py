"""The iterated family's figures for `net2code report`: a maze, the network's state as it thinks
(a strip and an animated GIF), prediction against label (and the extracted rule), and accuracy
against iterations from the run's eval.json (and other runs', to compare)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ...errors import ConfigError
from ...families.iterated import iteration_cap
from .data import COLOURS
from .evaluate import EVAL_SEED, held_out

if TYPE_CHECKING:
    from ...families.iterated import IteratedNetwork

PATH_COLOUR = np.array([0.15, 0.35, 1.0])


def _plt() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("the report needs matplotlib: pip install 'net2code[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(plt: Any, fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _maze_rgb(kinds: np.ndarray, prob: np.ndarray | None = None) -> np.ndarray:
    """Maze colours; where `prob` is given, open pixels are tinted blue by it."""
    rgb = COLOURS[kinds].copy()  # (H, W, 3)
    if prob is not None:
        open_ = kinds == 1
        tint = prob[..., None] * PATH_COLOUR + (1 - prob[..., None]) * np.ones(3)
        rgb[open_] = tint[open_]
    return rgb


def _frames(model: Any, x: torch.Tensor, iters: int) -> list[np.ndarray]:
    """P(on path) per pixel after 0..iters iterations, for one problem. (iters + 1, *spatial)"""
    out = []
    with torch.no_grad():
        state = model.initial_state(x)
        out.append(torch.softmax(model.readout(state), 1)[0, 1].numpy())
        for t in range(iters):
            state = model.step(state, x, t)
            out.append(torch.softmax(model.readout(state), 1)[0, 1].numpy())
    return out


def _gif(frames: list[np.ndarray], scale: int, duration_ms: int = 80) -> bytes:
    from PIL import Image

    images = [
        Image.fromarray((np.kron(f, np.ones((scale, scale, 1))) * 255).astype(np.uint8))
        for f in frames
    ]
    buffer = io.BytesIO()
    images[0].save(
        buffer, save_all=True, append_images=images[1:], duration=duration_ms, loop=0, format="GIF"
    )
    return buffer.getvalue()


def _accuracy_plot(plt: Any, runs: list[tuple[str, dict[str, Any]]]) -> bytes:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    styles = ["-", "--", ":", "-."]
    sizes = sorted({row["size"] for _, result in runs for row in result["sizes"]})
    for index, (label, result) in enumerate(runs):
        for row in result["sizes"]:
            its = sorted(int(k) for k in row["accuracy"])
            acc = [100 * row["accuracy"][str(i)] for i in its]
            ax.plot(
                its,
                acc,
                styles[index % len(styles)],
                color=f"C{sizes.index(row['size']) % 10}",
                marker="o",
                markersize=3,
                label=f"{label}, size {row['size']}",
            )
    ax.set_xscale("log")
    ax.set_xlabel("test iterations")
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Accuracy against iterations")
    return _png(plt, fig)


def _run_label(raw: dict[str, Any]) -> str:
    model = raw.get("model") or {}
    if model.get("kind") == "ff_net":
        return "feed-forward"
    return "recall" if model.get("recall", True) else "no recall"


def pictures(
    network: IteratedNetwork,
    folder: Path,
    program: Any = None,
    compare: list[Path] | None = None,
    size: int | None = None,
    seed: int = EVAL_SEED,
) -> tuple[dict[str, bytes], list[str]]:
    """Figures (name -> PNG or GIF bytes) and Markdown lines for the report of a DT-net run
    in `folder`; `program` is the extracted one, drawn beside the network's prediction."""
    plt = _plt()
    model, task, train_size = network.model, network.problem, network.train_size
    task_name = "maze" if task == "maze" else "prefix_sums"
    size = size or (train_size + 4 if task == "maze" else 4 * train_size)
    x, y, mask, data = held_out(task_name, size, 1, seed)
    iters = iteration_cap(task, size)
    frames = _frames(model, x, iters)
    final = frames[-1] > 0.5
    label = y[0].numpy().astype(bool)
    open_ = mask[0].numpy()
    solved = bool(((final == label) | ~open_).all())
    changed = [
        t for t in range(1, len(frames)) if ((frames[t] > 0.5) != (frames[t - 1] > 0.5)).any()
    ]
    last_change = changed[-1] if changed else 0
    settle = min(last_change + 1, len(frames) - 1)  # the last frame shown
    program_out = None
    if program is not None:
        problem = data.kinds[0] if task == "maze" else data.bits[0]
        program_out = np.asarray(program(problem)).astype(bool)
    figures: dict[str, bytes] = {}
    if task == "maze":
        kinds = data.kinds[0]
        fig, ax = plt.subplots(figsize=(3, 3))
        ax.imshow(_maze_rgb(kinds), interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"a {size}x{size} maze")
        figures["maze"] = _png(plt, fig)
        picks = sorted({0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, settle} & set(range(settle + 1)))
        fig, axes = plt.subplots(1, len(picks), figsize=(2 * len(picks), 2.3))
        for ax, t in zip(np.atleast_1d(axes), picks, strict=True):
            ax.imshow(_maze_rgb(kinds, frames[t]), interpolation="nearest")
            ax.set_title(f"iteration {t}", fontsize=8)
            ax.set_axis_off()
        figures["thinking"] = _png(plt, fig)
        steps = list(range(0, settle + 1, max(1, (settle + 1) // 60))) + [settle] * 8
        figures["thinking_animated"] = _gif(
            [_maze_rgb(kinds, frames[t]) for t in steps], scale=max(2, 240 // (size + 2))
        )
        panels = [("network", final), ("label", label)]
        if program_out is not None:
            panels.append(("extracted rule", program_out))
        fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.2))
        for ax, (name, bits) in zip(axes, panels, strict=True):
            ax.imshow(_maze_rgb(kinds, bits.astype(float)), interpolation="nearest")
            ax.set_title(name)
            ax.set_axis_off()
        figures["prediction"] = _png(plt, fig)
    else:
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.imshow(
            np.stack(frames[: settle + 1]), aspect="auto", cmap="Blues", interpolation="nearest"
        )
        ax.set_xlabel("position")
        ax.set_ylabel("iteration")
        ax.set_title(f"P(prefix parity = 1) on a {size}-bit string as the network iterates")
        figures["thinking"] = _png(plt, fig)
        rows = [data.bits[0], final.astype(int), label.astype(int)]
        names = ["input", "network", "label"]
        if program_out is not None:
            rows.append(program_out.astype(int))
            names.append("extracted scan")
        fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 0.6))
        ax.imshow(np.stack(rows), aspect="auto", cmap="Greys", interpolation="nearest")
        ax.set_yticks(range(len(rows)), names)
        ax.set_xlabel("position")
        figures["prediction"] = _png(plt, fig)
    runs = []
    for path in [folder, *(compare or [])]:
        eval_file = Path(path) / "eval.json"
        if eval_file.is_file():
            result = json.loads(eval_file.read_text(encoding="utf-8"))
            runs.append((_run_label(result), result))
        elif Path(path) != folder:
            raise ConfigError(f"--compare {path} has no eval.json; run `net2code evaluate {path}`")
    if runs:
        figures["accuracy"] = _accuracy_plot(plt, runs)
    lines = [
        f"## {task.replace('_', ' ')}: {_run_label({'model': model.config.to_dict()})} DT-net, "
        f"width {model.config.width}",
        "",
        f"Trained on size {train_size}; the example in the figures is size {size}, run {iters} "
        f"iterations: {'solved' if solved else 'NOT solved'}, last change at iteration "
        f"{last_change}.",
        "",
    ]
    if (folder / "eval.md").is_file():
        text = (folder / "eval.md").read_text(encoding="utf-8").replace("\n# ", "\n## ")
        lines += ["#" + text if text.startswith("# ") else text, ""]
    return figures, lines
