"""Progress bars on long work: tqdm's where someone can see them (a terminal, a notebook), and nothing
elsewhere: not even the import of `tqdm.auto`, whose notebook and asyncio support take 25 ms, a twentieth
of a warm `mt-harness score`."""

from __future__ import annotations

import sys


class _NoBar:
    """What a bar nobody sees does: counts nothing, prints nothing."""

    total: int | None = None

    def update(self, n: int = 1) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> bool:
        return False


def progress_bar(*, enabled: bool = True, **kwargs):
    """A `tqdm.auto` bar (a widget in Jupyter) with `kwargs`, shown as tqdm shows bars with `disable=None` (on a
    terminal); a bar that does nothing when `enabled` is false or stderr is neither a terminal nor a notebook's."""
    if not enabled or not (sys.stderr.isatty() or "IPython" in sys.modules):
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(disable=None, **kwargs)
