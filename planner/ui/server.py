"""`python -m planner serve`: the dashboard plus its embedded scheduler in one process.

The scheduler starts with the server process, before and independently of any browser
session, so due posts go out even when nobody has a page open. It starts exactly once
per process; the page scripts never start schedulers.
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from planner import csvio, sso
from planner.config import load_oidc_settings, load_settings
from planner.db import get_engine
from planner.migrate import prepare
from planner.worker import Worker

APP = Path(__file__).resolve().parents[2] / "planner_app.py"
_lock = threading.Lock()
_worker: Worker | None = None


def embedded_scheduler_enabled() -> bool:
    """PLANNER_EMBEDDED_SCHEDULER=0 turns it off (when separate workers publish)."""
    return load_settings().embedded_scheduler


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
    """Migrate, start the scheduler, then run the Streamlit server in this process.

    The server is Streamlit's own (`st.App`), with the planner's routes for the sign-in
    cookie and its Host check in front of every request (see `planner.ui.web`).
    """
    import streamlit as st

    from planner.ui import rerun_merge, web

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per sweep is noise
    hosts = web.allowed_hosts(address)  # a configuration error stops here, before any start
    oidc = load_oidc_settings()  # so does a half-done single sign-on configuration
    prepare(get_engine())
    start_embedded_scheduler()
    logging.getLogger("planner.serve").info("answering requests for hosts %s", ", ".join(hosts))
    config: dict[str, object] = {
        "server.port": port,
        "server.address": address,
        "server.headless": True,
        # Streamlit's own check of the websocket's Host, the same list (it writes
        # IPv6 addresses without brackets).
        "server.allowedHosts": [host.strip("[]") for host in hosts],
        "browser.gatherUsageStats": False,
        "server.fileWatcherType": "none",
        # Editors get the app, not Streamlit's developer menu ("Deploy", "Rerun").
        "client.toolbarMode": "viewer",
        # Uploads (CSV imports) a little over the import limit still reach the planner's
        # own check, which says what the limit is; larger ones Streamlit refuses itself.
        "server.maxUploadSize": csvio.MAX_BYTES // 2**20 + 1,
        # No forced full garbage collection after every script run: it stops the whole
        # interpreter (every session and the embedded scheduler) for each page view.
        # Python's own generational collector still reclaims cycles as they pile up.
        "runner.postScriptGC": False,
        # A value typed right before a click on another page is not lost on the way.
        **rerun_merge.install(),
    }
    secrets_dir: Path | None = None
    if oidc is not None:
        # Streamlit's st.login reads its [auth] section from this file only; it lives in a
        # private directory (mode 0700) for as long as the server runs.
        secrets_dir = Path(tempfile.mkdtemp(prefix="planner-serve-"))
        config["secrets.files"] = [str(sso.write_streamlit_secrets(oidc, secrets_dir))]
        logging.getLogger("planner.serve").info(
            "single sign-on with client %s of %s", oidc.client_id, oidc.metadata_url
        )
    app = st.App(APP, routes=web.routes(), middleware=web.middleware(hosts))
    # Streamlit reads its configuration (.streamlit/config.toml) next to the dashboard script.
    sys.argv = [str(APP)]
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again for the
    # handler that was there before; this one turns it into a normal exit (status 0).
    previous = {sig: signal.signal(sig, _exit_cleanly) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        app.run(config=config)
    except SystemExit as done:
        return int(done.code or 0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # The server ends on SIGTERM/SIGINT; the scheduler drains like a worker's would.
        stop_embedded_scheduler()
        if secrets_dir is not None:
            shutil.rmtree(secrets_dir, ignore_errors=True)
    return 0


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def stop_embedded_scheduler() -> None:
    """Drain and stop this process's background scheduler, if it runs: posts in flight
    are recorded, claimed posts not yet sent are released."""
    global _worker
    with _lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.close()
        logging.getLogger("planner.serve").info("embedded scheduler %s stopped", worker.worker_id)
