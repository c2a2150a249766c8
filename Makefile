# The two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
GOVUK := node_modules/govuk-frontend/dist/govuk

.PHONY: run test install assets browser pdf-libs check audit migrate demo bench wrk clean

run: install assets pdf-libs migrate
	$(FLASK) demo-data --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install assets browser pdf-libs check
	@# Migrations must build exactly what the models describe (also tested on both databases).
	rm -f instance/db-check.sqlite && mkdir -p instance
	DATABASE_URL=sqlite:///$(CURDIR)/instance/db-check.sqlite $(FLASK) db upgrade
	DATABASE_URL=sqlite:///$(CURDIR)/instance/db-check.sqlite $(FLASK) db check
	rm -f instance/db-check.sqlite
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -p no:cacheprovider
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== Again on PostgreSQL: $${TEST_DATABASE_URL%%@*}@…"; \
	  $(BIN)/python -m pytest -p no:cacheprovider; \
	fi

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# GOV.UK Frontend compiled without GOV.UK's typeface, and its images and script copied in; then
# content-hashed copies, their manifest and .gz/.br files (training/assets.py). Safe to rerun.
assets: static/css/app.css static/govuk/.copied $(VENV)/.installed
	$(BIN)/python -m training.assets static

static/css/app.css: assets/scss/app.scss node_modules/.installed
	mkdir -p static/css
	npx --no-install sass --no-source-map --quiet-deps --style=compressed --load-path=node_modules $< $@

static/govuk/.copied: node_modules/.installed
	rm -rf static/govuk && mkdir -p static/govuk/assets
	cp $(GOVUK)/govuk-frontend.min.js static/govuk/
	cp -r $(GOVUK)/assets/images static/govuk/assets/
	touch $@

# Playwright drives Debian's Chromium: Playwright's own browser download cannot work here.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Chromium with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; }

# Static checks: lint, and bandit with no medium or high findings.
check: install
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r training -c bandit.yaml -ll

# Known vulnerabilities in the locked dependencies. --strict fails when a package could not be
# checked, so an unreachable vulnerability service is a failure, never a silent pass. Not part of
# `make test`: it needs PyPI's per-release JSON API or OSV, which this build machine cannot reach.
audit: install
	$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r constraints.txt

# WeasyPrint renders PDFs with Pango; the fonts give certificates a consistent face.
pdf-libs:
	@ldconfig -p | grep -q libpango-1.0 && ldconfig -p | grep -q libpangoft2-1.0 && fc-list 2>/dev/null | grep -qi liberation || { \
	  echo "Installing Pango and fonts for PDFs with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation >/dev/null; }

migrate: install
	mkdir -p instance
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo-data

# Pages under load (SQLite, and PostgreSQL when TEST_DATABASE_URL or BENCH_DATABASE_URL is set),
# then certificates; figures go to bench/results/.
bench: install assets pdf-libs wrk
	$(BIN)/python -m bench
	$(BIN)/python -m bench.certificates
	$(BIN)/python -m bench.history_import
	$(BIN)/python -m bench.report

# The load generator for `make bench` (it falls back to Python threads without it, and says so).
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "Installing wrk with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

clean:
	rm -rf $(VENV) node_modules static/css static/govuk instance
	rm -f static/assets-manifest.json static/*.[0-9a-f]*.svg* static/*.gz static/*.br static/js/*.[0-9a-f]*.js* static/js/*.gz static/js/*.br
