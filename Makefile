# gridbot: `make run` starts the demo (app + fake WeCom + chat simulator); `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PORT ?= 8000
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gridbot demo --port $(PORT)

test: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) gridbot.db gridbot.db-wal gridbot.db-shm
