"""Language codes: ISO 639-1 (what test sets use), their English names, and the codes each model family
expects (FLORES-200/NLLB `vie_Latn`, mBART-50 `vi_VN`, M2M100 `vi`)."""

from __future__ import annotations

from harness.errors import ConfigError, did_you_mean

# iso: (English name, NLLB/FLORES-200 code, mBART-50 code or None)
_LANGUAGES: dict[str, tuple[str, str, str | None]] = {
    "vi": ("Vietnamese", "vie_Latn", "vi_VN"),
    "en": ("English", "eng_Latn", "en_XX"),
    "fr": ("French", "fra_Latn", "fr_XX"),
    "de": ("German", "deu_Latn", "de_DE"),
    "es": ("Spanish", "spa_Latn", "es_XX"),
    "pt": ("Portuguese", "por_Latn", "pt_XX"),
    "it": ("Italian", "ita_Latn", "it_IT"),
    "ru": ("Russian", "rus_Cyrl", "ru_RU"),
    "zh": ("Chinese", "zho_Hans", "zh_CN"),
    "ja": ("Japanese", "jpn_Jpan", "ja_XX"),
    "ko": ("Korean", "kor_Hang", "ko_KR"),
    "th": ("Thai", "tha_Thai", "th_TH"),
    "id": ("Indonesian", "ind_Latn", "id_ID"),
    "km": ("Khmer", "khm_Khmr", "km_KH"),
    "lo": ("Lao", "lao_Laoo", None),
    "hi": ("Hindi", "hin_Deva", "hi_IN"),
    "ar": ("Arabic", "arb_Arab", "ar_AR"),
    "cs": ("Czech", "ces_Latn", "cs_CZ"),
    "uk": ("Ukrainian", "ukr_Cyrl", "uk_UA"),
}
_BY_FLORES = {v[1]: k for k, v in _LANGUAGES.items()}
# Every ISO 639-1 code with its English name, from the IANA language subtag registry (2-letter, not deprecated).
# Read by a function, not at import: the table is parsed only when a code is looked up.
_ISO_639_1 = (
    "aa=Afar;ab=Abkhazian;ae=Avestan;af=Afrikaans;ak=Akan;am=Amharic;an=Aragonese;ar=Arabic;as=Assamese;"
    "av=Avaric;ay=Aymara;az=Azerbaijani;ba=Bashkir;be=Belarusian;bg=Bulgarian;bh=Bihari languages;bi=Bislama;"
    "bm=Bambara;bn=Bengali;bo=Tibetan;br=Breton;bs=Bosnian;ca=Catalan;ce=Chechen;ch=Chamorro;co=Corsican;cr=Cree;"
    "cs=Czech;cu=Church Slavic;cv=Chuvash;cy=Welsh;da=Danish;de=German;dv=Dhivehi;dz=Dzongkha;ee=Ewe;"
    "el=Modern Greek (1453-);en=English;eo=Esperanto;es=Spanish;et=Estonian;eu=Basque;fa=Persian;ff=Fulah;"
    "fi=Finnish;fj=Fijian;fo=Faroese;fr=French;fy=Western Frisian;ga=Irish;gd=Scottish Gaelic;gl=Galician;"
    "gn=Guarani;gu=Gujarati;gv=Manx;ha=Hausa;he=Hebrew;hi=Hindi;ho=Hiri Motu;hr=Croatian;ht=Haitian;hu=Hungarian;"
    "hy=Armenian;hz=Herero;ia=Interlingua (International Auxiliary Language;id=Indonesian;ie=Interlingue;ig=Igbo;"
    "ii=Sichuan Yi;ik=Inupiaq;io=Ido;is=Icelandic;it=Italian;iu=Inuktitut;ja=Japanese;jv=Javanese;ka=Georgian;"
    "kg=Kongo;ki=Kikuyu;kj=Kuanyama;kk=Kazakh;kl=Kalaallisut;km=Khmer;kn=Kannada;ko=Korean;kr=Kanuri;ks=Kashmiri;"
    "ku=Kurdish;kv=Komi;kw=Cornish;ky=Kirghiz;la=Latin;lb=Luxembourgish;lg=Ganda;li=Limburgan;ln=Lingala;lo=Lao;"
    "lt=Lithuanian;lu=Luba-Katanga;lv=Latvian;mg=Malagasy;mh=Marshallese;mi=Maori;mk=Macedonian;ml=Malayalam;"
    "mn=Mongolian;mr=Marathi;ms=Malay (macrolanguage);mt=Maltese;my=Burmese;na=Nauru;nb=Norwegian Bokmål;"
    "nd=North Ndebele;ne=Nepali (macrolanguage);ng=Ndonga;nl=Dutch;nn=Norwegian Nynorsk;no=Norwegian;"
    "nr=South Ndebele;nv=Navajo;ny=Nyanja;oc=Occitan (post 1500);oj=Ojibwa;om=Oromo;or=Oriya (macrolanguage);"
    "os=Ossetian;pa=Panjabi;pi=Pali;pl=Polish;ps=Pushto;pt=Portuguese;qu=Quechua;rm=Romansh;rn=Rundi;ro=Romanian;"
    "ru=Russian;rw=Kinyarwanda;sa=Sanskrit;sc=Sardinian;sd=Sindhi;se=Northern Sami;sg=Sango;sh=Serbo-Croatian;"
    "si=Sinhala;sk=Slovak;sl=Slovenian;sm=Samoan;sn=Shona;so=Somali;sq=Albanian;sr=Serbian;ss=Swati;"
    "st=Southern Sotho;su=Sundanese;sv=Swedish;sw=Swahili (macrolanguage);ta=Tamil;te=Telugu;tg=Tajik;th=Thai;"
    "ti=Tigrinya;tk=Turkmen;tl=Tagalog;tn=Tswana;to=Tonga (Tonga Islands);tr=Turkish;ts=Tsonga;tt=Tatar;tw=Twi;"
    "ty=Tahitian;ug=Uighur;uk=Ukrainian;ur=Urdu;uz=Uzbek;ve=Venda;vi=Vietnamese;vo=Volapük;wa=Walloon;wo=Wolof;"
    "xh=Xhosa;yi=Yiddish;yo=Yoruba;za=Zhuang;zh=Chinese;zu=Zulu"
)


