"""Answer cleaning on answers shaped like those chat models give (Qwen2.5, Llama 3, SeaLLM, Vistral, GPT-4o
answers to "translate this Vietnamese sentence into English"): what is removed, and what must stay."""

import pytest

from harness.systems.llm_answers import CLEANING_STEPS, clean_answer, clean_answers

SRC = "Đoàn đại biểu cấp cao thành phố Hà Nội thăm và làm việc tại Nhật Bản."
TGT = "Hanoi high-ranking delegation visits and works in Japan."

# (source, raw answer, expected translation, expected cleaning steps)
CASES = [
    # preambles, English and Vietnamese
    (SRC, f"Here is the translation:\n\n{TGT}", TGT, ["preamble"]),
    (SRC, f"Sure! Here's the English translation of the Vietnamese text:\n{TGT}", TGT, ["preamble"]),
    (SRC, f"Sure!\n\n{TGT}", TGT, ["preamble"]),
    (SRC, f"Translation: {TGT}", TGT, ["preamble"]),
    (SRC, f"**English translation:** {TGT}", TGT, ["preamble"]),
    (SRC, f"Bản dịch: {TGT}", TGT, ["preamble"]),
    (SRC, f"Dịch: {TGT}", TGT, ["preamble"]),
    (SRC, f"Đây là bản dịch sang tiếng Anh:\n{TGT}", TGT, ["preamble"]),
    (SRC, f"Bản dịch tiếng Anh: {TGT}", TGT, ["preamble"]),
    (SRC, f"The translation of the given Vietnamese text into English is:\n\n{TGT}", TGT, ["preamble"]),
    (SRC, f"Translated into English: {TGT}", TGT, ["preamble"]),
    # the prompt's label repeated, and the source echoed before it
    (SRC, f"English: {TGT}", TGT, ["label"]),
    (SRC, f"Vietnamese: {SRC}\nEnglish: {TGT}", TGT, ["echoed_source", "label"]),
    # code fences and quotes
    (SRC, f"```\n{TGT}\n```", TGT, ["code_fence"]),
    (SRC, f"Here is the translation:\n```text\n{TGT}\n```\nLet me know if you need anything else.", TGT,
     ["code_fence"]),
    (SRC, f'"{TGT}"', TGT, ["quotes"]),
    (SRC, f"“{TGT}”", TGT, ["quotes"]),
    (SRC, f'Translation: "{TGT}"', TGT, ["preamble", "quotes"]),
    # trailing notes
    (SRC, f"{TGT}\n\nNote: \"UBND\" stands for People's Committee.", TGT, ["trailing_note"]),
    (SRC, f"{TGT}\nNote that \"cấp cao\" means high-ranking.", TGT, ["trailing_note"]),
    (SRC, f"{TGT} (Note: the verb tense is inferred from context.)", TGT, ["trailing_note"]),
    (SRC, f"{TGT} I hope this helps!", TGT, ["trailing_note"]),
    (SRC, f"{TGT}\n\n(Lưu ý: \"thăm\" có thể dịch là \"visit\".)", TGT, ["trailing_note"]),
    # several paragraphs or lines for a one-line source
    (SRC, f"{TGT}\n\nAlternatively: A high-level Hanoi delegation visited Japan.", TGT, ["trailing_note"]),
    (SRC, f"{TGT}\n\nA high-level Hanoi delegation visited Japan.", TGT, ["first_paragraph"]),
    (SRC, "Hanoi high-ranking delegation\nvisits and works in Japan.", TGT, ["joined_lines"]),
    # everything at once
    (SRC, f"Sure! Here's the translation:\n\n\"{TGT}\"\n\nNote: I kept the word order.\n\nI hope this helps!", TGT,
     ["preamble", "trailing_note", "quotes"]),
    # untouched: a plain translation, surrounding whitespace only, quotes that are not a wrapper,
    # apostrophes, a translation that starts with "Note that" because the source does
    (SRC, TGT, TGT, []),
    (SRC, f"  {TGT}\n", TGT, []),
    ('Ông nói "có" rồi lại nói "không".', '"Yes," he said, then "no."', '"Yes," he said, then "no."', []),
    ("Kế hoạch của thành phố.", "'The city's plan'", "The city's plan", ["quotes"]),
    ("Lưu ý rằng cuộc họp bắt đầu lúc 9 giờ.", "Note that the meeting starts at 9 o'clock.",
     "Note that the meeting starts at 9 o'clock.", []),
    ("Lưu ý: Giá có thể thay đổi.", "Note: Prices may change.", "Note: Prices may change.", []),
]


