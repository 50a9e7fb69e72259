"""Sequence networks become loops: RNNs on algorithmic sequence tasks, extracted into programs
with explicit state and a `for` loop that runs at any length (after MIPS, Michaud et al. 2024).

The pipeline, one module per step: tasks (presets and data files) -> model (the RNN cell)
-> train (with the hidden-size search) -> machine (discretise the state, build and minimise the
finite-state machine) -> extract (state labels, transition/output formulas, linear recurrences)
-> emit -> verify (training length, longer, 10x with the ground truth) -> suite.
"""
