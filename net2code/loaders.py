"""`load()`: one entry point for every network file, never by unpickling.

* a net2code run folder, its `model.safetensors` or its `config.json`: the checkpoint registry
  rebuilds whatever architecture config.json names (`net2code.checkpoint`);
* ONNX (`.onnx`): `onnx` reads and checks the graph, `onnxruntime` runs it as the reference;
* `torch.export` archives (`.pt2`), with a dynamic batch axis or a fixed one.

A graph must map (batch, n_inputs) to (batch, n_outputs) or (batch,); any other output shape is
refused in one line rather than reinterpreted. A pickled `.pt`/`.pth` model is refused with
instructions to export it. Where a graph is a chain of Gemm/MatMul/Add/Relu (ONNX) or
linear/relu (torch.export) ops, its layers are exposed for the exact decision tree.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError
from .network import FeedForwardNetwork, Network, layers_from_ops

EXPORT_HINT = (
    "export it instead: torch.export.save(torch.export.export(model, (example,)), 'model.pt2') "
    "or torch.onnx.export(model, (example,), 'model.onnx'); from Python, "
    "net2code.from_module(model, n_inputs=..., n_classes=...) takes the module itself"
)
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")


def load(path: Path | str, config: Path | str | None = None) -> Network:
    """The network in `path`: a run folder, .safetensors, .onnx, .pt2, a Hugging Face folder,
    or a TransformerLens-layout state dict (`.pt`/`.pth`) with its JSON `config` (found beside
    it when not given; see the module doc)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if path.is_dir():
        from .sequence import is_hf_folder, load_hf

        if is_hf_folder(path):
            return load_hf(path)
    if suffix == ".safetensors" and not (path.parent / "config.json").is_file():
        from .bilinear import is_factor_file, load_safetensors_factors

        if is_factor_file(path):  # three matrices U, V, W: a bilinear network
            return load_safetensors_factors(path)
    if path.is_dir() or suffix in (".safetensors", ".json"):
        from .checkpoint import load_run

        return load_run(path)
    if suffix == ".onnx":
        return _load_onnx(path)
    if suffix == ".pt2":
        return _load_pt2(path)
    if suffix == ".npz":
        raise CheckpointError(
            f"{path} is a NumPy data archive, not a network: pass a run folder, .safetensors, "
            ".onnx or .pt2 (data files go to `net2code train rnn --data`)"
        )
    if suffix in PICKLE_SUFFIXES:
        state = _unwrap(_read_weights(path))
        config_path = _transformerlens_config(path, config, state)
        if config_path is not None:
            from .zoo.modular.transformerlens import load_transformerlens

            return load_transformerlens(path, state, config_path)
        kind = type(state).__name__
        raise CheckpointError(
            f"{path} holds only weights ({kind}), no architecture: {EXPORT_HINT}; a "
            "TransformerLens-layout state dict needs its JSON config beside it or --config"
        )
    head = path.read_bytes()[:4]
    if head.startswith(b"PK"):
        return _load_pt2(path)
    raise CheckpointError(
        f"cannot tell the format of {str(path)!r}: "
        "expected a run folder, .safetensors, .onnx or .pt2"
    )


