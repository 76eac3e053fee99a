"""Content marketing editorial planner: the domain layer shared by dashboard, CLI and scheduler."""
