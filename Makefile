# The README's two set-up commands. Both create .venv if missing and install into it:
# torch first (torch==2.13.0 when no torch is present, so a CPU machine takes its local wheel
# instead of several GB of CUDA packages), then this package with its extras.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= dev,tabular
TORCH_SPEC ?= torch==2.13.0

.PHONY: run test install

$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'

# The default recipe: sparse Hopfield pooling on bit-pattern MIL bags of 300 (synthetic, nothing to download),
# stopping at 99 % validation accuracy; one thread (tiny model: a second thread only spin-waits on 2 cores).
run: install
	OMP_NUM_THREADS=1 $(VENV)/bin/hopfield-layers fit --config configs/mil/bit_pattern.yaml

# pytest exits with 5 when it collects no tests: that counts as a failure.
test: install
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests (exit code 5)" >&2; exit 1; fi; \
	exit $$rc
