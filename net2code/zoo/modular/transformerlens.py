"""Checkpoints in the TransformerLens layout (Nanda's grokking code, the Clock/Pizza paper's
code, TransformerLens `HookedTransformer` state dicts): a state dict of tensors (`.pt`/`.pth`,
read with `torch.load(weights_only=True)` only) beside a JSON config, rebuilt as net2code's
transformer or MLP (`models.py`), so that every analysis runs on it unchanged.

Layouts read (per block i; W_E, W_in, W_out in either orientation):

* Nanda / the paper: embed.W_E (d_model, d_vocab), pos_embed.W_pos (n_ctx, d_model),
  blocks.i.attn.W_Q/W_K/W_V (n_heads, d_head, d_model), blocks.i.attn.W_O (d_model,
  n_heads*d_head), blocks.i.mlp.W_in (d_mlp, d_model), b_in, W_out (d_model, d_mlp), b_out,
  unembed.W_U (d_model, d_vocab_out);
* TransformerLens: W_Q/W_K/W_V (n_heads, d_model, d_head), W_O (n_heads, d_head, d_model),
  b_Q/b_K/b_V (n_heads, d_head), b_O, W_in (d_model, d_mlp), W_out (d_mlp, d_model),
  ln1/ln2/ln_final .w/.b, unembed.b_U;
* the paper's MLP-only "Linearformer": embed.W_E (d_model // n_ctx, d_vocab), blocks.i.W_in
  (d_model, d_model), blocks.i.b_in, unembed.W_U; the token embeddings are concatenated and
  zero-padded to d_model.

Config keys (with the aliases those projects use): d_model, n_heads/num_heads, d_head, d_mlp,
n_layers/num_layers, act_fn/act_type (ReLU, GeLU, gelu_new, Tanh), attn_coeff (alpha, default
1), p/C, d_vocab, d_vocab_out, n_ctx, diff_vocab (b's tokens follow a's), eqn_sign (an "="
token, the last position), normalization_type/use_ln, attention_dir.

Attention is over every position, as in the paper's code (which registers a causal mask and
never applies it; its configs say "casual"), unless the config asks for "causal" or is
Nanda's (which applies it): with one layer the last position sees everything either way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from ...errors import CheckpointError
from .models import MLP, ModelConfig, Transformer

LAYOUTS = (
    "Nanda/Clock-Pizza transformer (blocks.i.attn.W_Q (n_heads, d_head, d_model))",
    "TransformerLens HookedTransformer (blocks.i.attn.W_Q (n_heads, d_model, d_head))",
    "Clock-Pizza Linearformer (blocks.i.W_in, no attention)",
)
ALIASES = {"num_heads": "n_heads", "num_layers": "n_layers", "act_type": "act_fn", "C": "p"}
ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_fast": "gelu_tanh",
               "tanh": "tanh"}  # fmt: skip
IGNORED = ("mask", "IGNORE", "hook")


def find_config(weights: Path, given: Path | None = None) -> Path | None:
    """--config, else a JSON beside the weights sharing their stem or run id
    (model_ID.pt -> config_ID.json), else config.json there."""
    if given is not None:
        if not given.is_file():
            raise CheckpointError(f"--config {str(given)!r} does not exist")
        return given
    candidates = [weights.with_suffix(".json")]
    run_id = re.sub(r"^(model|weights|state|checkpoint)[_-]", "", weights.stem)
    if run_id != weights.stem:
        candidates += [weights.parent / f"config_{run_id}.json", weights.parent / f"{run_id}.json"]
    candidates.append(weights.parent / "config.json")
    return next((c for c in candidates if c.is_file()), None)


def read_config(path: Path) -> dict[str, Any]:
    """The config's architecture keys, under their TransformerLens names."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} is not a JSON object")
    config: dict[str, Any] = {ALIASES.get(str(k), str(k)): v for k, v in raw.items()}
    config["_nanda"] = "use_ln" in raw or "num_layers" in raw  # Nanda's grokking code
    if "use_ln" in raw and "normalization_type" not in config:
        config["normalization_type"] = "LN" if raw["use_ln"] else None
    if not isinstance(config.get("d_model"), int):
        raise CheckpointError(f"{path} has no integer 'd_model'")
    return config


def _fail(source: Path, message: str) -> CheckpointError:
    return CheckpointError(f"{source}: {message}")


