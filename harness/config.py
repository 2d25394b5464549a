"""Where configs live, OmegaConf resolvers, and composing a config without the CLI (for tests and notebooks)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout that holds `configs/` and `data/` (the package's parent in an editable install), else cwd."""
    candidate = _PACKAGE_DIR.parent
    return candidate if (candidate / "configs").is_dir() else Path.cwd()


def config_dir() -> Path:
    return project_root() / "configs"


def register_resolvers() -> None:
    """`${project_root:}` in configs. Called by the entry points, never at import."""
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver("project_root", lambda: str(project_root()), replace=True)


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