def _first_line(exc: BaseException, limit: int = 200) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence Python warnings and torch's loggers while a foreign file is read: the one line
    net2code prints is the message."""
    loggers = [logging.getLogger(name) for name in ("torch", "torch._export", "torch.export")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _read_weights(path: Path) -> Any:
    """What a torch.save file holds, read with weights_only=True (no pickle code runs); a
    pickled full model is refused."""
    import pickle

    import torch

    try:
        with _quiet():
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickler errors on corrupt bytes vary (IndexError, ...)
        if "weights_only" in str(exc) or isinstance(exc, pickle.UnpicklingError):
            raise CheckpointError(
                f"{path} is a pickled full model; net2code never unpickles a file: {EXPORT_HINT}"
            ) from None
        raise CheckpointError(f"{path} is not a readable torch file ({_first_line(exc)})") from None


def _refuse_torch_file(path: Path) -> None:
    """Say what a torch.save file holds without running its pickle code, then refuse it."""
    kind = type(_read_weights(path)).__name__
    raise CheckpointError(f"{path} holds only weights ({kind}), no architecture: {EXPORT_HINT}")


def _unwrap(state: Any) -> Any:
    """The state dict inside a training checkpoint such as {"model": state_dict, "epoch": 7}
    (read with weights_only, so only tensors and plain values are in it)."""
    if isinstance(state, dict):
        for key in ("model", "state_dict", "model_state_dict"):
            inner = state.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(k, str) for k in inner):
                return inner
    return state


def _transformerlens_config(path: Path, given: Path | str | None, state: Any) -> Path | None:
    """The JSON config of a TransformerLens-layout state dict, or None when `state` is not one
    (or has no config to go with it)."""
    from .zoo.modular.transformerlens import find_config

    if not isinstance(state, dict) or not any(
        isinstance(k, str) and (k.startswith("embed.") or k.startswith("blocks.")) for k in state
    ):
        if given is not None:
            raise CheckpointError(f"{path} is not a TransformerLens-layout state dict")
        return None
    return find_config(path, None if given is None else Path(given))


def _outputs_per_point(shape: tuple[Any, ...], path: Path, what: str) -> int | None:
    """n_outputs from an output shape (batch,) or (batch, k); None when k is not known yet.
    Anything else is refused: no family claims it, and flattening would change its meaning."""
    if len(shape) == 1:
        return 1
    if len(shape) == 2:
        return shape[1] if isinstance(shape[1], int) else None
    dims = ", ".join(str(d) for d in shape)
    raise CheckpointError(
        f"{path}: {what} has shape ({dims}); no family of networks takes it: a feed-forward "
        "network gives (batch, n_outputs) or (batch,), a sequence network (batch, length, k)"
    )


def _chunked(
    run: Callable[[np.ndarray], np.ndarray], fixed_batch: int | None, n_inputs: int, dtype: Any
) -> Callable[[np.ndarray], np.ndarray]:
    """A forward pass over any number of points for a graph traced with a fixed batch size:
    points go through in chunks of that size, the last one padded."""

    def forward(points: np.ndarray) -> np.ndarray:
        feed = np.ascontiguousarray(points, dtype=dtype)
        if fixed_batch is None:
            return run(feed)
        parts = []
        for i in range(0, len(feed), fixed_batch):
            chunk = feed[i : i + fixed_batch]
            pad = np.zeros((fixed_batch - len(chunk), n_inputs), dtype=dtype)
            parts.append(np.asarray(run(np.concatenate([chunk, pad])))[: len(chunk)])
        return np.concatenate(parts) if parts else np.zeros((0,))

    return forward


# ---------------------------------------------------------------------------- ONNX
def _load_onnx(path: Path) -> Network:
    try:
        import onnx
        import onnxruntime as ort
    except ImportError:
        raise CheckpointError(
            "reading ONNX needs the onnx and onnxruntime packages: pip install 'net2code[onnx]'"
        ) from None
    ort.set_default_logger_severity(4)  # onnxruntime's messages go inside net2code's one line
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty or not ONNX (0 bytes)")
    try:
        with _quiet():
            model = onnx.load(str(path))
            if not model.graph.node and not model.graph.input:
                raise ValueError("no graph")
            onnx.checker.check_model(model)
    except Exception as exc:  # protobuf DecodeError, ValidationError, ...
        raise CheckpointError(
            f"{path} is empty or not a valid ONNX model: {_first_line(exc)}"
        ) from None
    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise CheckpointError(f"{path}: onnxruntime cannot run it: {_first_line(exc)}") from None
    try:
        return _onnx_network(path, model, session)
    except CheckpointError:
        raise
    except Exception as exc:  # a graph that parses and runs but whose names or types do not
        raise CheckpointError(f"{path} is not a usable ONNX model: {_first_line(exc)}") from None


def _onnx_network(path: Path, model: Any, session: Any) -> Network:
    """The network behind an onnxruntime session, after its signature is checked."""
    import onnx

    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) == 2:  # (vec A, vec B): a bilinear network, if its weights say so
        return _onnx_bilinear(path, model, session)
    if len(inputs) != 1:
        raise CheckpointError(f"{path} has {len(inputs)} graph inputs; net2code needs exactly 1")
    graph_input = inputs[0]
    shape = graph_input.shape
    if len(outputs[0].shape) == 3 or len(shape) == 3:
        return _onnx_sequence(path, model, session)
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise CheckpointError(
            f"{path}: input {graph_input.name!r} has shape {shape}; expected (batch, n_inputs)"
        )
    n_inputs = shape[1]
    is_int = "int" in graph_input.type
    if not is_int and "float" not in graph_input.type:
        raise CheckpointError(
            f"{path}: input {graph_input.name!r} has type {graph_input.type}; "
            "expected integers or floats"
        )
    dtype = np.int64 if "int64" in graph_input.type else np.int32 if is_int else np.float32
    fixed_batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None

    def run(feed: np.ndarray) -> np.ndarray:
        try:
            return np.asarray(session.run(None, {graph_input.name: feed})[0])
        except Exception as exc:
            raise CheckpointError(f"{path}: onnxruntime failed: {_first_line(exc)}") from None

    forward = _chunked(run, fixed_batch, n_inputs, dtype)
    n_outputs = _outputs_per_point(tuple(outputs[0].shape), path, f"output {outputs[0].name!r}")
    if n_outputs is None:  # a dynamic width: ask the graph
        probe = forward(np.zeros((fixed_batch or 1, n_inputs), dtype=dtype))
        n_outputs = _outputs_per_point(probe.shape, path, f"output {outputs[0].name!r}") or 1
    weights = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    vocab = _onnx_vocab(model, weights) if is_int else None
    n_params = int(sum(w.size for w in weights.values()))
    return FeedForwardNetwork(
        forward=forward,
        n_inputs=n_inputs,
        n_outputs=n_outputs,
        description=f"ONNX graph ({len(model.graph.node)} nodes, {n_params:,} parameters)",
        vocab=vocab,
        source=str(path),
        layers=None if is_int else layers_from_ops(_onnx_ops(model, weights)),
        n_parameters=n_params,
    )


def _onnx_bilinear(path: Path, model: Any, session: Any) -> Network:
    import onnx

    from .bilinear import identify

    first, second = session.get_inputs()
    widths = []
    for graph_input in (first, second):
        shape = graph_input.shape
        if len(shape) != 2 or not isinstance(shape[1], int) or "float" not in graph_input.type:
            raise CheckpointError(
                f"{path}: two inputs, but {graph_input.name!r} has shape {shape} and type "
                f"{graph_input.type}; a bilinear network takes float (batch, n*m) and (batch, m*p)"
            )
        widths.append(int(shape[1]))
    dtype = np.float64 if "double" in first.type else np.float32

    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        feed = {first.name: a.astype(dtype), second.name: b.astype(dtype)}
        return np.asarray(session.run(None, feed)[0])

    weights = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    return identify(
        weights, run, (widths[0], widths[1]), str(path),
        f"bilinear ONNX graph ({len(model.graph.node)} nodes)",
    )  # fmt: skip


def _fixed_batch(
    run: Callable[[np.ndarray], np.ndarray], fixed_batch: int | None
) -> Callable[[np.ndarray], np.ndarray]:
    """Sequences through a graph traced at one batch size: in chunks of it, the last padded."""
    if fixed_batch is None:
        return run

    def forward(feed: np.ndarray) -> np.ndarray:
        parts = []
        for i in range(0, len(feed), fixed_batch):
            chunk = feed[i : i + fixed_batch]
            pad = np.broadcast_to(chunk[:1], (fixed_batch - len(chunk), *chunk.shape[1:]))
            parts.append(np.asarray(run(np.concatenate([chunk, pad])))[: len(chunk)])
        return np.concatenate(parts)

    return forward


def _onnx_sequence(path: Path, model: Any, session: Any) -> Network:
    """A sequence graph: (batch, length) tokens or (batch, length, d) values to (batch, length,
    k); recurrent ops (RNN, GRU, LSTM, Scan, Loop) or any graph with that signature."""
    import onnx

    from .sequence import SequenceNetwork

    graph_input, graph_output = session.get_inputs()[0], session.get_outputs()[0]
    shape = graph_input.shape
    is_int = "int" in graph_input.type
    if len(shape) not in (2, 3) or (len(shape) == 3 and is_int):
        raise CheckpointError(
            f"{path}: input {graph_input.name!r} has shape {shape}; a sequence graph takes "
            "(batch, length) tokens or (batch, length, d) values"
        )
    if len(shape) == 3 and not isinstance(shape[2], int):
        raise CheckpointError(f"{path}: input {graph_input.name!r} has no fixed step size {shape}")
    dtype = np.int64 if "int64" in graph_input.type else np.int32 if is_int else np.float32
    fixed_batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
    fixed_length = shape[1] if isinstance(shape[1], int) and shape[1] > 0 else None

    def run(feed: np.ndarray) -> np.ndarray:
        try:
            return np.asarray(session.run(None, {graph_input.name: feed.astype(dtype)})[0])
        except Exception as exc:
            raise CheckpointError(f"{path}: onnxruntime failed: {_first_line(exc)}") from None

    forward = _fixed_batch(run, fixed_batch)
    length = fixed_length or 3
    probe_shape = (
        (fixed_batch or 2, length) if len(shape) == 2 else (fixed_batch or 2, length, shape[2])
    )
    probe = forward(np.zeros(probe_shape, dtype=dtype))
    if probe.ndim != 3:
        raise CheckpointError(
            f"{path}: output {graph_output.name!r} has shape {probe.shape} for input "
            f"{probe_shape}; a sequence network gives (batch, length, outputs)"
        )
    weights = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    n_params = int(sum(w.size for w in weights.values()))
    ops = sorted({n.op_type for n in model.graph.node} & {"RNN", "GRU", "LSTM", "Scan", "Loop"})
    kind = f"{'/'.join(ops)} " if ops else ""
    return SequenceNetwork(
        forward=forward,
        n_outputs=int(probe.shape[2]),
        tokens=len(shape) == 2,
        inputs_per_step=1 if len(shape) == 2 else int(shape[2]),
        vocab=_onnx_vocab(model, weights) if is_int else None,
        fixed_length=fixed_length,
        description=f"ONNX {kind}sequence graph ({len(model.graph.node)} nodes, "
        f"{n_params:,} parameters)",
        source=str(path),
        n_parameters=n_params,
    )


def _onnx_vocab(model: Any, weights: dict[str, np.ndarray]) -> int | None:
    """For integer inputs feeding a Gather (an embedding), the table's row count."""
    name = model.graph.input[0].name
    for node in model.graph.node:
        if node.op_type == "Gather" and name in node.input:
            table = node.input[0]
            if table in weights and weights[table].ndim >= 1:
                return int(weights[table].shape[0])
    return None