# country codes people write for a language (Vietnam's VN for Vietnamese)
_COUNTRY_NOT_LANGUAGE = {"vn": "vi", "jp": "ja", "kr": "ko", "cn": "zh", "gr": "el", "dk": "da", "se": "sv",
                         "cz": "cs", "ua": "uk", "ir": "fa", "il": "he", "kh": "km"}


def iso_639_1() -> dict[str, str]:
    """Every ISO 639-1 code -> its English name (the registry's first description)."""
    return dict(item.split("=", 1) for item in "".join(_ISO_639_1).split(";"))


_BY_MBART = {v[2]: k for k, v in _LANGUAGES.items() if v[2]}


def iso_code(lang: str) -> str:
    """Accepts an ISO 639-1 code (`vi`), a FLORES-200 code (`vie_Latn`) or an mBART-50 code (`vi_VN`) of a
    language in the table above, and returns the ISO 639-1 code; anything else is a ConfigError with a hint."""
    if lang in _LANGUAGES or lang in iso_639_1():
        return lang
    if lang in _BY_FLORES:
        return _BY_FLORES[lang]
    if lang in _BY_MBART:
        return _BY_MBART[lang]
    known = iso_639_1()
    by_name = {name.lower(): code for code, name in known.items()}
    if lang.lower() in by_name:  # "Vietnamese", "english"
        raise ConfigError(f"language {lang!r} is given by name; use its ISO 639-1 code {by_name[lang.lower()]!r}")
    three = {flores.split("_")[0]: iso for flores, iso in _BY_FLORES.items()}
    if lang.lower() in three:  # ISO 639-3, as in FLORES codes: "vie", "eng"
        raise ConfigError(f"language {lang!r} is an ISO 639-3 code; use the ISO 639-1 code "
                          f"{three[lang.lower()]!r} (or the FLORES-200 code {_LANGUAGES[three[lang.lower()]][1]!r})")
    if lang.lower() in _COUNTRY_NOT_LANGUAGE:
        raise ConfigError(f"{lang!r} is a country code, not a language code; did you mean "
                          f"{_COUNTRY_NOT_LANGUAGE[lang.lower()]!r}?")
    hint = did_you_mean(lang.lower(), [*known, *_BY_FLORES])
    raise ConfigError(f"unknown language code {lang!r}" + (f"; did you mean {hint}?" if hint else ".")
                      + " Use an ISO 639-1 code (vi, en, zh, ...) or a FLORES-200 code (vie_Latn).")


def language_name(lang: str) -> str:
    """The English name of a language code: `vi` -> Vietnamese."""
    iso = iso_code(lang)
    return _LANGUAGES[iso][0] if iso in _LANGUAGES else iso_639_1()[iso]


def code_for_family(lang: str, family: str) -> str:
    """The language code a model family expects: nllb -> vie_Latn, m2m100 -> vi, mbart50 -> vi_VN."""
    iso = iso_code(lang)
    if family == "nllb":
        return _LANGUAGES[iso][1]
    if family == "m2m100":
        return iso
    if family == "mbart50":
        code = _LANGUAGES[iso][2]
        if code is None:
            raise ConfigError(f"mBART-50 has no code for {language_name(iso)}; set src_lang/tgt_lang in the system config")
        return code
    raise ConfigError(f"model family {family!r} has no language-code table")
