"""An RNN whose weights compute running parity exactly, built by hand: the recurrent family's
known answer for the tests.

The state is one number, the parity so far (h_0 = 0). A bit x is encoded as v = 2x - 1 (its
scaled value), so x = (v + 1) / 2 and the cell's two ReLUs give

    h' = relu(h - (v + 1) / 2) + relu((v + 1) / 2 - h)   (= |h - x| = h XOR x on bits)

and the head reads class 1 = 10 relu(h), class 0 = 10 relu(1 - h). Extraction must recover
the loop from this network without being told what it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

from .model import InputSpec, OutputSpec, RNNConfig, SequenceRNN

LENGTH = 10


def parity_rnn(width: int = 8) -> SequenceRNN:
    """A hidden-size-1 MIPS RNN that outputs the running parity of a bit sequence."""
    config = RNNConfig(
        inputs=(InputSpec(integer=True, low=0.0, high=1.0, one_hot=True),),
        output=OutputSpec("classes", classes=(0.0, 1.0)),
        hidden=1,
        width=width,
    )
    model = SequenceRNN(config)
    first, second = cast(nn.Linear, model.f[0]), cast(nn.Linear, model.f[2])
    head_in, head_out = cast(nn.Linear, model.g[0]), cast(nn.Linear, model.g[2])
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        # columns of f's input: [h, v, one-hot(0), one-hot(1)]
        first.weight[0, :2] = torch.tensor([1.0, -0.5])
        first.bias[0] = -0.5
        first.weight[1, :2] = torch.tensor([-1.0, 0.5])
        first.bias[1] = 0.5
        second.weight[0, :2] = 1.0
        head_in.weight[0, 0], head_in.weight[1, 0], head_in.bias[1] = 1.0, -1.0, 1.0
        head_out.weight[1, 0], head_out.weight[0, 1] = 10.0, 10.0
    model.eval()
    return model


def save_parity_run(folder: Path | str, sequences: int = 600, seed: int = 0) -> Path:
    """The hand-built net as a run folder: weights, config.json (task Parity_All, so the ground
    truth is known) and the inputs extraction reads (random bits, never labels)."""
    from ..._util import provenance
    from ...checkpoint import save_checkpoint
    from ...families.recurrent import INPUTS_FILE

    folder = Path(folder)
    model = parity_rnn()
    meta = {"task": "Parity_All", "training": {"hand_built": "running parity"}, **provenance(seed)}
    save_checkpoint(folder, model, model.config, meta)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(sequences, LENGTH, 1), dtype=np.int64)
    np.savez_compressed(folder / INPUTS_FILE, train=x[: sequences // 2], test=x[sequences // 2 :])
    return folder
