"""Monotonic alignment by dynamic programming over bead shapes (Gale & Church 1993; vecalign's shapes).

The search runs over the cells (i, j) of a band, one range [lo[i], hi[i]] of reference positions per source
position i, in anti-diagonal order: each bead covers at least one sentence, so every predecessor of a cell
lies on an earlier anti-diagonal (i + j smaller), and all cells of one anti-diagonal are decided together
with array operations. Bead costs are asked for once, as arrays for every cell of the band (`BeadCost`), so
no Python code runs per cell.

Small documents are searched in full. In long ones the band is a corridor around sentences that share a
rare anchor (`corridor`), a few dozen cells wide, so time and memory grow with the length of the documents,
not with its square: two 1,000-sentence documents take about a second and under 100 MB."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: (source sentences, reference sentences) a bead may hold
BEAD_SHAPES = ((1, 1), (1, 0), (0, 1), (2, 1), (1, 2), (2, 2))
#: above this many DP cells, only a corridor around guide points (or a band around the diagonal) is searched
FULL_SEARCH_CELLS = 200_000
#: sentences of room around the guide chain of a long document (doubled while the path runs along the edge)
CORRIDOR_SLACK = 20

#: cost(i0, i1, j0, j1) -> the costs of the beads source [i0[k], i1[k]) x reference [j0[k], j1[k]) for every
#: k (integer arrays of one length in, a float array out); i0 == i1 or j0 == j1 is a bead left unaligned
BeadCost = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


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


def elementwise(cost: Callable[[int, int, int, int], float]) -> BeadCost:
    """A `BeadCost` from a function of one bead (hand-made cost tables, quick experiments). It is called once
    per cell and shape, so it is only for small documents."""
    def costs(i0, i1, j0, j1):
        return np.array([cost(*b) for b in zip(i0.tolist(), i1.tolist(), j0.tolist(), j1.tolist())], dtype=float)
    return costs


@dataclass(frozen=True)
class Band:
    """The cells searched: reference positions lo[i]..hi[i] (inclusive) for source position i = 0..n_src."""

    lo: np.ndarray
    hi: np.ndarray

    @property
    def cells(self) -> int:
        return int((self.hi - self.lo + 1).sum())


def diagonal_band(n_src: int, n_ref: int, full_search_cells: int = FULL_SEARCH_CELLS) -> Band:
    """Every cell for small documents; for long ones a band around the diagonal wide enough for a quarter of
    either side to be unmatched material (that much page material or untranslated text is already a lot)."""
    rows = np.arange(n_src + 1)
    if (n_src + 1) * (n_ref + 1) <= full_search_cells:
        return Band(np.zeros(n_src + 1, dtype=np.int64), np.full(n_src + 1, n_ref, dtype=np.int64))
    width = max(50, max(n_src, n_ref) // 4)
    centre = (rows * n_ref / max(n_src, 1)).astype(np.int64)
    return Band(np.maximum(0, centre - width), np.minimum(n_ref, centre + width))


def monotone_chain(points: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest chain of points increasing in both coordinates: guide points that agree with each other
    on the order of the two documents (a stray one, a name repeated in a caption, falls out)."""
    ordered = sorted(set(points), key=lambda p: (p[0], -p[1]))  # one point per row at most in a chain
    tails: list[int] = []  # tails[k]: the smallest last j of a chain of k + 1 points
    tail_point: list[int] = []
    previous: list[int | None] = []
    for k, (_, j) in enumerate(ordered):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_point.append(k)
        else:
            tails[pos], tail_point[pos] = j, k
        previous.append(tail_point[pos - 1] if pos else None)
    chain, k = [], tail_point[-1] if tail_point else None
    while k is not None:
        chain.append(ordered[k])
        k = previous[k]
    return chain[::-1]


