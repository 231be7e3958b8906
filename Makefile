# sc2sim: `make run` (the main job) and `make test`. Both set up .venv on first use.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sc2sim-installed
FMNIST := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

.PHONY: setup dataset run test bench weights clean-venv

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
	@$(PY) -m compileall -q sc2sim >/dev/null  # no-op when up to date; saves ~0.3 s a run where PYTHONDONTWRITEBYTECODE is set
	$(VENV)/bin/sc2sim run scenarios/default.yaml --out results/default

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/bench_host_drift.py
	$(PY) benchmarks/bench_rate_accuracy.py
	$(PY) benchmarks/bench_sim.py
	$(PY) benchmarks/bench_make_run.py
	$(PY) benchmarks/bench_compute_model.py
	@if [ "$$(id -u)" = 0 ]; then $(PY) benchmarks/bench_emulation_fidelity.py --out results/fidelity; \
	else echo "skipping benchmarks/bench_emulation_fidelity.py: emulation needs root"; fi

# Reproduce every bundled model from its seed: `make -B -j2 weights` (about an hour on 2 cores:
# teacher and light first, then students and codecs on one thread each, two at a time).
W            := sc2sim/weights
STUDENT_BETAS := 0.0003 0.001 0.003 0.01 0.03
RES_BETAS     := 0.1
FRANKEN_BETAS := 0.003
E2E_BETAS     := 0.05
E2E5_BETAS    := 0.1
CODEC_LMBDAS  := 0.0008 0.0025 0.0067 0.015 0.03 0.05
weights: $(W)/teacher.pt $(W)/light.pt $(STUDENT_BETAS:%=$(W)/student-beta%.pt) $(CODEC_LMBDAS:%=$(W)/codec-lmbda%.pt) \
         $(RES_BETAS:%=$(W)/student-res-beta%.pt) $(FRANKEN_BETAS:%=$(W)/student-franken-beta%.pt) \
         $(E2E_BETAS:%=$(W)/student-e2e-beta%.pt) $(E2E5_BETAS:%=$(W)/student-e2e-beta%.pt)
$(W)/teacher.pt $(W)/light.pt: | $(STAMP)
	$(VENV)/bin/sc2sim train $(basename $(notdir $@))
$(W)/student-beta%.pt: $(W)/teacher.pt
	$(VENV)/bin/sc2sim train student --beta $* --threads 1
$(W)/student-res-beta%.pt: $(W)/teacher.pt
	$(VENV)/bin/sc2sim train student --arch res --beta $* --threads 1
$(W)/student-franken-beta%.pt: $(W)/teacher.pt
	$(VENV)/bin/sc2sim train student --arch franken --beta $* --threads 1
# arch e2e starts from student-beta0.003; its recipe is 18 end-to-end epochs, the E2E5 ones ran 5 (their cards say so)
$(W)/student-e2e-beta%.pt: $(W)/student-beta0.003.pt
	$(VENV)/bin/sc2sim train student --arch e2e --beta $* --threads 1 $(if $(filter $*,$(E2E5_BETAS)),--epochs 5)
$(W)/codec-lmbda%.pt: $(W)/teacher.pt
	$(VENV)/bin/sc2sim train codec --lmbda $* --threads 1

clean-venv:
	rm -rf $(VENV)
