"""`mt-harness align SRC_DOC REF_DOC -o OUT.jsonl`: a document and its published translation in, a
sentence-aligned test set (JSONL) and a review file out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.align.output import (
    compare_reviewed,
    default_review_path,
    reviewed_rows,
    segment_rows,
    summary_line,
    write_outputs,
)
from harness.align.pipeline import MIN_CONFIDENCE, align_documents
from harness.align.segment import check_language, read_document
from harness.errors import DataError

HELP = "align a document with its translation into a sentence-level test set"
DESCRIPTION = ("Align a source document with its (published) translation: segment both into sentences, align them "
               "offline (length, shared numbers and names, paragraph structure), drop material without a "
               "counterpart (bylines, captions, site chrome), and write a JSONL test set plus a review file.")


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE,
                   help=f"leave out beads below this confidence (default: {MIN_CONFIDENCE}); they are listed in "
                        f"the review file")
    p.add_argument("--strict", action="store_true", help="exit with status 2 when the alignment as a whole is "
                                                         "low-confidence (for CI)")


def run(args: argparse.Namespace) -> int:
    if Path(args.output).resolve() in (Path(args.src_doc).resolve(), Path(args.ref_doc).resolve()):
        raise DataError(f"--output {args.output} would overwrite an input document; choose another file")
    src = read_document(args.src_doc, args.src_lang, "source document")
    ref = read_document(args.ref_doc, args.ref_lang, "reference document")
    check_language(src, "source document", "--src-lang")
    check_language(ref, "reference document", "--ref-lang")
    alignment = align_documents(src, ref, min_confidence=args.min_confidence)
    doc_id = args.doc_id or Path(args.src_doc).stem
    out, review = write_outputs(alignment, doc_id, args.output, args.review or default_review_path(args.output))
    print(f"{out}: {summary_line(alignment)}")
    print(f"{review}: every bead and every dropped sentence with the reason")
    for w in alignment.warnings:
        print(f"mt-harness align: warning: low confidence: {w}. Every segment is marked low_confidence.",
              file=sys.stderr)
    if args.reviewed:
        diff = compare_reviewed(segment_rows(alignment, doc_id), reviewed_rows(args.reviewed))
        print(f"{args.reviewed}: {diff.report()}")
    return 2 if args.strict and alignment.warnings else 0