def corridor(n_src: int, n_ref: int, chain: Sequence[tuple[int, int]], slack: int) -> Band:
    """The cells within `slack` of the rectangles between consecutive chain points (from (0, 0) to
    (n_src, n_ref)): any monotone path through the chain points lies in those rectangles, and the slack
    leaves room for a bead that straddles a point."""
    points = [(0, 0), *[p for p in chain if 0 < p[0] < n_src and 0 < p[1] < n_ref], (n_src, n_ref)]
    lo = np.full(n_src + 1, n_ref, dtype=np.int64)
    hi = np.zeros(n_src + 1, dtype=np.int64)
    for (i0, j0), (i1, j1) in itertools.pairwise(points):
        rows = slice(max(0, i0 - slack), min(n_src, i1 + slack) + 1)
        lo[rows] = np.minimum(lo[rows], max(0, j0 - slack))
        hi[rows] = np.maximum(hi[rows], min(n_ref, j1 + slack))
    return Band(lo, hi)


def _runs_along_edge(beads: list[Bead], band: Band, n_ref: int, margin: int = 3) -> bool:
    """Whether the path comes within `margin` of an edge of `band` that is not an edge of the documents:
    there it may have been kept from a cheaper path outside."""
    for b in beads:
        i, j = b.src_end, b.ref_end
        if (band.lo[i] > 0 and j - band.lo[i] < margin) or (band.hi[i] < n_ref and band.hi[i] - j < margin):
            return True
    return False


