"""Channel secrets at rest: encrypted with Fernet under a key that never enters the database.

The key comes from PLANNER_SECRET_KEY; in the embedded shape (SQLite) a key file is made
under data/ on first use (mode 0600). Scale-out deployments must set the variable, so
every replica and worker can read the same credentials.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from planner.config import DATA_DIR, load_settings
from planner.errors import ConfigurationError

KEY_FILE_NAME = "secret.key"


def _key() -> bytes:
    env = os.environ.get("PLANNER_SECRET_KEY", "").strip()
    if env:
        return env.encode("ascii")
    if not load_settings().database_url.startswith("sqlite"):
        raise ConfigurationError(
            "PLANNER_SECRET_KEY is not set: with a shared database every process needs the "
            "same key (make one with `python -m planner secret-key`)"
        )
    path = Path(os.environ.get("PLANNER_SECRET_KEY_FILE") or DATA_DIR / KEY_FILE_NAME)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return path.read_bytes().strip()


def new_key() -> str:
    """A fresh key for PLANNER_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


def encrypt(secrets: dict[str, str]) -> str | None:
    """Encrypt a channel's secret settings (None when there are none)."""
    if not secrets:
        return None
    try:
        fernet = Fernet(_key())
    except ValueError as err:
        raise ConfigurationError("PLANNER_SECRET_KEY is not a valid Fernet key") from err
    return fernet.encrypt(json.dumps(secrets).encode("utf-8")).decode("ascii")


def decrypt(token: str | None) -> dict[str, str]:
    """The secret settings stored by `encrypt`."""
    if not token:
        return {}
    try:
        data: dict[str, str] = json.loads(Fernet(_key()).decrypt(token.encode("ascii")))
    except (InvalidToken, ValueError) as err:
        raise ConfigurationError(
            "cannot decrypt channel credentials: PLANNER_SECRET_KEY differs from the key "
            "they were saved with; enter the channel's secrets again"
        ) from err
    return data
