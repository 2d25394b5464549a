"""COMET, CometKiwi and xCOMET through unbabel-comet's Python API.

How a COMET model fits the Metric interface:
- statistics per segment are `[score, 1, truncated]`: the corpus score is the mean segment score, and the
  third column (1 where the encoder cut an input at its length limit) rides along in the statistics cache,
  so a fully cached re-run still reports how many segments were truncated;
- `signature()` holds settings only (checkpoint identity, references, precision, batch size, versions) and
  never loads the model, so it can key the cache; the corpus signature adds the truncation count;
- the model is loaded on the first segment that needs scoring, through comet's own `download_model` and
  `load_from_checkpoint`; what cannot be loaded offline is reported with the name and the fix.

Scoring takes one of two paths, both batched by token length (longest first) under `torch.inference_mode`:
- reference-based regression models (wmt22-comet-da) encode sources, references and hypotheses separately,
  so each distinct text is encoded once per metric object and its embedding reused for every system (kept in
  a bounded memo): N systems cost N+2 encoder passes instead of predict's 3N (`model.estimate` on the
  embeddings gives the same scores as `predict`);
- other models (CometKiwi, xCOMET: the encoder reads hypothesis, source and reference jointly) run comet's
  own `prepare_sample` and `predict_step` on our batches, without predict's per-call Lightning Trainer.

Several references: the segment score is the mean of its scores against each reference; xCOMET's error
spans are those found against the first reference.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from harness.cache import Cache
from harness.devices import pick_device
from harness.errors import ConfigError, DataError, HarnessError, ModelUnavailableError
from harness.hub import load_pretrained
from harness.metrics.base import CorpusScore, Metric
from harness.metrics.comet_checkpoint import (
    GATED,
    checkpoint_identity,
    checkpoint_in,
    encoder_files_available,
    read_hparams,
)

log = logging.getLogger(__name__)

PRECISIONS = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


@dataclass
class EncoderCounts:
    """What the encoder did for one metric object (tests and the benchmark read these)."""

    passes: int = 0      # encodings of one kind of input (sources, references, hypotheses, joint inputs) per call
    batches: int = 0     # forward calls
    sequences: int = 0   # rows fed to the encoder
    reused: int = 0      # sentence embeddings taken from the memo instead of encoded again


class EmbeddingMemo:
    """Sentence embeddings by text (with their truncation flag), least recently used dropped beyond `capacity`."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[Any, bool]] = OrderedDict()

    def get(self, text: str) -> tuple[Any, bool] | None:
        item = self._items.get(text)
        if item is not None:
            self._items.move_to_end(text)
        return item

    def put(self, text: str, embedding, truncated: bool) -> None:
        if self.capacity <= 0:
            return
        self._items[text] = (embedding, truncated)
        self._items.move_to_end(text)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def _import_comet():
    """`import comet`, undoing what it does at import time: `logging.basicConfig(level=INFO)` on the root
    logger (the harness's logging is the caller's business) and pkg_resources deprecation noise."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        import comet
    root.handlers[:] = handlers
    root.setLevel(level)
    return comet


def _reference_use(model) -> tuple[bool, bool]:
    """(accepts references, requires references) for a loaded COMET model."""
    from comet.models import UnifiedMetric

    requires = bool(model.requires_references())
    if isinstance(model, UnifiedMetric):
        return "ref" in model.hparams.input_segments, requires
    return requires, requires


def _can_share_embeddings(model) -> bool:
    """Only plain RegressionMetric models encode src, mt and ref each on its own (wmt22-comet-da style)."""
    from comet.models import RegressionMetric

    return type(model) is RegressionMetric and not model.use_context and not model.mc_dropout


def _pad(rows: Sequence[Sequence[int]], pad_id: int, left: bool):
    """input_ids and attention_mask tensors for token id lists, padded as the tokenizer pads."""
    import torch

    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        span = slice(width - len(r), width) if left else slice(0, len(r))
        input_ids[i, span] = torch.tensor(r, dtype=torch.long)
        mask[i, span] = 1
    return input_ids, mask


def _to_device(batch, device: str):
    """A prepared batch (tensors in dicts and tuples, plus offsets lists) with its tensors on `device`."""
    if hasattr(batch, "to") and not isinstance(batch, (dict, list, tuple)):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple):
        return tuple(_to_device(v, device) for v in batch)
    return batch


def token_ids(tokenizer, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], np.ndarray]:
    """Token ids as comet's `Encoder.prepare_sample` makes them (special tokens, cut to `max_length`), and a
    flag per text that says whether it was cut."""
    ids = tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]
    truncated = np.array([len(x) > max_length for x in ids], dtype=bool)
    long = np.flatnonzero(truncated)
    if len(long):
        for i, cut in zip(long, tokenizer([texts[i] for i in long], truncation=True, max_length=max_length)["input_ids"]):
            ids[i] = cut
    return ids, truncated


# -------------------------------------------------------------------------------------------------- metric

class COMET(Metric):
    """A COMET-family metric (configs/metric/comet.yaml, cometkiwi.yaml, xcomet.yaml hold the defaults of each;
    `harness.config.build_metric("comet", {"model": ...})` builds one). Building one is cheap: the checkpoint
    is loaded on the first segment that needs scoring (never when every segment is cached)."""

    needs_sources = True
    display_digits = 4
    meaningful_difference = 0.01  # scores are about 0..1: one hundredth is the usual "one point"
    implementation = "comet-1"   # the batching, multi-reference averaging and truncation flags below

    def __init__(self, *, model: str, name: str, encoder: str | None, use_references: bool, error_spans: bool,
                 batch_size: int, device: str, precision: str, reuse_embeddings: bool, max_cached_embeddings: int,
                 progress_bar: bool, cache_dir: str | None):
        if precision not in PRECISIONS:
            raise ConfigError(f"metric {name}: precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if int(batch_size) < 1:
            raise ConfigError(f"metric {name}: batch_size must be >= 1, not {batch_size}")
        if int(max_cached_embeddings) < 0:
            raise ConfigError(f"metric {name}: max_cached_embeddings must be >= 0, not {max_cached_embeddings}")
        self.name, self.model_name = name, str(model)
        self.encoder_name = str(encoder) if encoder else None
        self.needs_references = bool(use_references)
        self.has_segment_details = bool(error_spans)
        self.batch_size, self.device, self.precision = int(batch_size), device, precision
        self.reuse_embeddings, self.progress_bar = bool(reuse_embeddings), bool(progress_bar)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        #: what a user sets to change the checkpoint or encoder (the score command puts its options here)
        self.option_hints = {opt: f"metrics.{name.lower()}.{opt}" for opt in ("model", "encoder", "batch_size")}
        self.counts = EncoderCounts()
        self._memo = EmbeddingMemo(int(max_cached_embeddings))
        self._identity: str | None = None
        self._model = None
        self._runtime: dict[str, Any] = {}

    def __getstate__(self):  # worker processes load their own model
        state = dict(self.__dict__)
        state["_model"], state["_memo"] = None, EmbeddingMemo(self._memo.capacity)
        return state

    # -- signature ------------------------------------------------------------------------------------------

    def _checkpoint_identity(self) -> str:
        if self._identity is None:
            memo = Cache(self.cache_dir / "cache.sqlite" if self.cache_dir else None)
            try:
                self._identity = checkpoint_identity(self.model_name, memo)
            finally:
                memo.close()
        return self._identity or f"{self.model_name}@unresolved"

    def _signature(self, num_refs: int, truncated: int | None = None) -> str:
        parts = [self.name, f"model:{self._checkpoint_identity()}"]
        if self.encoder_name:
            parts.append(f"encoder:{self.encoder_name.rstrip('/').split('/')[-1]}")
        parts += [f"nrefs:{num_refs if self.needs_references else 0}", f"prec:{self.precision}",
                  f"bs:{self.batch_size}"]
        if truncated is not None:
            parts.append(f"trunc:{truncated}")
        for package, label in (("unbabel-comet", "comet"), ("transformers", "transformers"), ("torch", "torch")):
            try:
                parts.append(f"{label}:{version(package)}")
            except PackageNotFoundError:
                parts.append(f"{label}:none")
        return "|".join(parts)

    def signature(self, num_refs: int = 1) -> str:
        return self._signature(num_refs)

    def corpus_score(self, stats: np.ndarray, num_refs: int = 1) -> CorpusScore:
        total = stats.sum(axis=0)
        truncated = int(total[2]) if stats.shape[1] > 2 else 0
        limit = f" of {self._runtime['max_tokens']} tokens" if "max_tokens" in self._runtime else ""
        details = (f"{truncated} of {len(stats)} segments had an input longer than the encoder's limit{limit}; "
                   f"the encoder saw them truncated" if truncated else "")
        return CorpusScore(self.name, float(self.scores_from_statistics(total)),
                           self._signature(num_refs, truncated), details)

    # -- statistics -------------------------------------------------------------------------------------------

    def scores_from_statistics(self, summed: np.ndarray) -> np.ndarray:
        summed = np.asarray(summed, dtype=np.float64)
        return summed[..., 0] / summed[..., 1]

    def segment_scores(self, stats: np.ndarray) -> np.ndarray:
        return np.asarray(stats, dtype=np.float64)[:, 0]

    def segment_statistics(self, hyps, refs, srcs=None) -> np.ndarray:
        return self.segment_statistics_with_details(hyps, refs, srcs)[0]

    def segment_statistics_with_details(self, hyps: Sequence[str], refs: Sequence[Sequence[str]],
                                        srcs: Sequence[str] | None = None) -> tuple[np.ndarray, list[dict] | None]:
        if srcs is None:
            raise DataError(f"metric {self.name} needs the source sentences")
        if len(hyps) == 0:
            return np.zeros((0, 3)), [] if self.has_segment_details else None
        self.load()
        import torch

        hyps, srcs = [str(h) for h in hyps], [str(s) for s in srcs]
        refs = [tuple(map(str, r)) for r in refs] if self.needs_references else [()] * len(hyps)
        if self.needs_references and any(not r for r in refs):
            raise DataError(f"metric {self.name} needs a reference for every segment")
        from tqdm.auto import tqdm

        with torch.inference_mode(), tqdm(desc=self.name, unit="seq", leave=False,
                                          disable=None if self.progress_bar else True) as bar:
            try:
                if self._runtime["shares_embeddings"]:
                    scores, truncated = self._score_with_shared_embeddings(hyps, refs, srcs, bar)
                    spans = None
                else:
                    scores, truncated, spans = self._score_jointly(hyps, refs, srcs, bar)
            except torch.cuda.OutOfMemoryError:
                raise HarnessError(f"metric {self.name}: out of memory on {self._runtime['device']} at batch size "
                                   f"{self.batch_size}; set `{self.option_hints['batch_size']}` lower") from None
        stats = np.column_stack([scores, np.ones(len(hyps)), truncated.astype(np.float64)])
        details = [{"error_spans": s} for s in spans] if self.has_segment_details else None
        return stats, details

    # -- loading --------------------------------------------------------------------------------------------

    def _checkpoint_file(self, name: str, local_files_only: bool = False) -> Path:
        """`load_pretrained`'s loader: a local path as is, a hub id through comet's `download_model`."""
        path = Path(name)
        if path.exists():
            return checkpoint_in(path)
        comet = _import_comet()
        try:
            return Path(comet.download_model(name, local_files_only=local_files_only))
        except KeyError as e:
            # download_model turns every failure (offline, not cached, no such repository) into
            # KeyError("Model ... not supported by COMET."); report it as the download failure it is
            raise OSError(f"comet.download_model failed ({e.args[0] if e.args else e})") from None

    def load(self):
        """Load the checkpoint (once); returns the comet model."""
        if self._model is not None:
            return self._model
        import torch

        start = time.perf_counter()
        try:
            ckpt = load_pretrained(self._checkpoint_file, self.model_name, what="COMET checkpoint",
                                   config_key=self.option_hints["model"])
        except ModelUnavailableError as e:
            if self.model_name in GATED:  # the download that fixes it needs more than a reachable hub
                raise ModelUnavailableError(f"{e} Note: {self.model_name} is gated: accept its licence on "
                                            f"https://huggingface.co/{self.model_name} and run "
                                            f"`huggingface-cli login` before downloading it.") from None
            raise
        hparams = read_hparams(ckpt)
        encoder = self.encoder_name or str(hparams.get("pretrained_model") or "")
        local_only = bool(encoder) and encoder_files_available(encoder, self.model_name, self.option_hints["encoder"])
        model = self._load_checkpoint(ckpt, hparams, encoder, local_only)

        accepts_refs, requires_refs = _reference_use(model)
        kind = type(model).__name__
        if self.needs_references and not accepts_refs:
            raise ConfigError(f"metric {self.name}: checkpoint {self.model_name} ({kind}) is reference-free (quality "
                              f"estimation); score it with the cometkiwi config or set use_references=false")
        if not self.needs_references and requires_refs:
            raise ConfigError(f"metric {self.name}: checkpoint {self.model_name} ({kind}) needs references; score it "
                              f"with the comet config or set use_references=true")
        if self.has_segment_details and not getattr(model, "word_level", False):
            raise ConfigError(f"metric {self.name}: checkpoint {self.model_name} ({kind}) has no word-level outputs, "
                              f"so it gives no error spans; set error_spans=false")
        device = pick_device(self.device)
        if device == "cpu" and self.precision != "fp32":
            log.warning("%s: %s on the CPU is slow and less exact than fp32; it is meant for GPUs", self.name,
                        self.precision)
        model = model.to(device=device, dtype=getattr(torch, PRECISIONS[self.precision])).eval()
        self._model = model
        self._runtime = {
            "device": device, "class": kind, "checkpoint": str(ckpt), "encoder": encoder,
            "shares_embeddings": self.reuse_embeddings and _can_share_embeddings(model),
            "max_tokens": model.encoder.max_positions - 2,  # what Encoder.prepare_sample cuts inputs to
            "load_seconds": round(time.perf_counter() - start, 2),
        }
        log.info("%s: loaded %s (%s) on %s in %.1f s", self.name, self.model_name, kind, device,
                 self._runtime["load_seconds"])
        return model

    def _load_checkpoint(self, ckpt: Path, hparams: dict[str, Any], encoder: str, local_only: bool):
        comet = _import_comet()
        try:
            if not self.encoder_name:
                return comet.load_from_checkpoint(str(ckpt), local_files_only=local_only)
            # comet's loader takes the encoder from the checkpoint; Lightning lets keyword arguments override it
            from comet.models import str2model

            overrides = {"pretrained_model": encoder}
            if hparams.get("layer_transformation") == "sparsemax_patch":  # as comet.load_from_checkpoint does
                overrides["layer_transformation"] = "softmax"
            return str2model[hparams["class_identifier"]].load_from_checkpoint(
                checkpoint_path=ckpt, load_pretrained_weights=False, map_location="cpu", strict=False,
                local_files_only=local_only, **overrides)
        except HarnessError:
            raise
        except Exception as e:  # torch.load, Lightning and transformers raise many kinds; name the file
            raise ModelUnavailableError(f"cannot load COMET checkpoint {ckpt} (encoder {encoder!r}): "
                                        f"{type(e).__name__}: {e}") from e

    def runtime_info(self) -> dict[str, Any]:
        """Facts known after loading (device, model class, load time) and the encoder counts; {} when every
        segment came from the cache and the model was never loaded."""
        return {**self._runtime, "encoder_counts": vars(self.counts).copy()} if self._runtime else {}

    # -- scoring ----------------------------------------------------------------------------------------------

    def _embeddings(self, texts: Sequence[str], bar):
        """Sentence embeddings (rows in `texts` order, on the CPU) and truncation flags. Each distinct text is
        taken from the memo or encoded once, longest first, and kept in the memo: sources and references are
        then encoded once for all systems, and so is a hypothesis that several systems share."""
        import torch

        model, device = self._model, self._runtime["device"]
        found: dict[str, tuple[Any, bool]] = {}
        todo = []
        for text in dict.fromkeys(texts):
            hit = self._memo.get(text)
            if hit is None:
                todo.append(text)
            else:
                found[text] = hit
        self.counts.reused += len(found)
        bar.update(len(found))
        if todo:
            tok = model.encoder.tokenizer
            ids, truncated = token_ids(tok, todo, self._runtime["max_tokens"])
            order = sorted(range(len(todo)), key=lambda i: -len(ids[i]))
            self.counts.passes += 1
            for b in range(0, len(order), self.batch_size):
                idx = order[b:b + self.batch_size]
                input_ids, mask = _pad([ids[i] for i in idx], tok.pad_token_id, tok.padding_side == "left")
                emb = model.get_sentence_embedding(input_ids.to(device), mask.to(device)).cpu()
                for i, row in zip(idx, emb):
                    found[todo[i]] = (row, bool(truncated[i]))
                    self._memo.put(todo[i], row, bool(truncated[i]))
                self.counts.batches += 1
                self.counts.sequences += len(idx)
                bar.update(len(idx))
        return (torch.stack([found[t][0] for t in texts]),
                np.array([found[t][1] for t in texts], dtype=bool))

    def _score_with_shared_embeddings(self, hyps, refs, srcs, bar) -> tuple[np.ndarray, np.ndarray]:
        model, device = self._model, self._runtime["device"]
        flat_refs = [r for seg_refs in refs for r in seg_refs]
        seg_of_pair = np.repeat(np.arange(len(hyps)), [len(r) for r in refs])
        bar.total = len(set(srcs)) + len(set(flat_refs)) + len(set(hyps))
        src_emb, src_cut = self._embeddings(srcs, bar)
        ref_emb, ref_cut = self._embeddings(flat_refs, bar)
        hyp_emb, hyp_cut = self._embeddings(hyps, bar)
        pair_scores = np.empty(len(flat_refs))
        for b in range(0, len(flat_refs), 1024):  # the feed-forward head on (src, mt, ref) embedding triples
            pairs = slice(b, b + 1024)
            segs = seg_of_pair[pairs]
            pred = model.estimate(src_emb[segs].to(device), hyp_emb[segs].to(device), ref_emb[pairs].to(device))
            pair_scores[pairs] = pred.score.float().cpu().numpy()
        n_refs = np.bincount(seg_of_pair, minlength=len(hyps))
        scores = np.bincount(seg_of_pair, weights=pair_scores, minlength=len(hyps)) / n_refs
        ref_cut_any = np.bincount(seg_of_pair, weights=ref_cut, minlength=len(hyps)) > 0
        return scores, src_cut | hyp_cut | ref_cut_any

    def _score_jointly(self, hyps, refs, srcs, bar) -> tuple[np.ndarray, np.ndarray, list | None]:
        """comet's own `prepare_sample` + `predict_step` on length-sorted batches: one sample per
        (segment, reference), or per segment without references."""
        from comet.models import UnifiedMetric

        model, device = self._model, self._runtime["device"]
        samples, seg_of_sample = [], []
        for i, (hyp, src) in enumerate(zip(hyps, srcs)):
            for ref in refs[i] or (None,):
                samples.append({"src": src, "mt": hyp} if ref is None else {"src": src, "mt": hyp, "ref": ref})
                seg_of_sample.append(i)
        seg_of_sample = np.asarray(seg_of_sample)
        joint = isinstance(model, UnifiedMetric)
        used = ["mt"] + [k for k in ("src", "ref") if not joint or k in model.hparams.input_segments]
        texts = list(dict.fromkeys(s[k] for s in samples for k in used if k in s))
        ids, cut = token_ids(model.encoder.tokenizer, texts, self._runtime["max_tokens"])
        length = {t: len(x) for t, x in zip(texts, ids)}
        was_cut = dict(zip(texts, cut))
        sizes, truncated = np.empty(len(samples)), np.zeros(len(samples), dtype=bool)
        for j, s in enumerate(samples):
            parts = [s[k] for k in used if k in s]
            sizes[j] = sum(length[p] for p in parts)
            truncated[j] = any(was_cut[p] for p in parts)
            if joint and len(parts) > 1:  # Encoder.concat_sequences cuts the joined input to the encoder's limit
                special = 1 + len(parts) * model.encoder.size_separator
                truncated[j] |= sum(length[p] - 2 for p in parts) > model.encoder.max_positions - special
        order = np.argsort(-sizes, kind="stable")
        bar.total = len(samples)
        scores = np.empty(len(samples))
        spans: list | None = [None] * len(samples) if self.has_segment_details else None
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            batch = model.prepare_for_inference([samples[i] for i in idx])
            pred = model.predict_step(_to_device(batch, device))
            scores[idx] = pred["scores"].float().cpu().numpy()
            if spans is not None:
                for i, s in zip(idx, pred["metadata"]["error_spans"]):
                    spans[i] = s
            # encoder inputs per sample: 1 or 3 joint sequences (unified models), or src/mt/ref encoded apart
            n_inputs = len(batch) if isinstance(batch, (tuple, list)) else sum(k.endswith("input_ids") for k in batch)
            self.counts.passes += n_inputs if b == 0 else 0
            self.counts.batches += 1
            self.counts.sequences += n_inputs * len(idx)
            bar.update(len(idx))
        n_refs = np.bincount(seg_of_sample, minlength=len(hyps))
        seg_scores = np.bincount(seg_of_sample, weights=scores, minlength=len(hyps)) / n_refs
        seg_cut = np.bincount(seg_of_sample, weights=truncated, minlength=len(hyps)) > 0
        first = np.unique(seg_of_sample, return_index=True)[1]  # each segment's first reference
        return seg_scores, seg_cut, [spans[j] for j in first] if spans is not None else None
