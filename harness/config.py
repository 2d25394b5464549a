"""Everything about configs and Hydra in one place: where configs live, composing them, checking overrides,
building objects from `_target_` nodes, and where a run writes its results.

`configs/<group>/<name>.yaml` is the only definition of a test set, system or metric and its defaults; the
`run` command composes them with Hydra, and the `score` command builds its metrics from the same files.
"""

from __future__ import annotations

import inspect
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from harness.errors import ConfigError, HarnessError, UnknownNameError, did_you_mean

log = logging.getLogger(__name__)

_PACKAGE_DIR = Path(__file__).resolve().parent

#: config groups a user selects from, and where each lands in the composed config (prompt configs are named
#: by an LLM system's `prompt` field instead)
GROUPS = {"testset": "testsets", "system": "systems", "metric": "metrics", "experiment": None, "prompt": None}

#: other names `mt-harness score -m` accepts for a metric config (sacreBLEU's spellings)
METRIC_ALIASES = {"chrf2": "chrf", "chrfpp": "chrf++", "chrf2++": "chrf++", "comet-kiwi": "cometkiwi"}


def project_root() -> Path:
    """The checkout that holds `configs/` and `data/` (the package's parent in an editable install), else cwd."""
    candidate = _PACKAGE_DIR.parent
    return candidate if (candidate / "configs").is_dir() else Path.cwd()


def config_dir() -> Path:
    return project_root() / "configs"


def run_stamp() -> str:
    """A run folder's name: its start time to the second, then a random suffix, so two runs started in the same
    second (a CI matrix, two terminals) never share a folder."""
    import secrets

    return f"{datetime.now().strftime('%Y-%m-%d_%H-%M-%S')}_{secrets.token_hex(3)}"


def register_resolvers() -> None:
    """`${project_root:}` and `${run_stamp:}` in configs. Called by the entry points, never at import.

    `run_stamp` is cached: every use in one process (Hydra's run dir, the log) gets the same name."""
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver("project_root", lambda: str(project_root()), replace=True)
    OmegaConf.register_new_resolver("run_stamp", run_stamp, replace=True, use_cache=True)


