"""The significance engine (harness/significance.py): agreement with sacreBLEU's paired tests on the shipped
OPUS-MT outputs, hand-checkable cases, and what runs and `mt-harness score` report."""

import itertools
import json

import numpy as np
import pytest
import sacrebleu
from conftest import FLORES_REF, FLORES_SRC, OPUS_2020, OPUS_BT
from sacrebleu.significance import PairedTest

from harness.cli import main
from harness.config import build_metric
from harness.errors import ConfigError, UnknownNameError
from harness.metrics.base import Metric
from harness.significance import (
    SignificanceSettings,
    analyse,
    analyse_metric,
    ar_swap_blocks,
    ar_swaps,
    bootstrap_index_blocks,
    bootstrap_indices,
    confidence_interval,
    holm,
    paired_ar_p_values,
    paired_bootstrap_p,
    power_estimate,
    resampled_scores,
    resampled_sums,
    significance_clusters,
)
from harness.textio import read_lines


class Mean(Metric):
    """An averaged metric, as COMET is to the engine: statistics [segment score, 1]."""

    name = "mean"
    meaningful_difference = 0.01

    def signature(self, num_refs=1):
        return "mean"

    def segment_statistics(self, hyps, refs, srcs=None):
        return np.array([[float(h), 1.0] for h in hyps])

    def scores_from_statistics(self, summed):
        summed = np.asarray(summed, dtype=np.float64)
        return summed[..., 0] / summed[..., 1]

    def segment_scores(self, stats):
        return stats[:, 0]


@pytest.fixture(scope="module")
def flores():
    refs = read_lines(FLORES_REF)
    # baseline first, as sacreBLEU takes it; the untranslated source is a third, much worse "system"
    return refs, {"opus-2020": read_lines(OPUS_2020), "opus+bt": read_lines(OPUS_BT), "source": read_lines(FLORES_SRC)}


def sacrebleu_paired(systems, refs, metrics, test_type, n_samples, monkeypatch):
    """sacreBLEU's paired test table; `refs` is one reference stream, or a list of streams."""
    monkeypatch.delenv("SACREBLEU_SEED", raising=False)  # sacreBLEU's default seed, 12345
    streams = refs if isinstance(refs[0], list) else [refs]
    _, table = PairedTest(list(systems.items()), metrics, streams, test_type=test_type, n_samples=n_samples)()
    return table


def harness_analysis(metrics, systems, refs, settings):
    ref_tuples = [(r,) for r in refs]
    stats = {m.name: [m.segment_statistics(h, ref_tuples) for h in systems.values()] for m in metrics}
    scores = {m.name: [m.corpus_score(s).score for s in stats[m.name]] for m in metrics}
    return analyse(metrics, list(systems), stats, scores, settings)


# -- agreement with sacreBLEU on real outputs ---------------------------------------------------------------

def test_paired_bootstrap_reproduces_sacrebleu_exactly(flores, monkeypatch):
    refs, systems = flores
    table = sacrebleu_paired(systems, refs, {"BLEU": sacrebleu.BLEU(), "chrF": sacrebleu.CHRF()}, "bs", 1000,
                             monkeypatch)
    ours = harness_analysis([build_metric("bleu"), build_metric("chrf")], systems, refs, SignificanceSettings(baseline="opus-2020"))
    for sb_name, name in (("BLEU", "BLEU"), ("chrF2", "chrF2")):
        sig = ours[name]
        for i, system in enumerate(systems):
            expected = table[sb_name][i]
            assert sig.scores[i] == expected.score
            # BLEU takes logs and exps: numpy's and the math module's may differ in the last bit
            assert sig.intervals[i].mean == pytest.approx(expected.mean, rel=1e-12)
            assert sig.intervals[i].half_width == pytest.approx(expected.ci, rel=1e-12)
            if i:
                assert sig.p_value("opus-2020", system) == expected.p_value


