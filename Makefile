# The two commands of README.md: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

# setuptools notes "Editable installation. Please be careful with folders in your working
# directory with the same name as your package" for every editable install whose packages map
# to several folders (package-dir: fillstream.schemas is schemas/, ...). It is information, not
# a problem (setuptools' InformationOnly, pypa/packaging-problems#558); only it is silenced.
EDITABLE_QUIET := PYTHONWARNINGS="ignore:Editable installation"

$(BIN)/fillstream: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "fillstream needs Python 3.11+; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(EDITABLE_QUIET) $(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# A virtualenv with fillstream, and the local broker's jars (fetched once from Maven Central).
setup: $(BIN)/fillstream
	$(BIN)/fillstream kafka fetch

# The main job: start the local broker, create the topics, run the pipeline demo.
demo: setup
	$(BIN)/fillstream demo

# Style, unit and integration tests (integration tests start their own broker).
test: setup lint
	$(BIN)/pytest

lint: $(BIN)/fillstream
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The figures in docs/BENCHMARKS.md. faust-streaming, measured only for comparison, gets a
# virtualenv of its own so it never enters fillstream's.
FAUST_VENV ?= .venv-faust
bench: setup
	$(EDITABLE_QUIET) $(BIN)/pip install --quiet -e '.[dev,compare]'
	test -x $(FAUST_VENV)/bin/python || ($(PYTHON) -m venv $(FAUST_VENV) && $(FAUST_VENV)/bin/pip install --quiet 'faust-streaming==0.15.3')
	$(BIN)/python benchmarks/serde.py
	$(BIN)/python benchmarks/cores.py
	$(BIN)/python benchmarks/tca_aggregate.py
	$(BIN)/python benchmarks/producer_throughput.py
	$(BIN)/python benchmarks/relay.py --runtime confluent --count 1000000
	$(BIN)/python benchmarks/relay.py --runtime all --faust-python $(FAUST_VENV)/bin/python
	$(BIN)/python benchmarks/empty_pipeline.py
	$(BIN)/fillstream bench

clean:
	rm -rf $(VENV) $(FAUST_VENV) .pytest_cache .ruff_cache build *.egg-info
