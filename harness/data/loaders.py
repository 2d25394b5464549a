"""Test-set loaders, one per storage format. Each returns a TestSet and is a `_target_` in configs/testset/.

Formats: parallel plain-text files (one segment per line), TSV, JSONL, and Hugging Face `datasets`
(local files offline, hub names when the hub is reachable)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any, Sequence

from harness.data.testset import TestSet, build_testset
from harness.errors import DataError, ModelUnavailableError
from harness.textio import read_lines, read_text

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


def _as_list(x: PathLike | Sequence[PathLike]) -> list[str]:
    return [str(x)] if isinstance(x, (str, os.PathLike)) else [str(p) for p in x]


def load_parallel(name: str, source: PathLike, references: PathLike | Sequence[PathLike],
                  src_lang: str = "vi", tgt_lang: str = "en", tone_marks: str | None = None) -> TestSet:
    """Parallel plain-text files: one segment per line; several reference files give several references."""
    srcs = read_lines(source)
    ref_files = _as_list(references)
    if not ref_files:
        raise DataError(f"test set {name!r}: no reference file given")
    ref_streams = [read_lines(r) for r in ref_files]
    for path, stream in zip(ref_files, ref_streams):
        if len(stream) != len(srcs):
            raise DataError(f"test set {name!r}: source {source} has {len(srcs)} lines but reference "
                            f"{path} has {len(stream)} lines; they must be line-aligned")
    testset = build_testset(name, src_lang, tgt_lang, srcs, list(zip(*ref_streams)),
                            origin=f"{source} | {', '.join(ref_files)}", tone_marks=tone_marks)
    return dataclasses.replace(testset, reference_files=tuple(ref_files))


_ID_KEYS = ("seg_id", "id")


def _rows_to_testset(name: str, rows: list[dict[str, Any]], src_lang: str, tgt_lang: str, origin: str,
                     where: str, tone_marks: str | None) -> TestSet:
    """Shared by TSV-with-header and JSONL: fields src, ref | refs, optional doc_id, seg_id."""
    srcs, refs, ids, docs = [], [], [], []
    for i, row in enumerate(rows, 1):
        if "src" not in row:
            raise DataError(f"{origin}: {where} {i} has no 'src' field (fields: {sorted(row)})")
        if "refs" in row:
            r = row["refs"]
            if isinstance(r, str) or not isinstance(r, list) or not all(isinstance(x, str) for x in r):
                raise DataError(f"{origin}: {where} {i}: 'refs' must be a list of strings, got {r!r}")
        elif "ref" in row:
            if not isinstance(row["ref"], str):
                raise DataError(f"{origin}: {where} {i}: 'ref' must be a string, got {row['ref']!r}")
            r = [row["ref"]]
        else:
            raise DataError(f"{origin}: {where} {i} has neither 'ref' nor 'refs' (fields: {sorted(row)})")
        if not isinstance(row["src"], str):
            raise DataError(f"{origin}: {where} {i}: 'src' must be a string, got {row['src']!r}")
        srcs.append(row["src"])
        refs.append(tuple(r))
        seg_id = next((row[k] for k in _ID_KEYS if row.get(k) is not None), None)
        ids.append(str(seg_id) if seg_id is not None else str(i))
        docs.append(None if row.get("doc_id") is None else str(row["doc_id"]))
    return build_testset(name, src_lang, tgt_lang, srcs, refs, ids=ids, doc_ids=docs, origin=origin,
                         tone_marks=tone_marks)


def load_jsonl(name: str, path: PathLike, src_lang: str = "vi", tgt_lang: str = "en",
               tone_marks: str | None = None) -> TestSet:
    """JSON Lines: one object per segment with `src`, `ref` (or `refs` for several), optional `doc_id`, `seg_id`."""
    rows = []
    for lineno, line in enumerate(read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}: line {lineno} is not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}: line {lineno} is a JSON {type(obj).__name__}, expected an object")
        rows.append(obj)
    return _rows_to_testset(name, rows, src_lang, tgt_lang, str(path), "line", tone_marks)


def load_tsv(name: str, path: PathLike, src_lang: str = "vi", tgt_lang: str = "en", header: bool = False,
             tone_marks: str | None = None) -> TestSet:
    """Tab-separated: without a header, column 1 is the source and every further column a reference;
    with `header: true`, columns are named `src`, `ref` (or `ref1`, `ref2`, ...), optional `doc_id`, `seg_id`."""
    lines = [line for line in read_lines(path)]
    if header:
        if not lines:
            raise DataError(f"{path}: empty file, expected a header line")
        columns = lines[0].split("\t")
        rows = []
        for lineno, line in enumerate(lines[1:], 2):
            cells = line.split("\t")
            if len(cells) != len(columns):
                raise DataError(f"{path}: line {lineno} has {len(cells)} columns, the header has {len(columns)}")
            row: dict[str, Any] = dict(zip(columns, cells))
            ref_cols = [c for c in columns if c == "ref" or (c.startswith("ref") and c[3:].isdigit())]
            if ref_cols:
                row.pop("ref", None)
                row["refs"] = [cells[columns.index(c)] for c in ref_cols]
            rows.append(row)
        return _rows_to_testset(name, rows, src_lang, tgt_lang, str(path), "line", tone_marks)
    srcs, refs = [], []
    width = None
    for lineno, line in enumerate(lines, 1):
        cells = line.split("\t")
        if len(cells) < 2:
            raise DataError(f"{path}: line {lineno} has {len(cells)} column(s); expected source<TAB>reference"
                            f"[<TAB>reference...] (or set header: true)")
        if width is not None and len(cells) != width:  # a stray tab must not become an extra reference
            raise DataError(f"{path}: line {lineno} has {len(cells)} columns but line 1 has {width}: a tab inside "
                            f"a segment? Every line needs source<TAB>reference with the same number of references "
                            f"(or set header: true and name the columns)")
        width = len(cells)
        srcs.append(cells[0])
        refs.append(tuple(cells[1:]))
    return build_testset(name, src_lang, tgt_lang, srcs, refs, origin=str(path), tone_marks=tone_marks)


def _get_field(record: dict, dotted: str, origin: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            known = sorted(value) if isinstance(value, dict) else []
            raise DataError(f"{origin}: no field {dotted!r} in the records (fields here: {known})")
        value = value[part]
    return value


def _saved_dataset(path: str) -> bool:
    """Whether `path` is a folder written by `Dataset.save_to_disk` / `DatasetDict.save_to_disk`."""
    folder = Path(path)
    return folder.is_dir() and ((folder / "dataset_info.json").is_file() and (folder / "state.json").is_file()
                                or (folder / "dataset_dict.json").is_file())


def _pick_split(dataset: Any, split: str, origin: str):
    """One split of a loaded DatasetDict: `split`, or the only one there is (local JSON/CSV files load as a single
    split called "train", whatever the file is)."""
    if not hasattr(dataset, "keys"):  # already a Dataset
        return dataset
    splits = list(dataset.keys())
    if split in splits:
        return dataset[split]
    if len(splits) == 1:
        log.info("%s: no split %r; using its only split, %r", origin, split, splits[0])
        return dataset[splits[0]]
    raise DataError(f"{origin}: no split {split!r}; it has {', '.join(map(repr, splits))}: set split to one of them")


def load_hf_dataset(name: str, path: str, source_field: str, reference_fields: str | Sequence[str],
                    src_lang: str = "vi", tgt_lang: str = "en", split: str = "test",
                    config_name: str | None = None, data_files: Any = None, revision: str | None = None,
                    id_field: str | None = None, doc_id_field: str | None = None,
                    tone_marks: str | None = None) -> TestSet:
    """A Hugging Face `datasets` data set: a hub name, a local folder (including one written by `save_to_disk`),
    or a builder such as "json"/"csv"/"parquet" with `data_files`. Fields may be dotted (`translation.vi`).

    With local files, a missing `split` falls back to the only split there is. A hub name is tried only when
    the hub answers: offline it fails at once with the fix, instead of after `datasets`' retries."""
    from harness.hub import hub_unreachable_reason

    origin = f"datasets:{path}" + (f"/{config_name}" if config_name else "") + f"[{split}]"
    is_local = Path(path).exists() or data_files is not None or path in ("json", "csv", "parquet", "text")
    reason = None if is_local else hub_unreachable_reason()
    if reason:
        raise ModelUnavailableError(
            f"cannot load data set {path!r}: {reason}, and it is a hub name. Download it where the hub is reachable "
            f"(`datasets.load_dataset({path!r}).save_to_disk('/data/{Path(path).name}')`) and set `path: "
            f"/data/{Path(path).name}`, or point the config at its files: `path: json` with "
            f"`data_files: /path/to/{split}.jsonl`.")
    import datasets  # heavy: imported only when a data set is loaded

    try:
        if _saved_dataset(path):
            ds = _pick_split(datasets.load_from_disk(path), split, origin)
        else:
            ds = _pick_split(datasets.load_dataset(path, config_name, data_files=data_files, revision=revision),
                             split, origin)
    except DataError:
        raise
    except (FileNotFoundError, ConnectionError, OSError, ValueError) as e:
        raise DataError(f"cannot load data set {origin}: {type(e).__name__}: {e}") from None
    ref_fields = _as_list(reference_fields)
    srcs, refs, ids, docs = [], [], [], []
    for i, rec in enumerate(ds):
        srcs.append(str(_get_field(rec, source_field, origin)))
        refs.append(tuple(str(_get_field(rec, f, origin)) for f in ref_fields))
        ids.append(str(_get_field(rec, id_field, origin)) if id_field else str(i + 1))
        docs.append(str(_get_field(rec, doc_id_field, origin)) if doc_id_field else None)
    return build_testset(name, src_lang, tgt_lang, srcs, refs, ids=ids, doc_ids=docs, origin=origin,
                         tone_marks=tone_marks)
