#!/usr/bin/env bash
# Install what the tests need into .venv and run every check: ruff, mypy, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> Creating .venv"
if ! python3 -m venv .venv; then
  echo "Could not create .venv. On Debian and Ubuntu: apt-get install python3-venv" >&2
  exit 1
fi
echo "==> Installing requirements-dev.txt into .venv (the planner, test servers, ruff, mypy)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# The browser test drives Debian's chromium (playwright's own browser download is never
# used). Installed here when we may; otherwise that one test is skipped, and says why.
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> Installing the Debian package chromium (apt-get, as root) for the browser test"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "chromium is not installed (apt-get install chromium): the browser test will be skipped"
  fi
fi
# The single sign-on test's OpenID Connect provider (npm oidc-provider, pinned in
# tests/oidc/package-lock.json). Without node that test is skipped, and says why.
# The accessibility test's axe-core (npm axe-core, pinned in tests/axe/package-lock.json),
# injected into every page in Chromium. Without node that test is skipped, and says why.
if command -v npm >/dev/null 2>&1; then
  echo "==> Installing npm packages into tests/oidc/node_modules (the sign-on test's provider)"
  npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
  echo "==> Installing npm packages into tests/axe/node_modules (the accessibility test's axe-core)"
  npm ci --prefix tests/axe --no-audit --no-fund --loglevel=error
else
  echo "node/npm are not installed: the single sign-on and accessibility browser tests will be skipped"
fi
echo "==> ruff, mypy"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
echo "==> pytest (10 to 19 minutes on 2 idle cores, up to 29 on a busy machine)"
# Three test processes (pytest-xdist; each has its own PostgreSQL schema and files): the
# tests wait on servers, browsers and sleeps for much of their time, so a third process
# keeps two cores busy. `loadgroup` keeps each module-wide set-up (Synapse, the sign-on
# provider, a loaded demo) in one process, and runs the browser tests one after another.
.venv/bin/python -m pytest -n 3 --dist loadgroup "$@"
