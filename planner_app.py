"""Dashboard entry point: `streamlit run planner_app.py`."""

from planner.ui.app import run

run()
