"""Every config in configs/ composes and every `_target_` node builds, so a broken config fails here,
not in a researcher's sweep."""

import json
import re

import pytest
from conftest import FLORES_REF, FLORES_SRC, OPUS_2020

from harness.config import compose, config_dir, group_options, instantiate_group, instantiate_node

PLURAL = {"testset": "testsets", "system": "systems", "metric": "metrics"}


def _required_values(tmp_path):
    """Values for the `???` fields of the generic configs."""
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(json.dumps({"src": "xin chào", "ref": "hello"}) + "\n", encoding="utf-8")
    tsv = tmp_path / "t.tsv"
    tsv.write_text("xin chào\thello\n", encoding="utf-8")
    return {
        ("testset", "parallel"): [f"testsets.parallel.source={FLORES_SRC}", f"testsets.parallel.references={FLORES_REF}"],
        ("testset", "jsonl"): [f"testsets.jsonl.path={jsonl}"],
        ("testset", "tsv"): [f"testsets.tsv.path={tsv}"],
        ("testset", "hf_dataset"): ["testsets.hf_dataset.path=json", f"+testsets.hf_dataset.data_files={jsonl}",
                                    "testsets.hf_dataset.source_field=src",
                                    "testsets.hf_dataset.reference_fields=[ref]"],
        ("system", "file"): [f"systems.file.outputs={{flores200_devtest:{OPUS_2020}}}"],
        ("system", "hf_seq2seq"): ["systems.hf_seq2seq.model=org/some-model"],
        ("system", "hf_causal"): ["systems.hf_causal.model=org/some-model"],
    }


def _all_group_configs():
    return [(g, name) for g in PLURAL for name in group_options(g)]


def test_there_are_configs_for_every_group():
    assert {"flores200_devtest", "parallel", "jsonl", "tsv", "hf_dataset"} <= set(group_options("testset"))
    assert {"copy_source", "file", "hf_seq2seq", "opus_mt_vi_en", "nllb_200_distilled_600m", "m2m100_418m",
            "mbart50_m2m", "vinai_vi2en_v2"} <= set(group_options("system"))
    assert {"bleu", "chrf", "chrf++", "ter"} <= set(group_options("metric"))


@pytest.mark.parametrize("group, name", _all_group_configs())
def test_package_header_matches_file_name(group, name):
    first = (config_dir() / group / f"{name}.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# @package {PLURAL[group]}.{name}", "the node must land under <group>s.<file name>"


@pytest.mark.parametrize("group, name", _all_group_configs())
def test_every_group_config_composes_and_instantiates(group, name, tmp_path):
    text = (config_dir() / group / f"{name}.yaml").read_text(encoding="utf-8")
    required = _required_values(tmp_path)
    if re.search(r":\s*\?\?\?", text):
        assert (group, name) in required, f"configs/{group}/{name}.yaml has ??? fields: add test values here"
    overrides = [f"{group}=[{name}]"] + required.get((group, name), [])
    cfg = compose(overrides)
    built = instantiate_group(cfg[PLURAL[group]], group)
    assert list(built) == [name]
    obj = built[name]
    if group == "testset":
        assert obj.name == name and len(obj) > 0
    if group == "system":
        assert obj.name  # systems load lazily: building one never touches the hub
    if group == "metric":
        assert obj.signature().startswith(obj.name + "|")


@pytest.mark.parametrize("group, name", _all_group_configs())
def test_a_node_built_without_hydra_is_what_hydra_builds(group, name, tmp_path):
    """Flat nodes (every metric config) are built by calling their target directly, sparing `score` Hydra's
    import; the object must be the one Hydra's `instantiate` builds from the same node."""
    from hydra.utils import instantiate

    overrides = [f"{group}=[{name}]"] + _required_values(tmp_path).get((group, name), [])
    node = compose(overrides)[PLURAL[group]][name]
    ours, hydras = instantiate_node(node, f"{PLURAL[group]}.{name}"), instantiate(node)

    def described(obj):
        plain = {k: v for k, v in vars(obj).items() if isinstance(v, (str, int, float, bool, type(None), tuple))}
        return type(obj), obj.signature(), plain
    assert described(ours) == described(hydras)


@pytest.mark.parametrize("experiment", [None] + group_options("experiment"))
def test_default_and_experiment_configs_compose_and_instantiate(experiment):
    cfg = compose([f"experiment={experiment}"] if experiment else [])
    for group, plural in PLURAL.items():
        assert instantiate_group(cfg[plural], group)


def test_default_experiment_matches_the_documented_one():
    cfg = compose([])
    assert list(cfg.testsets) == ["flores200_devtest", "seed_article"]
    assert set(cfg.systems) == {"opus_2020_09_10", "opus_bt_2021_04_30", "copy_source", "opus_mt_vi_en",
                                "nllb_200_distilled_600m"}
    assert cfg.systems.opus_mt_vi_en.model == "Helsinki-NLP/opus-mt-vi-en"
    assert cfg.systems.nllb_200_distilled_600m.model == "facebook/nllb-200-distilled-600M"
    assert list(cfg.metrics) == ["bleu", "chrf", "chrf++", "ter"]
    assert cfg.strict is False
