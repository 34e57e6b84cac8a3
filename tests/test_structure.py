"""The package's import structure: no module imports another module's private name, and
no two modules import each other (directly or through others; lazy imports count)."""

import ast
import re
from pathlib import Path

import simident

ROOT = Path(simident.__file__).parent


def _modules() -> dict:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(mods: dict):
    """(edges: module → imported simident modules, private: [(module, source, name)])."""
    edges = {m: set() for m in mods}
    private = []
    for m, path in mods.items():
        package = m if path.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges[m] |= {a.name for a in node.names if a.name in mods}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                if not base.startswith("simident"):
                    continue
                for a in node.names:
                    if f"{base}.{a.name}" in mods:
                        edges[m].add(f"{base}.{a.name}")
                    elif base in mods:
                        edges[m].add(base)
                        if a.name.startswith("_") and not a.name.startswith("__"):
                            private.append((m, base, a.name))
    return edges, private


def _cycles(edges: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_cycles_and_private_names():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_a_private_name_of_another():
    _, private = _imports(_modules())
    assert private == []


def test_no_import_cycles():
    edges, _ = _imports(_modules())
    assert _cycles(edges) == []


# The pipeline's stages, lowest first: a module may import its own stage and the stages
# below it, never one above (the package root, the typed API's re-exports, may import all).
LAYERS = (
    ("util",),
    ("theory",),
    ("comparison",),
    ("worlds",),
    ("models",),
    ("training",),
    ("study",),
    ("claims", "sweeps", "calibration"),
    ("cli",),
)


def _stage(module: str) -> tuple[int, str] | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] == "data":
        return None
    for i, names in enumerate(LAYERS):
        if parts[1] in names:
            return i, parts[1]
    raise AssertionError(f"{module}: its folder is in no stage of LAYERS")


def test_no_module_at_the_package_root_but_init():
    loose = sorted(p.name for p in ROOT.glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules at the package root: {loose} (give each a stage folder)"


def test_no_import_from_a_lower_stage_to_a_higher_one():
    edges, _ = _imports(_modules())
    upward = []
    for a, targets in sorted(edges.items()):
        sa = _stage(a)
        for b in sorted(targets):
            sb = _stage(b)
            if sa is None or sb is None:
                continue
            if sb[0] > sa[0] or (sb[0] == sa[0] and sb[1] != sa[1]):
                upward.append(f"{a} -> {b}")
    assert upward == []


# A value becomes a dict only where it is written to (or digested for) a file: a
# `.to_dict()` call may appear only in a function whose name says so.
SERIALISING = re.compile(
    r"^(\w*to_dict|to_json|json_record|_jsonable|save|write\w*|init|record|\w+_record|seed_summary|summary"
    r"|fingerprint|key|claim_key|\w*world_id|generate_\w*world|factor_truth|_measure"
    r"|_run_numbers|meta|_meta|print_json)$"
)


def _to_dict_calls_in(source: str, name: str) -> list[str]:
    out = []

    def walk(node, where):
        for ch in ast.iter_child_nodes(node):
            inner = where
            if isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = ch.name
            call = isinstance(ch, ast.Call) and isinstance(ch.func, ast.Attribute)
            if call and ch.func.attr == "to_dict" and not SERIALISING.match(where or ""):
                out.append(f"{name}:{ch.lineno} in {where}")
            walk(ch, inner)

    walk(ast.parse(source), None)
    return out


def test_the_to_dict_checker_finds_calls_outside_file_io():
    src = (
        "def plan(c):\n    return c.to_dict()\n"
        "def save(c):\n    write(c.to_dict())\n"
        "class A:\n    def to_dict(self):\n        return {'b': self.b.to_dict()}\n"
        "x = A().to_dict()\n"
    )
    assert _to_dict_calls_in(src, "m") == ["m:2 in plan", "m:8 in None"]


def test_no_to_dict_call_outside_file_io():
    calls = [
        c
        for path in sorted(ROOT.rglob("*.py"))
        for c in _to_dict_calls_in(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert calls == []
