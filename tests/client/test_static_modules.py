"""House rules of the page's ES modules (mug/client/static) that the type checker does not enforce.

- The import graph is acyclic: a cycle makes evaluation order matter (a module may run before the one it
  imports has defined its exports), and it means two modules are one concept.
- Everything thrown is an `Error` (or a subclass of one), so stacks, `instanceof` and `.message` work wherever
  it is caught.

`make lint` runs `tsc` over the same files for the types (tsconfig.json, tsconfig.worker.json).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "mug" / "client" / "static"

# `import x from "./a.js"`, `import {a, b} from "./a.js"` (over several lines), `import "./a.js"`,
# `export {a} from "./a.js"`, `export * from "./a.js"` and `import("./a.js")` with a literal path.
_STATIC_IMPORT = re.compile(r"^\s*(?:import|export)\b[^;]*?\bfrom\s*[\"']([^\"']+)[\"']", re.M | re.S)
_BARE_IMPORT = re.compile(r"^\s*import\s*[\"']([^\"']+)[\"']", re.M)
_DYNAMIC_IMPORT = re.compile(r"\bimport\(\s*[\"']([^\"']+)[\"']\s*\)")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.M)


def page_modules() -> list[Path]:
    """The page's own modules (vendored files excluded)."""
    return sorted(p for p in STATIC.rglob("*.js") if "vendor" not in p.relative_to(STATIC).parts)


def code_of(path: Path) -> str:
    """The module's text without comments (JSDoc `import("./x.js").Type` is a type, not an import)."""
    return _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", path.read_text(encoding="utf-8")))


def imports_of(path: Path) -> list[Path]:
    """The page modules `path` imports, statically or dynamically (relative paths only)."""
    code = code_of(path)
    specs = _STATIC_IMPORT.findall(code) + _BARE_IMPORT.findall(code) + _DYNAMIC_IMPORT.findall(code)
    return [(path.parent / spec).resolve() for spec in specs if spec.startswith(".")]


def find_cycle(graph: dict[Path, list[Path]]) -> list[Path] | None:
    """One import cycle of `graph` (first module repeated at the end), or None."""
    state: dict[Path, int] = {}  # 1 on the current path, 2 done
    path: list[Path] = []

    def visit(node: Path) -> list[Path] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_parser_sees_every_import_form(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text(
        '// @ts-check\nimport { x,\n  y } from "./b.js";\nimport "./c.js";\nexport { z } from "./d.js";\n'
        '/** @typedef {import("./e.js").T} T */\n// import "./f.js";\nconst m = await import("./g.js");\n'
        'import { io } from "https://example.org/x.js";\n',
        encoding="utf-8",
    )
    assert sorted(p.name for p in imports_of(tmp_path / "a.js")) == ["b.js", "c.js", "d.js", "g.js"]


def test_find_cycle() -> None:
    a, b, c = Path("/a.js"), Path("/b.js"), Path("/c.js")
    assert find_cycle({a: [b], b: [c], c: []}) is None
    assert find_cycle({a: [b], b: [c], c: [a]}) == [a, b, c, a]
    assert find_cycle({a: [a]}) == [a, a]


def test_every_import_resolves() -> None:
    missing = [
        f"{m.relative_to(STATIC)} imports {t.relative_to(STATIC)}"
        for m in page_modules()
        for t in imports_of(m)
        if not t.is_file()
    ]
    assert not missing


def test_page_modules_import_no_cycle() -> None:
    graph = {m.resolve(): imports_of(m) for m in page_modules()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(str(p.relative_to(STATIC)) for p in cycle)


_THROW = re.compile(r"\bthrow\b\s*(.{0,60})")
_THROW_NEW = re.compile(r"^new\s+([A-Za-z_$][\w$]*)\s*\(")
_RETHROW = re.compile(r"^[A-Za-z_$][\w$]*\s*(?:;|$|\))")  # `throw err;` of a caught value
_CLASS = re.compile(r"\bclass\s+([A-Za-z_$][\w$]*)\s+extends\s+([A-Za-z_$][\w$]*)")
_BUILTIN_ERRORS = {"Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "AggregateError"}


def error_classes() -> set[str]:
    """Error and every class of the page that extends it, directly or through another."""
    extends = {name: base for m in page_modules() for name, base in _CLASS.findall(code_of(m))}
    errors = set(_BUILTIN_ERRORS)
    while grown := {name for name, base in extends.items() if base in errors} - errors:
        errors |= grown
    return errors


def test_wire_errors_extend_error() -> None:
    assert {"WireError", "WorkerCallError"} <= error_classes()


@pytest.mark.parametrize("module", page_modules(), ids=lambda p: str(p.relative_to(STATIC)))
def test_only_errors_are_thrown(module: Path) -> None:
    errors = error_classes()
    bad = []
    for match in _THROW.finditer(code_of(module)):
        what = match.group(1)
        line = code_of(module).count("\n", 0, match.start()) + 1
        new = _THROW_NEW.match(what)
        if new is not None:
            if new.group(1) not in errors:
                bad.append(f"line {line}: throws {new.group(1)}, which is not an Error subclass")
        elif not _RETHROW.match(what):
            bad.append(f"line {line}: `throw {what.strip()}` (throw an Error, e.g. new Error(...))")
    assert not bad, f"{module.relative_to(STATIC)}: " + "; ".join(bad)
