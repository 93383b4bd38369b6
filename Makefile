# The two commands of the README's Quick start, on a machine with only Python 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench figures notebooks lessons screenshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dasim run scenarios/kb2980667-untrusted-root.yaml
	$(BIN)/dasim explain scenarios/kb2980667-untrusted-root.yaml --client laptop
	$(BIN)/dasim netsh scenarios/kb2980667-untrusted-root.yaml --client laptop --at 5m interface httpstunnel show interfaces

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check .

# the training notebooks in JupyterLab (installed into the venv the first time)
notebooks: $(STAMP)
	$(BIN)/python -m pip install -q 'jupyterlab>=4'
	$(BIN)/jupyter lab notebooks/

# run every lesson again and keep its outputs in the file (tests/test_notebooks.py compares)
lessons: $(STAMP)
	$(BIN)/python notebooks/execute.py

# the README's picture of an exercise's student page, from headless Chromium
screenshot: $(STAMP)
	$(BIN)/dasim report exercises/kb2980667-root.yaml -o .venv/report-exercise-student.html
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1650 \
	  --screenshot=docs/figures/report-exercise-student.png file://$(CURDIR)/.venv/report-exercise-student.html

bench: $(STAMP)
	for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# the README's figures, from their scenarios (byte-identical on every run); one run of the
# mixed fleet draws both of its figures
figures: $(STAMP)
	$(BIN)/dasim plot scenarios/kb2980667-untrusted-root.yaml --kind timeline --out docs/figures/kb2980667-timeline.svg
	$(BIN)/dasim topology scenarios/kb2980667-untrusted-root.yaml --out docs/figures/kb2980667-topology.svg
	$(BIN)/dasim plot scenarios/cgn-shared-100-64.yaml --kind sequence --packets 16 --out docs/figures/nat444-sequence.svg
	$(BIN)/dasim plot scenarios/mixed-fleet.yaml --kind outcomes,ttc --out 'docs/figures/mixed-fleet-{kind}.svg'
	$(BIN)/dasim plot scenarios/fleet-rollout.yaml --kind connected --out docs/figures/fleet-rollout-connected.svg
	$(BIN)/dasim plot scenarios/ipsec-server-outage.yaml --kind timeline --out docs/figures/ipsec-server-outage-timeline.svg

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
