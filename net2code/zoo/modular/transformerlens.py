"""Checkpoints in the TransformerLens layout (Nanda's grokking code, the Clock/Pizza paper's
code): a state dict of tensors (`.pt`/`.pth`, read with `torch.load(weights_only=True)` only)
beside a JSON config, rebuilt as net2code's transformer (`models.Transformer`).

Names read (W_E and W_U in either orientation; attention biases only when all zero):

    embed.W_E (d_model, d_vocab)      pos_embed.W_pos (n_ctx, d_model)
    blocks.0.attn.W_Q/W_K/W_V (n_heads, d_head, d_model)
    blocks.0.attn.W_O (d_model, n_heads*d_head)
    blocks.0.mlp.W_in (d_mlp, d_model), b_in, W_out (d_model, d_mlp), b_out
    unembed.W_U (d_model, d_vocab_out)

Config keys (with the aliases those projects use): d_model, n_heads/num_heads, d_head, d_mlp,
n_layers/num_layers, act_fn/act_type, attn_coeff (the attention rate alpha, default 1),
d_vocab/p, d_vocab_out, n_ctx, diff_vocab, eqn_sign, normalization_type/use_ln. TransformerLens
`HookedTransformerConfig` dicts use the same names.

Rebuilt today: one layer, ReLU, no LayerNorm, n_heads * d_head = d_model, two input positions,
one shared vocabulary. Anything else is refused in one line naming what it is, rather than
loaded wrongly; `to_transformerlens` writes a net2code transformer out in this layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ...errors import CheckpointError
from .models import ModelConfig, Transformer

LAYOUT = "TransformerLens (Nanda's grokking code, the Clock/Pizza paper's code)"
REQUIRED = (
    "embed.W_E",
    "pos_embed.W_pos",
    "blocks.0.attn.W_Q",
    "blocks.0.attn.W_K",
    "blocks.0.attn.W_V",
    "blocks.0.attn.W_O",
    "blocks.0.mlp.W_in",
    "blocks.0.mlp.b_in",
    "blocks.0.mlp.W_out",
    "blocks.0.mlp.b_out",
    "unembed.W_U",
)
ALIASES = {"num_heads": "n_heads", "num_layers": "n_layers", "act_type": "act_fn"}


def find_config(weights: Path, given: Path | None = None) -> Path | None:
    """--config, else a JSON beside the weights sharing their stem, else config.json there."""
    if given is not None:
        if not given.is_file():
            raise CheckpointError(f"--config {str(given)!r} does not exist")
        return given
    for candidate in (weights.with_suffix(".json"), weights.parent / "config.json"):
        if candidate.is_file():
            return candidate
    return None


def read_config(path: Path) -> dict[str, Any]:
    """The config's architecture keys, under their TransformerLens names."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} is not a JSON object")
    config: dict[str, Any] = {ALIASES.get(str(k), str(k)): v for k, v in raw.items()}
    if "d_vocab" not in config and "p" in config:
        config["d_vocab"] = config["p"]
    if "use_ln" in raw and "normalization_type" not in config:
        config["normalization_type"] = "LN" if raw["use_ln"] else None
    for key in ("d_model", "d_vocab"):
        if not isinstance(config.get(key), int):
            raise CheckpointError(f"{path} has no integer {key!r} (or its alias)")
    return config


def _unsupported(config: dict[str, Any], path: Path) -> str | None:
    act = str(config.get("act_fn", "relu")).lower()
    layers = int(config.get("n_layers", 1))
    if layers != 1:
        return f"{layers} layers"
    if act != "relu":
        return f"activation {config.get('act_fn')!r}"
    if config.get("normalization_type"):
        return f"LayerNorm ({config['normalization_type']})"
    if config.get("diff_vocab"):
        return "separate vocabularies for a and b (diff_vocab)"
    if config.get("eqn_sign"):
        return 'an "=" token (eqn_sign)'
    if int(config.get("n_ctx", 2)) != 2:
        return f"{config['n_ctx']} positions"
    return None


