"""Dashboard pages: each draws widgets and calls planner/ service functions."""
