"""Every module of rmkd_nb imports with the declared runtime dependencies; lazy imports come from a declared extra."""
import ast, importlib.metadata as md, re, sys, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT/"pyproject.toml").read_text())["project"]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
dist_name = lambda req: norm(re.match(r"[A-Za-z0-9._-]+", req)[0])
RUNTIME = {dist_name(r) for r in PROJECT["dependencies"]}
EXTRAS = {dist_name(r) for reqs in PROJECT["optional-dependencies"].values() for r in reqs}
DISTS = {k: {norm(d) for d in v} for k, v in md.packages_distributions().items()}


_GUARDS = ("ImportError", "ModuleNotFoundError", "Exception")   # an import under these handlers is optional

def imports(path):
    "(top-level module, lazy?) of every import in `path`; lazy: inside a function or a try/except ImportError."
    tree = ast.parse(path.read_text()); out = []
    def visit(node, lazy):
        for ch in ast.iter_child_nodes(node):
            inner = lazy or isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) or (
                isinstance(ch, ast.Try) and any(getattr(h.type, "id", "") in _GUARDS for h in ch.handlers))
            if isinstance(ch, ast.Import): out.extend((a.name.split(".")[0], lazy) for a in ch.names)
            elif isinstance(ch, ast.ImportFrom) and not ch.level: out.append((ch.module.split(".")[0], lazy))
            visit(ch, inner)
    visit(tree, False)
    return out


def test_imports_are_declared():
    bad = []
    for p in sorted((ROOT/"rmkd_nb").glob("*.py")):
        for mod, lazy in imports(p):
            if mod in sys.stdlib_module_names or mod in ("rmkd_nb", "__future__"): continue
            dists = DISTS.get(mod)
            assert dists, f"{p.name} imports {mod!r}, which no installed distribution provides"
            ok = RUNTIME | (EXTRAS if lazy else set())
            if not dists & ok:
                bad.append(f"{p.name}: {'lazy ' if lazy else ''}import {mod} ({', '.join(sorted(dists))})")
    assert not bad, "imports not declared in pyproject.toml (runtime deps; extras for lazy imports):\n" + "\n".join(bad)


def test_the_parser_sees_imports():   # the check above can fail
    found = imports(ROOT/"rmkd_nb"/"trainer.py"); eager = {m for m, lazy in found if not lazy}
    assert {"fastcore", "torch", "numpy"} <= eager and ("accelerate", True) in found
