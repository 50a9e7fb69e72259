"""Loading networks from files, never by unpickling.

* a net2code run folder or its `model.safetensors` (config.json beside it);
* ONNX (`.onnx`): `onnx` reads and checks the graph, `onnxruntime` runs it as the reference;
* `torch.export` archives (`.pt2`).

A pickled `.pt`/`.pth` model is refused with instructions to export it. Where a graph is a
chain of Gemm/MatMul/Add/Relu (ONNX) or linear/relu (torch.export) ops, its layers are exposed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError
from .network import Network, layers_from_ops

EXPORT_HINT = (
    "export it instead: torch.export.save(torch.export.export(model, (example,)), 'model.pt2') "
    "or torch.onnx.export(model, (example,), 'model.onnx')"
)


def load(path: Path | str) -> Network:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in (".safetensors", ".json"):
        return _load_run(path)
    if suffix == ".onnx":
        return _load_onnx(path)
    if suffix == ".pt2":
        return _load_pt2(path)
    if suffix in (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle"):
        _refuse_torch_file(path)
    head = path.read_bytes()[:4]
    if head.startswith(b"PK"):
        return _load_pt2(path)
    raise CheckpointError(
        f"cannot tell the format of {str(path)!r}: "
        "expected a run folder, .safetensors, .onnx or .pt2"
    )


def _load_run(path: Path) -> Network:
    from .checkpoint import load_checkpoint
    from .network import from_module

    checkpoint = load_checkpoint(path)
    config = checkpoint.config
    detail = f"d_model {config.d_model}, d_mlp {config.d_mlp}"
    if config.kind == "transformer":
        detail += f", {config.n_heads} heads, attention rate {config.attention_rate:g}"
    return from_module(
        checkpoint.model,
        n_inputs=config.n_inputs,
        n_classes=config.n_out,
        vocab=config.vocab,
        description=f"{config.kind} ({detail})",
        source=str(checkpoint.path),
    )


def _refuse_torch_file(path: Path) -> None:
    """Say what a torch.save file holds without running its pickle code, then refuse it."""
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickler errors on corrupt bytes vary (IndexError, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "weights_only" in str(exc) or isinstance(exc, pickle.UnpicklingError):
            raise CheckpointError(
                f"{path} is a pickled full model; net2code never unpickles a file: {EXPORT_HINT}"
            ) from None
        raise CheckpointError(f"{path} is not a readable torch file ({first})") from None
    kind = type(state).__name__
    raise CheckpointError(f"{path} holds only weights ({kind}), no architecture: {EXPORT_HINT}")


# ---------------------------------------------------------------------------- ONNX
def _load_onnx(path: Path) -> Network:
    try:
        import onnx
        import onnxruntime as ort
    except ImportError:
        raise CheckpointError(
            "reading ONNX needs the onnx and onnxruntime packages: pip install 'net2code[onnx]'"
        ) from None
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # protobuf DecodeError, ValidationError, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"{path} is not a valid ONNX model: {first}") from None
    try:
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"{path}: onnxruntime cannot run it: {first}") from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise CheckpointError(f"{path} has {len(inputs)} graph inputs; net2code needs exactly 1")
    graph_input = inputs[0]
    shape = graph_input.shape
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise CheckpointError(
            f"{path}: input {graph_input.name!r} has shape {shape}; expected (batch, n_inputs)"
        )
    n_inputs = shape[1]
    out_shape = outputs[0].shape
    n_outputs = out_shape[-1] if len(out_shape) >= 2 and isinstance(out_shape[-1], int) else 1
    is_int = "int" in graph_input.type
    dtype = np.int64 if "int64" in graph_input.type else np.int32 if is_int else np.float32
    fixed_batch = shape[0] if isinstance(shape[0], int) else None

    def forward(points: np.ndarray) -> np.ndarray:
        feed = np.ascontiguousarray(points, dtype=dtype)
        if fixed_batch is None:
            return session.run(None, {graph_input.name: feed})[0]
        parts = []
        for i in range(0, len(feed), fixed_batch):
            chunk = feed[i : i + fixed_batch]
            pad = np.zeros((fixed_batch - len(chunk), n_inputs), dtype=dtype)
            parts.append(
                session.run(None, {graph_input.name: np.concatenate([chunk, pad])})[0][: len(chunk)]
            )
        return np.concatenate(parts)

    weights = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    vocab = _onnx_vocab(model, weights) if is_int else None
    n_params = int(sum(w.size for w in weights.values()))
    return Network(
        forward=forward,
        n_inputs=n_inputs,
        n_outputs=n_outputs,
        description=f"ONNX graph ({len(model.graph.node)} nodes, {n_params:,} parameters)",
        vocab=vocab,
        source=str(path),
        layers=None if is_int else layers_from_ops(_onnx_ops(model, weights)),
        n_parameters=n_params,
    )


def _onnx_vocab(model: Any, weights: dict[str, np.ndarray]) -> int | None:
    """For integer inputs feeding a Gather (an embedding), the table's row count."""
    name = model.graph.input[0].name
    for node in model.graph.node:
        if node.op_type == "Gather" and name in node.input:
            table = node.input[0]
            if table in weights:
                return int(weights[table].shape[0])
    return None