def _onnx_ops(model: Any, weights: dict[str, np.ndarray]) -> list[tuple[str, object]]:
    """Translate a Gemm/MatMul/Add/Relu chain into linear/relu ops (else an 'other' op)."""
    ops: list[tuple[str, object]] = []
    for node in model.graph.node:
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "Gemm":
            if node.input[1] not in weights or weights[node.input[1]].ndim != 2:
                return [("other", None)]
            w = weights[node.input[1]].astype(np.float64)
            trans_b = attrs["transB"].i if "transB" in attrs else 0
            trans_a = attrs["transA"].i if "transA" in attrs else 0
            alpha = attrs["alpha"].f if "alpha" in attrs else 1.0
            beta = attrs["beta"].f if "beta" in attrs else 1.0
            if trans_a:
                return [("other", None)]
            w = alpha * (w if trans_b else w.T)  # (out, in)
            b = (
                beta * weights[node.input[2]].astype(np.float64).reshape(-1)
                if len(node.input) > 2 and node.input[2] in weights
                else np.zeros(w.shape[0])
            )
            if b.size not in (1, w.shape[0]):
                return [("other", None)]
            ops.append(("linear", (w, np.broadcast_to(b, (w.shape[0],)).copy())))
        elif node.op_type == "MatMul" and node.input[1] in weights:
            if weights[node.input[1]].ndim != 2:
                return [("other", None)]
            w = weights[node.input[1]].astype(np.float64).T
            ops.append(("linear", (w, np.zeros(w.shape[0]))))
        elif node.op_type == "Add" and any(i in weights for i in node.input):
            bias = (
                next(weights[i] for i in node.input if i in weights).astype(np.float64).reshape(-1)
            )
            if not ops or ops[-1][0] != "linear":
                return [("other", None)]
            w, b = ops[-1][1]  # type: ignore[misc]
            if bias.size not in (1, len(b)):
                return [("other", None)]
            ops[-1] = ("linear", (w, b + bias))
        elif node.op_type == "Relu":
            ops.append(("relu", None))
        elif node.op_type in ("Identity", "Flatten"):
            continue
        else:
            return [("other", None)]
    return ops


