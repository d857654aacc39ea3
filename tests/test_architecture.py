"""The codebase's shape: packages in one direction, no cycles, small modules, one database.

Read from the source with `ast` (nothing is imported), so a new upward import, a cycle, an
import hidden inside a function, a module past 500 lines or a SQLite branch fails here.
"""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Lowest first: a package may import only packages before it in this list (and itself). A
# package and its subpackage count as two packages (issue 11): every directory with an
# `__init__.py` is listed, and `registry` (models and rules) may not import `registry.views`.
LAYERS = ["govmedia", "adapters", "registry", "registry.importer", "registry.views",
          "interaction", "registry.supervision", "registry.activity", "notices",
          "publisher", "publisher.fanout", "publisher.tasks", "publisher.editorial",
          "publisher.views", "demo"]
# The stand-in platforms import none of ours, and only the demo data imports them.
STANDALONE = {"standins"}
ALLOWED = {("demo", "standins")}
MAX_LINES = 500


def modules():
    for top in [*{layer.split(".")[0] for layer in LAYERS}, "standins"]:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "translations" not in path.parts:
                yield path


def package_of(dotted: str) -> str | None:
    """The package (as in LAYERS) a dotted module name belongs to."""
    names = sorted([*LAYERS, *STANDALONE], key=len, reverse=True)
    return next((n for n in names if dotted == n or dotted.startswith(n + ".")), None)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path):
    """(imported dotted name, line, inside a function?) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    is_package = path.name == "__init__.py"

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, in_function
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name.split(".")
                    base = base if is_package else base[:-1]
                    base = base[:len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module
                yield target, child.lineno, in_function
                for alias in child.names:  # `from registry import supervision`
                    yield f"{target}.{alias.name}", child.lineno, in_function
            yield from walk(child, nested)

    yield from walk(tree, False)


def edges():
    found = []
    for path in modules():
        source = package_of(module_name(path))
        for target, line, in_function in imports(path):
            package = package_of(target)
            if package and package != source:
                found.append((source, package, f"{path.relative_to(ROOT)}:{line}", in_function))
    return found


def test_every_package_is_a_layer():
    # A new subpackage must be placed in LAYERS, or its imports would be counted as its
    # parent's and a cycle between the two would go unseen.
    found = {module_name(path.parent / "__init__.py") for path in modules()
             if (path.parent / "__init__.py").exists()}
    assert found == {*LAYERS, *STANDALONE}


def test_packages_import_only_downwards():
    upward = []
    for source, target, where, _ in edges():
        if source in STANDALONE or target in STANDALONE:
            if (source, target) not in ALLOWED:
                upward.append(f"{where}: {source} -> {target}")
            continue
        if LAYERS.index(target) > LAYERS.index(source):
            upward.append(f"{where}: {source} -> {target}")
    assert upward == []


def test_no_cycles_in_the_package_graph():
    graph = {}
    for source, target, _, _ in edges():
        graph.setdefault(source, set()).add(target)
    seen, stack = set(), []

    def visit(node):
        if node in stack:
            return stack[stack.index(node):] + [node]
        if node in seen:
            return None
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            cycle = visit(nxt)
            if cycle:
                return cycle
        stack.pop()
        return None

    cycles = [c for c in (visit(n) for n in sorted(graph)) if c]
    assert cycles == []


def test_our_packages_are_imported_at_module_level():
    # A function-level import of our own code is how a cycle hides; only optional third-party
    # dependencies may be imported late.
    hidden = [f"{where}: {target}" for _, target, where, inside in edges() if inside]
    own = [f"{path.relative_to(ROOT)}:{line}: {target}" for path in modules()
           for target, line, inside in imports(path)
           if inside and package_of(target) == package_of(module_name(path))]
    assert hidden + own == []


# Third-party modules that may be imported inside a function: optional ones only (none today).
OPTIONAL_IMPORTS: set[str] = set()


def test_required_libraries_are_imported_at_module_level():
    # Issue 11: "function-level imports only where an optional dependency needs it".
    late = [f"{path.relative_to(ROOT)}:{line}: {target}" for path in modules()
            for target, line, inside in imports(path)
            if inside and package_of(target) is None
            and target.split(".")[0] not in OPTIONAL_IMPORTS]
    assert late == []


@pytest.mark.parametrize("path", list(modules()), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_short_enough_to_read(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) < MAX_LINES


def test_no_code_asks_which_database_runs():
    pattern = re.compile(r"dialect\.name|get_backend_name|sqlite", re.IGNORECASE)
    found = [f"{path.relative_to(ROOT)}:{n}" for path in modules()
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert found == []


def test_the_graph_test_can_fail(tmp_path, monkeypatch):
    # The reader above must see an upward import and a hidden one when they are there.
    sample = ROOT / "govmedia" / "__init__.py"
    fake = tmp_path / "govmedia" / "x.py"
    fake.parent.mkdir()
    fake.write_text("import publisher.models\n\ndef f():\n    from registry import services\n")
    monkeypatch.setattr("test_architecture.ROOT", tmp_path)
    found = list(imports(fake))
    assert ("publisher.models", 1, False) in found
    assert ("registry", 4, True) in found and ("registry.services", 4, True) in found
    assert sample.exists()


# 减负 (burden reduction): nothing ranks accounts, units or people by popularity. The figures a
# list may be ordered by are compliance (filings on time, updates within the window, answers).
POPULARITY = {"followers", "reads", "likes", "shares", "fans", "plays", "views", "comments_count",
              "read_count", "like_count", "share_count", "play_count"}


def popularity_orderings(source: str) -> list[str]:
    """`order_by(...)` calls (and `sorted(key=...)`) whose arguments name a popularity figure."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", None))
        if name == "order_by":
            parts = node.args
        elif name in ("sorted", "sort"):
            parts = [k.value for k in node.keywords if k.arg == "key"]
        else:
            continue
        named = {getattr(n, "attr", getattr(n, "id", None)) for part in parts
                 for n in ast.walk(part)} | {n.value for part in parts for n in ast.walk(part)
                                              if isinstance(n, ast.Constant)}
        found += sorted(POPULARITY & {x for x in named if isinstance(x, str)})
    return found


def test_nothing_is_ranked_by_popularity():
    offenders = {str(path.relative_to(ROOT)): hits for path in modules()
                 if (hits := popularity_orderings(path.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_the_popularity_test_can_fail():
    assert popularity_orderings("q.order_by(Account.followers.desc())") == ["followers"]
    assert popularity_orderings("sorted(rows, key=lambda r: r['reads'])") == ["reads"]
    assert popularity_orderings("q.order_by(Account.id)") == []


def test_the_architecture_page_lists_the_package_graph_as_it_is():
    """docs/ARCHITECTURE.md's table of packages and their imports is the code's."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text.split("<!-- package-edges -->")[1].split("<!-- /package-edges -->")[0]
    drawn = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            drawn[cells[0].strip("`")] = set(re.findall(r"`([a-z_.]+)`", cells[1]))
    actual = {name: set() for name in [*LAYERS, *STANDALONE]}
    for source, target, _where, in_function in edges():
        if not in_function:
            actual[source].add(target)
    assert drawn == actual
