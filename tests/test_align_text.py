"""Reading documents, sentence segmentation, anchors and the language check of `mt-harness align`."""

import pytest

from harness.align.anchors import capitalised_words, extract_anchors, normalise_number, strip_diacritics
from harness.align.segment import check_language, document_from_text, paragraphs_from_text, split_sentences
from harness.errors import DataError


@pytest.mark.parametrize("lang, text, expected", [
    # English abbreviations and numbers never end a sentence
    ("en", "Ms. Koike also suggested it. Mr. Ishiguro agreed.", ["Ms. Koike also suggested it.", "Mr. Ishiguro agreed."]),
    ("en", "Dr. Ehud Ur spoke first. He was cautious.", ["Dr. Ehud Ur spoke first.", "He was cautious."]),
    ("en", "The damage caused by Typhoon No. 3 was large. It hit Hanoi.",
     ["The damage caused by Typhoon No. 3 was large.", "It hit Hanoi."]),
    ("en", "It reached 12.5 billion USD and 200,000 visitors. Then it fell.",
     ["It reached 12.5 billion USD and 200,000 visitors.", "Then it fell."]),
    ("en", "Brzezinski worked for John F. Kennedy. He advised Carter.",
     ["Brzezinski worked for John F. Kennedy.", "He advised Carter."]),
    ("en", "It moved to retail and trade industries... Based on that, it grew.",
     ["It moved to retail and trade industries...", "Based on that, it grew."]),
    ("en", "Such as technology, culture, etc. and more.", ["Such as technology, culture, etc. and more."]),
    ("en", 'He said "we are doing nothing." Then he left. "Why?" she asked.',
     ['He said "we are doing nothing."', "Then he left.", '"Why?" she asked.']),
    ("en", "He said no. Then he left.", ["He said no.", "Then he left."]),  # "no." is an abbreviation before a number only
    # Vietnamese: TP., PGS.TS., dotted thousands, decimal commas, dates, ellipses, quotes
    ("vi", "Ông làm việc tại TP. Hồ Chí Minh. Ông về Hà Nội.", ["Ông làm việc tại TP. Hồ Chí Minh.", "Ông về Hà Nội."]),
    ("vi", "PGS.TS. Nguyễn Văn A phát biểu. Hội nghị kết thúc.", ["PGS.TS. Nguyễn Văn A phát biểu.", "Hội nghị kết thúc."]),
    ("vi", "Lễ hội thu hút hơn 200.000 lượt khách. Trị giá đạt 12,5 tỷ USD.",
     ["Lễ hội thu hút hơn 200.000 lượt khách.", "Trị giá đạt 12,5 tỷ USD."]),
    ("vi", "Tỷ lệ tăng 12.5 phần trăm. Có 2.600 doanh nghiệp.", ["Tỷ lệ tăng 12.5 phần trăm.", "Có 2.600 doanh nghiệp."]),
    ("vi", "Cùng ngày 16-10, ông đến. Trong tháng 10-2024, ông đi.", ["Cùng ngày 16-10, ông đến.", "Trong tháng 10-2024, ông đi."]),
    ("vi", "Các ngành bán lẻ, thương mại… Trên cơ sở đó, hai bên nhất trí.",
     ["Các ngành bán lẻ, thương mại…", "Trên cơ sở đó, hai bên nhất trí."]),
    ("vi", "Như công nghệ, hạ tầng, văn hóa... và nhiều lĩnh vực khác.", ["Như công nghệ, hạ tầng, văn hóa... và nhiều lĩnh vực khác."]),
    ("vi", "Ông nói: “Chúng tôi sẵn sàng.” Sau đó ông rời đi.", ["Ông nói: “Chúng tôi sẵn sàng.”", "Sau đó ông rời đi."]),
    ("vi", "Khoảng 30% diện tích đã được sử dụng. ThS. Lan cho biết thêm.",
     ["Khoảng 30% diện tích đã được sử dụng.", "ThS. Lan cho biết thêm."]),
])
def test_split_sentences_survives_abbreviations_numbers_quotes_and_ellipses(lang, text, expected):
    assert split_sentences(text, lang) == expected


def test_paragraphs_one_per_line_or_blank_separated_with_bullets_stripped_and_wraps_joined():
    text = "Title line\n* Cùng ngày 16-10, ông đến.\n\n\n- Second bullet.\nA wrapped paragraph that goes\non to the next line.\n"
    paras = paragraphs_from_text(text)
    assert [p.text for p in paras] == ["Title line", "Cùng ngày 16-10, ông đến.", "Second bullet.",
                                       "A wrapped paragraph that goes on to the next line."]
    assert [p.line for p in paras] == [1, 2, 5, 6]
    assert [p.had_bullet for p in paras] == [False, True, True, False]


def test_document_sentences_know_their_paragraph_and_line():
    doc = document_from_text("A first. A second.\n\nB only.\n", "en")
    assert [(s.text, s.paragraph, s.line, s.first_in_paragraph, s.last_in_paragraph) for s in doc.sentences] == [
        ("A first.", 0, 1, True, False), ("A second.", 0, 1, False, True), ("B only.", 1, 3, True, True)]


@pytest.mark.parametrize("token, lang, expected", [
    ("200.000", "vi", "200000"), ("200,000", "en", "200000"), ("12,5", "vi", "12.5"), ("12.5", "en", "12.5"),
    ("2.600", "vi", "2600"), ("2,600", "en", "2600"), ("12.5", "vi", "12.5"), ("1.234,5", "vi", "1234.5"),
    ("1,234.50", "en", "1234.5"), ("09", "en", "9"), ("1.2.3", "vi", "1.2.3"),
])
def test_numbers_are_normalised_across_writing_conventions(token, lang, expected):
    assert normalise_number(token, lang) == expected


def test_anchors_match_dates_numbers_and_names_across_vietnamese_and_english():
    vi = "Cùng ngày 16-10, Chủ tịch JETRO Ishiguro Norihiko tiếp Trần Sỹ Thanh tại Hà Nội; đầu tư đạt 12,5 tỷ USD."
    en = "On October 16, JETRO Chairman Ishiguro Norihiko received Tran Sy Thanh in Hanoi; investment reached 12.5 billion USD."
    a, b = extract_anchors(vi, "vi", set()), extract_anchors(en, "en", set())
    assert {"16", "10", "12.5"} <= a.numbers & b.numbers
    assert {"jetro", "ishiguro", "norihiko", "tran", "sy", "thanh", "hanoi", "usd"} <= a.names & b.names
    assert strip_diacritics("Hòa Lạc Đà Nẵng") == "Hoa Lac Da Nang"


def test_sentence_initial_capital_is_a_name_only_if_the_document_capitalises_it_elsewhere():
    names = capitalised_words(["The report came out.", "It quotes Kanagawa officials."])
    assert "the" not in extract_anchors("The report came out.", "en", names).names
    assert "kanagawa" in extract_anchors("Kanagawa agreed.", "en", names).names


def test_language_check_names_the_file_the_guess_and_the_option():
    vi_doc = document_from_text("Chủ tịch UBND thành phố bày tỏ mong muốn hợp tác với các doanh nghiệp Nhật Bản.\n",
                                "en", "ref.txt")
    with pytest.raises(DataError, match=r"reference document ref.txt looks like Vietnamese .* not English \(--ref-lang en\)"):
        check_language(vi_doc, "reference document", "--ref-lang")
    check_language(document_from_text("The chairman said that the city is ready to work with the province.\n", "en"),
                   "reference document", "--ref-lang")  # no error
