"""The shape of the package: no import cycles, imports point down, each metric's defaults in exactly one file,
and the README's Layout section names files that exist."""

import ast
import inspect
import re

import pytest
from conftest import ROOT
from omegaconf import OmegaConf

from harness.config import config_dir, group_options

PACKAGE = ROOT / "harness"


def _modules() -> dict[str, object]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """harness module -> the harness modules it imports anywhere (module level or inside functions)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("harness"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("harness"))
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node, path):
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package():
    assert _cycle(import_graph()) is None


# what each layer must never import: a metric never imports a system, nothing below the commands imports them
FORBIDDEN = {
    "harness.metrics": ("harness.systems", "harness.run", "harness.results", "harness.report", "harness.commands",
                        "harness.cli", "harness.significance"),
    "harness.systems": ("harness.metrics", "harness.run", "harness.results", "harness.report", "harness.commands",
                        "harness.cli", "harness.significance"),
    "harness.data": ("harness.systems", "harness.metrics", "harness.run", "harness.results", "harness.report",
                     "harness.commands", "harness.cli"),
    "harness.significance": ("harness.run", "harness.results", "harness.report", "harness.commands", "harness.cli"),
    "harness.cache": ("harness.metrics", "harness.systems", "harness.run", "harness.commands"),
    "harness.errors": ("harness.",),
    "harness.run": ("harness.commands", "harness.cli"),
    "harness.results": ("harness.commands", "harness.cli"),
    "harness.compare": ("harness.commands", "harness.cli", "harness.run"),
    "harness.baseline": ("harness.commands", "harness.cli", "harness.run"),
    "harness.report": ("harness.run", "harness.commands", "harness.cli", "harness.metrics", "harness.systems"),
}


def _inside(module: str, package: str) -> bool:
    """`harness.run` holds harness.run and harness.run.x, not harness.run_result; "harness." holds everything."""
    return module == package or module.startswith(package if package.endswith(".") else package + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down(layer):
    graph = import_graph()
    for module, deps in graph.items():
        if _inside(module, layer):
            bad = [d for d in deps if any(_inside(d, f) for f in FORBIDDEN[layer]) and not _inside(d, layer)]
            assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("name", group_options("metric"))
def test_each_metric_config_is_the_only_place_of_its_defaults(name):
    """The class behind a metric config defaults none of its options, and the config sets every one of them."""
    from hydra.utils import get_object

    node = OmegaConf.load(config_dir() / "metric" / f"{name}.yaml")
    params = inspect.signature(get_object(node["_target_"])).parameters
    defaults = [p for p, v in params.items() if v.default is not inspect.Parameter.empty]
    assert defaults == [], f"{node['_target_']} has defaults for {defaults}: they belong in configs/metric/"
    assert set(params) == {k for k in node if k != "_target_"}


def layout_paths(layout: str) -> list[str]:
    """Paths named in the README's Layout block: top-level folders at column 0, their entries indented by two
    (a `sub/` entry's files follow on its line and its continuation lines)."""
    top = sub = ""
    named = []
    for line in layout.splitlines():
        if re.match(r"^\w", line):
            top, sub = line.split()[0], ""
            named.append(top)
            continue
        first = re.match(r"^  (\S+)", line)
        if first:
            sub = first.group(1) if first.group(1).endswith("/") else ""
            if not sub:
                named.append(top + first.group(1))
            else:
                named.append(top + sub)
            line = line[first.end():]
        for entry in re.findall(r"(?<![\w./`])([\w/]+\.py)\b", line):
            named.append(top + sub + entry)
    return named


def test_readme_layout_names_existing_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = layout_paths(readme.split("## Layout", 1)[1].split("```", 2)[1])
    assert "harness/commands/score.py" in named and "harness/metrics/comet_checkpoint.py" in named
    missing = [n for n in named if not (ROOT / n).exists()]
    assert missing == [], f"README Layout names files that do not exist: {missing}"
