"""Networks with closed-form Fourier weights: known answers for tests and demos.

* `clock_network`: Gromov (2023) style. Concatenated Fourier embeddings, square activation;
  neuron (k, psi1, psi2) computes (cos(w a + psi1) + cos(w b + psi2))^2 and writes
  cos(w c + psi1 + psi2) to logit c. Summed over a full grid of phases every term cancels
  except cos(w(a + b - c)): the Clock, exactly.
* `pizza_network`: Zhong et al. (2023). Summed embeddings h = E_a + E_b, whose length is
  2|cos(w(a - b)/2)| and whose angle is w(a + b)/2; ReLU pairs give |h . u_c| - |h . v_c|
  for the half-angle directions u_c, v_c of each answer c: the Pizza, exactly.
Each frequency gets its own amplitude so that the embedding's principal components separate.
"""

from __future__ import annotations

import math

import torch

from .models import MLP, Block, ModelConfig, Transformer

PHASES = 4  # a 4 x 4 grid of phases cancels every unwanted term exactly


def _amplitudes(n: int) -> list[float]:
    return [1.0 - 0.5 * i / max(1, n) for i in range(n)]


def _fourier_embedding(p: int, frequencies: list[int]) -> torch.Tensor:
    """Rows (cos w a, sin w a) per frequency, scaled per frequency.  # (p, 2F)"""
    a = torch.arange(p, dtype=torch.float64)
    columns = []
    for k, r in zip(frequencies, _amplitudes(len(frequencies)), strict=True):
        w = 2 * math.pi * k / p
        columns += [r * torch.cos(w * a), r * torch.sin(w * a)]
    return torch.stack(columns, dim=1)


def _install(
    model: MLP, p: int, frequencies: list[int], hidden: torch.Tensor, unembed: torch.Tensor
) -> MLP:
    """Write the Fourier embedding and the given hidden and output weights; biases are zero."""
    with torch.no_grad():
        model.embed.weight.copy_(_fourier_embedding(p, frequencies))
        model.hidden.weight.copy_(hidden)
        model.hidden.bias.zero_()
        model.unembed.weight.copy_(unembed)
        model.unembed.bias.zero_()
    return model


def clock_network(p: int, frequencies: list[int]) -> MLP:
    """An exact Clock: logits proportional to sum_k r_k^2 cos(w_k (a + b - c))."""
    n_freq = len(frequencies)
    config = ModelConfig(
        kind="mlp-concat", vocab=p, n_out=p, d_model=2 * n_freq,
        d_mlp=n_freq * PHASES * PHASES, activation="square",
    )  # fmt: skip
    model = MLP(config)
    hidden = torch.zeros(config.d_mlp, 4 * n_freq, dtype=torch.float64)
    unembed = torch.zeros(p, config.d_mlp, dtype=torch.float64)
    c = torch.arange(p, dtype=torch.float64)
    neuron = 0
    for f, k in enumerate(frequencies):
        w = 2 * math.pi * k / p
        for i in range(PHASES):
            for j in range(PHASES):
                psi1, psi2 = 2 * math.pi * i / PHASES, 2 * math.pi * j / PHASES
                # cos(w a + psi) = cos(psi) cos(w a) - sin(psi) sin(w a), read off the embedding
                hidden[neuron, 2 * f] = math.cos(psi1)
                hidden[neuron, 2 * f + 1] = -math.sin(psi1)
                hidden[neuron, 2 * n_freq + 2 * f] = math.cos(psi2)
                hidden[neuron, 2 * n_freq + 2 * f + 1] = -math.sin(psi2)
                unembed[:, neuron] = torch.cos(w * c + psi1 + psi2)
                neuron += 1
    return _install(model, p, frequencies, hidden, unembed)


def pizza_network(p: int, frequencies: list[int]) -> MLP:
    """An exact Pizza: logit(c) = sum_k 2 r_k |cos(w(a-b)/2)| (|cos(w(a+b-c)/2)| - |sin(...)|)."""
    n_freq = len(frequencies)
    config = ModelConfig(
        kind="mlp", vocab=p, n_out=p, d_model=2 * n_freq, d_mlp=4 * p * n_freq, activation="relu"
    )
    model = MLP(config)
    hidden = torch.zeros(config.d_mlp, 2 * n_freq, dtype=torch.float64)
    unembed = torch.zeros(p, config.d_mlp, dtype=torch.float64)
    neuron = 0
    for f, k in enumerate(frequencies):
        w = 2 * math.pi * k / p
        for c in range(p):
            u = (math.cos(w * c / 2), math.sin(w * c / 2))  # along the answer's half angle
            v = (-math.sin(w * c / 2), math.cos(w * c / 2))  # across it
            for direction, sign in ((u, 1.0), (v, -1.0)):
                for flip in (1.0, -1.0):  # ReLU(x) + ReLU(-x) = |x|
                    hidden[neuron, 2 * f] = flip * direction[0]
                    hidden[neuron, 2 * f + 1] = flip * direction[1]
                    unembed[c, neuron] = sign
                    neuron += 1
    return _install(model, p, frequencies, hidden, unembed)


def pizza_transformer(
    p: int, frequencies: list[int], *, diff_vocab: bool = False, eqn_sign: bool = False
) -> Transformer:
    """`pizza_network` inside a 1-layer transformer at attention rate 0: the constant attention
    sums the positions, so the last residual is E_a + E_b (the "=" token and the positions
    embed as zero); the MLP is the Pizza's, and writes its logits into p extra residual
    dimensions that the unembedding reads. Optionally with b's own vocabulary and an "="
    token, as the paper's code trains them."""
    mlp = pizza_network(p, frequencies)
    width = 2 * len(frequencies)  # the Fourier embedding's dimensions
    config = ModelConfig(
        kind="transformer", vocab=p, n_out=p, d_model=width + p, n_heads=1,
        d_mlp=mlp.config.d_mlp, attention_rate=0.0, diff_vocab=diff_vocab, eqn_sign=eqn_sign,
    )  # fmt: skip
    model = Transformer(config)
    d = config.d_model
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.zero_()
        fourier = mlp.embed.weight[:p]  # (p, width)
        model.embed.weight[:p, :width] = fourier
        if diff_vocab:
            model.embed.weight[p : 2 * p, :width] = fourier
        block: Block = model.blocks[0]  # type: ignore[assignment]
        block.attn.W_V.weight.copy_(torch.eye(d))
        block.attn.W_O.weight.copy_(torch.eye(d))
        block.mlp_in.weight[:, :width] = mlp.hidden.weight
        block.mlp_out.weight[width:] = mlp.unembed.weight  # (p, d_mlp) into the extra dims
        model.unembed.weight[:, width:] = torch.eye(p)
    model.eval()
    return model
