"""Channel secrets at rest: encrypted with Fernet under a key that never enters the database.

The key comes from PLANNER_SECRET_KEY; in the embedded shape (SQLite) a key file is made
on first use (mode 0600): data/secret.key, or where PLANNER_SECRET_KEY_FILE says.
Scale-out deployments must set the variable, so every replica and worker can read the
same credentials.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from planner.config import load_settings
from planner.errors import ConfigurationError


class UnreadableCredentials(ConfigurationError):
    """Stored secrets the current key cannot read: they were saved under another key
    (a database restored where PLANNER_SECRET_KEY or the key file differs)."""


def _fernet() -> Fernet:
    """The cipher for channel secrets, or a ConfigurationError that says which key is wrong."""
    settings = load_settings()
    if settings.secret_key:
        key, source = settings.secret_key.encode("ascii"), "PLANNER_SECRET_KEY"
    elif settings.database_url.startswith("sqlite"):
        key = _key_file(settings.secret_key_file)
        source = f"the key file {settings.secret_key_file}"
    else:
        raise ConfigurationError(
            "PLANNER_SECRET_KEY is not set: with a shared database every process needs the "
            "same key (make one with `python -m planner secret-key`)"
        )
    try:
        return Fernet(key)
    except ValueError as err:
        raise ConfigurationError(
            f"{source} is not a valid Fernet key (make one with `python -m planner secret-key`)"
        ) from err


def _key_file(path: Path) -> bytes:
    """The key in `path`, made there first when there is none yet.

    A new key is written in full to a private temporary file next to it and then linked
    into place, which fails when the file exists: of processes starting at the same time
    one wins, and the others read the winner's key, never a half-written file.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
                handle.flush()
                os.fsync(handle.fileno())
            # Fails when another process made the file first: its key is the one.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_bytes().strip()


def new_key() -> str:
    """A fresh key for PLANNER_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


def encrypt(secrets: dict[str, str]) -> str | None:
    """Encrypt a channel's secret settings (None when there are none)."""
    if not secrets:
        return None
    return _fernet().encrypt(json.dumps(secrets).encode("utf-8")).decode("ascii")


def decrypt(token: str | None) -> dict[str, str]:
    """The secret settings stored by `encrypt`; UnreadableCredentials when `token` was
    made under another key (or is damaged)."""
    if not token:
        return {}
    fernet = _fernet()
    try:
        data: dict[str, str] = json.loads(fernet.decrypt(token.encode("ascii")))
    except (InvalidToken, ValueError) as err:
        raise UnreadableCredentials(
            "cannot decrypt channel credentials: PLANNER_SECRET_KEY differs from the key "
            "they were saved with; enter the channel's secrets again"
        ) from err
    return data