def _tensor(state: dict[str, torch.Tensor], name: str, source: Path) -> torch.Tensor:
    if name not in state:
        keys = [k for k in state if not any(part in k for part in IGNORED)]
        raise _fail(
            source,
            f"no {name!r} in the state dict (first keys: {keys[:4]}); layouts tried: "
            + "; ".join(LAYOUTS),
        )
    return state[name].detach().float()


def _oriented(t: torch.Tensor, rows: int, cols: int, name: str, source: Path) -> torch.Tensor:
    """`t` as (rows, cols), transposing when it is stored the other way round."""
    if tuple(t.shape) == (rows, cols):
        return t
    if tuple(t.shape) == (cols, rows):
        return t.T.contiguous()
    raise _fail(source, f"{name} has shape {tuple(t.shape)}; expected ({rows}, {cols}) or its T")


def _activation(config: dict[str, Any], source: Path) -> str:
    name = str(config.get("act_fn") or "relu")
    if name.lower() not in ACTIVATIONS:
        raise _fail(
            source, f"activation {name!r} is not rebuilt; known: ReLU, GeLU, gelu_new, Tanh"
        )
    return ACTIVATIONS[name.lower()]


def _embedding(w_e: torch.Tensor, width: int, rows_first: bool, source: Path) -> torch.Tensor:
    """W_E as (d_vocab, width): TransformerLens stores it so, Nanda's and the paper's code as
    (width, d_vocab); a square table is read as its layout says, not guessed from its shape."""
    if w_e.ndim != 2 or width not in tuple(w_e.shape):
        raise _fail(
            source, f"config d_model={width} contradicts embed.W_E of shape {tuple(w_e.shape)}"
        )
    if rows_first:
        return w_e if w_e.shape[1] == width else w_e.T.contiguous()
    return w_e.T.contiguous() if w_e.shape[0] == width else w_e


def _vocabulary(config: dict[str, Any], n_tokens: int, n_ctx: int, source: Path) -> tuple:
    """(p, diff_vocab, eqn_sign), from the config where it says, else from the table's size."""
    diff = bool(config.get("diff_vocab", False))
    eqn = bool(config.get("eqn_sign", n_ctx == 3))
    if n_ctx != 2 + int(eqn):
        raise _fail(source, f"{n_ctx} positions do not fit two inputs (eqn_sign={eqn})")
    p = config.get("p")
    if not isinstance(p, int):
        rows = n_tokens - int(eqn)
        p = rows // 2 if diff else rows
    if p * (2 if diff else 1) + int(eqn) != n_tokens:
        raise _fail(
            source,
            f"the embedding has {n_tokens} tokens, but p={p}, diff_vocab={diff}, "
            f"eqn_sign={eqn} give {p * (2 if diff else 1) + int(eqn)}",
        )
    return p, diff, eqn


def _check_known(state: dict[str, torch.Tensor], known: set[str], source: Path, what: str) -> None:
    keys = [k for k in state if not any(part in k for part in IGNORED)]
    extra = [k for k in keys if k not in known]
    if extra:
        raise _fail(
            source,
            f"{extra[0]!r} fits no known layout ({what}); layouts tried: " + "; ".join(LAYOUTS),
        )


def _n_blocks(state: dict[str, torch.Tensor]) -> int:
    found = {int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k))}
    return max(found) + 1 if found else 0


