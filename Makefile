# The README's two set-up commands. Both create .venv if missing and install into it:
# torch first (torch==2.13.0 when no torch is present, so a CPU machine takes its local wheel
# instead of several GB of CUDA packages), then this package with its extras.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= dev,tabular
TORCH_SPEC ?= torch==2.13.0

.PHONY: run test install device-bundle

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

# A folder to carry to a lent GPU machine (DEVELOPERS.md, "GPU sessions"): wheels of the pure-Python
# packages its python3 lacks (the versions installed here) and the data folders named in DEVICE_DATA.
# Its python3 has torch, lightning, torchmetrics, einops, numpy, scipy, pandas, scikit-learn already.
DEVICE_DIR ?= .device
DEVICE_DATA ?= timeseries
DEVICE_WHEELS ?= entmax jsonargparse docstring-parser typeshed-client
HOPFIELD_DATA ?= ../shared/data
device-bundle: install
	rm -rf $(DEVICE_DIR) && mkdir -p $(DEVICE_DIR)/whl $(DEVICE_DIR)/data
	$(PY) -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux2014_x86_64 -d $(DEVICE_DIR)/whl \
		$$($(PY) -m pip freeze --all | grep -i -E "^($$(echo $(DEVICE_WHEELS) | sed 's/[-_]/[-_]/g; s/ /|/g'))==")
	for d in $(DEVICE_DATA); do cp -r $(HOPFIELD_DATA)/$$d $(DEVICE_DIR)/data/; done
	@du -sh $(DEVICE_DIR); ls $(DEVICE_DIR)/whl
