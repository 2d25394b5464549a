# Two commands do all set-up on a fresh machine:
#   make run    creates .venv if missing, installs, runs the default experiment
#   make test   same set-up, runs the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BROWSER := $(VENV)/.browser-tried

.PHONY: install run test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mt-harness run $(ARGS)

test: $(STAMP) $(BROWSER)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest $(ARGS)

# The HTML report's browser test drives Chromium (Debian's `chromium`). Tried once per .venv: installed with
# apt-get when missing, as root or with password-less sudo; where it cannot be, the set-up goes on and the
# browser test skips, saying why.
$(BROWSER): $(STAMP)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "note: no apt-get: install Chromium by hand for the report's browser test (it skips without)"; \
	else \
		if [ "$$(id -u)" = 0 ]; then as=""; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as="sudo -n"; \
		else as="none"; fi; \
		if [ "$$as" = none ]; then \
			echo "note: installing chromium needs root (or password-less sudo): the browser test will skip"; \
		else \
			$$as env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
			{ $$as apt-get update -qq >/dev/null 2>&1 && \
			  $$as env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || \
			echo "note: apt-get could not install chromium: the browser test will skip"; \
		fi; \
	fi
	@touch $@

bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
