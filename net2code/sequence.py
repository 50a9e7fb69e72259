"""Causal sequence networks from anywhere: a torch module, a `.pt2`, ONNX, a Hugging Face folder.

`SequenceNetwork.forward` maps (batch, length) integer tokens, or (batch, length, d) values, to
raw per-step outputs (batch, length, k), the output at step t depending on steps <= t only.
`read()` turns those into the values a program must reproduce under a `SequenceDomain`: prefix
tokens (a BOS token) go first and their outputs are dropped, then the readout (argmax, bits,
round, real) is applied step by step. Bits are packed into one integer per step (unit i is bit
i) inside net2code; programs return them as tuples.

Nothing here is specific to an architecture: RNNs, GRUs, LSTMs and causal transformers are all
black boxes with that contract, checked for causality before anything is extracted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .domain import IntRange, IntSet, SequenceDomain
from .errors import CheckpointError, ConfigError, DomainError
from .network import Network

if TYPE_CHECKING:
    from torch import nn

MAX_BITS = 16  # output units a bits readout packs into one integer per step
CAUSAL_SEQUENCES = 64
CAUSAL_LENGTH = 12
ELEMENTS_PER_CALL = 1 << 20  # sequences x steps per forward call


@dataclass(repr=False, kw_only=True)
class SequenceNetwork(Network):
    """A causal sequence network as a function on NumPy arrays.

    `tokens`: it takes integer tokens (batch, length) (with `vocab` rows of embedding when
    known); else values (batch, length, inputs_per_step). `max_length`: the longest input it
    takes (position embeddings), prefix included. `fixed_length`: the one length it was traced
    at (a graph without a dynamic length axis): shorter inputs are padded after their end,
    which a causal network never sees."""

    forward: Callable[[np.ndarray], np.ndarray]
    n_outputs: int
    tokens: bool = True
    inputs_per_step: int = 1
    vocab: int | None = None
    max_length: int | None = None
    fixed_length: int | None = None
    _causal: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict, repr=False)

    def signature(self) -> dict[str, Any]:
        return {
            "inputs": "tokens" if self.tokens else f"{self.inputs_per_step} values per step",
            "inputs_per_step": self.inputs_per_step,
            "outputs_per_step": self.n_outputs,
            "vocab": self.vocab,
            "max_length": self.max_length,
            "fixed_length": self.fixed_length,
        }

    @property
    def longest(self) -> int | None:
        """The longest input the network takes, prefix included (None: no limit)."""
        limits = [n for n in (self.max_length, self.fixed_length) if n is not None]
        return min(limits) if limits else None

    def runs_at(self, domain: SequenceDomain, length: int) -> bool:
        return self.longest is None or length + len(domain.prefix) <= self.longest

    # ------------------------------------------------------------------ running
    def raw(self, x: np.ndarray, domain: SequenceDomain) -> np.ndarray:
        """Raw outputs of the steps after the prefix.  # (n, L, d) -> (n, L, k) float64"""
        n, length = x.shape[:2]
        if length == 0 or n == 0:
            return np.zeros((n, length, self.n_outputs))
        if not self.runs_at(domain, length):
            raise DomainError(
                f"length {length} (with {len(domain.prefix)} prefix tokens) exceeds the "
                f"longest input the network takes, {self.longest}"
            )
        feed = x[:, :, 0] if self.tokens else x.astype(np.float32)  # (n, L) or (n, L, d)
        if domain.prefix:
            head = np.broadcast_to(
                np.array(domain.prefix, dtype=feed.dtype), (n, len(domain.prefix))
            )
            feed = np.concatenate([head, feed], axis=1)
        total = feed.shape[1]
        if self.fixed_length is not None and total < self.fixed_length:
            pad_shape = (n, self.fixed_length - total, *feed.shape[2:])
            feed = np.concatenate([feed, np.broadcast_to(feed[:, :1], pad_shape)], axis=1)
        chunk = max(1, ELEMENTS_PER_CALL // max(1, feed.shape[1] * max(1, self.n_outputs) // 4))
        parts = []
        for start in range(0, n, chunk):
            out = np.asarray(self.forward(np.ascontiguousarray(feed[start : start + chunk])))
            parts.append(self._per_step(out, min(chunk, n - start), feed.shape[1]))
        raw = np.concatenate(parts).astype(np.float64)
        return raw[:, len(domain.prefix) : total]

    def _per_step(self, out: np.ndarray, n: int, length: int) -> np.ndarray:
        if out.ndim == 2 and out.shape == (n, length):  # one output per step, squeezed
            out = out[:, :, None]
        if out.ndim != 3 or out.shape[:2] != (n, length):
            raise ConfigError(
                f"the network's output has shape {tuple(out.shape)} for input ({n}, {length}); "
                "a sequence network gives one output vector per step: (batch, length, outputs)"
            )
        return out

    def read(self, x: np.ndarray, domain: SequenceDomain) -> np.ndarray:
        """The values a program must reproduce.  # (n, L, d) -> (n, L) int64 (float64: real)"""
        raw = self.raw(x, domain)
        return apply_readout(raw, domain)

    # ------------------------------------------------------------------ checking
    def check_domain(self, domain: SequenceDomain) -> None:
        """Fail fast, naming both sides, when the domain cannot be fed to this network."""
        d = len(domain.inputs)
        if self.tokens and d != 1:
            raise DomainError(
                f"domain {domain.spec()!r} has {d} inputs per step but the network takes one "
                "token per step"
            )
        if not self.tokens and d != self.inputs_per_step:
            raise DomainError(
                f"domain {domain.spec()!r} has {d} inputs per step but the network takes "
                f"{self.inputs_per_step}"
            )
        if self.tokens:
            step = domain.inputs[0]
            if not isinstance(step, IntRange | IntSet):
                raise DomainError(f"the network takes tokens; step {step.spec()!r} is real")
            used = [step.lo, step.hi, *domain.prefix]
            if self.vocab is not None and (min(used) < 0 or max(used) >= self.vocab):
                raise DomainError(
                    f"alphabet {step.spec()!r}"
                    + (f" with prefix {list(domain.prefix)}" if domain.prefix else "")
                    + f" leaves the network's embedding of {self.vocab} tokens "
                    f"(0..{self.vocab - 1})"
                )
        k = self.n_outputs
        if domain.readout in ("round", "real") and k != 1:
            raise DomainError(
                f"readout {domain.readout} needs one output per step; the network gives {k} "
                "(use argmax or bits)"
            )
        if domain.readout == "argmax" and k < 2:
            raise DomainError(
                f"readout argmax needs several outputs per step; the network gives {k}"
            )
        if domain.readout == "bits":
            units = domain.units if domain.units is not None else tuple(range(k))
            if max(units) >= k:
                raise DomainError(
                    f"bits({','.join(map(str, units))}) names unit {max(units)}; the network has "
                    f"{k} output units (0..{k - 1})"
                )
            if len(units) > MAX_BITS:
                raise DomainError(
                    f"readout bits over {len(units):,} output units exceeds {MAX_BITS}; "
                    "choose units, e.g. -> bits(0,1)"
                )
        if not self.runs_at(domain, domain.length):
            raise DomainError(
                f"len:..{domain.length}"
                + (f" plus {len(domain.prefix)} prefix tokens" if domain.prefix else "")
                + f" exceeds the longest input the network takes ({self.longest})"
            )

    def check_causal(self, domain: SequenceDomain, seed: int = 0) -> dict[str, Any]:
        """Change later steps and see that no earlier output moves; one line if one does.
        The record of a passed check is kept, so asking again costs nothing."""
        key = (domain.spec(), seed)
        if key not in self._causal:
            self._causal[key] = self._check_causal(domain, seed)
        return self._causal[key]

    def _check_causal(self, domain: SequenceDomain, seed: int) -> dict[str, Any]:
        length = max(2, min(domain.length, CAUSAL_LENGTH))
        if self.longest is not None:
            length = min(length, self.longest - len(domain.prefix))
        if length < 2:
            return {"sequences": 0, "length": length}
        base = sample_inputs(domain, CAUSAL_SEQUENCES, length, seed)
        rng = np.random.default_rng(seed + 1)
        cuts = rng.integers(1, length, size=len(base))  # steps >= cut are redrawn
        changed = sample_inputs(domain, len(base), length, seed + 2)
        keep = np.arange(length)[None, :] < cuts[:, None]
        changed = np.where(keep[:, :, None], base, changed)
        before, after = self.raw(base, domain), self.raw(changed, domain)
        scale = max(1.0, float(np.abs(before).max()))
        moved = (np.abs(before - after).max(-1) > 1e-4 * scale) & keep  # (n, L)
        if moved.any():
            i, t = (int(v) for v in np.argwhere(moved)[0])
            delta = float(np.abs(before[i, t] - after[i, t]).max())
            raise ConfigError(
                f"the network is not causal: changing step {int(cuts[i])} and later moved the "
                f"output at step {t} by {delta:.3g}; net2code needs outputs that depend on "
                "earlier steps only"
            )
        return {"sequences": len(base), "length": length}


def apply_readout(raw: np.ndarray, domain: SequenceDomain) -> np.ndarray:
    """(n, L, k) raw outputs -> (n, L) values under the domain's readout."""
    if domain.readout == "argmax":
        return raw.argmax(-1).astype(np.int64)
    if domain.readout == "bits":
        units = list(domain.units) if domain.units is not None else list(range(raw.shape[-1]))
        bits = (raw[..., units] > 0).astype(np.int64)
        return (bits << np.arange(len(units))).sum(-1)
    if domain.readout == "round":
        return np.rint(raw[..., 0]).astype(np.int64)
    return raw[..., 0]


def n_bits(domain: SequenceDomain, n_outputs: int) -> int | None:
    """How many bits each step's output packs (None unless the readout is bits)."""
    if domain.readout != "bits":
        return None
    return len(domain.units) if domain.units is not None else n_outputs


def sample_inputs(domain: SequenceDomain, n: int, length: int, seed: int) -> np.ndarray:
    """Random sequences over the domain (uniform symbols, or uniform reals in each interval)."""
    if domain.alphabet_size is not None:
        return domain.sample(n, length, seed)
    rng = np.random.default_rng(seed)
    lows = np.array([r.lo for r in domain.inputs], dtype=np.float64)
    highs = np.array([r.hi for r in domain.inputs], dtype=np.float64)
    return lows + (highs - lows) * rng.random((n, length, len(domain.inputs)))


# ---------------------------------------------------------------------------- torch modules
def _first_tensor(out: Any) -> Any:
    """The per-step outputs of what a module returned: a tensor, a tuple's first element
    (nn.RNN returns (output, h)), or `.logits` (Hugging Face)."""
    if hasattr(out, "logits"):
        return out.logits
    if isinstance(out, tuple | list):
        return out[0]
    return out


def _module_shape(module: nn.Module) -> tuple[int | None, int | None]:
    """(vocab, input size) from the module's first nn.Embedding or recurrent layer."""
    from torch import nn

    for layer in module.modules():
        if isinstance(layer, nn.Embedding):
            return int(layer.num_embeddings), None
        if isinstance(layer, nn.RNNBase):
            return None, int(layer.input_size)
    return None, None


def from_sequence_module(
    module: nn.Module,
    *,
    vocab: int | None = None,
    inputs_per_step: int | None = None,
    max_length: int | None = None,
    description: str = "",
    source: str | None = None,
) -> SequenceNetwork:
    """Wrap a torch module that maps (batch, length) tokens, or (batch, length, d) values, to
    per-step outputs (batch, length, k). Tokens when `vocab` is given or the module embeds its
    input (nn.Embedding); else values, d from `inputs_per_step` or the first recurrent layer."""
    import torch

    found_vocab, found_size = _module_shape(module)
    if vocab is not None and (not isinstance(vocab, int) or vocab < 1):
        raise ConfigError(f"from_module: vocab={vocab!r} must be a positive integer or None")
    tokens = vocab is not None or (found_vocab is not None and inputs_per_step is None)
    vocab = vocab if vocab is not None else found_vocab if tokens else None
    d = 1 if tokens else inputs_per_step or found_size
    if d is None or d < 1:
        raise ConfigError(
            "from_module: cannot tell what the sequence network takes; pass vocab=... (tokens) "
            "or inputs_per_step=... (values)"
        )
    module.eval()

    def forward(x: np.ndarray) -> np.ndarray:
        dtype = torch.int64 if tokens else torch.float32
        try:
            with torch.no_grad():
                out = _first_tensor(module(torch.as_tensor(x, dtype=dtype)))
        except Exception as exc:  # a length past its position embeddings, say
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ConfigError(f"the module failed on input {tuple(x.shape)}: {first}") from None
        return out.detach().float().numpy()

    probe_len = 5
    probe = np.zeros((2, probe_len), dtype=np.int64) if tokens else np.zeros((2, probe_len, d))
    try:
        out = np.asarray(forward(probe))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ConfigError(f"from_module: the module failed on a (2, 5) probe: {first}") from None
    if out.ndim == 2 and out.shape == (2, probe_len):
        out = out[:, :, None]
    if out.ndim != 3 or out.shape[:2] != (2, probe_len):
        raise ConfigError(
            f"from_module: the module's output has shape {tuple(out.shape)} for input "
            f"{tuple(probe.shape)}; a sequence network gives (batch, length, outputs)"
        )
    params = sum(p.numel() for p in module.parameters())
    return SequenceNetwork(
        forward=forward,
        n_outputs=int(out.shape[2]),
        tokens=tokens,
        inputs_per_step=d,
        vocab=vocab,
        max_length=max_length,
        description=description or f"{type(module).__name__} ({params:,} parameters)",
        source=source,
        n_parameters=params,
        module=module,
    )


# ---------------------------------------------------------------------------- Hugging Face
HF_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")


def is_hf_folder(path: Path) -> bool:
    """A folder whose config.json is a Hugging Face model config (it names a model_type)."""
    import json

    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "model_type" in data and "architecture" not in data


def load_hf(path: Path) -> SequenceNetwork:
    """A Hugging Face causal language model folder (config.json + model.safetensors): its
    logits at each position are the per-step outputs. Weights are read from safetensors only."""
    if not any((path / name).is_file() for name in HF_WEIGHTS):
        others = sorted(p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth"))
        hint = f" ({', '.join(others)} is pickled: net2code never unpickles)" if others else ""
        raise CheckpointError(
            f"Hugging Face folder {str(path)!r} has no weights: expected model.safetensors{hint}"
        )
    try:
        import transformers
    except ImportError:
        raise CheckpointError(
            "reading a Hugging Face folder needs transformers: pip install 'net2code[hf]'"
        ) from None
    import torch

    from .loaders import _first_line, _quiet

    try:
        with _quiet():
            transformers.logging.set_verbosity_error()
            model = transformers.AutoModelForCausalLM.from_pretrained(
                str(path), use_safetensors=True, local_files_only=True
            )
    except Exception as exc:
        raise CheckpointError(
            f"{path} is not a loadable causal language model: {_first_line(exc)}"
        ) from None
    config = model.config
    vocab = int(getattr(config, "vocab_size", 0)) or None
    max_length = getattr(config, "n_positions", None) or getattr(
        config, "max_position_embeddings", None
    )
    model.eval()

    def forward(x: np.ndarray) -> np.ndarray:
        try:
            with torch.no_grad():
                ids = torch.as_tensor(x, dtype=torch.int64)
                return model(input_ids=ids).logits.float().numpy()
        except Exception as exc:
            raise CheckpointError(
                f"{path}: the model failed on input {tuple(x.shape)}: {_first_line(exc)}"
            ) from None

    params = sum(p.numel() for p in model.parameters())
    return SequenceNetwork(
        forward=forward,
        n_outputs=int(model.get_output_embeddings().weight.shape[0]),
        tokens=True,
        vocab=vocab,
        max_length=int(max_length) if max_length else None,
        description=f"Hugging Face {type(model).__name__} ({params:,} parameters, "
        f"{getattr(config, 'model_type', '?')})",
        source=str(path),
        n_parameters=params,
        module=model,
        architecture=f"hf:{getattr(config, 'model_type', '?')}",
    )
