"""How model backends cut a test set into batches and survive running out of GPU memory: one place for every
`transformers` system (seq2seq and causal).

- `length_sorted_batches`: inputs sorted by token count, longest first (similar lengths waste little padding,
  and an out-of-memory error shows on the first batch), cut at `batch_size` inputs and, optionally, at a
  padded-token budget (`max_batch_tokens`), so short inputs travel in large batches and long ones in small.
- `run_with_oom_backoff`: runs one batch; on CUDA (or MPS) out-of-memory, frees the cache, halves the batch
  and retries each half, down to single inputs; says so in the log and counts the retries.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterator, Sequence, TypeVar

from harness.errors import HarnessError

log = logging.getLogger(__name__)

T = TypeVar("T")


def length_sorted_batches(lengths: Sequence[int], batch_size: int,
                          max_batch_tokens: int | None = None) -> list[list[int]]:
    """Positions of the inputs in batches, longest first. A batch holds at most `batch_size` inputs and, with
    `max_batch_tokens`, at most that many tokens once padded to its longest input (one input always fits)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        full = len(current) >= batch_size or (
            max_batch_tokens is not None and current and (len(current) + 1) * lengths[current[0]] > max_batch_tokens)
        if full:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the RuntimeError MPS and older torch versions raise."""
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", ())
    return isinstance(error, oom) or (isinstance(error, RuntimeError) and "out of memory" in str(error).lower())


def run_with_oom_backoff(batch: list[int], run: Callable[[list[int]], T], system: str,
                         counter: dict[str, int]) -> Iterator[tuple[list[int], T]]:
    """`run(batch)`, or on out-of-memory the two halves of the batch (recursively), yielding (part, result).

    `counter["oom_retries"]` counts the halvings, so the run can record them."""
    try:
        result = run(batch)
    except Exception as e:
        if not is_out_of_memory(e):
            raise
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if len(batch) == 1:
            raise HarnessError(f"system {system!r}: out of memory on a single input; lower max_new_tokens or "
                               f"max_input_tokens, use dtype=bfloat16, or a larger device") from None
        counter["oom_retries"] = counter.get("oom_retries", 0) + 1
        half = len(batch) // 2
        log.warning("%s: out of memory on a batch of %d; retrying it as %d + %d", system, len(batch), half,
                    len(batch) - half)
        yield from run_with_oom_backoff(batch[:half], run, system, counter)
        yield from run_with_oom_backoff(batch[half:], run, system, counter)
        return
    yield batch, result
