"""`python -m planner serve`: the dashboard plus its embedded scheduler in one process.

The scheduler starts with the server process, before and independently of any browser
session, so due posts go out even when nobody has a page open. It starts exactly once
per process; the page scripts never start schedulers.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from planner.db import get_engine
from planner.migrate import prepare
from planner.worker import Worker

APP = Path(__file__).resolve().parents[2] / "planner_app.py"
_lock = threading.Lock()
_worker: Worker | None = None


def embedded_scheduler_enabled() -> bool:
    """PLANNER_EMBEDDED_SCHEDULER=0 turns it off (when separate workers publish)."""
    return os.environ.get("PLANNER_EMBEDDED_SCHEDULER", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )


def start_embedded_scheduler() -> Worker | None:
    """Start this process's one background scheduler (idempotent)."""
    global _worker
    with _lock:
        if _worker is None and embedded_scheduler_enabled():
            engine = get_engine()
            prepare(engine)
            _worker = Worker(engine, embedded=True)
            _worker.start_background()
            logging.getLogger("planner.serve").info(
                "embedded scheduler %s started", _worker.worker_id
            )
        return _worker


def serve(port: int, address: str) -> int:
    """Migrate, start the scheduler, then run the Streamlit server in this process."""
    from streamlit.web import cli as streamlit_cli

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per sweep is noise
    prepare(get_engine())
    start_embedded_scheduler()
    sys.argv = [
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        # Editors get the app, not Streamlit's developer menu ("Deploy", "Rerun", settings).
        "--client.toolbarMode",
        "viewer",
    ]
    try:
        streamlit_cli.main()
    except SystemExit as done:
        return int(done.code or 0)
    finally:
        # Streamlit ends on SIGTERM/SIGINT; the scheduler drains like a worker's would.
        stop_embedded_scheduler()
    return 0


def stop_embedded_scheduler() -> None:
    """Drain and stop this process's background scheduler, if it runs: posts in flight
    are recorded, claimed posts not yet sent are released."""
    global _worker
    with _lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.close()
        logging.getLogger("planner.serve").info("embedded scheduler %s stopped", worker.worker_id)
