"""The learned decompiler: program spaces and their sampler (`programs.py`), the network zoo
trained to imitate them (`zoo.py`), the meta-model that reads a network's weights and proposes
its program (`model.py`), its training (`train.py`) and evaluation (`evaluate.py`), and the
shipped weights (`weights/`). The `learned` strategy (`net2code/strategies/learned.py`)
checks its proposals against the network."""
