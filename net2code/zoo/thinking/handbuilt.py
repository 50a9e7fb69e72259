"""A DT-net whose weights implement dead-end filling exactly, built by hand.

Dead-end filling on the pixel grid: an open pixel that is not an endpoint and has at most one
live 4-neighbour dies; repeat. One iteration of the recurrent block does one synchronous step.
State channel 0 is "alive". With R, G, B the input colours, open = R + G - B and endpoint =
R + G - 2B (white, green and red give 1, 1, 1 and 0, 1, 1). Without biases the step is

    N = live neighbours;  s = relu(N - open) - relu(N - 2 open) + endpoint   (= [N >= 2] or end)
    alive' = alive - relu(alive - s)                                          (= min(alive, s))

which the recall conv and the first residual block compute; the second block clears scratch.
The head reads class 1 = 10 alive, class 0 = 5 open. Extraction must recover the rule from this
network without being told what it is; the tests use it as the known answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import torch

from .model import BasicBlock, DTNet, DTNetConfig, RecurrentBlock

A, P, Q, E, OPEN_CH = range(5)  # state channels: alive, [N>=1], [N>=2] parts, endpoint, open
R_, G_, B_ = 0, 1, 2  # input channels
NEIGHBOURS = ((0, 1), (2, 1), (1, 0), (1, 2))


def _centre(weight: torch.Tensor, out: int, inputs: dict[int, float]) -> None:
    for channel, value in inputs.items():
        weight[out, channel, 1, 1] = value


def dead_end_filling_net(width: int = 8) -> DTNet:
    """A recall DT-net (2-D, 3 input channels, `width` >= 5) that runs dead-end filling."""
    if width < 5:
        raise ValueError(f"width {width} is too small; dead-end filling needs 5 channels")
    net = DTNet(DTNetConfig(dim=2, in_channels=3, width=width, recall=True))
    block = cast(RecurrentBlock, net.recur[0])
    first, second = cast(BasicBlock, block.blocks[0]), cast(BasicBlock, block.blocks[1])
    assert block.conv_recall is not None
    head = [cast(torch.nn.Conv2d, net.head[i]).weight for i in (0, 2, 4)]
    x0 = width  # first input channel of [state, input]
    open_ = {x0 + R_: 1.0, x0 + G_: 1.0, x0 + B_: -1.0}
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        projection = cast(torch.nn.Conv2d, net.projection).weight  # (width, 3, 3, 3)
        for ch in (A, OPEN_CH):
            _centre(projection, ch, {R_: 1, G_: 1, B_: -1})
        rec = block.conv_recall.weight  # (width, width + 3, 3, 3)
        _centre(rec, A, {A: 1})
        for i, j in NEIGHBOURS:  # P and Q count live neighbours
            rec[P, A, i, j] = 1
            rec[Q, A, i, j] = 1
        _centre(rec, P, {k: -v for k, v in open_.items()})  # N - open
        _centre(rec, Q, {k: -2 * v for k, v in open_.items()})  # N - 2 open
        _centre(rec, E, {x0 + R_: 1, x0 + G_: 1, x0 + B_: -2})
        _centre(rec, OPEN_CH, open_)
        _centre(first.conv1.weight, 0, {P: 1, Q: -1, E: 1})  # s
        _centre(first.conv1.weight, 1, {A: 1, P: -1, Q: 1, E: -1})  # alive - s
        _centre(first.conv2.weight, A, {1: -1})  # alive - relu(alive - s)
        for ch in (P, Q, E):  # the second block clears the scratch channels
            _centre(second.conv1.weight, ch, {ch: 1})
            _centre(second.conv2.weight, ch, {ch: -1})
        _centre(head[0], 0, {A: 1})
        _centre(head[0], 1, {OPEN_CH: 1})
        _centre(head[1], 0, {0: 1})
        _centre(head[1], 1, {1: 1})
        _centre(head[2], 1, {0: 10})  # confident: p = sigmoid(5) = 0.993
        _centre(head[2], 0, {1: 5})
    net.eval()
    return net


def save_dead_end_filling_run(folder: Path | str, width: int = 8) -> Path:
    """Write the hand-built net as a run folder (model.safetensors + config.json)."""
    from ..._util import provenance
    from ...checkpoint import save_checkpoint

    net = dead_end_filling_net(width)
    meta = {
        "task": "maze",
        "training": {"task": "maze", "size": 9, "hand_built": "dead-end filling"},
        **provenance(None),
    }
    save_checkpoint(Path(folder), net, net.config, meta)
    return Path(folder)