def test_paired_bootstrap_ter_reproduces_sacrebleu_exactly(flores, monkeypatch):
    refs, systems = flores
    refs = refs[:300]
    systems = {k: v[:300] for k, v in systems.items() if k != "source"}
    table = sacrebleu_paired(systems, refs, {"TER": sacrebleu.TER()}, "bs", 1000, monkeypatch)
    sig = harness_analysis([build_metric("ter")], systems, refs, SignificanceSettings(baseline="opus-2020"))["TER"]
    assert [sig.intervals[i].half_width for i in range(2)] == [r.ci for r in table["TER"]]
    assert sig.p_value("opus-2020", "opus+bt") == table["TER"][1].p_value


def test_approximate_randomisation_reproduces_sacrebleu_p_values(flores, monkeypatch):
    refs, systems = flores
    table = sacrebleu_paired(systems, refs, {"BLEU": sacrebleu.BLEU(), "chrF": sacrebleu.CHRF()}, "ar", 2000,
                             monkeypatch)
    ours = harness_analysis([build_metric("bleu"), build_metric("chrf")], systems, refs,
                            SignificanceSettings(test="ar", trials=2000, baseline="opus-2020"))
    for sb_name, name in (("BLEU", "BLEU"), ("chrF2", "chrF2")):
        for i, system in enumerate(list(systems)[1:], 1):
            assert ours[name].p_value("opus-2020", system) == table[sb_name][i].p_value


@pytest.mark.parametrize("config, options, sacrebleu_metric, test_type, two_references", [
    ("chrf++", {}, lambda: sacrebleu.CHRF(word_order=2), "bs", False),
    ("bleu", {"smooth_method": "add-k"}, lambda: sacrebleu.BLEU(smooth_method="add-k"), "bs", False),
    ("bleu", {}, lambda: sacrebleu.BLEU(), "bs", True),
    ("chrf", {}, lambda: sacrebleu.CHRF(), "ar", True),
    ("ter", {}, lambda: sacrebleu.TER(), "ar", False),
], ids=["chrF++-bs", "BLEU-add-k-bs", "BLEU-two-refs-bs", "chrF-two-refs-ar", "TER-ar"])
def test_more_metrics_settings_and_references_reproduce_sacrebleu(flores, monkeypatch, config, options,
                                                                   sacrebleu_metric, test_type, two_references):
    """p-values identical, intervals to 1e-12, for what the first agreement tests do not cover. The second
    reference of the two-reference cases is the opus-2020 output; the systems are opus+bt and the source."""
    refs, systems = flores
    n = 300
    if two_references:
        streams = [refs[:n], systems["opus-2020"][:n]]
        chosen = {k: systems[k][:n] for k in ("opus+bt", "source")}
    else:
        streams = [refs[:n]]
        chosen = {k: v[:n] for k, v in systems.items()}
    samples = 1000 if test_type == "bs" else 500
    metric = build_metric(config, options)
    table = sacrebleu_paired(chosen, streams, {"m": sacrebleu_metric()}, test_type, samples, monkeypatch)
    expected = table[metric.name]  # sacreBLEU names its columns as the harness does (chrF2++, TER, ...)
    settings = SignificanceSettings(test="bootstrap" if test_type == "bs" else "ar", trials=samples,
                                    baseline=next(iter(chosen)))
    ref_tuples = list(zip(*streams))
    stats = [metric.segment_statistics(h, ref_tuples) for h in chosen.values()]
    scores = [metric.corpus_score(st, len(streams)).score for st in stats]
    sig = analyse([metric], list(chosen), {metric.name: stats}, {metric.name: scores}, settings)[metric.name]
    for i, system in enumerate(chosen):
        assert sig.scores[i] == expected[i].score
        if test_type == "bs":
            assert sig.intervals[i].half_width == pytest.approx(expected[i].ci, rel=1e-12)
        if i:
            assert sig.p_value(next(iter(chosen)), system) == expected[i].p_value


