"""The code's layers as written down in .importlinter and docs/ARCHITECTURE.md: checked on every
test run, so a wrong-way import fails here instead of settling in."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "gallery", "jobs", "restoration_site")


def project_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), filename=str(path))


def test_the_import_contracts_hold():
    """engine imports no Django nor the apps; jobs -> gallery, never back; no import cycles."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_module_uses_another_modules_private_names():
    offenders = []
    for path, tree in project_modules():
        imported_modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
                for alias in node.names:
                    if alias.name.startswith("_"):
                        offenders.append(f"{path.relative_to(ROOT)}: from {node.module} import {alias.name}")
                    else:
                        imported_modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                imported_modules.update((alias.asname or alias.name).split(".")[0] for alias in node.names
                                        if alias.name.split(".")[0] in PACKAGES)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported_modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert offenders == []


def test_services_and_selectors_never_speak_http():
    """They raise restoration_site.errors.NotFound, which the API and the pages both turn into a 404."""
    offenders = []
    for path, tree in project_modules():
        parts = set(path.relative_to(ROOT).with_suffix("").parts)
        if not parts & {"services", "selectors"}:
            continue
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
        offenders += [f"{path.relative_to(ROOT)}: {name}" for name in ("Http404", "get_object_or_404") if name in names]
    assert offenders == []
