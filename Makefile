# Every target creates .venv on a fresh machine, installs the project with its dev extras
# (torch pinned to the local CPU build by constraints.txt), then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-thinking bench-sequences bench-pizza bench-matmul bench-box bench-decompiler decompiler-model lint format clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/net2code demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_bench.py

bench-thinking: $(STAMP)
	$(BIN)/python benchmarks/thinking_bench.py

bench-sequences: $(STAMP)
	$(BIN)/python benchmarks/sequence_bench.py --out docs/sequence

bench-pizza: $(STAMP)
	$(BIN)/python benchmarks/pizza_seeds.py --out docs/modular

bench-matmul: $(STAMP)
	$(BIN)/python benchmarks/matmul_bench.py --out docs/matmul

bench-box: $(STAMP)
	$(BIN)/python benchmarks/box_bench.py --out docs/box

bench-decompiler: $(STAMP)
	$(BIN)/python benchmarks/decompiler_bench.py --out docs/decompiler

# Retrain the shipped meta-models from scratch (4 and 6 bits): for each, a 20,000-program zoo,
# then 30 minutes of training (4 bits on one thread, canonical form, as shipped; 6 bits on both
# cores, batch 32, expansion form, no encoder layers).
decompiler-model: $(STAMP)
	$(BIN)/net2code decompiler zoo --form canonical -o runs/decompiler/zoo4
	$(BIN)/net2code decompiler train --zoo runs/decompiler/zoo4 --minutes 30 --steps 3600 \
		--threads 1 --half -o net2code/zoo/decompiler/weights/boolean4.safetensors
	$(BIN)/net2code decompiler zoo --space boolean:6 -o runs/decompiler/zoo6
	$(BIN)/net2code decompiler train --zoo runs/decompiler/zoo6 --minutes 30 --batch 32 --lr 1.5e-3 --steps 200000 \
		--encoder-layers 0 --threads 2 --half -o net2code/zoo/decompiler/weights/boolean6.safetensors

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy net2code

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
