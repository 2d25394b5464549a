"""BLEU, chrF/chrF++ and TER through sacreBLEU.

Statistics come from sacreBLEU's metric objects (subclasses with faster, exact extraction: `bleu_fast`,
`chrf_fast`, `ter_fast`), and corpus scores from sacreBLEU's own `_compute_score_from_stats`, so every corpus
number is sacreBLEU's. The numpy functions below reproduce that arithmetic (same order of
operations, loops over n-gram orders kept sequential) vectorised over any number of resamples; tests check
them against sacreBLEU.

Given float32 sums they follow sacreBLEU's bootstrap instead (it resamples float32 statistics and scores them
with numpy scalars under numpy 1.x promotion: float32 op float32 stays float32, a Python number makes
float64): chrF's precision and recall and TER's ratio are rounded to float32, everything else is float64.
So the significance engine reproduces sacreBLEU's resampled scores, p-values and intervals exactly.
"""

from __future__ import annotations

import copy
import gc
import logging
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator, Sequence

import numpy as np

from harness.errors import ConfigError
from harness.metrics.base import CorpusScore, Metric

log = logging.getLogger(__name__)

# sacreBLEU's my_log(0.0)
_LOG_ZERO = -9999999999.0

#: Unicode normalisations a metric may apply to hypotheses and references before scoring (None: byte-exact)
UNICODE_FORMS = (None, "NFC", "NFKC")
#: sacreBLEU versions the exact fast ports (bleu_fast, chrf_fast, ter_fast) and the vectorised scoring below
#: were checked against, statistic for statistic (tests/test_bleu_fast.py, test_chrf_fast.py, test_ter_fast.py,
#: test_sacrebleu_metrics.py). `constraints.txt` pins the same version. On any other version the statistics
#: come from sacreBLEU's own extraction: slower, never unverified.
VERIFIED_SACREBLEU = ("2.6.0",)
#: tags of the harness code that extracts statistics, part of the statistics cache key (not of the public
#: signature). Bump one whenever that code changes, so statistics it computed before are not reused.
IMPLEMENTATION = {"BLEU": "bleu_fast-1", "chrF": "chrf_fast-2", "TER": "ter_fast-1"}


def sacrebleu_version() -> str:
    import sacrebleu

    return sacrebleu.__version__


