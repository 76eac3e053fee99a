#!/usr/bin/env bash
# Install the planner into .venv, load demo data into the SQLite database under data/
# (only if it is empty), show the plan, and start the dashboard on http://localhost:8501
# with its embedded publishing scheduler (it publishes even when no page is open).
#
# PLANNER_DATABASE_URL and PLANNER_PORT are honoured as everywhere (README, Configuration).
# PLANNER_SKIP_INSTALL=1 uses .venv as it is (no network): for a restart after the first.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${PLANNER_SKIP_INSTALL:-0}" = 1 ]; then
  echo "==> Using .venv as it is (PLANNER_SKIP_INSTALL=1)"
else
  echo "==> Creating .venv"
  if ! python3 -m venv .venv; then
    echo "Could not create .venv. On Debian and Ubuntu: apt-get install python3-venv" >&2
    exit 1
  fi
  echo "==> Installing requirements.txt into .venv (about a minute on the first start)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
fi

echo "==> Loading demo data (only into an empty database)"
demo_output="$(.venv/bin/python -m planner demo --if-empty)"
printf '%s\n' "$demo_output"

# The plan is shown as the demo's admin, named in the demo logins just printed (the
# username and role columns). Another database has its own admins, whom we do not know.
demo_admin="$(printf '%s\n' "$demo_output" | awk '$2 == "admin" && !found { print $1; found = 1 }')"
echo
if [ -n "$demo_admin" ]; then
  echo "==> The plan for the coming weeks (as the demo admin, $demo_admin):"
  .venv/bin/python -m planner plan list --as "$demo_admin" --limit 20 ||
    echo "(The plan could not be shown; the dashboard starts anyway.)"
else
  echo "==> Not showing the plan: this database has no demo logins."
  echo "    See it with: .venv/bin/python -m planner plan list --as ADMIN"
fi
echo

port="${PLANNER_PORT:-8501}"
echo "==> Starting the dashboard on http://localhost:$port (Ctrl-C stops it)"
exec .venv/bin/python -m planner serve --port "$port"
