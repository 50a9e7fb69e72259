"""Sequence tasks after MIPS (Michaud et al. 2024): the 22 presets with their ground truths,
`.npz` data files, the RNN h_t = f([h_{t-1}, enc(x_t)]), y_t = g(h_t), its trainer with the
hidden-size search, a hand-built parity RNN, and `net2code suite`."""
