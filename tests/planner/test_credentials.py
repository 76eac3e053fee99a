"""Channel secrets at rest: the key comes from PLANNER_SECRET_KEY or a key file that is
made once, even by processes starting at the same time, and never in the checkout during
the tests."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from planner import channels, credentials
from planner.config import DATA_DIR, KEY_FILE_NAME, load_settings
from planner.errors import ConfigurationError
from tests.conftest import World, files_in_data

RACERS = 4


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded shape: SQLite and no PLANNER_SECRET_KEY, so a key file is used."""
    monkeypatch.delenv("PLANNER_SECRET_KEY", raising=False)
    monkeypatch.delenv("PLANNER_DATABASE_URL", raising=False)


def test_without_the_variable_the_key_file_is_in_the_checkouts_data_folder() -> None:
    assert load_settings({}).secret_key_file == DATA_DIR / KEY_FILE_NAME


@pytest.mark.usefixtures("embedded", "private_network")
def test_a_channel_saved_during_the_tests_keeps_its_key_outside_the_checkout(
    world: World, run_key_file: Path
) -> None:
    before = files_in_data()
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "secret": "tok-81c2"},
    )
    assert load_settings().secret_key_file == run_key_file
    assert run_key_file.exists()
    assert files_in_data() == before


@pytest.mark.usefixtures("embedded")
def test_the_key_file_is_made_once_for_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "keys" / "planner.key"
    monkeypatch.setenv("PLANNER_SECRET_KEY_FILE", str(key_file))
    token = credentials.encrypt({"secret": "tok-81c2"})
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_bytes()
    assert credentials.decrypt(token) == {"secret": "tok-81c2"}
    assert key_file.read_bytes() == key
    assert [path.name for path in key_file.parent.iterdir()] == ["planner.key"]


def _encrypt_in_a_new_process(key_file: str, start: Barrier, results: Queue[str | None]) -> None:
    os.environ.pop("PLANNER_SECRET_KEY", None)
    os.environ.pop("PLANNER_DATABASE_URL", None)
    os.environ["PLANNER_SECRET_KEY_FILE"] = key_file
    start.wait()
    results.put(credentials.encrypt({"secret": "tok-81c2"}))


@pytest.mark.usefixtures("embedded")
def test_processes_starting_at_once_all_use_the_same_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "secret.key"
    context = multiprocessing.get_context("fork")
    start = context.Barrier(RACERS)
    results: Queue[str | None] = context.Queue()
    racers = [
        context.Process(target=_encrypt_in_a_new_process, args=(str(key_file), start, results))
        for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=120)
    assert [racer.exitcode for racer in racers] == [0] * RACERS
    tokens = [results.get(timeout=10) for _ in racers]
    # Every process encrypted under the key that stayed in the file.
    monkeypatch.setenv("PLANNER_SECRET_KEY_FILE", str(key_file))
    assert [credentials.decrypt(token) for token in tokens] == [{"secret": "tok-81c2"}] * RACERS
    assert [path.name for path in tmp_path.iterdir()] == ["secret.key"]
    assert key_file.stat().st_mode & 0o777 == 0o600


# --- a missing or broken key is named as such ---------------------------------------------

SHARED_DATABASE = "postgresql+psycopg://planner@127.0.0.1:5432/planner"


def test_a_shared_database_without_the_variable_is_told_to_set_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLANNER_SECRET_KEY", raising=False)
    monkeypatch.setenv("PLANNER_DATABASE_URL", SHARED_DATABASE)
    not_set = r"^PLANNER_SECRET_KEY is not set: "

    with pytest.raises(ConfigurationError, match=not_set):
        credentials.encrypt({"token": "t"})
    with pytest.raises(ConfigurationError, match=not_set):  # not "the key differs"
        credentials.decrypt("gAAAAABnot-a-real-token")


def test_a_variable_that_is_no_fernet_key_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANNER_SECRET_KEY", "too-short-to-be-a-key")

    with pytest.raises(ConfigurationError) as refused:
        credentials.encrypt({"token": "t"})

    assert str(refused.value).startswith("PLANNER_SECRET_KEY is not a valid Fernet key")
    assert "too-short-to-be-a-key" not in str(refused.value)


@pytest.mark.usefixtures("embedded")
def test_a_damaged_key_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(b"damaged\n")
    monkeypatch.setenv("PLANNER_SECRET_KEY_FILE", str(key_file))

    with pytest.raises(ConfigurationError) as refused:
        credentials.decrypt(credentials.encrypt({"token": "t"}))

    assert str(refused.value).startswith(f"the key file {key_file} is not a valid Fernet key")
