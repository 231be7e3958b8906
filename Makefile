# sc2sim: `make run` (the main job) and `make test`. Both set up .venv on first use.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sc2sim-installed
FMNIST := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

.PHONY: setup dataset run test bench clean-venv

setup: $(STAMP) dataset

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -e '.[test]'
	touch $(STAMP)

# Fashion-MNIST comes from Debian's package; install it when root, else say how.
dataset:
	@if [ -n "$$SC2SIM_DATA" ] || [ -f $(FMNIST) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's dataset-fashion-mnist"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	else \
	  echo "Fashion-MNIST is missing. Run: sudo apt-get install -y dataset-fashion-mnist"; exit 1; \
	fi

# The main job: profile the default pipelines (cached) and simulate scenarios/default.yaml.
run: setup
	$(VENV)/bin/sc2sim run scenarios/default.yaml --out results/default

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/bench_rate_accuracy.py
	$(PY) benchmarks/bench_sim.py

clean-venv:
	rm -rf $(VENV)