@lru_cache(maxsize=None)
def fast_ports_verified(version: str) -> bool:
    """Whether the fast ports may be used with this sacreBLEU version; says so once per process when not."""
    if version in VERIFIED_SACREBLEU:
        return True
    log.warning("sacreBLEU %s is not a version the harness' fast BLEU/chrF/TER statistics were verified against (%s): "
                "using sacreBLEU's own, slower extraction. `pip install -c constraints.txt -e .` installs the "
                "verified version.", version, ", ".join(VERIFIED_SACREBLEU))
    return False


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the duration (then as it was). Extraction allocates millions of lists
    (a token list per segment) that hold no cycles and die by reference counting; while they are alive, each
    automatic collection also walks every long-lived container of the process (the test set's segments), which
    makes tokenizing 100k segments take three times as long."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def reference_streams(refs: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """Per-segment reference tuples -> sacreBLEU's reference streams (None where a segment has fewer)."""
    width = max(len(r) for r in refs)
    return [[r[k] if k < len(r) else None for r in refs] for k in range(width)]


def _ratio_dtype(summed: np.ndarray):
    """float32 for float32 sums (sacreBLEU's bootstrap rounds these ratios so), else float64."""
    return np.float32 if np.asarray(summed).dtype == np.float32 else np.float64


def _ratio(numerator: np.ndarray, denominator: np.ndarray, dtype) -> np.ndarray:
    """numerator / denominator computed in `dtype` (float64 result), 0 where the denominator is 0."""
    safe = np.where(denominator != 0, denominator, 1)
    return (numerator.astype(dtype) / safe.astype(dtype)).astype(np.float64)


class _SacreBLEUMetric(Metric):
    """Shared plumbing: a sacreBLEU metric object, and its reference cache reused across systems.

    The constructors below take every option and default none: configs/metric/<name>.yaml holds each
    metric's defaults (`harness.config.build_metric("bleu")` builds one from there)."""

    bootstrap_dtype = np.float32  # as sacreBLEU's bootstrap (see the module docstring)
    parallel_safe = True

    def __init__(self, sacrebleu_metric: Any, implementation: str, normalize_unicode: str | None):
        if normalize_unicode not in UNICODE_FORMS:
            raise ConfigError(f"metric {type(self).__name__}: normalize_unicode must be one of "
                              f"{', '.join(map(str, UNICODE_FORMS))} (null: as read), not {normalize_unicode!r}")
        self._sb = sacrebleu_metric
        self.implementation = implementation
        #: NFC / NFKC: hypotheses and references are normalised before scoring (recorded in the signature);
        #: None scores the text byte-exact, as sacreBLEU does
        self.normalize_unicode = normalize_unicode
        self._refs_key: list[tuple[str, ...]] | None = None
        self._refs_cache: Any = None

    def __getstate__(self):
        # Worker processes rebuild the reference cache: it is large and cheap to recompute. It also sits in
        # the sacreBLEU object (`_ref_cache`, and FastCHRF's memo), so that travels as a stripped copy.
        state = dict(self.__dict__)
        state["_refs_key"] = state["_refs_cache"] = None
        sb = copy.copy(self._sb)
        sb.__dict__.pop("_fast_memo", None)
        sb._ref_cache = None
        state["_sb"] = sb
        return state

    def signature(self, num_refs: int = 1) -> str:
        args = dict(vars(self._sb))
        args["num_refs"] = num_refs
        unicode = f"|unicode:{self.normalize_unicode}" if self.normalize_unicode else ""
        return f"{self.name}|{self._sb._SIGNATURE_TYPE(args).format()}{unicode}"

    def segment_statistics(self, hyps, refs, srcs=None) -> np.ndarray:
        if self.normalize_unicode:
            import unicodedata

            form = self.normalize_unicode
            hyps = [unicodedata.normalize(form, h) for h in hyps]
            refs = [tuple(unicodedata.normalize(form, r) for r in seg) for seg in refs]
        refs = [tuple(r) for r in refs]
        with gc_paused():
            if self._refs_key != refs:
                self._refs_cache = self._sb._ref_cache = None  # the previous set goes before the next is made
                self._refs_cache = self._sb._cache_references(reference_streams(refs))
                self._refs_key = refs
            self._sb._ref_cache = self._refs_cache
            if hasattr(self._sb, "corpus_statistics"):  # the fast ports: one array, no Python list per segment
                return np.asarray(self._sb.corpus_statistics(list(hyps)), dtype=np.float64)
            stats = self._sb._extract_corpus_statistics(list(hyps), None)
        return np.asarray(stats, dtype=np.float64).reshape(len(hyps), -1)

    def _sacrebleu_score(self, total: np.ndarray):
        return self._sb._compute_score_from_stats([x.item() for x in total])

    def corpus_score(self, stats: np.ndarray, num_refs: int = 1) -> CorpusScore:
        total = stats.sum(axis=0)
        sb_score = self._sacrebleu_score(total)
        return CorpusScore(self.name, float(sb_score.score), self.signature(num_refs), self._details(sb_score))

    def _details(self, sb_score) -> str:
        return ""


class BLEU(_SacreBLEUMetric):
    """Corpus BLEU (Papineni et al., 2002) as in sacreBLEU; segment scores are sentence-BLEU with
    effective order (sacreBLEU's `sentence_bleu`).

    Statistics come from `FastBLEU`, sacreBLEU's BLEU with a corpus-at-once extraction giving the same counts."""

    name = "BLEU"

    def __init__(self, *, tokenize: str | None, lowercase: bool, smooth_method: str, smooth_value: float | None,
                 max_ngram_order: int, effective_order: bool, normalize_unicode: str | None):
        self._options = dict(tokenize=tokenize, lowercase=lowercase, smooth_method=smooth_method,
                             smooth_value=smooth_value, max_ngram_order=max_ngram_order, effective_order=effective_order)
        fast = fast_ports_verified(sacrebleu_version())
        super().__init__(self._sacrebleu(""), IMPLEMENTATION["BLEU"] if fast else "sacrebleu", normalize_unicode)
        self._by_language: dict[str, BLEU] = {}

    def __getstate__(self):
        state = super().__getstate__()
        state["_by_language"] = {}  # workers build the variant they need (see _SacreBLEUMetric.__getstate__)
        return state

    def _sacrebleu(self, trg_lang: str):
        from sacrebleu.metrics import BLEU as SacreBLEU

        tokenize = self._options["tokenize"]
        if tokenize is not None and tokenize not in SacreBLEU.TOKENIZERS:
            from harness.errors import UnknownNameError

            raise UnknownNameError("BLEU tokenizer", str(tokenize), list(SacreBLEU.TOKENIZERS))
        cls = SacreBLEU
        if fast_ports_verified(sacrebleu_version()):
            from harness.metrics.bleu_fast import FastBLEU as cls
        try:
            return cls(trg_lang=trg_lang, **self._options)
        except RuntimeError as e:  # ja-mecab and ko-mecab need packages sacreBLEU does not install by default
            extra = {"ja": "ja", "ko": "ko"}.get(trg_lang, "ja,ko")
            raise ConfigError(f"BLEU for target language {trg_lang or '?'!r} uses sacreBLEU's "
                              f"{self._options['tokenize'] or SacreBLEU._TOKENIZER_MAP.get(trg_lang)!r} tokenizer, "
                              f"which needs extra packages: `pip install \"sacrebleu[{extra}]\"`; or set "
                              f"metrics.bleu.tokenize (-tok) to another tokenizer, e.g. char "
                              f"({str(e).strip().splitlines()[0]})") from None

    def for_language(self, tgt_lang: str) -> "BLEU":
        """With `tokenize: null`, the tokenizer sacreBLEU picks for the target language: zh for Chinese,
        ja-mecab for Japanese, ko-mecab for Korean, 13a otherwise (one object per language, so systems share
        its prepared references)."""
        from sacrebleu.metrics import BLEU as SacreBLEU

        from harness.languages import iso_code

        lang = iso_code(tgt_lang)
        if self._options["tokenize"] is not None or lang not in SacreBLEU._TOKENIZER_MAP:
            return self
        if lang not in self._by_language:
            variant = copy.copy(self)
            variant._sb, variant._refs_key, variant._refs_cache = self._sacrebleu(lang), None, None
            variant._by_language = {}
            self._by_language[lang] = variant
        return self._by_language[lang]

    def scores_from_statistics(self, summed: np.ndarray) -> np.ndarray:
        return self._bleu(summed, self._sb.effective_order)

    def segment_scores(self, stats: np.ndarray) -> np.ndarray:
        return self._bleu(stats, effective_order=True)

    def _bleu(self, stats: np.ndarray, effective_order: bool) -> np.ndarray:
        sb = self._sb
        n_orders = sb.max_ngram_order
        smooth = sb.smooth_method
        smooth_value = sb.smooth_value if sb.smooth_value is not None else sb.SMOOTH_DEFAULTS[smooth]
        as_float32 = _ratio_dtype(stats) is np.float32
        stats = np.asarray(stats, dtype=np.float64)
        sys_len, ref_len = stats[..., 0], stats[..., 1]
        correct = stats[..., 2:2 + n_orders].copy()
        total = stats[..., 2 + n_orders:2 + 2 * n_orders].copy()
        any_match = (correct > 0).any(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            bp = np.where(sys_len < ref_len,
                          np.where(sys_len > 0, np.exp(1 - ref_len / np.where(sys_len > 0, sys_len, 1)), 0.0),
                          1.0)
            if smooth == "add-k":
                correct[..., 1:] += smooth_value
                total[..., 1:] += smooth_value
                if as_float32:  # sacreBLEU adds in place into its float32 sums
                    correct, total = correct.astype(np.float32), total.astype(np.float32)
                    correct, total = correct.astype(np.float64), total.astype(np.float64)
            valid = np.cumprod(total > 0, axis=-1).astype(bool)  # orders before the first empty one
            safe_total = np.where(total > 0, total, 1.0)
            mteval = np.ones(stats.shape[:-1])
            log_sum = np.zeros(stats.shape[:-1])
            n_valid = valid.sum(axis=-1)
            eff = np.where(n_valid > 0, n_valid, n_orders) if effective_order else np.full(stats.shape[:-1], n_orders)
            for n in range(n_orders):  # sequential, as sacreBLEU sums the logs
                zero = valid[..., n] & (correct[..., n] == 0)
                if smooth == "exp":
                    mteval = np.where(zero, mteval * 2, mteval)
                    p_zero = 100.0 / (mteval * safe_total[..., n])
                elif smooth == "floor":
                    p_zero = 100.0 * smooth_value / safe_total[..., n]
                else:
                    p_zero = np.zeros_like(mteval)
                p = np.where(correct[..., n] == 0, p_zero, 100.0 * correct[..., n] / safe_total[..., n])
                p = np.where(valid[..., n], p, 0.0)
                log_p = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), _LOG_ZERO)
                log_sum = np.where(n < eff, log_sum + log_p, log_sum)
            score = bp * np.exp(log_sum / eff)
        return np.where(any_match, score, 0.0)

    def _details(self, s) -> str:
        precisions = "/".join(f"{p:.1f}" for p in s.precisions)
        return (f"{precisions} (BP = {s.bp:.3f} ratio = {s.sys_len / s.ref_len if s.ref_len else 0:.3f} "
                f"hyp_len = {s.sys_len:d} ref_len = {s.ref_len:d})")


