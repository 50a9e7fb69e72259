"""Train the small 2-layer transformer the TransformerLens tests read, and write it in the
Clock/Pizza paper's layout (a state dict of tensors + its JSON config), as a user's checkpoint
from that code would arrive. About a minute on 2 cores.

    python scripts/make_two_layer_fixture.py

p = 31, d_model 32, 4 heads, 2 blocks, GeLU MLPs, an "=" token (inputs "a b ="), attention
rate 1, weight decay 1; trained with net2code's default stop (through the cleanup phase).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from net2code.zoo.modular.train import TrainConfig, train
from net2code.zoo.modular.transformerlens import to_transformerlens

FOLDER = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "two_layer"


def main() -> None:
    torch.set_num_threads(1)
    config = TrainConfig(
        p=31, d_model=32, n_heads=4, n_layers=2, activation="gelu", eqn_sign=True,
        max_steps=8000, seed=0,
    )  # fmt: skip
    result = train(config, progress=False)
    print(result.summary())
    state, paper = to_transformerlens(result.model)
    FOLDER.mkdir(parents=True, exist_ok=True)
    torch.save(state, FOLDER / "model_2l.pt")
    (FOLDER / "config_2l.json").write_text(json.dumps(paper, indent=1) + "\n")


if __name__ == "__main__":
    main()
