"""Everything about configs and Hydra in one place: where configs live, composing them, checking overrides,
building objects from `_target_` nodes, and where a run writes its results.

`configs/<group>/<name>.yaml` is the only definition of a test set, system or metric and its defaults; the
`run` command composes them with Hydra, and the `score` command builds its metrics from the same files.
"""

from __future__ import annotations

import inspect
import logging
import os
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


def compose(overrides: Sequence[str] = (), config_name: str = "config", config_path: str | Path | None = None,
            return_hydra_config: bool = False):
    """Compose a config as `mt-harness run` would, without running anything (`return_hydra_config`: with the
    `hydra` node, e.g. to check a launcher config)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_resolvers()
    with initialize_config_dir(config_dir=str(Path(config_path or config_dir()).resolve()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides),
                             return_hydra_config=return_hydra_config)


def group_options(group: str, directory: Path | None = None, extra_dirs: Sequence[Path] = ()) -> list[str]:
    """Config names available in a group folder (e.g. `system`), in the project's configs/ (or `directory`)
    and in any `extra_dirs` (a user's own config folders, added with --config-dir or hydra.searchpath)."""
    names = set()
    for folder in [directory or config_dir(), *extra_dirs]:
        if (folder / group).is_dir():
            names.update(p.stem for p in (folder / group).glob("*.yaml"))
    return sorted(names)


def extra_config_dirs(overrides: Sequence[str]) -> list[Path]:
    """The user's config folders named on a `run` command line: `--config-dir DIR` / `-cd DIR` /
    `--config-dir=DIR`, and `hydra.searchpath=[file:///DIR,...]` (pkg:// entries are not folders)."""
    dirs: list[Path] = []
    items = list(overrides)
    for i, item in enumerate(items):
        if item in ("--config-dir", "-cd") and i + 1 < len(items):
            dirs.append(Path(items[i + 1]))
        elif item.startswith(("--config-dir=", "-cd=")):
            dirs.append(Path(item.split("=", 1)[1]))
        elif item.lstrip("+").startswith("hydra.searchpath="):
            for entry in item.split("=", 1)[1].strip("[]").split(","):
                entry = entry.strip().strip("'\"")
                if entry.startswith("file://"):
                    dirs.append(Path(entry[len("file://"):]))
                elif entry and "://" not in entry:
                    dirs.append(Path(entry))
    return [d.expanduser().resolve() for d in dirs]


def config_description(group: str, name: str, directory: Path | None = None) -> str:
    """The first comment line of a config file that is not its `# @package` header (what `mt-harness list` shows)."""
    lines = ((directory or config_dir()) / group / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    return next((line.lstrip("# ").strip() for line in lines
                 if line.startswith("#") and not line.startswith("# @package")), "")


# ------------------------------------------------------------------------------------------ building objects

def _target_parameters(target: str) -> tuple[list[str], bool, dict[str, Any]] | None:
    """(parameter names, accepts **kwargs, type hints) of a `_target_`, or None when it cannot be imported."""
    import typing

    try:
        obj = _import_target(target)
        if obj is None:
            from hydra.utils import get_object

            obj = get_object(target)
        params = inspect.signature(obj).parameters.values()
        hints = typing.get_type_hints(obj.__init__ if inspect.isclass(obj) else obj)
    except Exception:  # instantiate reports an unimportable target with its own message
        return None
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return names, any(p.kind == p.VAR_KEYWORD for p in params), hints


_SIMPLE = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def type_problem(value: Any, annotation: Any) -> str | None:
    """What is wrong with `value` for a simple annotation (bool, int, float, str, their `| None` and unions), or
    None when it fits or the annotation is not a simple one (mappings, lists, classes are left to the target)."""
    import types
    import typing

    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        simple = [o for o in options if o in _SIMPLE]
        if len(simple) != len([o for o in options if o is not type(None)]):
            return None  # a union with non-simple members: not ours to judge
        problems = [type_problem(value, o) for o in simple]
        return None if any(p is None for p in problems) else (
            " or ".join(_SIMPLE[o] for o in simple) + (" (or null)" if type(None) in options else ""))
    if annotation not in _SIMPLE:
        return None
    if annotation is bool:  # YAML's yes/no/on/off arrive as strings under Hydra: say what is accepted
        return None if isinstance(value, bool) else _SIMPLE[bool]
    if annotation is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else _SIMPLE[int]
    if annotation is float:
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else _SIMPLE[float]
    return None if isinstance(value, str) else _SIMPLE[str]


def check_value(value: Any, annotation: Any, key: str) -> None:
    """A one-line ConfigError when `value` does not fit `annotation` (see `type_problem`)."""
    problem = type_problem(value, annotation)
    if problem:
        raise ConfigError(f"{key} must be {problem}, not {value!r}")


def check_fields(node: Mapping[str, Any], where: str) -> None:
    """Every field of a `_target_` node must be a parameter of its target, of the type its signature says: a
    misspelt field gets a "did you mean" error and a wrong type a one-line error here, not a TypeError from
    deep inside the constructor."""
    found = _target_parameters(str(node["_target_"]))
    if found is None:
        return
    names, any_keyword, hints = found
    for key in node:
        if str(key).startswith("_"):
            continue
        if key not in names and not any_keyword:
            raise UnknownNameError("field", str(key), names, where=f"{where} ({node['_target_']})")
        if key in hints:
            check_value(node[key], hints[key], f"{where}.{key}")


def _missing_fields(node: Any, prefix: str = "") -> list[str]:
    from omegaconf import DictConfig, OmegaConf

    if not isinstance(node, DictConfig):
        return []
    out = []
    for key in node:
        if OmegaConf.is_missing(node, key):
            out.append(prefix + str(key))
        else:
            out += _missing_fields(node[key], f"{prefix}{key}.")
    return out


def instantiate_node(node: Mapping[str, Any], where: str) -> Any:
    """Build the object a `_target_` node describes; `where` (e.g. `systems.opus_mt_vi_en`) names it in errors."""

    if node is None or "_target_" not in node:
        raise ConfigError(f"{where} has no _target_; every config node names the class or function to build")
    missing = _missing_fields(node)
    if missing:
        name = where.split(".")[-1]
        raise ConfigError(
            f"{where}.{missing[0]} must be set (it is ??? in its config): add `{where}.{missing[0]}=...` to the "
            f"command line. If your own config reuses the {name} template, write `defaults: [{name}@_here_, "
            f"_self_]` in it, so the template's fields land in your config instead of beside it.")
    check_fields(node, where)
    target = _flat_target(node)
    try:
        if target is not None:
            return target(**{k: v for k, v in node.items() if k != "_target_"})
        from hydra.utils import instantiate

        return instantiate(node)
    except HarnessError:
        raise
    except Exception as e:  # hydra wraps constructor errors; keep the cause, name the config node
        cause = e.__cause__ or e
        if isinstance(cause, HarnessError):
            raise cause from None
        raise ConfigError(f"cannot build {where} ({node.get('_target_')}): {cause}") from None


def _flat_target(node: Mapping[str, Any]):
    """The class or function of a flat node (a `_target_` and scalar fields, as every metric config), which is
    called directly: the call Hydra's `instantiate` makes for such a node, without its import (a tenth of a
    second of a warm `mt-harness score`). None for anything else (nested nodes, lists, `_partial_` and the
    like, a target that does not import): Hydra builds those, with its own messages."""
    if any((isinstance(v, (Mapping, Sequence)) and not isinstance(v, str))
           or (str(k).startswith("_") and k != "_target_") for k, v in node.items()):
        return None
    return _import_target(str(node["_target_"]))


def _import_target(target: str):
    """`package.module.Name`, imported without Hydra; None when it is not of that form or does not import
    (Hydra's `get_object` then locates it, or says why it cannot)."""
    import importlib

    module, _, name = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name) if module else None
    except (ImportError, AttributeError):
        return None


def instantiate_group(nodes: Mapping[str, Any] | None, group: str) -> dict[str, Any]:
    """Every node of a composed group (`testsets`, `systems`, `metrics`), built, by config key.

    A node without `_target_` only carries settings for a config this experiment does not select (e.g.
    configs/local/default.yaml sets a model path of a system used elsewhere): it is left out, with a warning."""
    plural = GROUPS[group]
    selected = {key: node for key, node in (nodes or {}).items() if node is not None and "_target_" in node}
    for key in nodes or {}:
        if key not in selected:
            log.warning("%s.%s has settings (%s) but no _target_, so it is left out: either no %s config of that "
                        "name is selected (settings for another experiment, e.g. from configs/local/default.yaml), "
                        "or its config reuses a template without @_here_ (write `defaults: [<template>@_here_, "
                        "_self_]`)", plural, key, ", ".join(map(str, (nodes[key] or {}).keys())) or "none", group)
    if not selected:
        raise ConfigError(f"the config selects no {group}s; add one, e.g. `{group}=[...]` on the command line")
    return {key: instantiate_node(node, f"{plural}.{key}") for key, node in selected.items()}


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
            raise UnknownNameError("option", key, [k for k in known if not k.startswith("_")],
                                   where=f"metric {config_name}")
        node[key] = value
    full = OmegaConf.create({"paths": {"cache_dir": str(cache_dir) if cache_dir else None}, "metric": node})
    return instantiate_node(OmegaConf.to_container(full, resolve=True)["metric"], f"metrics.{config_name}")


# ------------------------------------------------------------------------------------------ checking overrides

def _parsed_overrides(overrides: Sequence[str]) -> list:
    """Hydra's parse of the `key=value` overrides (flags and their arguments dropped); [] when they do not parse
    (Hydra then reports the syntax error itself)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    items, skip = [], False
    for o in overrides:
        if skip:
            skip = False
        elif o in ("--config-dir", "-cd", "--config-name", "-cn", "--config-path", "-cp", "--cfg", "-c",
                   "--package", "-p", "--info", "-i"):
            skip = o not in ("--info", "-i")
        elif not o.startswith("-"):
            items.append(o)
    try:
        return OverridesParser.create().parse_overrides(items)
    except Exception:
        return []


def _searchpath_override(overrides: Sequence[str]) -> list[str]:
    """The `hydra.searchpath=[...]` override that makes compose() see the folders a command line adds (none
    when the command line has one already: it is among the overrides compose() gets)."""
    if any(o.lstrip("+").startswith("hydra.searchpath=") for o in overrides):
        return []
    folders = extra_config_dirs(overrides)
    return [f"hydra.searchpath=[{','.join('file://' + str(d) for d in folders)}]"] if folders else []


def check_overrides(overrides: Sequence[str]) -> None:
    """Before Hydra runs: unknown config names in `system=[...]`-style overrides and misspelt fields in
    `systems.x.num_beam=1`-style ones get a "did you mean" error (Hydra would suggest adding `+`, which then
    fails with an unexpected keyword argument)."""
    parsed = _parsed_overrides(overrides)
    extra = extra_config_dirs(overrides)
    for o in parsed:
        group = o.key_or_group.lstrip("+~").split("@")[0]
        if group not in GROUPS or o.is_delete():
            continue
        value = o.value()
        names = value if isinstance(value, list) else [value]
        known = group_options(group, extra_dirs=extra)
        for name in names:
            if isinstance(name, str) and name not in known and name != "null":
                raise UnknownNameError(f"{group} config", name, known)
    fields = [o for o in parsed if not o.is_force_add() and not o.is_add() and not o.is_delete()
              and not o.key_or_group.startswith("hydra") and "@" not in o.key_or_group and "/" not in o.key_or_group
              and o.key_or_group.split(".")[0] not in GROUPS]
    if not fields:
        return
    selections = [o.input_line for o in parsed if o.key_or_group.lstrip("+~").split("@")[0] in GROUPS
                  or o.key_or_group.startswith(("hydra.searchpath", "+hydra.searchpath"))]
    selections += _searchpath_override(overrides)
    try:
        cfg = compose(selections)
    except Exception:
        return  # Hydra reports composition errors itself
    for o in fields:
        path = o.key_or_group.split(".")
        node = cfg
        for depth, part in enumerate(path[:-1]):
            if not hasattr(node, "keys") or part not in [str(k) for k in node.keys()]:
                known = [str(k) for k in node.keys()] if hasattr(node, "keys") else []
                raise UnknownNameError("key", part, known, where=".".join(path[:depth]) or "the config")
            node = node[part]
        if hasattr(node, "keys") and path[-1] not in [str(k) for k in node.keys()]:  # `in` misses ??? values
            raise UnknownNameError("field", path[-1], [str(k) for k in node.keys() if not str(k).startswith("_")],
                                   where=".".join(path[:-1]) or "the config")


# ------------------------------------------------------------------------------------------ running

#: the run's own settings in configs/config.yaml (test sets, systems, metrics and significance are checked by
#: the classes they build), and the type each must have
RUN_SETTINGS: dict[str, Any] = {"experiment_name": str, "strict": bool, "rank_by": str | None,
                                "workers": int | None, "report": bool, "cache.dir": str | None,
                                "cache.translations": bool, "cache.statistics": bool, "sanity.enabled": bool,
                                "paths.results_dir": str, "paths.cache_dir": str | None}


def check_run_settings(cfg) -> None:
    """One-line errors for run settings of the wrong type (`strict=maybe`, `workers=abc`): a value Hydra
    reads as a string never silently acts as true."""
    from omegaconf import OmegaConf

    for key, annotation in RUN_SETTINGS.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None or OmegaConf.select(cfg, key, default="absent") is None:
            check_value(value, annotation, key)
    workers = cfg.get("workers")
    if isinstance(workers, int) and workers < 1:
        raise ConfigError(f"workers must be at least 1 (or null: one per CPU), not {workers}")

def run_output_dir(cfg, output_dir: str | Path | None = None) -> Path:
    """Where a run writes: `output_dir` if given, Hydra's run (or sweep job) folder under the CLI, else
    `<results_dir>/<experiment_name>/<time>`."""
    if output_dir is not None:
        return Path(output_dir)
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(cfg.paths.results_dir) / cfg.experiment_name / run_stamp()


def check_results_folder(overrides: Sequence[str]) -> None:
    """The folder results go to must be writable before Hydra creates a run folder in it (Hydra would fail
    with a traceback-like message; the run would fail only after its work)."""
    if any(o in ("--multirun", "-m", "--help", "-h", "--cfg", "-c", "--info", "-i") for o in overrides):
        return  # a sweep's values are not one config; help and info write nothing
    try:
        cfg = compose([o.input_line for o in _parsed_overrides(overrides)] + _searchpath_override(overrides))
        folder = Path(cfg.paths.results_dir)
    except Exception:
        return  # Hydra reports what does not compose
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ConfigError(f"results cannot be written to {folder}: {e.strerror or e}. Set paths.results_dir (or "
                          f"MT_HARNESS_RESULTS) to a folder you can write") from None


def hydra_main(overrides: list[str], task: Callable[[Any], None]) -> None:
    """Compose configs/config.yaml with `overrides` through Hydra's command line (so --multirun, --cfg,
    --help and sweeps work as usual) and call `task(cfg)` for each job."""
    import sys

    import hydra

    check_overrides(overrides)
    check_results_folder(overrides)
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
