"""The configuration registry: one parser per type, messages that name the variable, the
value (never a secret one) and what is expected, and the README table made from it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from planner import config
from planner.config import BY_NAME, README, VARIABLES, load_settings
from planner.errors import ConfigurationError

# Variables only the test suite reads; the README names them next to the table.
TEST_VARIABLES = {"PLANNER_TEST_POSTGRES_URL", "PLANNER_FUZZ_EXAMPLES"}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        pytest.param("PLANNER_PORT", "8080", "port", 8080, id="whole number"),
        pytest.param("PLANNER_POLL_SECONDS", "0.5", "poll_seconds", 0.5, id="number"),
        pytest.param("PLANNER_EMBEDDED_SCHEDULER", "off", "embedded_scheduler", False, id="off"),
        pytest.param("PLANNER_EMBEDDED_SCHEDULER", "Yes", "embedded_scheduler", True, id="on"),
        pytest.param(
            "PLANNER_MAX_LATENESS", "90m", "max_lateness", timedelta(minutes=90), id="minutes"
        ),
        pytest.param("PLANNER_MAX_LATENESS", "2", "max_lateness", timedelta(hours=2), id="hours"),
        pytest.param("PLANNER_COOKIE_SECURE", " ON ", "cookie_secure", "on", id="choice"),
        pytest.param(
            "PLANNER_SECRET_KEY_FILE", "/srv/key", "secret_key_file", Path("/srv/key"), id="path"
        ),
        pytest.param("PLANNER_TIMEZONE", "Asia/Tokyo", "default_timezone", "Asia/Tokyo", id="zone"),
        pytest.param("PLANNER_USER", "boss", "user", "boss", id="text"),
    ],
)
def test_a_set_variable_gives_its_typed_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(name, value)
    settings = load_settings()
    assert getattr(settings, field) == expected
    assert settings.is_set(name)


def test_unset_and_empty_variables_give_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_PORT", " ")
    settings = load_settings()
    for variable in VARIABLES:
        assert getattr(settings, variable.field) == variable.default, variable.name
        assert not settings.is_set(variable.name)
    assert settings.oidc is None


def test_settings_are_read_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().batch_size == 100
    monkeypatch.setenv("PLANNER_BATCH_SIZE", "7")
    assert load_settings().batch_size == 7
    monkeypatch.delenv("PLANNER_BATCH_SIZE")
    assert load_settings().batch_size == 100


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        pytest.param("PLANNER_PORT", "abc", "a whole number from 1 to 65535", id="port"),
        pytest.param("PLANNER_PORT", "70000", "a whole number from 1 to 65535", id="big port"),
        pytest.param("PLANNER_BATCH_SIZE", "2.5", "a whole number of at least 1", id="fraction"),
        pytest.param("PLANNER_POLL_SECONDS", "0", "a number more than 0", id="zero"),
        pytest.param("PLANNER_LEASE_SECONDS", "nan", "a number more than 0", id="nan"),
        pytest.param("PLANNER_EMBEDDED_SCHEDULER", "maybe", "1 or 0", id="switch"),
        pytest.param("PLANNER_MAX_LATENESS", "soon", "a duration more than zero", id="duration"),
        pytest.param("PLANNER_MAX_LATENESS", "-1h", "a duration more than zero", id="negative"),
        pytest.param("PLANNER_TIMEZONE", "Mars/Olympus", "an IANA time zone", id="zone"),
        pytest.param("PLANNER_OIDC_METADATA_URL", "ftp://idp", "an http(s) URL", id="url"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as err:
        load_settings()
    assert str(err.value).startswith(f"{name} must be {says}")
    assert f", got {value!r}" in str(err.value)
    assert "\n" not in str(err.value)


def test_every_bad_value_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_PORT", "abc")
    monkeypatch.setenv("PLANNER_MAX_ATTEMPTS", "0")
    with pytest.raises(ConfigurationError, match=r"PLANNER_PORT .*; PLANNER_MAX_ATTEMPTS "):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("PLANNER_DATABASE_URL", "postgresql://planner:hunter2-xyz@db:bad", id="db"),
        pytest.param(
            "PLANNER_MIGRATION_DATABASE_URL", "owner:hunter2-xyz@nowhere", id="migration db"
        ),
        pytest.param("PLANNER_OIDC_COOKIE_SECRET", "hunter2-xyz", id="cookie secret"),
    ],
)
def test_a_bad_secret_value_is_never_shown(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=f"^{name} must be ") as err:
        load_settings()
    assert "hunter2" not in str(err.value)
    assert "not shown" in str(err.value)


def test_secrets_are_marked_and_kept_out_of_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = {v.name for v in VARIABLES if v.secret}
    assert {
        "PLANNER_SECRET_KEY",
        "PLANNER_OIDC_CLIENT_SECRET",
        "PLANNER_OIDC_COOKIE_SECRET",
        "PLANNER_DATABASE_URL",
    } <= secret
    for name in secret:
        monkeypatch.setenv(name, f"sqlite:///hunter2-{name}" + "x" * 40)
    monkeypatch.setenv("PLANNER_OIDC_METADATA_URL", "https://idp.example.com/.well-known/x")
    monkeypatch.setenv("PLANNER_OIDC_CLIENT_ID", "planner")
    monkeypatch.setenv("PLANNER_OIDC_REDIRECT_URI", "https://planner.example.com/oauth2callback")
    assert "hunter2" not in repr(load_settings())


def test_the_registry_declares_each_variable_once_with_one_sentence() -> None:
    names = [v.name for v in VARIABLES]
    fields = [v.field for v in VARIABLES]
    assert len(set(names)) == len(names) and len(set(fields)) == len(fields)
    for variable in VARIABLES:
        assert variable.name.startswith("PLANNER_")
        assert variable.description.endswith("."), variable.name
        assert "|" not in variable.description, variable.name


def test_the_readme_table_is_made_from_the_registry() -> None:
    readme = README.read_text(encoding="utf-8")
    assert config.readme_with_table(readme) == readme, (
        "README.md's configuration table differs from planner/config.py's VARIABLES: "
        "run `python -m planner.config --readme` to write it again"
    )


def test_every_variable_the_readme_names_is_declared() -> None:
    mentioned = set(re.findall(r"PLANNER_[A-Z0-9_]*[A-Z0-9]", README.read_text(encoding="utf-8")))
    assert mentioned - TEST_VARIABLES - set(BY_NAME) == set()


def test_every_declared_variable_is_used_by_the_code() -> None:
    root = config.REPO_ROOT
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("planner", "publishers")
        for path in (root / folder).rglob("*.py")
    )
    for variable in VARIABLES:
        # Read as an attribute of the settings (or, until the command line asks the
        # settings, by its name outside the registry).
        read = re.search(rf"\.{variable.field}\b", code) or code.count(variable.name) > 1
        assert read, f"{variable.name} is declared but nothing reads settings.{variable.field}"


def test_checking_the_configuration_says_what_is_wrong_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert config.main([]) == 0
    assert capsys.readouterr().out == "configuration ok\n"
    monkeypatch.setenv("PLANNER_SESSION_IDLE_MINUTES", "soon")
    assert config.main([]) == 1
    assert capsys.readouterr().err == (
        "error: PLANNER_SESSION_IDLE_MINUTES must be a whole number of at least 1, got 'soon'\n"
    )