def convert(
    state: dict[str, torch.Tensor], config: dict[str, Any], source: Path
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """net2code's ModelConfig and state dict for a TransformerLens state dict, checked key by
    key and shape by shape; one CheckpointError naming the first thing that does not fit."""
    reason = _unsupported(config, source)
    if reason is not None:
        raise CheckpointError(
            f"{source}: {reason} is not rebuilt yet; net2code reads 1-layer ReLU transformers "
            "without LayerNorm, with two input positions and one vocabulary"
        )
    ignored = ("mask", "IGNORE", "hook")
    keys = [k for k in state if not any(part in k for part in ignored)]
    for name in REQUIRED:
        if name not in state:
            raise CheckpointError(
                f"{source}: no {name!r} in the state dict (first keys: {keys[:4]}); layouts "
                f"tried: {LAYOUT}"
            )
    known = set(REQUIRED) | {f"blocks.0.attn.b_{x}" for x in "QKVO"}
    extra = [k for k in keys if k not in known]
    if extra:
        raise CheckpointError(
            f"{source}: {extra[0]!r} fits no known layout ({LAYOUT}: 1 layer, no LayerNorm)"
        )
    for bias in (k for k in keys if k.startswith("blocks.0.attn.b_")):
        if state[bias].abs().max() > 0:
            raise CheckpointError(f"{source}: nonzero attention bias {bias!r} is not rebuilt yet")
    d = int(config["d_model"])
    w_e = state["embed.W_E"].float()
    if w_e.shape[0] == d and w_e.shape[1] != d:
        w_e = w_e.T  # (d_vocab, d_model)
    if w_e.ndim != 2 or w_e.shape[1] != d:
        raise CheckpointError(
            f"{source}: config d_model={d} contradicts embed.W_E of shape "
            f"{tuple(state['embed.W_E'].shape)}"
        )
    vocab = int(w_e.shape[0])
    w_q = state["blocks.0.attn.W_Q"].float()
    if w_q.ndim != 3 or w_q.shape[2] != d:
        raise CheckpointError(
            f"{source}: blocks.0.attn.W_Q has shape {tuple(w_q.shape)}; expected "
            f"(n_heads, d_head, {d})"
        )
    heads, d_head = int(w_q.shape[0]), int(w_q.shape[1])
    if heads * d_head != d:
        raise CheckpointError(
            f"{source}: n_heads * d_head = {heads} * {d_head} != d_model {d}: not rebuilt yet"
        )
    w_u = state["unembed.W_U"].float()
    w_u = w_u if w_u.shape[0] == d else w_u.T  # (d_model, d_vocab_out)
    w_in = state["blocks.0.mlp.W_in"].float()
    w_in = w_in if w_in.shape[-1] == d else w_in.T  # (d_mlp, d_model)
    w_out = state["blocks.0.mlp.W_out"].float()
    w_out = w_out if w_out.shape[0] == d else w_out.T  # (d_model, d_mlp)
    n_ctx = int(state["pos_embed.W_pos"].shape[0])
    native = ModelConfig(
        kind="transformer",
        vocab=vocab,
        n_out=int(w_u.shape[1]),
        n_inputs=n_ctx,
        d_model=d,
        n_heads=heads,
        d_mlp=int(w_in.shape[0]),
        attention_rate=float(config.get("attn_coeff", 1.0)),
    )
    converted = {
        "embed.weight": w_e,
        "pos_embed": state["pos_embed.W_pos"].float().reshape(n_ctx, d),
        "attn.W_Q.weight": w_q.reshape(d, d),
        "attn.W_K.weight": state["blocks.0.attn.W_K"].float().reshape(d, d),
        "attn.W_V.weight": state["blocks.0.attn.W_V"].float().reshape(d, d),
        "attn.W_O.weight": state["blocks.0.attn.W_O"].float().reshape(d, d),
        "mlp_in.weight": w_in,
        "mlp_in.bias": state["blocks.0.mlp.b_in"].float(),
        "mlp_out.weight": w_out,
        "mlp_out.bias": state["blocks.0.mlp.b_out"].float(),
        "unembed.weight": w_u.T.contiguous(),
    }
    expected = Transformer(native).state_dict()
    for name, tensor in expected.items():
        if tuple(converted[name].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{source}: {name} would have shape {tuple(converted[name].shape)}, the "
                f"config implies {tuple(tensor.shape)}"
            )
    return native, converted


def load_transformerlens(weights: Path, state: dict[str, Any], config_path: Path) -> Any:
    """The network of a TransformerLens-layout checkpoint (a feed-forward token network)."""
    from ...checkpoint import RunFolder
    from ...families.feedforward import from_run

    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{weights} is not a state dict of tensors")
    config = read_config(config_path)
    native, converted = convert(state, config, weights)
    module = Transformer(native)
    module.load_state_dict(converted)
    module.eval()
    run = RunFolder(
        weights, {"model": native.to_dict(), "layout": LAYOUT, "config": str(config_path)}
    )
    network = from_run(module, native, run)
    network.description = f"TransformerLens-layout {network.description}"
    return network


def to_transformerlens(
    module: Transformer, alpha: float | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A net2code transformer as a TransformerLens state dict and a config like the paper's."""
    c = module.config
    d, heads = c.d_model, c.n_heads
    state = module.state_dict()
    tl = {
        "embed.W_E": state["embed.weight"].T.contiguous(),  # (d_model, d_vocab)
        "pos_embed.W_pos": state["pos_embed"].clone(),
        "blocks.0.attn.W_Q": state["attn.W_Q.weight"].reshape(heads, d // heads, d).clone(),
        "blocks.0.attn.W_K": state["attn.W_K.weight"].reshape(heads, d // heads, d).clone(),
        "blocks.0.attn.W_V": state["attn.W_V.weight"].reshape(heads, d // heads, d).clone(),
        "blocks.0.attn.W_O": state["attn.W_O.weight"].clone(),
        "blocks.0.mlp.W_in": state["mlp_in.weight"].clone(),
        "blocks.0.mlp.b_in": state["mlp_in.bias"].clone(),
        "blocks.0.mlp.W_out": state["mlp_out.weight"].clone(),
        "blocks.0.mlp.b_out": state["mlp_out.bias"].clone(),
        "unembed.W_U": state["unembed.weight"].T.contiguous(),  # (d_model, d_vocab_out)
    }
    config = {
        "p": c.n_out,
        "d_vocab": c.vocab,
        "d_model": d,
        "n_heads": heads,
        "d_head": d // heads,
        "d_mlp": c.d_mlp,
        "n_ctx": c.n_inputs,
        "n_layers": 1,
        "act_fn": "ReLU",
        "attn_coeff": c.attention_rate if alpha is None else alpha,
        "diff_vocab": False,
        "eqn_sign": False,
    }
    return tl, config
