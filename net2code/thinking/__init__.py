"""Recurrent networks that think longer (DT-net, Bansal et al. 2022): trained on small mazes and
prefix sums, run longer on larger ones, and read back as a cellular automaton or a scan.

The pipeline, one module per step: data (mazes, bit strings) -> model (DT-net, baselines) ->
train (progressive loss) -> evaluate (extrapolation, stopping rule, error correction) -> rule /
scan (extraction) -> run (verify per size, timing) -> report (pictures). `handbuilt` holds a
DT-net that runs dead-end filling exactly, the known answer for the tests.
"""
