"""Every query of people, case files and documents in views, tasks and services goes through
the jurisdiction scope (`archive.access`), or is allow-listed here with the reason it is safe.

A static scan of the source: a new unscoped `Person.objects…` in a view fails this test the
day it is written, before anyone finds the leak by hand."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

PACKAGES = ("archive", "review", "inspection", "search", "ocr", "cms", "config")
MODELS = {"Person", "CaseFile", "Document"}
#: Calls that apply the jurisdiction to the queryset passed to them.
SCOPERS = {"scope", "get_scoped_or_404"}

#: module:function:Model → why the query needs no scope.
ALLOWED = {
    "archive/casefiles/casefile_views.py:casefile_detail:Document": (
        "documents of a case file fetched through access.get_scoped_or_404 just above"
    ),
    "review/services/runs.py:_lookup_queried:Person": (
        "stores the findings of a run whose population was scoped to the run's division "
        "when the run was started"
    ),
}


def scanned_modules() -> list[Path]:
    files = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.stem
            if (
                name.endswith("views")
                or name in {"tasks", "services"}
                or "views" in path.parts
                or "services" in path.parts
            ):
                files.append(path)
    return files


def unscoped_queries(path: Path, root: Path = ROOT) -> list[str]:
    """module:function:Model keys (numbered #2… when repeated) of `Model.objects` uses with
    no scoping call around them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found: list[str] = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Attribute)
            and node.attr == "objects"
            and isinstance(node.value, ast.Name)
            and node.value.id in MODELS
        ):
            continue
        function, scoped, up = "<module>", False, parents.get(node)
        while up is not None:
            if isinstance(up, ast.Call):
                callee = up.func
                name = (
                    callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
                )
                scoped = scoped or name in SCOPERS
            if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef) and function == "<module>":
                function = up.name
            up = parents.get(up)
        if not scoped:
            key = f"{path.relative_to(root)}:{function}:{node.value.id}"
            repeat = sum(1 for k in found if k.split("#")[0] == key)
            found.append(key if not repeat else f"{key}#{repeat + 1}")
    return found


def test_views_tasks_and_services_query_records_only_through_the_jurisdiction_scope():
    modules = scanned_modules()
    assert any(p.name == "tasks.py" for p in modules) and any(
        "services" in p.parts for p in modules
    )
    found = [key for path in modules for key in unscoped_queries(path)]
    unexplained = sorted(set(found) - set(ALLOWED))
    assert not unexplained, "unscoped record queries (use archive.access): " + ", ".join(
        unexplained
    )
    stale = sorted(set(ALLOWED) - set(found))
    assert not stale, "allow-list entries that no longer match any query: " + ", ".join(stale)


def test_the_scan_catches_an_unscoped_lookup(tmp_path):
    module = tmp_path / "views.py"
    module.write_text(
        "def leak(request, n):\n"
        "    return Person.objects.filter(id_number=n).first()\n"
        "def fine(request):\n"
        "    return access.scope(Person.objects.all(), request.user, 'county')\n"
    )
    assert unscoped_queries(module, tmp_path) == ["views.py:leak:Person"]
