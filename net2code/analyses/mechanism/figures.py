"""Figures for the mechanism report (matplotlib, rendered to PNG bytes)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .analysis import Mechanism


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def spectrum_figure(mechanism: Mechanism) -> bytes:
    plt = _pyplot()
    shares = np.array(mechanism.embedding_spectrum)
    ks = np.arange(1, len(shares) + 1)
    fig, ax = plt.subplots(figsize=(7, 2.6))
    colours = ["tab:red" if k in mechanism.frequencies else "tab:gray" for k in ks]
    ax.bar(ks, shares, color=colours)
    ax.set_xlabel("frequency k (w = 2πk/p)")
    ax.set_ylabel("share of embedding energy")
    ax.set_title(f"Embedding Fourier spectrum; key frequencies {mechanism.frequencies} in red")
    return _png(fig)


def logit_pattern_figure(logits: np.ndarray) -> bytes:
    """The correct-class logit over s = a+b and d = a-b (mod p)."""
    plt = _pyplot()
    p = logits.shape[0]
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    answers = logits.argmax(-1)
    correct = np.take_along_axis(logits, answers[..., None], axis=-1)[..., 0]
    table = np.zeros((p, p))
    table[(a + b) % p, (a - b) % p] = correct
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    image = ax.imshow(table, origin="lower", cmap="viridis", aspect="auto")
    ax.set_xlabel("d = a − b (mod p)")
    ax.set_ylabel("s = a + b (mod p)")
    ax.set_title("correct-class logit")
    fig.colorbar(image, ax=ax)
    return _png(fig)


def circles_figure(embedding: np.ndarray, mechanism: Mechanism) -> bytes:
    """Each principal-component pair of the embedding, points labelled by token."""
    plt = _pyplot()
    centred = embedding - embedding.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt.T
    pairs = mechanism.circles[:3] or [{"components": [0, 1], "frequencies": [0, 0]}]
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.6 * len(pairs), 3.4), squeeze=False)
    for ax, circle in zip(axes[0], pairs, strict=True):
        i, j = circle["components"]
        if j >= coords.shape[1]:
            ax.axis("off")
            continue
        ax.scatter(coords[:, i], coords[:, j], c=np.arange(len(coords)), cmap="hsv", s=18)
        for token, (x, y) in enumerate(coords[:, [i, j]]):
            ax.annotate(str(token), (x, y), fontsize=6, alpha=0.7)
        ax.set_title(f"PC{i + 1}/PC{j + 1}: k = {circle['frequencies']}")
        ax.set_aspect("equal", adjustable="datalim")
    return _png(fig)