def _onnx_ops(model: Any, weights: dict[str, np.ndarray]) -> list[tuple[str, object]]:
    """Translate a Gemm/MatMul/Add/Relu chain into linear/relu ops (else an 'other' op)."""
    ops: list[tuple[str, object]] = []
    for node in model.graph.node:
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "Gemm":
            if node.input[1] not in weights:
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
                if len(node.input) > 2 and node.input[2]
                else np.zeros(w.shape[0])
            )
            ops.append(("linear", (w, np.broadcast_to(b, (w.shape[0],)).copy())))
        elif node.op_type == "MatMul" and node.input[1] in weights:
            w = weights[node.input[1]].astype(np.float64).T
            ops.append(("linear", (w, np.zeros(w.shape[0]))))
        elif node.op_type == "Add" and any(i in weights for i in node.input):
            bias = (
                next(weights[i] for i in node.input if i in weights).astype(np.float64).reshape(-1)
            )
            if not ops or ops[-1][0] != "linear":
                return [("other", None)]
            w, b = ops[-1][1]  # type: ignore[misc]
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
        if any(name.endswith("data.pkl") for name in names) and not any(
            "serialized_exported_program" in name or name.endswith(".json") for name in names
        ):
            _refuse_torch_file(path)
        program = torch.export.load(str(path))
    except CheckpointError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"{path} is not a readable torch.export archive: {first}") from None
    module = program.module()
    placeholders = [
        node
        for node in program.graph.nodes
        if node.op == "placeholder" and node.name in program.graph_signature.user_inputs
    ]
    if len(placeholders) != 1:
        raise CheckpointError(f"{path} takes {len(placeholders)} inputs; net2code needs exactly 1")
    value = placeholders[0].meta.get("val")
    if value is None or value.dim() != 2:
        raise CheckpointError(f"{path}: the input is not a (batch, n_inputs) tensor")
    n_inputs = int(value.shape[1])
    dtype = value.dtype
    with torch.no_grad():
        probe = torch.zeros((2, n_inputs), dtype=dtype)
        n_outputs = int(module(probe).reshape(2, -1).shape[1])

    def forward(points: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.as_tensor(np.ascontiguousarray(points), dtype=dtype)).numpy()

    state = {**program.state_dict, **getattr(program, "constants", {})}
    vocab = None
    is_int = not dtype.is_floating_point
    if is_int:
        embeddings = [t for name, t in state.items() if "embed" in name and t.dim() == 2]
        vocab = int(embeddings[0].shape[0]) if embeddings else None
    n_params = int(sum(t.numel() for t in program.state_dict.values()))
    return Network(
        forward=forward,
        n_inputs=n_inputs,
        n_outputs=n_outputs,
        description=f"torch.export program ({n_params:,} parameters)",
        vocab=vocab,
        source=str(path),
        layers=None if is_int else layers_from_ops(_fx_ops(program, state)),
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
