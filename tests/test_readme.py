"""The README's architecture sketch ("How it works") names every module of the planner.

The modules come from the file system, so a new module fails this test until the sketch
has a line for it. The sketch's top-level lines open sections: modules of `planner/ui/`
must be named in the dashboard's section, those of `planner/` in the domain's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLANNER = REPO / "planner"


def _sketch_sections() -> dict[str, str]:
    """The sketch's sections, keyed by their top-level line's first path (e.g. 'planner/')."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^## How it works\n\n```\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    assert found, "README.md has no sketch in a code block right under '## How it works'"
    sections: dict[str, str] = {}
    key = ""
    for line in found.group(1).splitlines():
        if line and not line[0].isspace():
            key = line.split()[0].rstrip(",")
            if "planner/ui/" in line.split("  ")[0]:
                key = "planner/ui/"
        sections[key] = sections.get(key, "") + line + "\n"
    return sections


def _modules(package: Path) -> list[str]:
    """`name.py` for each module and `name/` for each subpackage (with Python files) of one."""
    files = [f"{p.name}" for p in sorted(package.glob("*.py")) if p.name != "__init__.py"]
    folders = [
        f"{p.name}/"
        for p in sorted(package.iterdir())
        if p.is_dir() and p.name != "ui" and any(p.glob("*.py"))
    ]
    return files + folders


def _named(name: str, text: str) -> bool:
    """Whether `text` names the module `name.py` or `name/` as either of the two."""
    stem = name.removesuffix(".py").removesuffix("/")
    return re.search(rf"(?<![\w./]){re.escape(stem)}(\.py|/)(?![\w.])", text) is not None


CASES = [pytest.param("planner/", name, id=f"planner/{name}") for name in _modules(PLANNER)] + [
    pytest.param("planner/ui/", name, id=f"planner/ui/{name}") for name in _modules(PLANNER / "ui")
]


@pytest.mark.parametrize(("section", "module"), CASES)
def test_how_it_works_names_every_module(section: str, module: str) -> None:
    sections = _sketch_sections()
    assert section in sections, f"the sketch has no section for {section}"
    assert _named(module, sections[section]), (
        f"README.md's 'How it works' sketch does not name {section}{module}: "
        f"add a line for it to the {section} section"
    )


def test_the_sketch_is_read_as_sections() -> None:
    assert {"planner/", "planner/ui/", "publishers/"} <= set(_sketch_sections())
    assert _named("cli.py", "  cli/, __main__.py   the command line")
    assert not _named("state.py", "  estate.py")