def test_score_cli_paired_bs_json_matches_sacrebleu(flores, monkeypatch, capsys):
    refs, systems = flores
    table = sacrebleu_paired({k: systems[k] for k in ("opus-2020", "opus+bt")}, refs, {"BLEU": sacrebleu.BLEU()},
                             "bs", 1000, monkeypatch)
    assert main(["score", "-r", str(FLORES_REF), str(OPUS_2020), str(OPUS_BT), "-m", "bleu", "--paired-bs",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)  # the run document, as in scores.json
    block = doc["significance"]["testsets"]["score"]["BLEU"]
    base, other = block["systems"][str(OPUS_2020)], block["systems"][str(OPUS_BT)]
    assert block["baseline"] == str(OPUS_2020)
    assert block["p_values"][str(OPUS_2020)][str(OPUS_BT)] == table["BLEU"][1].p_value
    assert other["ci"]["half_width"] == pytest.approx(table["BLEU"][1].ci, abs=1e-12)
    assert base["ci"]["mean"] == pytest.approx(table["BLEU"][0].mean, abs=1e-12)
    assert doc["significance"]["settings"]["seed"] == 12345 and doc["significance"]["settings"]["resamples"] == 1000
    assert doc["significance"]["signature"].startswith("paired-bs|n:1000|seed:12345|")


def test_score_cli_paired_ar_text_names_the_baseline_and_p_values(capsys):
    assert main(["score", "-r", str(FLORES_REF), str(OPUS_2020), str(OPUS_BT), "-m", "bleu", "--paired-ar",
                 "--paired-ar-n", "500"]) == 0
    out = capsys.readouterr().out
    assert f"Baseline: {OPUS_2020}" in out
    assert "p = 0.0020*" in out  # the systems differ by 2 BLEU: no shuffle of 500 reaches that, p = 1/501
    assert "paired-ar|trials:500|bs:1000|seed:12345" in out


def test_score_cli_paired_test_needs_two_systems(capsys):
    assert main(["score", "-r", str(FLORES_REF), str(OPUS_2020), "--paired-bs"]) == 2
    assert "at least two hypothesis files" in capsys.readouterr().err


# -- hand-checkable cases -------------------------------------------------------------------------------------

def test_resampled_sums_count_each_drawn_segment():
    stats = np.array([[1.0, 0.0], [10.0, 1.0], [100.0, 2.0]])
    indices = np.array([[0, 0, 1], [2, 2, 2], [0, 1, 2]])
    assert resampled_sums(indices, stats).tolist() == [[12.0, 1.0], [300.0, 6.0], [111.0, 3.0]]


def test_resampled_sums_in_blocks_equal_one_product(monkeypatch):
    import harness.significance as s

    rng = np.random.default_rng(0)
    stats = rng.integers(0, 9, size=(50, 2, 3)).astype(float)
    indices = bootstrap_indices(50, 37, seed=1)
    whole = resampled_sums(indices, stats)
    monkeypatch.setattr(s, "_BLOCK_CELLS", 120)  # blocks of 2 resamples
    assert (resampled_sums(indices, stats) == whole).all()
    assert (whole == stats[indices].sum(axis=1)).all()  # the loop sacreBLEU runs


def test_confidence_interval_uses_the_ranks_sacrebleu_uses():
    ci = confidence_interval(np.arange(40.0)[::-1])  # ranks 40 // 40 = 1 and 40 - 1 - 1 = 38
    assert (ci.lower, ci.upper, ci.half_width, ci.mean) == (1.0, 38.0, 18.5, 19.5)


def test_paired_bootstrap_p_counts_centred_differences_above_the_observed_one():
    a = np.array([10.0, 10.0, 10.0, 10.0])
    b = np.array([11.0, 13.0, 10.0, 14.0])  # |b - a| = 1, 3, 0, 4: mean 2, centred -1, 1, -2, 2
    assert paired_bootstrap_p(a, b, 10.0, 10.5) == (2 + 1) / 5  # 1 and 2 exceed 0.5
    assert paired_bootstrap_p(a, b, 10.0, 13.0) == 1 / 5


def test_approximate_randomisation_equals_the_loop_definition():
    rng = np.random.default_rng(3)
    metric = Mean()
    stats = [np.stack([rng.normal(m, 1, 60), np.ones(60)], axis=1) for m in (0.0, 0.2, 0.25)]
    scores = [metric.scores_from_statistics(s.sum(0)) for s in stats]
    swaps = ar_swaps(60, 300, seed=5)
    pairs = [(0, 1), (0, 2), (1, 2)]
    got = paired_ar_p_values(metric, stats, scores, pairs, swaps)
    for a, b in pairs:
        exceed = 0
        for keep in swaps:  # sacreBLEU's definition, one trial at a time
            pa = np.where(keep[:, None], stats[a], stats[b]).sum(0)
            pb = np.where(keep[:, None], stats[b], stats[a]).sum(0)
            exceed += abs(metric.scores_from_statistics(pa) - metric.scores_from_statistics(pb)) > abs(
                scores[a] - scores[b])
        assert got[(a, b)] == pytest.approx((exceed + 1) / 301, abs=1e-15)


def test_resample_indices_are_sacrebleus_for_the_seed():
    assert (bootstrap_indices(7, 3, 12345) == np.random.default_rng(12345).choice(7, size=(3, 7))).all()
    assert not (bootstrap_indices(7, 3, 12345) == bootstrap_indices(7, 3, 1)).all()


@pytest.mark.parametrize("n", [1, 2, 3, 31, 32, 33, 1013, 4099])
def test_index_blocks_are_the_rows_of_sacrebleus_single_draw(monkeypatch, n):
    """Blocks of resamples drawn one after the other from one generator are exactly the rows of sacreBLEU's
    `default_rng(seed).choice(n, (B, n))`, whatever the block size (odd ones included)."""
    import harness.significance as s

    whole = np.random.default_rng(12345).choice(n, size=(37, n))
    for cells in (1, 3 * n, 5 * n, 36 * n, 10 ** 9):  # 1 row per block ... all rows in one
        monkeypatch.setattr(s, "_BLOCK_CELLS", cells)
        blocks = list(bootstrap_index_blocks(n, 37, 12345))
        assert [start for start, _ in blocks] == list(np.cumsum([0] + [len(b) for _, b in blocks[:-1]]))
        assert (np.concatenate([b for _, b in blocks]) == whole).all()


@pytest.mark.parametrize("n", [1, 3, 7, 32, 33, 100, 1013])
def test_swap_blocks_are_sacrebleus_single_draw_only_when_aligned_to_32_values(monkeypatch, n):
    """AR's boolean draws use up a 32-bit word per 32 values within one call: blocks of a multiple of 32 values
    continue the single draw (what `ar_swap_blocks` makes), others do not (the condition is real)."""
    import harness.significance as s

    whole = np.random.default_rng(12345).integers(2, size=(70, n), dtype=bool)
    for cells in (1, 5 * n, 33 * n, 10 ** 9):
        monkeypatch.setattr(s, "_BLOCK_CELLS", cells)
        blocks = list(ar_swap_blocks(n, 70, 12345))
        assert all(len(b) * n % 32 == 0 for _, b in blocks[:-1])
        assert (np.concatenate([b for _, b in blocks]) == whole).all()
    if n % 32:
        rng = np.random.default_rng(12345)
        one_row_at_a_time = np.concatenate([rng.integers(2, size=(1, n), dtype=bool) for _ in range(70)])
        assert not (one_row_at_a_time == whole).all()


@pytest.mark.parametrize("test, counter", [("bootstrap", "compiled"), ("bootstrap", "numpy"), ("ar", "numpy")])
def test_analysis_in_small_blocks_equals_the_whole_draw(flores, monkeypatch, test, counter):
    """`analyse` draws in blocks; with blocks of one or a few resamples its intervals and p-values are those of
    `analyse_metric` given sacreBLEU's whole matrices (counts by the compiled counter or by np.bincount;
    statistics stacked or one system at a time)."""
    import harness.significance as s

    if counter == "compiled":
        pytest.importorskip("numba")
        monkeypatch.setattr(s, "_COMPILED_COUNT_CELLS", 0)
    else:
        monkeypatch.setattr(s, "_compiled_counter", lambda: None)

    refs, systems = flores
    refs = [(r,) for r in refs[:200]]
    metrics = [build_metric("bleu"), build_metric("chrf")]
    stats = {m.name: [m.segment_statistics(h[:200], refs) for h in systems.values()] for m in metrics}
    scores = {m.name: [m.corpus_score(st).score for st in stats[m.name]] for m in metrics}
    settings = SignificanceSettings(test=test, resamples=120, trials=150, baseline="opus-2020")
    whole = {m.name: analyse_metric(m, list(systems), stats[m.name], scores[m.name], settings,
                                    bootstrap_indices(200, 120, settings.seed), ar_swaps(200, 150, settings.seed))
             for m in metrics}
    for cells, draw_cells, stack_bytes in ((1, 1, 0), (200 * 7, 200 * 3, 10 ** 9), (10 ** 9, 10 ** 9, 0)):
        monkeypatch.setattr(s, "_BLOCK_CELLS", cells)
        monkeypatch.setattr(s, "_DRAW_CELLS", draw_cells)
        monkeypatch.setattr(s, "_STACK_BYTES", stack_bytes)
        blocked = analyse(metrics, list(systems), stats, scores, settings)
        single = analyse_metric(metrics[1], list(systems), stats["chrF2"], scores["chrF2"], settings)
        for name, result in list(blocked.items()) + [("chrF2", single)]:
            expected = whole[name]
            assert result.intervals == expected.intervals
            assert np.array_equal(result.p_values, expected.p_values, equal_nan=True)
            assert result.power == expected.power


def test_resampling_never_holds_the_index_matrix(monkeypatch):
    """100k segments x 1,000 resamples: the index matrix alone would be 800 MB (what sacreBLEU holds, and more);
    the engine draws it in blocks and never calls for it whole. Memory measured by tracemalloc (numpy reports
    its arrays there)."""
    import tracemalloc

    import harness.significance as s

    def whole_matrix(*args):
        raise AssertionError("the whole index matrix was drawn")

    monkeypatch.setattr(s, "bootstrap_indices", whole_matrix)
    monkeypatch.setattr(s, "ar_swaps", whole_matrix)
    n = 100_000
    rng = np.random.default_rng(0)
    stats = [np.stack([rng.normal(m, 1, n), np.ones(n)], axis=1) for m in (0.0, 0.01)]
    scores = [float(x[:, 0].mean()) for x in stats]
    tracemalloc.start()
    try:
        result = analyse([Mean()], ["a", "b"], {"mean": stats}, {"mean": scores},
                         SignificanceSettings(resamples=1000, baseline="a"))["mean"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2 ** 20, f"{peak / 2 ** 20:.0f} MiB"
    assert 0 < result.p_value("a", "b") < 1 and result.intervals[0].half_width > 0


def test_holm_step_down_by_hand():
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> monotone: 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]  # 2 x 0.5 = 1; then monotone


def test_clusters_and_rank_ranges_by_hand():
    sig = np.zeros((3, 3), dtype=bool)
    sig[0, 1] = sig[1, 0] = sig[0, 2] = sig[2, 0] = True  # the best differs from both others, they not
    ranges, clusters = significance_clusters([30.0, 20.0, 19.0], True, sig)
    assert ranges == [(1, 1), (2, 3), (2, 3)] and clusters == [1, 2, 2]
    only_ends = np.zeros((3, 3), dtype=bool)
    only_ends[0, 2] = only_ends[2, 0] = True  # a chain: 1 ~ 2 ~ 3 but 1 != 3
    ranges, clusters = significance_clusters([30.0, 20.0, 19.0], True, only_ends)
    assert ranges == [(1, 2), (1, 3), (2, 3)] and clusters == [1, 1, 1]
    # lower is better (TER): the order flips
    ranges, clusters = significance_clusters([30.0, 20.0, 19.0], False, sig)
    assert ranges == [(3, 3), (1, 2), (1, 2)] and clusters == [2, 1, 1]


def test_power_estimate_matches_the_normal_formula():
    rng = np.random.default_rng(11)
    n, sd = 400, 2.0
    base = rng.normal(0, 1, n)
    metric = Mean()
    stats = [np.stack([base, np.ones(n)], 1), np.stack([base + rng.normal(0.1, sd, n), np.ones(n)], 1)]
    resampled = resampled_scores(metric, bootstrap_indices(n, 2000, 1), stats)
    est = power_estimate(resampled, [(0, 1)], n, delta=0.5, alpha=0.05, power=0.8)
    # n = sd^2 (z_0.975 + z_0.8)^2 / delta^2 = 4 * 7.849 / 0.25 = 125.6
    assert est.segments_needed == pytest.approx(125.6, rel=0.15)
    assert est.detectable_difference == pytest.approx(2.8016 * sd / np.sqrt(n), rel=0.1)
    assert power_estimate(resampled, [], n, 0.5, 0.05, 0.8) is None


def test_averaged_metric_intervals_and_baseline_tests():
    rng = np.random.default_rng(2)
    metric = Mean()
    hyps = {"a": rng.normal(0.5, 0.1, 300), "b": rng.normal(0.52, 0.1, 300), "c": rng.normal(0.9, 0.1, 300)}
    stats = [np.stack([h, np.ones(300)], 1) for h in hyps.values()]
    scores = [float(h.mean()) for h in hyps.values()]
    sig = analyse_metric(metric, list(hyps), stats, scores, SignificanceSettings(baseline="a"))
    assert sig.p_value("a", "c") == 1 / 1001 and sig.clusters[2] == 1 and sig.rank_ranges[2] == (1, 1)
    for i, h in enumerate(hyps.values()):  # the bootstrap interval of a mean: about 1.96 standard errors
        assert sig.intervals[i].half_width == pytest.approx(1.96 * h.std() / np.sqrt(300), rel=0.15)
    assert sig.power.delta == 0.01  # the metric's own meaningful difference


def test_baseline_only_comparisons_have_no_clusters():
    stats = [np.stack([np.full(20, v), np.ones(20)], 1) for v in (0.1, 0.2, 0.3)]
    sig = analyse_metric(Mean(), ["a", "b", "c"], stats, [0.1, 0.2, 0.3],
                         SignificanceSettings(baseline="b", all_pairs=False))
    assert sig.p_value("b", "a") is not None and sig.p_value("a", "c") is None
    assert sig.rank_ranges == [] and sig.clusters == []


# -- settings -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("node, error, match", [
    ({"test": "bootstap"}, UnknownNameError, "Did you mean 'bootstrap'"),
    ({"alpah": 0.1}, UnknownNameError, "Did you mean 'alpha'"),
    ({"alpha": 1.5}, ConfigError, "alpha must be between 0 and 1"),
    ({"resamples": 0}, ConfigError, "resamples must be at least 1"),
    ({"seed": "12345"}, ConfigError, "significance.seed must be an integer, not .12345."),
    ({"seed": -1}, ConfigError, "seed must be a non-negative integer"),
    ({"correction": "bonferroni"}, UnknownNameError, "holm"),
])
def test_bad_settings_name_the_setting(node, error, match):
    with pytest.raises(error, match=match):
        SignificanceSettings.from_config(node)


