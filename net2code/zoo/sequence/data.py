"""Sequence data files: `x` (n, length) or (n, length, d) and `y` (n, length), one output per step.

Files are `.npz` archives read with `allow_pickle=False`. Integer outputs with few distinct
values are read as classes, other outputs as values (integers are then read back by rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError

MAX_INPUT_DIMS = 4
MAX_CLASSES = 32  # integer outputs with at most this many distinct values are classes
MAX_SEQUENCES = 2_000_000


@dataclass(frozen=True)
class SequenceData:
    x: np.ndarray  # (n, length, d): int64 or float64
    y: np.ndarray  # (n, length): int64 or float64

    @property
    def integer_inputs(self) -> bool:
        return self.x.dtype.kind in "iu"

    @property
    def integer_outputs(self) -> bool:
        return self.y.dtype.kind in "iu"

    @property
    def length(self) -> int:
        return int(self.x.shape[1])

    @property
    def n_inputs(self) -> int:
        return int(self.x.shape[2])


def as_3d(x: np.ndarray) -> np.ndarray:
    return x[:, :, None] if x.ndim == 2 else x


def validate(x: Any, y: Any, source: str = "data") -> SequenceData:
    """Check shapes, dtypes and values; one error naming the value and the limit."""
    x, y = np.asarray(x), np.asarray(y)
    for name, arr in (("x", x), ("y", y)):
        if arr.dtype.kind not in "biuf":
            raise ConfigError(
                f"{source}: array {name!r} has dtype {arr.dtype}; need ints or floats"
            )
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ConfigError(f"{source}: array {name!r} holds NaN or infinite values")
    if x.ndim not in (2, 3):
        raise ConfigError(f"{source}: x has shape {x.shape}; need (n, length) or (n, length, d)")
    if y.ndim != 2:
        raise ConfigError(f"{source}: y has shape {y.shape}; need (n, length), one output per step")
    if x.shape[:2] != y.shape:
        raise ConfigError(
            f"{source}: x has shape {x.shape} but y has {y.shape}; their first two axes must match"
        )
    n, length = y.shape
    if n < 10:
        raise ConfigError(f"{source}: {n} sequences is too few; need at least 10")
    if n > MAX_SEQUENCES:
        raise ConfigError(f"{source}: {n:,} sequences is over the limit of {MAX_SEQUENCES:,}")
    if length < 1:
        raise ConfigError(f"{source}: sequences of length {length}; need at least 1 step")
    x = as_3d(x)
    if x.shape[2] > MAX_INPUT_DIMS:
        raise ConfigError(
            f"{source}: {x.shape[2]} inputs per step is over the limit of {MAX_INPUT_DIMS}"
        )
    x = x.astype(np.int64) if x.dtype.kind in "biu" else x.astype(np.float64)
    y = y.astype(np.int64) if y.dtype.kind in "biu" else y.astype(np.float64)
    return SequenceData(x, y)


def load_npz(path: Path | str) -> SequenceData:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"data file {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("x", "y") if k not in archive.files]
            if missing:
                raise ConfigError(
                    f"{path} has arrays {archive.files}; it needs 'x' and 'y' (missing {missing})"
                )
            x, y = archive["x"], archive["y"]
    except ConfigError:
        raise
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not a readable .npz of arrays: {exc}") from None
    return validate(x, y, str(path))


def save_npz(path: Path | str, x: np.ndarray, y: np.ndarray) -> None:
    """Write atomically, so a crash leaves no half-written file."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez_compressed(tmp, x=x, y=y)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
