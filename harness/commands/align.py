"""`mt-harness align SRC_DOC REF_DOC -o OUT.jsonl`: a document and its published translation in, a
sentence-aligned test set (JSONL) and a review file out."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from harness.errors import DataError

HELP = "align a document with its translation into a sentence-level test set"
DESCRIPTION = ("Align a source document with its (published) translation: segment both into sentences, align them "
               "offline (length, shared numbers and names, paragraph structure), drop material without a "
               "counterpart (bylines, captions, site chrome), and write a JSONL test set plus a review file.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from harness.align.pipeline import MIN_CONFIDENCE  # the aligner loads only for `align` (see cli.build_parser)

    p.add_argument("src_doc", metavar="SRC_DOC", help="source document: UTF-8 text, one paragraph per line or "
                                                      "paragraphs separated by blank lines")
    p.add_argument("ref_doc", metavar="REF_DOC", help="its translation (e.g. the published version), same format")
    p.add_argument("-o", "--output", required=True, metavar="OUT.jsonl", help="test set to write (JSON Lines)")
    p.add_argument("--src-lang", default="vi", help="language of SRC_DOC (default: vi)")
    p.add_argument("--ref-lang", default="en", help="language of REF_DOC (default: en)")
    p.add_argument("--doc-id", help="document id for every segment (default: the stem of SRC_DOC's file name)")
    p.add_argument("--review", metavar="FILE", help="review file to write (default: OUT.review.md)")
    p.add_argument("--reviewed", metavar="FILE", help="a human-corrected copy of the test set: report how many "
                                                      "beads differ from the automatic output")
    # read as text and checked in run(), so a bad value gets the CLI's one-line error, not argparse's usage
    p.add_argument("--min-confidence", metavar="P", default=None,
                   help=f"leave out beads below this confidence, a number from 0 to 1 (default: {MIN_CONFIDENCE}); "
                        f"they are listed in the review file")
    p.add_argument("--strict", action="store_true", help="exit with status 2 when the alignment as a whole is "
                                                         "low-confidence (for CI)")


def number_in_range(option: str, text: str, lowest: float, highest: float, meaning: str) -> float:
    """The value of a numeric option, or a DataError naming the option, the value and the range."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not lowest <= value <= highest:  # NaN fails too
        problem = "is not a number" if math.isnan(value) else "is out of range"
        raise DataError(f"{option} {text} {problem}: give a number from {lowest:g} to {highest:g} ({meaning})")
    return value


def _writable(path: str, option: str) -> None:
    """Create the folder `path` goes into, now rather than after the alignment; a DataError if it cannot be."""
    target = Path(path)
    if target.is_dir():
        raise DataError(f"{option} {path} is a folder; give a file name, e.g. {target / 'aligned.jsonl'}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        blocking = next((f for f in [target.parent, *target.parent.parents] if f.exists() and not f.is_dir()), None)
        why = f"{blocking} is a file" if blocking else e.strerror or str(e)
        raise DataError(f"{option} {path}: cannot create the folder {target.parent} ({why}); "
                        f"choose a folder you can write to") from None


def run(args: argparse.Namespace) -> int:
    from harness.align.output import (
        compare_reviewed,
        default_review_path,
        reviewed_rows,
        segment_rows,
        summary_line,
        write_outputs,
    )
    from harness.align.pipeline import MIN_CONFIDENCE, UNRELATED_CONFIDENCE, align_documents
    from harness.align.segment import check_language, read_document

    min_confidence = MIN_CONFIDENCE if args.min_confidence is None else number_in_range(
        "--min-confidence", args.min_confidence, 0.0, 1.0, f"a bead's confidence; default {MIN_CONFIDENCE}")
    if Path(args.output).resolve() in (Path(args.src_doc).resolve(), Path(args.ref_doc).resolve()):
        raise DataError(f"--output {args.output} would overwrite an input document; choose another file")
    review_path = args.review or default_review_path(args.output)
    _writable(args.output, "--output")
    _writable(str(review_path), "--review" if args.review else "--output (its review file)")
    src = read_document(args.src_doc, args.src_lang, "source document")
    ref = read_document(args.ref_doc, args.ref_lang, "reference document")
    check_language(src, "source document", "--src-lang")
    check_language(ref, "reference document", "--ref-lang")
    alignment = align_documents(src, ref, min_confidence=min_confidence)
    doc_id = args.doc_id or Path(args.src_doc).stem
    try:
        out, review = write_outputs(alignment, doc_id, args.output, review_path)
    except OSError as e:
        raise DataError(f"cannot write {e.filename or args.output} ({e.strerror or e}); choose a folder you can "
                        f"write to with --output") from None
    print(f"{out}: {summary_line(alignment)}")
    print(f"{review}: every bead and every dropped sentence with the reason")
    for w in alignment.warnings:
        print(f"mt-harness align: warning: low confidence: {w}.", file=sys.stderr)
    if alignment.warnings:
        print(f"mt-harness align: warning: every segment is marked low_confidence and its confidence multiplied by "
              f"{alignment.confidence_scale:.2f}, to below {UNRELATED_CONFIDENCE}", file=sys.stderr)
    if args.reviewed:
        diff = compare_reviewed(segment_rows(alignment, doc_id), reviewed_rows(args.reviewed))
        print(f"{args.reviewed}: {diff.report()}")
    return 2 if args.strict and alignment.warnings else 0