class CHRF(_SacreBLEUMetric):
    """chrF (Popović, 2015) and, with `word_order=2`, chrF++ (Popović, 2017), as in sacreBLEU.

    Statistics come from `FastCHRF`, sacreBLEU's CHRF with a vectorised extraction giving the same counts."""

    def __init__(self, *, char_order: int, word_order: int, beta: int, lowercase: bool, whitespace: bool,
                 eps_smoothing: bool, normalize_unicode: str | None):
        options = dict(char_order=char_order, word_order=word_order, beta=beta, lowercase=lowercase,
                       whitespace=whitespace, eps_smoothing=eps_smoothing)
        if fast_ports_verified(sacrebleu_version()):
            from harness.metrics.chrf_fast import FastCHRF

            super().__init__(FastCHRF(**options), IMPLEMENTATION["chrF"], normalize_unicode)
        else:
            from sacrebleu.metrics import CHRF as SacreCHRF

            super().__init__(SacreCHRF(**options), "sacrebleu", normalize_unicode)
        self.name = f"chrF{beta}" + "+" * word_order

    def scores_from_statistics(self, summed: np.ndarray) -> np.ndarray:
        sb = self._sb
        ratio_dtype = _ratio_dtype(summed)
        stats = np.asarray(summed, dtype=np.float64)
        factor = sb.beta ** 2
        eps = 1e-16
        shape = stats.shape[:-1]
        score = np.zeros(shape)
        avg_prec, avg_rec = np.zeros(shape), np.zeros(shape)
        eff = np.zeros(shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in range(sb.order):  # sequential, as sacreBLEU accumulates
                n_hyp, n_ref, n_match = stats[..., 3 * i], stats[..., 3 * i + 1], stats[..., 3 * i + 2]
                prec = np.where(n_hyp > 0, _ratio(n_match, n_hyp, ratio_dtype), eps)
                rec = np.where(n_ref > 0, _ratio(n_match, n_ref, ratio_dtype), eps)
                denom = factor * prec + rec
                score = score + np.where(denom > 0, (1 + factor) * prec * rec / np.where(denom > 0, denom, 1), eps)
                both = (n_hyp > 0) & (n_ref > 0)
                avg_prec = np.where(both, avg_prec + prec, avg_prec)
                avg_rec = np.where(both, avg_rec + rec, avg_rec)
                eff = eff + both
            if sb.eps_smoothing:
                return 100 * score / sb.order
            avg_prec = np.where(eff > 0, avg_prec / np.where(eff > 0, eff, 1), 0.0)
            avg_rec = np.where(eff > 0, avg_rec / np.where(eff > 0, eff, 1), 0.0)
            pr = avg_prec + avg_rec
            f = (1 + factor) * avg_prec * avg_rec
            f = f / np.where(pr > 0, factor * avg_prec + avg_rec, 1)
            return np.where(pr > 0, 100 * f, 0.0)


class TER(_SacreBLEUMetric):
    """Translation Edit Rate (Snover et al., 2006) as in sacreBLEU; lower is better.

    Edits come from `FastTER`, sacreBLEU's TER with an exact, faster port of its shift search."""

    name = "TER"
    higher_is_better = False

    def __init__(self, *, normalized: bool, no_punct: bool, asian_support: bool, case_sensitive: bool,
                 normalize_unicode: str | None):
        options = dict(normalized=normalized, no_punct=no_punct, asian_support=asian_support,
                       case_sensitive=case_sensitive)
        if fast_ports_verified(sacrebleu_version()):
            from harness.metrics.ter_fast import FastTER

            super().__init__(FastTER(**options), IMPLEMENTATION["TER"], normalize_unicode)
        else:
            from sacrebleu.metrics import TER as SacreTER

            super().__init__(SacreTER(**options), "sacrebleu", normalize_unicode)

    def scores_from_statistics(self, summed: np.ndarray) -> np.ndarray:
        ratio_dtype = _ratio_dtype(summed)
        stats = np.asarray(summed, dtype=np.float64)
        edits, ref_len = stats[..., 0], stats[..., 1]
        ratio = np.where(ref_len > 0, _ratio(edits, ref_len, ratio_dtype), np.where(edits > 0, 1.0, 0.0))
        return 100 * ratio