class _Cells:
    """The band's cells numbered in anti-diagonal order (by i + j, then i), and the lookup (i, j) -> number."""

    def __init__(self, band: Band):
        self.band = band
        widths = band.hi - band.lo + 1
        self.row_start = np.concatenate([[0], np.cumsum(widths)])
        n = int(self.row_start[-1])
        rows = np.repeat(np.arange(len(widths)), widths)
        cols = band.lo[rows] + (np.arange(n) - self.row_start[rows])
        order = np.lexsort((rows, rows + cols))
        self.i, self.j = rows[order], cols[order]
        self.number = np.empty(n, dtype=np.int64)  # row-major position -> anti-diagonal number
        self.number[order] = np.arange(n)
        self.count = n
        diagonal = self.i + self.j
        self.diagonal_start = np.searchsorted(diagonal, np.arange(diagonal[-1] + 2))

    def lookup(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Cell numbers of (i, j); `count` (a sentinel) where (i, j) is outside the band."""
        inside = (i >= 0) & (i < len(self.band.lo))
        ii = np.where(inside, i, 0)
        inside &= (j >= self.band.lo[ii]) & (j <= self.band.hi[ii])
        position = self.row_start[ii] + np.where(inside, j - self.band.lo[ii], 0)
        return np.where(inside, self.number[np.minimum(position, self.count - 1)], self.count)


def _block_starts(blocks: Sequence[tuple[int, int]], n: int) -> list[np.ndarray]:
    """Per layer, the start of a block (longer than one sentence) ending at each position, or -1; a second
    layer only when two blocks end at one position."""
    layers: list[np.ndarray] = []
    depth = np.zeros(n + 1, dtype=np.int64)
    for start, end in blocks:
        if end - start > 1:  # single sentences are the 1-0 / 0-1 shapes already
            if depth[end] == len(layers):
                layers.append(np.full(n + 1, -1, dtype=np.int64))
            layers[depth[end]][end] = start
            depth[end] += 1
    return layers


def align(n_src: int, n_ref: int, cost: BeadCost, shapes: tuple[tuple[int, int], ...] = BEAD_SHAPES,
          src_blocks: Sequence[tuple[int, int]] = (), ref_blocks: Sequence[tuple[int, int]] = (),
          guide: Sequence[tuple[int, int]] = (), full_search_cells: int = FULL_SEARCH_CELLS) -> list[Bead]:
    """The sequence of beads covering both sides in order with the least total cost (see `BeadCost`; a
    function of one bead goes through `elementwise`). Ties go to the earlier shape in `shapes`, then to
    source blocks, then to reference blocks.

    Besides `shapes`, a whole block (a paragraph: `src_blocks`/`ref_blocks` hold (start, end) ranges) may
    be left unaligned in one bead, because material without a counterpart comes in whole paragraphs
    (captions, site chrome, an untranslated paragraph); `cost` prices such a bead like any other.

    Up to `full_search_cells` cells every cell is searched. Longer documents are searched in a corridor
    around the longest monotone chain of `guide` points (cells (i, j) the path very likely passes near:
    sentences sharing a rare anchor), so the work grows with the length, not its square; when the path found
    runs along the corridor's edge, the corridor is widened and searched again; without guide points the
    corridor follows the diagonal. When the corridor would be no smaller, `diagonal_band` is searched."""
    band = diagonal_band(n_src, n_ref, full_search_cells)
    if band.cells < (n_src + 1) * (n_ref + 1):
        # without guide points the diagonal guides: most translations stay near it, and those that do not
        # run along the corridor's edge until it has been widened to the band
        chain = monotone_chain(guide) or [(i, i * n_ref // max(n_src, 1)) for i in range(0, n_src, CORRIDOR_SLACK)]
        slack = CORRIDOR_SLACK
        while True:
            around = corridor(n_src, n_ref, chain, slack)
            if around.cells >= band.cells:
                break
            beads = _search(n_src, n_ref, cost, shapes, src_blocks, ref_blocks, around)
            if beads is not None and not _runs_along_edge(beads, around, n_ref):
                return beads
            slack *= 2
    beads = _search(n_src, n_ref, cost, shapes, src_blocks, ref_blocks, band)
    if beads is None:  # not with the 1-0 and 0-1 shapes; kept for custom ones
        raise ValueError(f"no alignment of {n_src} and {n_ref} sentences with shapes {shapes}")
    return beads


def _search(n_src: int, n_ref: int, cost: BeadCost, shapes: tuple[tuple[int, int], ...],
            src_blocks: Sequence[tuple[int, int]], ref_blocks: Sequence[tuple[int, int]], band: Band) -> list[Bead] | None:
    """The best path through the cells of `band`, or None when none reaches (n_src, n_ref)."""
    cells = _Cells(band)
    ci, cj = cells.i, cells.j
    # One candidate move per shape and per block layer: for every cell, its predecessor and the bead's cost.
    moves: list[tuple[np.ndarray, np.ndarray]] = []
    for di, dj in shapes:
        moves.append((ci - di, cj - dj))
    for starts in _block_starts(src_blocks, n_src):
        moves.append((starts[ci], cj))
    for starts in _block_starts(ref_blocks, n_ref):
        moves.append((ci, starts[cj]))
    predecessor = np.empty((cells.count, len(moves)), dtype=np.int32 if cells.count < 2**31 - 1 else np.int64)
    move_cost = np.full((cells.count, len(moves)), np.inf)
    for k, (pi, pj) in enumerate(moves):
        predecessor[:, k] = cells.lookup(pi, pj)
        ok = predecessor[:, k] < cells.count
        move_cost[ok, k] = cost(pi[ok], ci[ok], pj[ok], cj[ok])
    best = np.full(cells.count + 1, np.inf)  # the last entry is the sentinel "outside the band"
    best[0] = 0.0  # cell (0, 0) is the only one on anti-diagonal 0
    choice = np.zeros(cells.count, dtype=np.int16)
    for d in range(1, len(cells.diagonal_start) - 1):
        a, b = cells.diagonal_start[d], cells.diagonal_start[d + 1]
        total = best[predecessor[a:b]] + move_cost[a:b]
        k = total.argmin(axis=1)  # the first of equal totals, as a sequential strict "<" would keep
        choice[a:b] = k
        best[a:b] = total[np.arange(b - a), k]
    end = int(cells.lookup(np.array([n_src]), np.array([n_ref]))[0])
    if end == cells.count or not np.isfinite(best[end]):
        return None
    beads = []
    while end != 0:
        previous = int(predecessor[end, choice[end]])
        beads.append(Bead(int(ci[previous]), int(ci[end]), int(cj[previous]), int(cj[end])))
        end = previous
    return beads[::-1]
