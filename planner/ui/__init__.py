"""The Streamlit dashboard: the only package (with planner_app.py) that imports streamlit."""