@pytest.mark.parametrize("source, answer, expected, steps", CASES,
                         ids=[f"{i}-{'+'.join(case[3]) or 'untouched'}" for i, case in enumerate(CASES)])
def test_cleaning_table(source, answer, expected, steps):
    cleaned = clean_answer(answer, source, target_language="English", source_language="Vietnamese")
    assert cleaned.text == expected
    assert cleaned.steps == steps


# legitimate answers that cleaning must leave alone (or only join into one line)
KEPT = [
    # the source carries the same shape, so the translation does too: where the line is
    ("Tiếng Anh: môn học bắt buộc.", "English: a compulsory subject."),
    ("Bản dịch: bản thảo thứ hai của cuốn sách.", "Translation: the second draft of the book."),
    ("Giá là 5 USD (lưu ý: giá có thể thay đổi).", "The price is 5 USD (note: prices may change)."),
    ("Tôi hy vọng điều này giúp ích. Cảm ơn.", "Thank you. I hope this helps!"),
    ('"Chúng tôi sẽ trở lại," ông nói.', '"We will be back," he said.'),
    ('"Xin chào"', '"Hello"'),
    # a source with several paragraphs keeps its paragraphs and line breaks, and its note
    ("Đoạn một.\n\nĐoạn hai.", "Paragraph one.\n\nParagraph two."),
    ("Dòng một.\nLưu ý: dòng hai.", "Line one.\nNote: line two."),
    # "translation" starting a sentence of the translation itself (no colon right after the phrase)
    ("Bản dịch của cuốn sách đã được xuất bản: một thành công lớn.",
     "The translation of the book was published: a great success."),
    # a wrapped line that merely starts with "Alternative" is no note
    ("Nguồn năng lượng thay thế đang tăng.", "Sources of\nAlternative energy are growing."),
    # a bare preamble with nothing after it is not turned into an empty hypothesis
    (SRC, "Here is the translation:"),
    # "note" inside a wrapped line is not a note (lower case), and is joined instead
    ("Tài liệu ghi rằng giá tăng.", "The document\nnotes that prices rose."),
]


@pytest.mark.parametrize("source, answer", KEPT, ids=[f"kept-{i}" for i in range(len(KEPT))])
def test_legitimate_text_is_kept(source, answer):
    cleaned = clean_answer(answer, source, target_language="English", source_language="Vietnamese")
    if "\n" in answer and "\n" not in source:
        assert cleaned.text == " ".join(answer.split("\n")) and cleaned.steps == ["joined_lines"]
    else:
        assert cleaned.text == answer and cleaned.steps == []


def test_single_line_source_gives_single_line_output_whatever_the_answer():
    answers = [f"Here:\n\n{TGT}\n\nOr:\n\nSomething else\nwith lines", "a\nb\n\nc", "\n\n", None, "x\r\ny"]
    for cleaned in clean_answers(answers, [SRC] * len(answers)):
        assert "\n" not in cleaned.text


def test_missing_answer_is_empty_not_an_error():
    assert clean_answer(None, SRC) == clean_answer("", SRC)
    assert clean_answer(None, SRC).text == "" and clean_answer(None, SRC).steps == []


def test_one_output_per_input_and_mismatched_lengths_are_refused():
    out = clean_answers([TGT, f"Translation: {TGT}", ""], [SRC, SRC, SRC])
    assert [c.text for c in out] == [TGT, TGT, ""]
    with pytest.raises(ValueError, match="2 answers for 3 sources"):
        clean_answers([TGT, TGT], [SRC, SRC, SRC])


def test_reported_steps_are_known_names_in_rule_order():
    steps = clean_answer(f"```\nTranslation: \"{TGT}\"\n```\n\nNote: x", SRC).steps
    assert steps and set(steps) <= set(CLEANING_STEPS)
    assert steps == sorted(steps, key=CLEANING_STEPS.index)


def test_target_language_label_follows_the_test_set():
    # for a French target, "French:" is the label; "English:" is then text (not a label it could have echoed)
    assert clean_answer("French: Bonjour.", "Xin chào.", target_language="French").text == "Bonjour."
    assert clean_answer("English: Bonjour.", "Xin chào.", target_language="French").text == "English: Bonjour."


def test_no_torch_needed():
    import subprocess
    import sys

    code = "import sys, harness.systems.llm_answers; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
