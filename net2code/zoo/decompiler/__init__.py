"""The learned decompiler's data: program spaces and their sampler (`programs.py`), and the
network zoo trained to imitate them (`zoo.py`). The meta-model that reads a network's weights
and proposes its program, and the `learned` strategy that verifies its proposals, build on
these (issue 16; not yet written)."""
