"""Batches for model backends: longest first, cut by count and by a padded-token budget; out-of-memory
back-off that halves a batch and still returns every output in input order."""

import logging

import pytest

from harness.errors import HarnessError
from harness.systems.batching import length_sorted_batches, run_with_oom_backoff


def test_batches_are_longest_first_and_cut_by_count():
    assert length_sorted_batches([3, 9, 1, 7, 5], batch_size=2) == [[1, 3], [4, 0], [2]]


def test_a_token_budget_puts_short_inputs_in_bigger_batches():
    lengths = [100, 100, 10, 10, 10, 10, 10, 10]
    # padded size = rows x the batch's longest input: two 100s make 200; six 10s make 60
    assert length_sorted_batches(lengths, batch_size=8, max_batch_tokens=200) == [[0, 1], [2, 3, 4, 5, 6, 7]]
    assert length_sorted_batches(lengths, batch_size=8, max_batch_tokens=50) == [[0], [1], [2, 3, 4, 5, 6], [7]]
    assert length_sorted_batches([500], batch_size=4, max_batch_tokens=10) == [[0]]  # one input always fits


def _fake_oom():
    import torch

    return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_halves_the_batch_until_it_fits(caplog):
    calls = []

    def run(batch):
        calls.append(list(batch))
        if len(batch) > 2:
            raise _fake_oom()
        return [f"out{i}" for i in batch]

    counter = {}
    with caplog.at_level(logging.WARNING):
        parts = list(run_with_oom_backoff([0, 1, 2, 3, 4], run, "tiny", counter))
    assert [p for p, _ in parts] == [[0, 1], [2], [3, 4]]
    assert [r for _, r in parts] == [["out0", "out1"], ["out2"], ["out3", "out4"]]
    assert counter["oom_retries"] == 2  # 5 -> 2 + 3, then 3 -> 1 + 2
    assert "out of memory on a batch of 5; retrying it as 2 + 3" in caplog.text


def test_out_of_memory_on_one_input_is_a_clear_error_and_other_errors_pass_through():
    def always_oom(batch):
        raise _fake_oom()

    with pytest.raises(HarnessError, match="out of memory on a single input; lower max_new_tokens"):
        list(run_with_oom_backoff([0, 1], always_oom, "tiny", {}))

    def broken(batch):
        raise ValueError("not memory")

    with pytest.raises(ValueError, match="not memory"):
        list(run_with_oom_backoff([0, 1], broken, "tiny", {}))


@pytest.mark.slow
def test_a_model_that_runs_out_of_memory_above_two_inputs_still_translates_everything(tiny_models, monkeypatch):
    """A real (tiny) Marian whose generate() raises CUDA's OutOfMemoryError above two inputs: the run halves
    its batches, records the retries, and gives the outputs of a batch-size-2 run, in input order."""
    from harness.cache import Cache
    from harness.data import build_testset
    from harness.run import translate_testset
    from harness.systems.hf_seq2seq import HFSeq2Seq
    from harness.testing.tiny_models import CORPUS

    ts = build_testset("t", "vi", "en", CORPUS[:7], [(r,) for r in CORPUS[8:15]])
    expected = HFSeq2Seq("ok", str(tiny_models["marian"]), num_beams=1, max_new_tokens=4, batch_size=2).translate(ts)
    system = HFSeq2Seq("oom", str(tiny_models["marian"]), num_beams=1, max_new_tokens=4, batch_size=8)
    system._load()
    generate = system._model.generate

    def limited(**kwargs):
        if kwargs["input_ids"].shape[0] > 2:
            raise _fake_oom()
        return generate(**kwargs)

    monkeypatch.setattr(system._model, "generate", limited)
    result = translate_testset(system, ts, Cache(None))
    assert result.hypotheses == expected
    assert result.translation.oom_retries == 3  # 7 -> 3 + 4 -> (1 + 2) + (2 + 2)
    assert result.translation.generated_tokens > 0
