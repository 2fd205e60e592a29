"""The README's layout section matches the real tree: every package (a folder with an
``__init__.py`` in the project's packages, migrations and management commands aside) has its
line, and every line names a folder that exists."""

from __future__ import annotations

import re

from tests.helpers import ROOT, SOURCE_PACKAGES

#: Folders every Django app has, which the layout does not list one by one.
APP_PARTS = {"migrations", "management", "commands", "templatetags"}


def layout_entries() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    tree = section.split("```", 2)[1]
    return {m[1].rstrip("/") for m in re.finditer(r"^(\S+/)\s", tree, re.M)}


def packages() -> set[str]:
    found = set()
    for package in SOURCE_PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT)
            if not APP_PARTS & set(relative.parts):
                found.add(relative.as_posix())
    return found


def test_every_package_has_its_line_in_the_readme_layout() -> None:
    assert packages() - layout_entries() == set()


def test_every_line_of_the_readme_layout_is_a_folder_that_exists() -> None:
    assert {e for e in layout_entries() if not (ROOT / e).is_dir()} == set()