def test_signature_records_every_setting_that_changes_a_number():
    assert SignificanceSettings().signature() == "paired-bs|n:1000|seed:12345|alpha:0.05|pairs:all|corr:none"
    assert SignificanceSettings(test="ar", trials=500, seed=7, correction="holm").signature() == \
        "paired-ar|trials:500|bs:1000|seed:7|alpha:0.05|pairs:all|corr:holm"
    assert SignificanceSettings(test="none").signature() == "significance:none"


def test_holm_correction_only_weakens_significance():
    rng = np.random.default_rng(4)
    stats = [np.stack([rng.normal(m, 1, 200), np.ones(200)], 1) for m in (0.0, 0.15, 0.3, 0.45)]
    scores = [float(s[:, 0].mean()) for s in stats]
    names = list("abcd")
    plain = analyse_metric(Mean(), names, stats, scores, SignificanceSettings())
    corrected = analyse_metric(Mean(), names, stats, scores, SignificanceSettings(correction="holm"))
    for i, j in itertools.combinations(range(4), 2):
        assert corrected.p_values_holm[i, j] >= plain.p_values[i, j]
    assert max(corrected.clusters) <= max(plain.clusters)


# -- runs: scores.json and the leaderboard ------------------------------------------------------------------

BASE = ["experiment=files_only", "testset=[flores200_devtest]", "metric=[bleu,chrf]"]


