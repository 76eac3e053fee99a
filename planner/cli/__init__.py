"""`python -m planner`: the command line, on the same service functions as the dashboard.

Actions on behalf of a user take `--as USERNAME` (or PLANNER_USER) and pass the same
permission checks as in the dashboard. Whoever can run this command can read the database
directly, so `--as` asks for no password; the dashboard signs users in.

Where things are:
- `main.py` assembles the command tree from the modules below and runs one command;
- one module per command group (`setup`, `accounts`, `ideas`, `pieces`, `plan`, `posts`,
  `channels`, `audit`, `settings`); each command is added, with its arguments, right above
  its `cmd_...` handler (`@IDEAS.action("show", arg("id", ...))`), and its
  handler's docstring is its help. A new group is a new module with a `COMMANDS` tuple,
  listed in `main.MODULES`;
- `common.py`: the database session, the acting user (--as), reading input, argument
  types. Most handlers are added by `.action`: they run in one session as the acting user
  and return the line to print; the others, added by `.command`, take the parsed arguments
  and return the exit code;
- `output.py`: what commands print, tables and --json.
Handlers read and change data only through the service functions in `planner/`.
"""

from __future__ import annotations

from planner.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