# ---------------------------------------------------------------------------- torch.export
def _load_pt2(path: Path) -> Network:
    import torch

    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("not a zip archive")
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if any(name.endswith(".npy") for name in names):
            raise CheckpointError(
                f"{path} is a NumPy data archive (.npz), not a network: pass a run folder, "
                ".safetensors, .onnx or .pt2"
            )
        if any(name.endswith("data.pkl") for name in names) and not any(
            "serialized_exported_program" in name or name.endswith(".json") for name in names
        ):
            _refuse_torch_file(path)
        with _quiet():
            program = torch.export.load(str(path))
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(
            f"{path} is not a readable torch.export archive: {_first_line(exc)}"
        ) from None
    try:
        with _quiet():
            return _pt2_network(path, program)
    except CheckpointError:
        raise
    except Exception as exc:  # an archive that loads but whose program does not hold together
        raise CheckpointError(
            f"{path} is not a usable torch.export program: {_first_line(exc)}"
        ) from None


def _pt2_bilinear(path: Path, program: Any, placeholders: list[Any]) -> Network:
    import torch

    from .bilinear import identify

    values = [node.meta.get("val") for node in placeholders]
    if any(v is None or v.dim() != 2 or not isinstance(v.shape[1], int) for v in values):
        shapes = [None if v is None else tuple(v.shape) for v in values]
        raise CheckpointError(
            f"{path}: two inputs of shapes {shapes}; a bilinear network takes (batch, n*m) and "
            "(batch, m*p)"
        )
    module = program.module()
    dtype = values[0].dtype

    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = module(torch.as_tensor(a, dtype=dtype), torch.as_tensor(b, dtype=dtype))
        return out.double().numpy()

    weights = {
        name: tensor.detach().double().numpy()
        for name, tensor in [*program.state_dict.items(), *program.constants.items()]
        if isinstance(tensor, torch.Tensor)
    }
    batch = values[0].shape[0]  # a traced program may be specialised to its batch size
    return identify(
        weights, run, (int(values[0].shape[1]), int(values[1].shape[1])), str(path),
        "bilinear torch.export program", batch=batch if isinstance(batch, int) else 16,
    )  # fmt: skip


