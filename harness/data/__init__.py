"""Test sets and their loaders."""

from harness.data.loaders import load_hf_dataset, load_jsonl, load_parallel, load_tsv
from harness.data.testset import Segment, TestSet, build_testset

__all__ = ["Segment", "TestSet", "build_testset", "load_parallel", "load_tsv", "load_jsonl", "load_hf_dataset"]
