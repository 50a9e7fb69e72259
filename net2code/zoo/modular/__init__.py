"""Modular arithmetic: op(a, b) mod p, the 1-layer transformer of "The Clock and the Pizza" and
two MLPs, full-batch training, parallel sweeps, closed-form networks and surgery to p'."""
