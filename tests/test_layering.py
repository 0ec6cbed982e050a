"""The layering holds in the import graph of app/ and worker/, read from the source with
``ast`` (every import, those inside functions too: a deferred import is still a dependency,
only hidden from the interpreter at start-up):

- no cycle between modules of app/ (app.errors -> app.ratelimit -> app.errors, say), nor
  between its top-level packages (app.reports <-> app.photos, even through different
  modules), the shared tables aside: each package can be understood, and moved, with what
  it imports only;
- no view module imports another domain's views: a domain that needs another's behaviour
  calls its service;
- production code (app/, worker/) imports neither tools/ nor tests/.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("app", "worker")


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    imported: str  # module name, as resolved
    where: str  # path:line

    def __str__(self) -> str:
        return f"{self.importer} imports {self.imported} ({self.where})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(*packages: str) -> dict[str, Path]:
    return {
        module_name(path): path
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def resolve(name: str, known: dict[str, Path]) -> str:
    """The longest prefix of ``name`` that is a module of ours (``app.x.y.func`` -> ``app.x.y``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return name


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from app import errors`` imports the module app.errors.
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        where = f"{shown}:{node.lineno}"
        found += [Import(name, resolve(target, known), where) for target in targets]
    return list(dict.fromkeys(found))


def production_imports() -> list[Import]:
    known = modules(*PRODUCTION, "tools", "tests")
    return [
        found
        for name, path in modules(*PRODUCTION).items()
        for found in imports_of(name, path, known)
    ]


def top_package(module: str) -> str | None:
    """``app.reports.service`` -> ``app.reports``; None outside app/."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "app" and len(parts) > 1 else None


def cycles(found: list[Import], node=top_package) -> list[list[Import]]:
    """For each set of nodes of app/ tied into a cycle (top-level packages, or modules with
    ``node=module_of_app``), one import for each pair of its nodes that import each other
    one way (the first, by module name)."""
    between: dict[tuple[str, str], Import] = {}
    for imp in sorted(found, key=str):
        pair = (node(imp.importer), node(imp.imported))
        if all(pair) and pair[0] != pair[1]:
            between.setdefault(pair, imp)
    edges: dict[str, set[str]] = {}
    for source, target in between:
        edges.setdefault(source, set()).add(target)
        edges.setdefault(target, set())

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reach = {each: reachable(each) for each in edges}
    groups: list[set[str]] = []
    for each in sorted(edges):
        group = {each} | {other for other in reach[each] if each in reach[other]}
        if len(group) > 1 and group not in groups:
            groups.append(group)
    return [
        [imp for (source, target), imp in sorted(between.items()) if {source, target} <= group]
        for group in groups
    ]


def module_of_app(module: str) -> str | None:
    """The module itself; None for the application factory (app/__init__.py, above every
    package) and outside app/."""
    return module if top_package(module) else None


def shown(groups: list[list[Import]], node) -> str:
    return "\n\n".join(
        " <-> ".join(sorted({node(imp.importer) for imp in group}))
        + ":\n"
        + "\n".join(f"  {imp}" for imp in group)
        for group in groups
    )


def is_views(module: str) -> bool:
    return "views" in module.split(".")[2:]


def test_the_graph_reads_imports_inside_functions_and_relative_ones(tmp_path):
    """The reader itself: a deferred import and a relative one are edges too."""
    known = {"app.a.service": Path(), "app.b.models": Path(), "app.a.views": Path()}
    source = tmp_path / "service.py"
    source.write_text("def f():\n    from app.b.models import Thing\nfrom . import views\n")
    found = imports_of("app.a.service", source, known)
    assert {imp.imported for imp in found} == {"app.b.models", "app.a.views"}
    tied = [
        Import("app.a.service", "app.b.models", "x"),
        Import("app.b.models", "app.a.views", "y"),
        Import("app.a.views", "app.c", "z"),
    ]
    assert [[str(imp) for imp in group] for group in cycles(tied)] == [
        ["app.a.service imports app.b.models (x)", "app.b.models imports app.a.views (y)"]
    ]
    # Module by module, the same imports close no cycle.
    assert cycles(tied, node=module_of_app) == []


def test_no_import_cycle_between_modules_of_app():
    found = cycles(production_imports(), node=module_of_app)
    assert not found, f"Import cycles between modules of app/:\n{shown(found, module_of_app)}"


def is_models(module: str) -> bool:
    return module.rpartition(".")[2] == "models"


def test_no_import_cycle_between_top_level_packages_of_app():
    """Between packages, an import of another package's tables (its ``models`` module) is
    not counted: the tables are the one schema every package shares (routing reads reports,
    identities read staff and desks, the outbox reads report events), and such an import
    brings no behaviour. Every other dependency between packages goes one way."""
    found = cycles([imp for imp in production_imports() if not is_models(imp.imported)])
    assert not found, f"Import cycles between packages of app/:\n{shown(found, top_package)}"


def test_no_view_module_imports_another_domains_views():
    crossing = [
        imp
        for imp in production_imports()
        if is_views(imp.importer)
        and is_views(imp.imported)
        and top_package(imp.importer) != top_package(imp.imported)
    ]
    assert not crossing, "\n".join(map(str, crossing))


def test_production_code_imports_neither_tools_nor_tests():
    leaking = [
        imp for imp in production_imports() if imp.imported.split(".")[0] in ("tools", "tests")
    ]
    assert not leaking, "\n".join(map(str, leaking))