def convert(
    state: dict[str, torch.Tensor], config: dict[str, Any], source: Path
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """net2code's ModelConfig and state dict for a TransformerLens-style state dict, checked key
    by key and shape by shape; one CheckpointError naming the first thing that does not fit."""
    if "blocks.0.W_in" in state:
        return _convert_linear(state, config, source)
    return _convert_transformer(state, config, source)


UNSUPPORTED = {  # HookedTransformerConfig settings that change the computation
    "positional_embedding_type": lambda v: v not in (None, "standard"),
    "attn_only": bool,
    "gated_mlp": bool,
    "parallel_attn_mlp": bool,
    "use_attn_scale": lambda v: v is False,
    "final_rms": bool,
    "use_local_attn": bool,
}


def _convert_transformer(
    state: dict[str, torch.Tensor], config: dict[str, Any], source: Path
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    for key, unsupported in UNSUPPORTED.items():
        if key in config and unsupported(config[key]):
            raise _fail(source, f"config {key}={config[key]!r} is not rebuilt")
    d = int(config["d_model"])
    layers = _n_blocks(state)
    if layers == 0:
        _tensor(state, "blocks.0.attn.W_Q", source)
    declared = int(config.get("n_layers", layers))
    if declared != layers:
        for i in range(max(declared, layers)):
            _tensor(state, f"blocks.{i}.attn.W_Q", source)  # names the missing block
    activation = _activation(config, source)
    w_e = state.get("embed.W_E")
    if w_e is not None and d not in tuple(w_e.shape):
        raise _fail(source, f"config d_model={d} contradicts embed.W_E of shape {tuple(w_e.shape)}")
    w_pos = _tensor(state, "pos_embed.W_pos", source)
    if w_pos.ndim != 2 or w_pos.shape[1] != d:
        raise _fail(source, f"pos_embed.W_pos has shape {tuple(w_pos.shape)}; d_model is {d}")
    n_ctx = int(w_pos.shape[0])
    tl = _tensor(state, "blocks.0.attn.W_O", source).ndim == 3  # TransformerLens proper
    w_e = _embedding(_tensor(state, "embed.W_E", source), d, tl, source)  # (d_vocab, d_model)
    n_tokens = int(w_e.shape[0])
    p, diff, eqn = _vocabulary(config, n_tokens, n_ctx, source)
    w_q0 = _tensor(state, "blocks.0.attn.W_Q", source)
    if w_q0.ndim != 3 or (w_q0.shape[1] if tl else w_q0.shape[2]) != d:
        want = "(n_heads, d_model, d_head)" if tl else "(n_heads, d_head, d_model)"
        raise _fail(source, f"blocks.0.attn.W_Q has shape {tuple(w_q0.shape)}; expected {want}")
    heads = int(w_q0.shape[0])
    d_head = int(w_q0.shape[2] if tl else w_q0.shape[1])
    width = heads * d_head
    d_mlp = int(config.get("d_mlp") or 0) or _mlp_width(state, d, source)
    norm = config.get("normalization_type")
    layer_norm = norm in ("LN", "LNPre")
    if norm not in (None, "LN", "LNPre"):
        raise _fail(source, f"normalization {norm!r} is not rebuilt; known: LN, LNPre, none")
    attn_bias = any(f"blocks.0.attn.b_{x}" in state for x in "QKVO") and any(
        state[k].abs().max() > 0 for k in state if re.match(r"blocks\.\d+\.attn\.b_", k)
    )
    out: dict[str, torch.Tensor] = {"embed.weight": w_e, "pos_embed": w_pos}
    known = {"embed.W_E", "pos_embed.W_pos", "unembed.W_U", "unembed.b_U"}
    for i in range(layers):
        b = f"blocks.{i}."
        for x in "QKV":
            w = _tensor(state, f"{b}attn.W_{x}", source)
            expected = (heads, d, d_head) if tl else (heads, d_head, d)
            if tuple(w.shape) != expected:
                raise _fail(
                    source, f"{b}attn.W_{x} has shape {tuple(w.shape)}; expected {expected}"
                )
            w = w.permute(0, 2, 1) if tl else w  # (heads, d_head, d_model)
            out[f"{b}attn.W_{x}.weight"] = w.reshape(width, d)
            if attn_bias:
                bias = state.get(f"{b}attn.b_{x}", torch.zeros(heads, d_head)).float()
                out[f"{b}attn.W_{x}.bias"] = bias.reshape(width)
        w_o = _tensor(state, f"{b}attn.W_O", source)
        w_o = w_o.reshape(width, d).T if tl else w_o  # (d_model, heads*d_head)
        if tuple(w_o.shape) != (d, width):
            raise _fail(
                source, f"{b}attn.W_O has shape {tuple(w_o.shape)}; expected ({d}, {width})"
            )
        out[f"{b}attn.W_O.weight"] = w_o.contiguous()
        if attn_bias:
            out[f"{b}attn.W_O.bias"] = state.get(f"{b}attn.b_O", torch.zeros(d)).float()
        w_in = _tensor(state, f"{b}mlp.W_in", source)
        w_out = _tensor(state, f"{b}mlp.W_out", source)
        if tl:  # stored (d_model, d_mlp) and (d_mlp, d_model)
            w_in, w_out = w_in.T.contiguous(), w_out.T.contiguous()
        out[f"{b}mlp_in.weight"] = _oriented(w_in, d_mlp, d, f"{b}mlp.W_in", source)
        out[f"{b}mlp_in.bias"] = _tensor(state, f"{b}mlp.b_in", source)
        out[f"{b}mlp_out.weight"] = _oriented(w_out, d, d_mlp, f"{b}mlp.W_out", source)
        out[f"{b}mlp_out.bias"] = _tensor(state, f"{b}mlp.b_out", source)
        known |= {f"{b}attn.{n}_{x}" for n in "Wb" for x in "QKVO"}
        known |= {f"{b}mlp.{n}" for n in ("W_in", "b_in", "W_out", "b_out")}
        if layer_norm:
            for ln in ("ln1", "ln2"):
                out.update(_layer_norm(state, f"{b}{ln}", d, norm, source))
                known |= {f"{b}{ln}.w", f"{b}{ln}.b"}
    if layer_norm:
        out.update(_layer_norm(state, "ln_final", d, norm, source))
        known |= {"ln_final.w", "ln_final.b"}
    _check_known(state, known, source, f"{layers} blocks, LayerNorm {norm or 'none'}")
    w_u = _tensor(state, "unembed.W_U", source)
    w_u = w_u if w_u.shape[0] == d else w_u.T  # (d_model, d_vocab_out)
    n_out = int(w_u.shape[1])
    bias_u = state.get("unembed.b_U")
    has_bias = bias_u is not None and bool(bias_u.abs().max() > 0)
    out["unembed.weight"] = w_u.T.contiguous()
    if has_bias:
        assert bias_u is not None
        out["unembed.bias"] = bias_u.float()
    native = ModelConfig(
        kind="transformer",
        vocab=p,
        n_out=n_out,
        n_inputs=2,
        d_model=d,
        n_heads=heads,
        d_mlp=d_mlp,
        attention_rate=float(config.get("attn_coeff", 1.0)),
        activation=activation,
        n_layers=layers,
        d_head=0 if width == d else d_head,
        layer_norm=layer_norm,
        attn_bias=attn_bias,
        unembed_bias=has_bias,
        diff_vocab=diff,
        eqn_sign=eqn,
        causal=_causal(config) and layers > 1,
    )
    return native, _checked(native, out, source)


def _mlp_width(state: dict[str, torch.Tensor], d: int, source: Path) -> int:
    shape = tuple(_tensor(state, "blocks.0.mlp.b_in", source).shape)
    return int(shape[0])


def _causal(config: dict[str, Any]) -> bool:
    direction = config.get("attention_dir")
    if direction is None:
        return bool(config.get("_nanda"))
    return direction == "causal"  # the paper's configs say "casual", and its code ignores it


def _layer_norm(
    state: dict[str, torch.Tensor], name: str, d: int, norm: Any, source: Path
) -> dict[str, torch.Tensor]:
    if norm == "LNPre":  # no weights: a LayerNorm with unit scale and zero shift
        weight, bias = torch.ones(d), torch.zeros(d)
    else:
        weight, bias = _tensor(state, f"{name}.w", source), _tensor(state, f"{name}.b", source)
    return {f"{name}.weight": weight, f"{name}.bias": bias}


def _convert_linear(
    state: dict[str, torch.Tensor], config: dict[str, Any], source: Path
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """The paper's MLP-only model: act(W_in [E_a; E_b(; E_=); 0] + b_in) per block, no residual."""
    d = int(config["d_model"])
    layers = _n_blocks(state)
    activation = _activation(config, source)
    w_e = _tensor(state, "embed.W_E", source)  # (d_model // n_ctx, d_vocab)
    eqn_guess = bool(config.get("eqn_sign", False))
    n_ctx = 2 + int(eqn_guess)
    e = d // n_ctx
    if e not in tuple(w_e.shape):
        raise _fail(
            source,
            f"config d_model={d} with {n_ctx} positions implies embeddings of width {e}, "
            f"but embed.W_E has shape {tuple(w_e.shape)}",
        )
    w_e = _embedding(w_e, e, False, source)  # (d_vocab, d_model // n_ctx)
    n_tokens = int(w_e.shape[0])
    p, diff, eqn = _vocabulary(config, n_tokens, n_ctx, source)
    out: dict[str, torch.Tensor] = {"embed.weight": w_e}
    known = {"embed.W_E", "unembed.W_U"}
    for i in range(layers):
        w_in = _oriented(_tensor(state, f"blocks.{i}.W_in", source), d, d, "W_in", source)
        name = "hidden" if i == 0 else f"deeper.{i - 1}"
        out[f"{name}.weight"] = w_in[:, : n_ctx * e] if i == 0 else w_in  # padding reads zeros
        out[f"{name}.bias"] = _tensor(state, f"blocks.{i}.b_in", source)
        known |= {f"blocks.{i}.W_in", f"blocks.{i}.b_in"}
    _check_known(state, known, source, f"Linearformer, {layers} blocks")
    w_u = _tensor(state, "unembed.W_U", source)
    w_u = w_u if w_u.shape[0] == d else w_u.T  # (d_model, d_vocab_out)
    out["unembed.weight"] = w_u.T.contiguous()
    native = ModelConfig(
        kind="mlp-concat",
        vocab=p,
        n_out=int(w_u.shape[1]),
        n_inputs=2,
        d_model=e,
        d_mlp=d,
        activation=activation,
        n_layers=layers,
        unembed_bias=False,
        diff_vocab=diff,
        eqn_sign=eqn,
    )
    return native, _checked(native, out, source)


def _checked(
    native: ModelConfig, converted: dict[str, torch.Tensor], source: Path
) -> dict[str, torch.Tensor]:
    module = Transformer(native) if native.kind == "transformer" else MLP(native)
    expected = module.state_dict()
    for name, tensor in expected.items():
        if name not in converted:
            raise _fail(source, f"nothing in the state dict gives {name}")
        if tuple(converted[name].shape) != tuple(tensor.shape):
            raise _fail(
                source,
                f"{name} would have shape {tuple(converted[name].shape)}, the config implies "
                f"{tuple(tensor.shape)}",
            )
    return {name: converted[name] for name in expected}


def load_transformerlens(weights: Path, state: dict[str, Any], config_path: Path) -> Any:
    """The network of a TransformerLens-layout checkpoint (a feed-forward token network)."""
    from ...checkpoint import RunFolder
    from ...families.feedforward import from_run

    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{weights} is not a state dict of tensors")
    config = read_config(config_path)
    native, converted = convert(state, config, weights)
    module = Transformer(native) if native.kind == "transformer" else MLP(native)
    module.load_state_dict(converted)
    module.eval()
    layout = LAYOUTS[2] if native.kind != "transformer" else LAYOUTS[0]
    run = RunFolder(
        weights, {"model": native.to_dict(), "layout": layout, "config": str(config_path)}
    )
    network = from_run(module, native, run)
    network.description = f"TransformerLens-layout {network.description}"
    return network


def to_transformerlens(
    module: Transformer, alpha: float | None = None, layout: str = "paper"
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A net2code transformer as a state dict in the paper's layout and a config like the
    paper's (keys `C`, `attn_coeff`, `diff_vocab`, `eqn_sign`, `attention_dir`: "casual"), or
    with `layout="hooked"` as a TransformerLens HookedTransformer state dict and config."""
    if layout == "hooked":
        return _to_hooked(module)
    c = module.config
    d, heads, d_head = c.d_model, c.n_heads, c.head_width
    state = module.state_dict()
    tl: dict[str, torch.Tensor] = {
        "embed.W_E": state["embed.weight"].T.contiguous(),  # (d_model, d_vocab)
        "pos_embed.W_pos": state["pos_embed"].clone(),
    }
    for i in range(c.n_layers):
        b = f"blocks.{i}."
        for x in "QKV":
            tl[f"{b}attn.W_{x}"] = state[f"{b}attn.W_{x}.weight"].reshape(heads, d_head, d).clone()
        tl[f"{b}attn.W_O"] = state[f"{b}attn.W_O.weight"].clone()
        tl[f"{b}mlp.W_in"] = state[f"{b}mlp_in.weight"].clone()
        tl[f"{b}mlp.b_in"] = state[f"{b}mlp_in.bias"].clone()
        tl[f"{b}mlp.W_out"] = state[f"{b}mlp_out.weight"].clone()
        tl[f"{b}mlp.b_out"] = state[f"{b}mlp_out.bias"].clone()
        tl[f"{b}attn.mask"] = torch.tril(torch.ones(c.n_ctx, c.n_ctx))  # registered, unused
        if c.attn_bias:
            for x in "QKV":
                tl[f"{b}attn.b_{x}"] = state[f"{b}attn.W_{x}.bias"].reshape(heads, d_head).clone()
            tl[f"{b}attn.b_O"] = state[f"{b}attn.W_O.bias"].clone()
    tl.update(_layer_norms(state, c))
    if c.has_unembed_bias:
        tl["unembed.b_U"] = state["unembed.bias"].clone()
    tl["unembed.W_U"] = state["unembed.weight"].T.contiguous()  # (d_model, d_vocab_out)
    names = {"relu": "ReLU", "gelu": "GeLU", "tanh": "Tanh", "gelu_tanh": "gelu_new"}
    config = {
        "name": f"modadd_{c.vocab}",
        "C": c.vocab,
        "d_model": d,
        "n_heads": heads,
        "d_head": d_head,
        "d_mlp": c.d_mlp,
        "n_layers": c.n_layers,
        "attention_dir": "causal" if c.causal else "casual",
        "act_fn": names.get(c.activation, c.activation),
        "attn_coeff": c.attention_rate if alpha is None else alpha,
        "diff_vocab": int(c.diff_vocab),
        "eqn_sign": int(c.eqn_sign),
    }
    if c.layer_norm:
        config["normalization_type"] = "LN"
    return tl, config


def _layer_norms(state: dict[str, torch.Tensor], c: ModelConfig) -> dict[str, torch.Tensor]:
    """The LayerNorm weights under TransformerLens names (the same in both layouts)."""
    if not c.layer_norm:
        return {}
    names = [f"blocks.{i}.{ln}" for i in range(c.n_layers) for ln in ("ln1", "ln2")]
    out = {}
    for name in [*names, "ln_final"]:
        out[f"{name}.w"] = state[f"{name}.weight"].clone()
        out[f"{name}.b"] = state[f"{name}.bias"].clone()
    return out


def _to_hooked(module: Transformer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    c = module.config
    if c.attention_rate != 1.0 or c.diff_vocab:
        raise CheckpointError("a HookedTransformer has softmax attention and one vocabulary")
    d, heads, d_head = c.d_model, c.n_heads, c.head_width
    state = module.state_dict()
    tl: dict[str, torch.Tensor] = {
        "embed.W_E": state["embed.weight"].clone(),  # (d_vocab, d_model)
        "pos_embed.W_pos": state["pos_embed"].clone(),
        "unembed.W_U": state["unembed.weight"].T.contiguous(),
        "unembed.b_U": state.get("unembed.bias", torch.zeros(c.n_out)).clone(),
    }
    for i in range(c.n_layers):
        b = f"blocks.{i}."
        for x in "QKV":
            w = state[f"{b}attn.W_{x}.weight"].reshape(heads, d_head, d)
            tl[f"{b}attn.W_{x}"] = w.permute(0, 2, 1).contiguous()  # (heads, d_model, d_head)
            bias = state.get(f"{b}attn.W_{x}.bias", torch.zeros(heads * d_head))
            tl[f"{b}attn.b_{x}"] = bias.reshape(heads, d_head).clone()
        w_o = state[f"{b}attn.W_O.weight"]  # (d_model, heads*d_head)
        tl[f"{b}attn.W_O"] = w_o.T.reshape(heads, d_head, d).contiguous()
        tl[f"{b}attn.b_O"] = state.get(f"{b}attn.W_O.bias", torch.zeros(d)).clone()
        tl[f"{b}attn.mask"] = torch.tril(torch.ones(c.n_ctx, c.n_ctx)).bool()
        tl[f"{b}attn.IGNORE"] = torch.tensor(-1e5)
        tl[f"{b}mlp.W_in"] = state[f"{b}mlp_in.weight"].T.contiguous()  # (d_model, d_mlp)
        tl[f"{b}mlp.b_in"] = state[f"{b}mlp_in.bias"].clone()
        tl[f"{b}mlp.W_out"] = state[f"{b}mlp_out.weight"].T.contiguous()  # (d_mlp, d_model)
        tl[f"{b}mlp.b_out"] = state[f"{b}mlp_out.bias"].clone()
    tl.update(_layer_norms(state, c))
    names = {"relu": "relu", "gelu": "gelu", "tanh": "tanh", "gelu_tanh": "gelu_new"}
    config = {
        "n_layers": c.n_layers,
        "d_model": d,
        "n_ctx": c.n_ctx,
        "d_head": d_head,
        "n_heads": heads,
        "d_mlp": c.d_mlp,
        "d_vocab": c.n_tokens,
        "d_vocab_out": c.n_out,
        "act_fn": names.get(c.activation, c.activation),
        "normalization_type": "LN" if c.layer_norm else None,
        "attention_dir": "causal" if c.causal else "bidirectional",
        "positional_embedding_type": "standard",
    }
    return tl, config
