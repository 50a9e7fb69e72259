"""Small private helpers: atomic writes, provenance (versions, device), timing."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any


def umask_mode() -> int:
    """The mode a plain open() would give a new file (mkstemp's files are private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` via a temp file beside it, so nothing is left half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


@contextlib.contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Yield a temp folder beside `final`; on success its files are moved into `final`.

    On failure the temp folder is removed and `final` is left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        yield tmp
        final.mkdir(parents=True, exist_ok=True)
        for item in tmp.iterdir():
            target = final / item.name
            if item.is_dir() and target.is_dir():
                shutil.rmtree(target)  # a folder of outputs (figures/) is replaced whole
            os.replace(item, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def versions() -> dict[str, str]:
    """Package versions that matter for reproducing a run."""
    out = {"python": platform.python_version()}
    for name in ("net2code", "torch", "numpy", "safetensors", "onnx", "onnxruntime"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def device_info(device: str = "cpu") -> dict[str, Any]:
    """Where the run happened (`device`: the torch device it computed on; a GPU's name is
    added). torch's thread count only when torch is already loaded."""
    import sys

    torch = sys.modules.get("torch")
    info = {
        "device": device,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "cpu_count": os.cpu_count(),
    }
    if device.startswith("cuda") and torch is not None:
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def provenance(seed: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """What every output records: seed, versions, device, time."""
    return {
        "seed": seed,
        "versions": versions(),
        "device": device_info(device),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


class Timer:
    """Accumulates named wall-clock timings in seconds."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - start, 4)


JOBLIB_BACKENDS = ("loky", "threading", "dask", "ray")


def joblib_backend(backend: str, scheduler: str | None = None) -> Any:
    """Make joblib's `backend` usable: register ray, or start (or connect to) a dask client,
    which the caller closes. None for the local backends."""
    from .errors import ConfigError

    if backend not in JOBLIB_BACKENDS:
        raise ConfigError(f"backend {backend!r} is unknown; choose one of {JOBLIB_BACKENDS}")
    if backend == "ray":
        try:
            from ray.util.joblib import register_ray
        except ImportError:
            raise ConfigError("the ray backend needs ray: pip install 'ray[default]'") from None
        register_ray()
    if backend == "dask":
        try:
            from dask.distributed import Client
        except ImportError:
            raise ConfigError(
                "the dask backend needs dask: pip install 'dask[distributed]'"
            ) from None
        return Client(scheduler) if scheduler else Client(processes=True)
    return None