def _pt2_network(path: Path, program: Any) -> Network:
    """The network behind a loaded torch.export program, after its signature is checked."""
    import torch

    module = program.module()
    placeholders = [
        node
        for node in program.graph.nodes
        if node.op == "placeholder" and node.name in program.graph_signature.user_inputs
    ]
    if len(placeholders) == 2:  # (vec A, vec B): a bilinear network, if its weights say so
        return _pt2_bilinear(path, program, placeholders)
    if len(placeholders) != 1:
        raise CheckpointError(f"{path} takes {len(placeholders)} inputs; net2code needs exactly 1")
    value = placeholders[0].meta.get("val")
    if value is not None and value.dim() in (2, 3):
        sequence = _pt2_sequence(path, program, value)
        if sequence is not None:
            return sequence
    if value is None or value.dim() != 2 or not isinstance(value.shape[1], int):
        shape = None if value is None else tuple(value.shape)
        raise CheckpointError(
            f"{path}: the input has shape {shape}; expected a (batch, n_inputs) tensor"
        )
    n_inputs = int(value.shape[1])
    dtype = value.dtype
    batch = value.shape[0]
    fixed_batch = int(batch) if isinstance(batch, int) else None

    def run(feed: np.ndarray) -> np.ndarray:
        try:
            with torch.no_grad():
                return module(torch.as_tensor(feed, dtype=dtype)).detach().numpy()
        except Exception as exc:
            raise CheckpointError(
                f"{path}: the exported program failed: {_first_line(exc)}"
            ) from None

    numpy_dtype = np.int64 if not dtype.is_floating_point else np.float32
    forward = _chunked(run, fixed_batch, n_inputs, numpy_dtype)
    probe = forward(np.zeros((fixed_batch or 2, n_inputs), dtype=numpy_dtype))
    n_outputs = _outputs_per_point(probe.shape, path, "the output") or 1
    state = {**program.state_dict, **getattr(program, "constants", {})}
    vocab = None
    is_int = not dtype.is_floating_point
    if is_int:
        embeddings = [t for name, t in state.items() if "embed" in name and t.dim() == 2]
        vocab = int(embeddings[0].shape[0]) if embeddings else None
    n_params = int(sum(t.numel() for t in program.state_dict.values()))
    batch_note = f", traced at batch {fixed_batch}" if fixed_batch else ""
    return FeedForwardNetwork(
        forward=forward,
        n_inputs=n_inputs,
        n_outputs=n_outputs,
        description=f"torch.export program ({n_params:,} parameters{batch_note})",
        vocab=vocab,
        source=str(path),
        layers=None if is_int else layers_from_ops(_fx_ops(program, state)),
        n_parameters=n_params,
    )


