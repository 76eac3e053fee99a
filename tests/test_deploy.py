"""deploy/ runs exactly the commands the README documents, and the CLI has them.

The commands are read from the files themselves: the systemd units' ExecStart and
ExecStartPre lines, the compose services' `command`, the Containerfile's CMD. Each is
compared, from `-m planner` on, with the commands in the README's code blocks.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from planner.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
UNITS = ("planner-dashboard.service", "planner-worker@.service")


def _planner_args(argv: list[str]) -> tuple[str, ...]:
    """The arguments after `-m planner` in a command line; () when it runs something else."""
    for i in range(len(argv) - 1):
        if argv[i : i + 2] == ["-m", "planner"]:
            return tuple(argv[i + 2 :])
    return ()


def documented_commands() -> set[tuple[str, ...]]:
    """Every `python -m planner ...` command in the README's code blocks."""
    commands = set()
    for block in _shell_blocks((REPO / "README.md").read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            if "-m planner " in line:
                args = _planner_args(shlex.split(line, comments=True))
                if args:
                    commands.add(args)
    return commands


def _shell_blocks(markdown: str) -> list[str]:
    """The text of each fenced code block marked `bash` or `sh`, or not marked at all."""
    blocks: list[str] = []
    language: str | None = None  # None: outside a block
    lines: list[str] = []
    for line in markdown.splitlines():
        if not line.startswith("```"):
            lines.append(line)
        elif language is None:
            language, lines = line[3:].strip(), []
        else:
            if language in ("", "bash", "sh"):
                blocks.append("\n".join(lines) + "\n")
            language = None
    return blocks


def _unit_commands(unit: str) -> list[list[str]]:
    lines = (DEPLOY / unit).read_text(encoding="utf-8").splitlines()
    return [
        shlex.split(line.split("=", 1)[1])
        for line in lines
        if line.startswith(("ExecStart=", "ExecStartPre="))
    ]


def _compose() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(
        (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    )["services"]
    return services


def _containerfile_cmd() -> list[str]:
    lines = (DEPLOY / "Containerfile").read_text(encoding="utf-8").splitlines()
    (cmd,) = [line.removeprefix("CMD ") for line in lines if line.startswith("CMD ")]
    argv: list[str] = json.loads(cmd)
    return argv


def deploy_commands() -> list[tuple[str, list[str]]]:
    """(where, argv) for every command a deploy file runs."""
    found = [(unit, argv) for unit in UNITS for argv in _unit_commands(unit)]
    found += [
        (f"compose.yaml: {name}", service["command"])
        for name, service in _compose().items()
        if "command" in service
    ]
    found.append(("Containerfile: CMD", _containerfile_cmd()))
    return found


@pytest.mark.parametrize(
    ("where", "argv"), [pytest.param(w, a, id=f"{w} {a[-1]}") for w, a in deploy_commands()]
)
def test_deploy_runs_a_documented_command_the_cli_has(where: str, argv: list[str]) -> None:
    args = _planner_args(argv)
    assert args, f"{where} runs {argv}, not `python -m planner ...`"
    assert args in documented_commands(), (
        f"{where} runs `python -m planner {shlex.join(args)}`, which no code block in "
        "README.md shows"
    )
    build_parser().parse_args(list(args))  # argparse exits on an unknown command or option


def test_deploy_covers_migrate_dashboard_and_workers() -> None:
    run = {_planner_args(argv)[0] for _, argv in deploy_commands()}
    assert run == {"migrate", "serve", "worker"}
    assert _unit_commands("planner-dashboard.service")[0][-1] == "migrate"  # ExecStartPre


def test_every_documented_command_exists_in_the_cli() -> None:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    commands = documented_commands()
    assert {("migrate",), ("worker",)} <= commands
    unknown = sorted(" ".join(c) for c in commands if c[0] not in sub.choices)
    assert not unknown, f"README.md documents commands the CLI does not have: {unknown}"


def test_units_read_the_example_environment_file_and_restart() -> None:
    for unit in UNITS:
        text = (DEPLOY / unit).read_text(encoding="utf-8")
        assert "EnvironmentFile=/etc/planner/planner.env" in text
        assert "User=planner" in text
        assert "Restart=on-failure" in text
    assert "/etc/planner/planner.env" in (REPO / "README.md").read_text(encoding="utf-8")


def test_environment_example_has_no_secrets_and_turns_off_the_embedded_scheduler() -> None:
    values = dict(
        line.split("=", 1)
        for line in (DEPLOY / "planner.env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert values["PLANNER_SECRET_KEY"] == ""
    assert "CHANGE-ME" in values["PLANNER_DATABASE_URL"]
    assert values["PLANNER_EMBEDDED_SCHEDULER"] == "0"
    assert values["PLANNER_COOKIE_SECURE"] == "on"


def test_compose_has_postgres_with_volume_and_healthcheck_and_several_workers() -> None:
    services = _compose()
    db = services["db"]
    assert str(db["image"]).startswith("postgres:")
    assert "healthcheck" in db
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert services["worker"]["deploy"] == {"replicas": 2}
    for name in ("dashboard", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
        assert services[name]["env_file"] == "planner.env"
    assert services["dashboard"]["ports"] == ["127.0.0.1:8501:8501"]


def test_image_runs_as_a_user_from_python_311_slim() -> None:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    assert "pip install -r requirements.txt" in text
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")


@pytest.mark.parametrize("config", ["Caddyfile", "planner.conf"])
def test_reverse_proxy_sends_security_headers_and_passes_the_websocket(config: str) -> None:
    text = (DEPLOY / config).read_text(encoding="utf-8")
    for header in (
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "X-Frame-Options",
        "frame-ancestors",
    ):
        assert header in text
    assert "127.0.0.1:8501" in text
    if config == "planner.conf":  # Caddy passes websocket upgrades by itself
        assert "location /_stcore/stream" in text
        assert 'proxy_set_header Connection "upgrade"' in text
