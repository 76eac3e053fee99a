#!/usr/bin/env bash
# Install the planner into .venv, load demo data into the SQLite database under data/
# (only if it is empty), show the plan, and start the dashboard on http://localhost:8501
# with its embedded publishing scheduler (it publishes even when no page is open).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/python -m planner demo --if-empty
echo
echo "The plan for the coming weeks (as the demo admin):"
.venv/bin/python -m planner plan list --as admin --limit 20
echo
exec .venv/bin/python -m planner serve --port "${PLANNER_PORT:-8501}"
