"""Monotonic alignment by dynamic programming over bead shapes (Gale & Church 1993; vecalign's shapes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

#: (source sentences, reference sentences) a bead may hold
BEAD_SHAPES = ((1, 1), (1, 0), (0, 1), (2, 1), (1, 2), (2, 2))
#: above this many DP cells, only a band around the diagonal is searched
FULL_SEARCH_CELLS = 200_000


@dataclass(frozen=True)
class Bead:
    """Source sentences [src_start, src_end) aligned with reference sentences [ref_start, ref_end)."""

    src_start: int
    src_end: int
    ref_start: int
    ref_end: int

    @property
    def shape(self) -> str:
        return f"{self.src_end - self.src_start}-{self.ref_end - self.ref_start}"

    @property
    def is_match(self) -> bool:
        return self.src_end > self.src_start and self.ref_end > self.ref_start


def align(n_src: int, n_ref: int, cost: Callable[[int, int, int, int], float],
          shapes: tuple[tuple[int, int], ...] = BEAD_SHAPES,
          src_blocks: Sequence[tuple[int, int]] = (), ref_blocks: Sequence[tuple[int, int]] = ()) -> list[Bead]:
    """The sequence of beads covering both sides in order with the least total `cost(i0, i1, j0, j1)`.

    Besides `shapes`, a whole block (a paragraph: `src_blocks`/`ref_blocks` hold (start, end) ranges) may
    be left unaligned in one bead, because material without a counterpart comes in whole paragraphs
    (captions, site chrome, an untranslated paragraph); `cost` prices such a bead like any other.

    Long documents are searched in a band around the diagonal wide enough for a quarter of either side
    to be unmatched material, which keeps the work near-linear without missing realistic alignments."""
    band = None
    if (n_src + 1) * (n_ref + 1) > FULL_SEARCH_CELLS:
        band = max(50, (max(n_src, n_ref) // 4))
    inf = float("inf")
    src_block_ending: dict[int, list[int]] = {}
    ref_block_ending: dict[int, list[int]] = {}
    for blocks, ending in ((src_blocks, src_block_ending), (ref_blocks, ref_block_ending)):
        for start, end in blocks:
            if end - start > 1:  # single sentences are the 1-0 / 0-1 shapes already
                ending.setdefault(end, []).append(start)
    best: dict[tuple[int, int], tuple[float, tuple[int, int] | None]] = {(0, 0): (0.0, None)}
    for i in range(n_src + 1):
        centre = i * n_ref / max(n_src, 1)
        lo, hi = (0, n_ref) if band is None else (max(0, int(centre) - band), min(n_ref, int(centre) + band))
        for j in range(lo, hi + 1):
            if i == 0 and j == 0:
                continue
            cell, back = inf, None
            for di, dj in shapes:
                prev = best.get((i - di, j - dj))
                if prev is None or i - di < 0 or j - dj < 0:
                    continue
                total = prev[0] + cost(i - di, i, j - dj, j)
                if total < cell:
                    cell, back = total, (di, dj)
            for start in src_block_ending.get(i, ()):
                prev = best.get((start, j))
                if prev is not None and prev[0] + cost(start, i, j, j) < cell:
                    cell, back = prev[0] + cost(start, i, j, j), (i - start, 0)
            for start in ref_block_ending.get(j, ()):
                prev = best.get((i, start))
                if prev is not None and prev[0] + cost(i, i, start, j) < cell:
                    cell, back = prev[0] + cost(i, i, start, j), (0, j - start)
            if back is not None:
                best[(i, j)] = (cell, back)
    if (n_src, n_ref) not in best:  # cannot happen with the 1-0 and 0-1 shapes, kept for custom shapes
        raise ValueError(f"no alignment of {n_src} and {n_ref} sentences with shapes {shapes}")
    beads = []
    i, j = n_src, n_ref
    while (i, j) != (0, 0):
        di, dj = best[(i, j)][1]
        beads.append(Bead(i - di, i, j - dj, j))
        i, j = i - di, j - dj
    return beads[::-1]