def compose(overrides: Sequence[str] = (), config_name: str = "config", config_path: str | Path | None = None):
    """Compose a config as `mt-harness run` would, without running anything."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_resolvers()
    with initialize_config_dir(config_dir=str(Path(config_path or config_dir()).resolve()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def group_options(group: str, directory: Path | None = None) -> list[str]:
    """Config names available in a group folder (e.g. `system`)."""
    folder = (directory or config_dir()) / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def config_description(group: str, name: str, directory: Path | None = None) -> str:
    """The first comment line of a config file that is not its `# @package` header (what `mt-harness list` shows)."""
    lines = ((directory or config_dir()) / group / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    return next((line.lstrip("# ").strip() for line in lines
                 if line.startswith("#") and not line.startswith("# @package")), "")


# ------------------------------------------------------------------------------------------ building objects

def _target_parameters(target: str) -> tuple[list[str], bool] | None:
    """(parameter names, accepts **kwargs) of a `_target_`, or None when it cannot be imported here."""
    from hydra.utils import get_object

    try:
        obj = get_object(target)
        params = inspect.signature(obj).parameters.values()
    except Exception:  # instantiate reports an unimportable target with its own message
        return None
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


def check_fields(node: Mapping[str, Any], where: str) -> None:
    """Every field of a `_target_` node must be a parameter of its target: a misspelt field gets a
    "did you mean" error here, not a TypeError from deep inside the constructor."""
    found = _target_parameters(str(node["_target_"]))
    if found is None:
        return
    names, any_keyword = found
    if any_keyword:
        return
    for key in node:
        if not str(key).startswith("_") and key not in names:
            raise UnknownNameError(f"field of {where} ({node['_target_']})", str(key), names)


def instantiate_node(node: Mapping[str, Any], where: str) -> Any:
    """Build the object a `_target_` node describes; `where` (e.g. `systems.opus_mt_vi_en`) names it in errors."""
    from hydra.utils import instantiate

    if node is None or "_target_" not in node:
        raise ConfigError(f"{where} has no _target_; every config node names the class or function to build")
    check_fields(node, where)
    try:
        return instantiate(node)
    except HarnessError:
        raise
    except Exception as e:  # hydra wraps constructor errors; keep the cause, name the config node
        cause = e.__cause__ or e
        if isinstance(cause, HarnessError):
            raise cause from None
        raise ConfigError(f"cannot build {where} ({node.get('_target_')}): {cause}") from None


def instantiate_group(nodes: Mapping[str, Any] | None, group: str) -> dict[str, Any]:
    """Every node of a composed group (`testsets`, `systems`, `metrics`), built, by config key."""
    plural = GROUPS[group]
    if not nodes:
        raise ConfigError(f"the config selects no {group}s; add one, e.g. `{group}=[...]` on the command line")
    return {key: instantiate_node(node, f"{plural}.{key}") for key, node in nodes.items()}


def metric_config_name(name: str) -> str:
    """The configs/metric/ file a metric name means (`chrF2`, `chrf2` and `chrf` all mean chrf)."""
    known = group_options("metric")
    lowered = name.lower()
    lowered = METRIC_ALIASES.get(lowered, lowered)
    if lowered in known:
        return lowered
    raise UnknownNameError("metric", name, known + sorted(METRIC_ALIASES))


def build_metric(name: str, overrides: Mapping[str, Any] | None = None, cache_dir: str | Path | None = None):
    """A metric from its config file, as `run` builds it, with fields replaced by `overrides`.

    `${paths.cache_dir}` in the file resolves to `cache_dir` (None: no cache)."""
    from omegaconf import OmegaConf

    config_name = metric_config_name(name)
    node = OmegaConf.load(config_dir() / "metric" / f"{config_name}.yaml")
    known = [str(k) for k in node]
    for key, value in (overrides or {}).items():
        if key not in known:
            raise UnknownNameError(f"option of metric {config_name}", key, [k for k in known if not k.startswith("_")])
        node[key] = value
    full = OmegaConf.create({"paths": {"cache_dir": str(cache_dir) if cache_dir else None}, "metric": node})
    return instantiate_node(OmegaConf.to_container(full, resolve=True)["metric"], f"metrics.{config_name}")


# ------------------------------------------------------------------------------------------ checking overrides

def check_group_overrides(overrides: Sequence[str]) -> None:
    """Unknown config names in `system=[...]`-style overrides get a "did you mean" error before Hydra runs."""
    if any(o.startswith(("hydra.searchpath", "--config-dir", "-cd")) for o in overrides):
        return  # configs may come from elsewhere; let Hydra decide
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("-")])
    except Exception:
        return  # Hydra reports syntax errors itself
    for o in parsed:
        group = o.key_or_group.lstrip("+~").split("@")[0]
        if group not in GROUPS or o.is_delete():
            continue
        value = o.value()
        names = value if isinstance(value, list) else [value]
        known = group_options(group)
        for name in names:
            if isinstance(name, str) and name not in known and name != "null":
                raise UnknownNameError(f"{group} config", name, known)


def explain_composition_error(message: str) -> str | None:
    """A clearer message for Hydra's "Could not override 'a.b.c'" about a misspelt field, or None."""
    import re

    match = re.search(r"Could not override '([^']+)'", message)
    if not match or "Key '" not in message:
        return None
    path = match.group(1).lstrip("+~").split(".")
    try:
        cfg = compose()
    except Exception:
        return None
    node = cfg
    for part in path[:-1]:
        if part not in node:
            return None
        node = node[part]
    hint = did_you_mean(path[-1], [str(k) for k in node])
    where = ".".join(path[:-1])
    fields = ", ".join(str(k) for k in node if not str(k).startswith("_"))
    return (f"{where} has no field {path[-1]!r}." + (f" Did you mean {hint}?" if hint else "")
            + f" Its fields: {fields}.")


# ------------------------------------------------------------------------------------------ running

def run_output_dir(cfg, output_dir: str | Path | None = None) -> Path:
    """Where a run writes: `output_dir` if given, Hydra's run (or sweep job) folder under the CLI, else
    `<results_dir>/<experiment_name>/<time>`."""
    if output_dir is not None:
        return Path(output_dir)
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(cfg.paths.results_dir) / cfg.experiment_name / run_stamp()


def hydra_main(overrides: list[str], task: Callable[[Any], None]) -> None:
    """Compose configs/config.yaml with `overrides` through Hydra's command line (so --multirun, --cfg,
    --help and sweeps work as usual) and call `task(cfg)` for each job."""
    import sys

    import hydra

    check_group_overrides(overrides)
    register_resolvers()

    @hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
    def _main(cfg) -> None:
        task(cfg)

    argv = sys.argv
    sys.argv = ["mt-harness run", *overrides]
    try:
        _main()
    finally:
        sys.argv = argv
