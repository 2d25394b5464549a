"""`mt-harness align`: a document and its (published) translation in, a sentence-aligned test set out.

    segment.py    documents -> paragraphs -> sentences; language check
    anchors.py    numbers, dates and names shared by a sentence and its translation
    evidence.py   what marks a paragraph as page material (credit, URL, repeat, menu-like line)
    bead_costs.py bead costs: length (Gale & Church), anchors, paragraph structure, optional similarity
    dp.py         the dynamic programme over bead shapes (vectorised; a guided corridor for long documents)
    pipeline.py   align_documents(): the two passes, what is kept, what is dropped and why, warnings
    output.py     the JSONL test set, the Markdown review file, comparison with a reviewed copy
    synthetic.py  evaluation on synthetic documents built from FLORES-200
"""