def _near_copy_of_opus_bt(tmp_path):
    """opus+bt with its last 50 segments from opus-2020: 0.07 BLEU lower, not significantly (p = 0.1)."""
    lines = read_lines(OPUS_BT)[:-50] + read_lines(OPUS_2020)[-50:]
    path = tmp_path / "near.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [f"+systems.near={{_target_:harness.systems.file.FileOutputs,name:near-copy,"
            f"outputs:{{flores200_devtest:'{path}'}}}}"]


def test_run_records_intervals_p_values_and_seed_in_scores_json(tmp_path, results_env, sacrebleu_intervals):
    from harness.config import compose
    from harness.run import evaluate

    out = tmp_path / "out"
    evaluate(compose(BASE + ["significance.baseline=vie-eng_opus-2020-09-10"]), output_dir=out)
    doc = json.loads((out / "scores.json").read_text(encoding="utf-8"))["significance"]
    assert doc["settings"]["seed"] == 12345 and doc["settings"]["resamples"] == 1000
    assert doc["signature"] == "paired-bs|n:1000|seed:12345|alpha:0.05|pairs:all|corr:none"
    bleu = doc["testsets"]["flores200_devtest"]["BLEU"]
    assert bleu["baseline"] == "vie-eng_opus-2020-09-10"
    assert bleu["p_values"]["vie-eng_opus-2020-09-10"]["vie-eng_opus+bt-2021-04-30"] == 1 / 1001
    ci = bleu["systems"]["vie-eng_opus+bt-2021-04-30"]["ci"]
    assert ci["lower"] < 27.31 < ci["upper"] and ci["half_width"] == pytest.approx((ci["upper"] - ci["lower"]) / 2)
    assert bleu["power"]["segments"] == 1012 and bleu["power"]["segments_needed"] > 0
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    ci = sacrebleu_intervals["vie-eng_opus+bt-2021-04-30"]["BLEU"]
    assert f"| 1 | 1 | vie-eng_opus+bt-2021-04-30 | 27.31 ± {ci:.2f} * |" in md  # * differs from the baseline
    assert "| baseline |" in md and "\\* differs from the baseline vie-eng_opus-2020-09-10" in md
    assert "Power: detecting a BLEU difference of 1 between two systems" in md


def test_systems_that_cannot_be_told_apart_share_a_cluster_and_a_rank_range(tmp_path, results_env):
    from harness.config import compose
    from harness.run import evaluate

    run = evaluate(compose(BASE + _near_copy_of_opus_bt(tmp_path)), output_dir=tmp_path / "out")
    sig = run.significance["flores200_devtest"]["BLEU"]
    best, near = sig.index("vie-eng_opus+bt-2021-04-30"), sig.index("near-copy")
    assert sig.clusters[best] == sig.clusters[near] == 1 and sig.p_values[best, near] > 0.05
    assert sig.rank_ranges[best] == sig.rank_ranges[near] == (1, 2)
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    rows = [line for line in md.splitlines() if line.startswith("| 1–2 |")]
    assert len(rows) == 2 and all(r.startswith("| 1–2 | 1 |") for r in rows)


def test_other_seed_other_intervals_and_test_none_gives_plain_ranks(tmp_path, results_env):
    from harness.config import compose
    from harness.run import evaluate

    default = evaluate(compose(BASE), write=False).significance["flores200_devtest"]["BLEU"]
    seeded = evaluate(compose(BASE + ["significance.seed=7"]), write=False).significance["flores200_devtest"]["BLEU"]
    assert seeded.intervals[0] != default.intervals[0]
    assert (seeded.scores == default.scores).all()
    plain = evaluate(compose(BASE + ["significance.test=none"]), output_dir=tmp_path / "plain")
    assert plain.significance == {}
    md = (tmp_path / "plain" / "leaderboard.md").read_text(encoding="utf-8")
    assert "| # | System | BLEU | chrF2 | Notes |" in md and " ± " not in md
    recorded = json.loads((tmp_path / "plain" / "scores.json").read_text(encoding="utf-8"))["significance"]
    assert recorded["settings"]["test"] == "none" and recorded["testsets"] == {}


def test_unknown_baseline_suggests_a_system(results_env):
    from harness.config import compose
    from harness.run import evaluate

    with pytest.raises(UnknownNameError, match="Did you mean 'vie-eng_opus-2020-09-10'"):
        evaluate(compose(BASE + ["significance.baseline=vie-eng_opus-2020-9-10"]), write=False)


def test_benchmark_quick_run_compares_the_printed_numbers_of_both_tools(capsys):
    from benchmarks.bench_significance import main as bench

    assert bench(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "identical p-values, scores and intervals (to 1e-12): yes" in out
    assert out.count("printed scores, intervals and p-values identical: yes") == 2
    assert "OK: identical numbers" in out


@pytest.mark.slow
def test_scale_benchmark_quick_run_compares_both_tools(capsys):
    """`python -m benchmarks scale -- --quick`: sacreBLEU and the harness print the same numbers on 2,024
    segments, the harness completes 10,120, and every per-system extraction equals sacreBLEU's."""
    from benchmarks.bench_scale import main as bench

    assert bench(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "printed scores, intervals and p-values identical: yes" in out
    assert out.count("identical statistics: yes") == 4
    assert "OK: identical numbers" in out


# -- identical systems ------------------------------------------------------------------------------------------

def test_identical_systems_share_a_rank_and_a_cluster_in_a_run(tmp_path, results_env):
    """The same output file entered twice, and two systems that both score BLEU 0: sacreBLEU's formula gives each
    pair p = 1/1001, yet neither pair is significant, so each pair shares its rank range and cluster."""
    from harness.config import compose
    from harness.run import evaluate

    empty = tmp_path / "empty.txt"
    empty.write_text("\n" * 1012, encoding="utf-8")
    overrides = [f"+systems.again={{_target_:harness.systems.file.FileOutputs,name:again,"
                 f"outputs:{{flores200_devtest:'{OPUS_BT}'}}}}",
                 f"+systems.empty1={{_target_:harness.systems.file.FileOutputs,name:empty1,"
                 f"outputs:{{flores200_devtest:'{empty}'}}}}",
                 f"+systems.empty2={{_target_:harness.systems.file.FileOutputs,name:empty2,"
                 f"outputs:{{flores200_devtest:'{empty}'}}}}"]
    run = evaluate(compose(BASE + overrides + ["significance.baseline=again"]), output_dir=tmp_path / "out")
    sig = run.significance["flores200_devtest"]["BLEU"]
    for a, b in (("vie-eng_opus+bt-2021-04-30", "again"), ("empty1", "empty2")):
        assert sig.p_value(a, b) == 1 / 1001  # sacreBLEU's number for a zero difference, kept
        assert not sig.differ(a, b, 0.05)
        assert sig.clusters[sig.index(a)] == sig.clusters[sig.index(b)]
        assert sig.rank_ranges[sig.index(a)] == sig.rank_ranges[sig.index(b)]
    assert sig.differ("again", "vie-eng_opus-2020-09-10", 0.05)
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if "| vie-eng_opus+bt-2021-04-30 |" in line)
    assert " *" not in row  # not starred against the baseline it is a copy of
    assert "never counted as different" in md
    doc = json.loads((tmp_path / "out" / "scores.json").read_text(encoding="utf-8"))
    pairs = doc["significance"]["testsets"]["flores200_devtest"]["BLEU"]["no_difference"]
    assert sorted(map(sorted, pairs)) == [["again", "vie-eng_opus+bt-2021-04-30"], ["empty1", "empty2"]]


def test_score_marks_an_identical_pair_instead_of_starring_it(tmp_path, capsys):
    copy = tmp_path / "copy.txt"
    copy.write_bytes(OPUS_2020.read_bytes())
    assert main(["score", "-r", str(FLORES_REF), str(OPUS_2020), str(copy), str(OPUS_BT), "-m", "bleu",
                 "--paired-bs"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(str(copy)))
    assert row.endswith("p = 0.0010 (same score)")  # sacreBLEU's p-value, marked, not starred
    assert next(line for line in out.splitlines() if line.startswith(str(OPUS_BT))).endswith("p = 0.0010*")
