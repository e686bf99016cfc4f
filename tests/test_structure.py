"""The package's shape: no import cycle (function-local imports count), no module over
about 400 lines unless its docstring says why, and data that ships inside the package."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"
MAX_LINES = 400
# Modules allowed to be longer, with the reason their docstring gives.
LONG_ON_PURPOSE = {"matcher", "safety"}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every assistant module this one imports, anywhere in it (function-local too)."""
    out = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        out |= {t for t in targets if t in known and t != name}
    return out


def test_no_import_cycle():
    mods = modules()
    graph = {name: imports_of(name, path, set(mods)) for name, path in mods.items()}
    # A package imports its parent package's __init__ implicitly: that is not a cycle.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if node.startswith(nxt + ".") or nxt == "assistant":
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_modules_are_small_or_say_why():
    for name, path in modules().items():
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            assert name.rpartition(".")[2] in LONG_ON_PURPOSE, f"{name} has {lines} lines"


def test_the_data_ships_inside_the_package():
    """pyproject.toml maps prompts/ and audio/ into the wheel, every language folder included."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = set(config["package-dir"].values())
    for folder in ("prompts", *(f"prompts/{p.name}" for p in (PACKAGE.parent / "prompts").iterdir() if p.is_dir()),
                   *(f"audio/{p.name}" for p in (PACKAGE.parent / "audio").iterdir() if p.is_dir())):
        assert folder in mapped, f"{folder} is not shipped in the wheel (pyproject.toml [tool.setuptools.package-dir])"