def _pt2_sequence(path: Path, program: Any, value: Any) -> Network | None:
    """The exported program as a sequence network, when it maps (batch, length[, d]) to
    (batch, length, k); None when its output is not per step (a feed-forward program)."""
    import torch

    from .sequence import SequenceNetwork

    module = program.module()
    dtype = value.dtype
    batch, length = value.shape[0], value.shape[1]
    fixed_batch = int(batch) if isinstance(batch, int) else None
    fixed_length = int(length) if isinstance(length, int) else None
    if value.dim() == 3 and not isinstance(value.shape[2], int):
        raise CheckpointError(f"{path}: the input has no fixed step size {tuple(value.shape)}")

    def run(feed: np.ndarray) -> np.ndarray:
        try:
            with torch.no_grad():
                out = module(torch.as_tensor(feed, dtype=dtype))
        except Exception as exc:
            raise CheckpointError(
                f"{path}: the exported program failed on input {feed.shape}: {_first_line(exc)}"
            ) from None
        out = out[0] if isinstance(out, tuple | list) else out
        return out.detach().float().numpy()

    forward = _fixed_batch(run, fixed_batch)
    steps = fixed_length or 3
    shape = (fixed_batch or 2, steps, *([int(value.shape[2])] if value.dim() == 3 else []))
    numpy_dtype = np.float32 if dtype.is_floating_point else np.int64
    probe = forward(np.zeros(shape, dtype=numpy_dtype))
    if probe.ndim != 3 or probe.shape[:2] != shape[:2]:
        if value.dim() == 3:
            raise CheckpointError(
                f"{path}: the output has shape {probe.shape} for input {shape}; a sequence "
                "network gives (batch, length, outputs)"
            )
        return None
    state = {**program.state_dict, **getattr(program, "constants", {})}
    tokens = value.dim() == 2 and not dtype.is_floating_point
    vocab = None
    if tokens:
        embeddings = [t for name, t in state.items() if "embed" in name and t.dim() == 2]
        vocab = int(embeddings[0].shape[0]) if embeddings else None
    n_params = int(sum(t.numel() for t in program.state_dict.values()))
    traced = f", traced at length {fixed_length}" if fixed_length else ""
    return SequenceNetwork(
        forward=forward,
        n_outputs=int(probe.shape[2]),
        tokens=tokens,
        inputs_per_step=1 if value.dim() == 2 else int(value.shape[2]),
        vocab=vocab,
        fixed_length=fixed_length,
        description=f"torch.export sequence program ({n_params:,} parameters{traced})",
        source=str(path),
        n_parameters=n_params,
    )


def _fx_ops(program: Any, state: dict[str, Any]) -> list[tuple[str, object]]:
    """Translate the exported graph's linear/relu calls into ops."""
    import torch

    signature = program.graph_signature
    param_of = {**signature.inputs_to_parameters, **getattr(signature, "inputs_to_buffers", {})}
    ops: list[tuple[str, object]] = []
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        target = node.target
        if target in (torch.ops.aten.linear.default,):
            weight_name = param_of.get(node.args[1].name)
            bias_name = (
                param_of.get(node.args[2].name)
                if len(node.args) > 2 and node.args[2] is not None
                else None
            )
            if weight_name is None:
                return [("other", None)]
            w = state[weight_name].detach().double().numpy()
            b = state[bias_name].detach().double().numpy() if bias_name else np.zeros(w.shape[0])
            ops.append(("linear", (w, b)))
        elif target in (torch.ops.aten.relu.default, torch.ops.aten.relu_.default):
            ops.append(("relu", None))
        else:
            return [("other", None)]
    return ops
