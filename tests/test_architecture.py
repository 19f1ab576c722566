"""The shape of the code: imports go one way, with no circles and none hidden inside functions.

The intended direction is the layers contract in pyproject.toml (`make lint`
runs import-linter on it); these tests also catch what a contract cannot: a
circle between two modules the contract does not name, and an import moved
into a function to get round a circle.
"""

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "forum"


def our_modules(graph: grimp.ImportGraph) -> set[str]:
    return {module for module in graph.modules if ".migrations" not in module}


def strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[set[str]]:
    """Tarjan's algorithm over the direct imports between our modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module) & modules:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            found.append(component)

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def test_no_two_modules_import_each_other_even_through_others():
    graph = grimp.build_graph("forum", cache_dir=None)
    circles = [sorted(component) for component in strongly_connected(graph, our_modules(graph)) if len(component) > 1]
    assert circles == []


def is_ours(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").startswith("forum")
    return isinstance(node, ast.Import) and any(alias.name.startswith("forum") for alias in node.names)


def imports_inside_functions(path: Path, root: Path = ROOT) -> list[str]:
    """Our own modules imported inside a function body (AppConfig.ready() excepted: Django's idiom)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or function.name == "ready":
            continue
        found += [
            f"{path.relative_to(root)}:{node.lineno} {function.name}()" for node in ast.walk(function) if is_ours(node)
        ]
    return found


def test_no_module_of_ours_is_imported_inside_a_function():
    sources = [path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts]
    assert [hit for path in sorted(sources) for hit in imports_inside_functions(path)] == []


def test_the_circle_finder_finds_a_circle():
    """The test above can fail: two modules that import each other are one component."""
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    components = strongly_connected(graph, {"pkg.a", "pkg.b", "pkg.c"})
    assert {"pkg.a", "pkg.b", "pkg.c"} in components


def test_the_import_finder_finds_an_import_inside_a_function(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("def late():\n    from forum.discussion import services\n    return services\n")
    assert imports_inside_functions(module, root=tmp_path) == ["example.py:2 late()"]
