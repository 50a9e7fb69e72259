"""Thinking networks (Bansal et al. 2022): mazes and prefix-sum bit strings made locally, the
DT-net with its progressive loss, evaluation by size and iterations, error correction, a
hand-built dead-end-filling net, and the pictures of the report."""
