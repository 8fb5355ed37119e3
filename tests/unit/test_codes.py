from __future__ import annotations

import random
from datetime import date

import pytest

from services.common.codes import (
    INDUSTRY_SECTIONS,
    USCC_ALPHABET,
    USCC_CATEGORIES,
    CodeError,
    PersonalIdProtector,
    resident_id_check_char,
    uscc_check_char,
    validate_industry_section,
    validate_region_code,
    validate_resident_id,
    validate_uscc,
)
from services.common.db import parse_id
from services.records.submission import check_text

# Published codes of well-known organisations.  Check characters verified by hand with the
# values of the 31-char alphabet (A=10 ... H=17, J=18 ...) and weights 1,3,9,27,19,26,...:
#
# Huawei Technologies Co., Ltd. 914403001922038216
#   9*1 + 1*3 + 4*9 + 4*27 + 0*19 + 3*26 + 0*16 + 0*17 + 1*20 + 9*29 + 2*25 + 2*13 + 0*8
#   + 3*24 + 8*10 + 2*30 + 1*28 = 831;  831 mod 31 = 25;  31 - 25 = 6  -> "6"
# Bank of China Ltd. 911000001000013428 (registered centrally: division code "100000")
#   9*1 + 1*3 + 1*9 + 1*20 + 1*24 + 3*10 + 4*30 + 2*28 = 271;  271 mod 31 = 23;
#   31 - 23 = 8  -> "8"
HUAWEI = "914403001922038216"
BANK_OF_CHINA = "911000001000013428"
# Further published codes with letters in them (Tencent, Alibaba China, Xiaomi).
REAL_USCCS = [
    HUAWEI,
    BANK_OF_CHINA,
    "91440300708461136T",
    "91330100799655058B",
    "91110108551385082Q",
    "91350100M000100Y43",
]

TODAY = date(2025, 12, 1)
# The example in GB 11643-1999 (born 1949-12-31, female, check character X) and the
# standard's second example (born 1880-01-01).
STANDARD_ID = "11010519491231002X"
STANDARD_ID_2 = "440524188001010014"
KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def make_uscc(rng: random.Random) -> str:
    authority = rng.choice(sorted(USCC_CATEGORIES))
    category = rng.choice(sorted(USCC_CATEGORIES[authority][1]))
    region = "".join(rng.choice("0123456789") for _ in range(6))
    org = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    body = authority + category + region + org
    return body + uscc_check_char(body)


def make_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


# --- USCC -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", REAL_USCCS)
def test_real_published_codes_are_valid(code: str) -> None:
    assert validate_uscc(code) == code


def test_check_char_of_hand_verified_codes() -> None:
    assert uscc_check_char(HUAWEI[:17]) == "6"
    assert uscc_check_char(BANK_OF_CHINA[:17]) == "8"


def test_normalises_whitespace_and_case() -> None:
    assert validate_uscc("  91440300708461136t\n") == "91440300708461136T"
    assert validate_uscc("9144 0300 7084 6113 6T") == "91440300708461136T"


def test_generated_codes_validate() -> None:
    rng = random.Random(20251201)
    for _ in range(500):
        code = make_uscc(rng)
        assert validate_uscc(code) == code


@pytest.mark.parametrize("code", REAL_USCCS)
def test_every_single_character_corruption_is_rejected(code: str) -> None:
    for pos in range(18):
        for ch in USCC_ALPHABET:
            if ch == code[pos]:
                continue
            corrupted = code[:pos] + ch + code[pos + 1 :]
            with pytest.raises(CodeError):
                validate_uscc(corrupted)


def test_wrong_check_character_names_expected() -> None:
    with pytest.raises(CodeError, match=r"wrong check character 'X' at position 18, expected '6'"):
        validate_uscc(HUAWEI[:17] + "X")


@pytest.mark.parametrize("code", ["", "91440300708461136", "91440300708461136TT", "9" * 30])
def test_bad_length(code: str) -> None:
    with pytest.raises(CodeError, match="18 characters"):
        validate_uscc(code)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_letters_outside_alphabet_are_illegal(letter: str) -> None:
    code = "91440300708461136T"
    with pytest.raises(CodeError, match=rf"illegal character '{letter}' at position 12"):
        validate_uscc(code[:11] + letter + code[12:])
    # Even a check position that would "match" cannot be one of them.
    with pytest.raises(CodeError, match="position 18"):
        validate_uscc(code[:17] + letter)


def test_punctuation_is_illegal() -> None:
    with pytest.raises(CodeError, match="illegal character '-' at position 9"):
        validate_uscc("91440300-08461136T")


@pytest.mark.parametrize(
    ("pair", "valid"),
    [("11", True), ("19", True), ("51", True), ("53", True), ("59", True), ("91", True),
     ("92", True), ("93", True), ("Y1", True), ("31", True), ("35", True), ("A1", True),
     ("N2", True), ("99", False), ("94", False), ("Y2", False), ("54", False), ("B1", False),
     ("01", False), ("13", True), ("14", False)],
)  # fmt: skip
def test_authority_category_pairs(pair: str, valid: bool) -> None:
    body = pair + "440300" + "708461136"
    code = body + uscc_check_char(body)
    if valid:
        assert validate_uscc(code) == code
    else:
        with pytest.raises(CodeError, match=r"position [12]"):
            validate_uscc(code)


def test_division_code_must_be_digits() -> None:
    body = "91" + "44A300" + "708461136"
    with pytest.raises(CodeError, match="position 5"):
        validate_uscc(body + uscc_check_char(body))


def test_uscc_check_char_rejects_bad_body() -> None:
    with pytest.raises(CodeError):
        uscc_check_char("123")
    with pytest.raises(CodeError, match="position 3"):
        uscc_check_char("91I403001922038" + "21")


# --- Citizen identity numbers ---------------------------------------------------------------


def test_standard_examples() -> None:
    assert resident_id_check_char(STANDARD_ID[:17]) == "X"
    assert resident_id_check_char(STANDARD_ID_2[:17]) == "4"
    assert validate_resident_id(STANDARD_ID, today=TODAY) == STANDARD_ID
    assert validate_resident_id(STANDARD_ID_2, today=TODAY) == STANDARD_ID_2


def test_lower_case_x_is_normalised() -> None:
    assert validate_resident_id(" 11010519491231002x ", today=TODAY) == STANDARD_ID


def test_every_single_digit_corruption_is_rejected() -> None:
    for pos in range(18):
        for ch in "0123456789X":
            if ch == STANDARD_ID[pos] or (ch == "X" and pos < 17):
                continue
            corrupted = STANDARD_ID[:pos] + ch + STANDARD_ID[pos + 1 :]
            with pytest.raises(CodeError):
                validate_resident_id(corrupted, today=TODAY)


@pytest.mark.parametrize("value", ["", "11010519491231002", "11010519491231002XX"])
def test_id_bad_length(value: str) -> None:
    with pytest.raises(CodeError, match="18 characters"):
        validate_resident_id(value, today=TODAY)


def test_id_letter_in_body() -> None:
    with pytest.raises(CodeError, match="position 3"):
        validate_resident_id("11X10519491231002X", today=TODAY)


def test_future_birth_date() -> None:
    value = make_id("11010520251202001")
    with pytest.raises(CodeError, match="future"):
        validate_resident_id(value, today=TODAY)
    assert validate_resident_id(value, today=date(2025, 12, 2)) == value


@pytest.mark.parametrize("birth", ["20000230", "19991301", "19990000", "00000101", "19990229"])
def test_impossible_birth_date(birth: str) -> None:
    with pytest.raises(CodeError, match="valid birth date"):
        validate_resident_id(make_id("110105" + birth + "001"), today=TODAY)


def test_leap_day_birth_date() -> None:
    value = make_id("11010520000229001")
    assert validate_resident_id(value, today=TODAY) == value


def test_unknown_province() -> None:
    with pytest.raises(CodeError, match="province"):
        validate_resident_id(make_id("99010519491231002"), today=TODAY)


def test_residence_permit_prefix_accepted() -> None:
    value = make_id("83000019800101001")
    assert validate_resident_id(value, today=TODAY) == value


def test_wrong_check_character() -> None:
    with pytest.raises(CodeError, match="wrong check character at position 18"):
        validate_resident_id("110105194912310021", today=TODAY)


def test_errors_never_echo_the_id() -> None:
    bad = ["110105194912310021", "11010520991231002X", "11010519491331002X", "1101051949123100"]
    for value in bad:
        with pytest.raises(CodeError) as info:
            validate_resident_id(value, today=TODAY)
        assert value[:14] not in str(info.value)
        assert "19491231" not in str(info.value)


# --- PersonalIdProtector --------------------------------------------------------------------


def test_key_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        PersonalIdProtector(b"short")
    PersonalIdProtector(b"x" * 32)


def test_mask() -> None:
    p = PersonalIdProtector(KEY)
    assert p.mask(STANDARD_ID) == "110105********002X"
    assert p.mask("11010519491231002x") == "110105********002X"
    assert "19491231" not in p.mask(STANDARD_ID)


def test_mask_format_of_brief_example() -> None:
    value = make_id("22018319900101123")
    masked = PersonalIdProtector(KEY).mask(value)
    assert masked == "220183********123" + value[-1]
    assert len(masked) == 18


def test_hash_properties() -> None:
    p = PersonalIdProtector(KEY)
    h = p.hash(STANDARD_ID)
    assert h == p.hash(STANDARD_ID)
    assert h == p.hash("11010519491231002x")  # hashed after normalisation
    assert h == PersonalIdProtector(KEY).hash(STANDARD_ID)
    assert h != PersonalIdProtector(OTHER_KEY).hash(STANDARD_ID)
    assert h != p.hash(STANDARD_ID_2)
    assert len(h) == 64 and all(c in "0123456789abcdef" for c in h)
    assert STANDARD_ID not in h and STANDARD_ID.lower() not in h
    assert "19491231" not in h


def test_hash_rejects_invalid_id() -> None:
    with pytest.raises(CodeError):
        PersonalIdProtector(KEY).hash("110105194912310021")


def test_repr_hides_key() -> None:
    assert "k" * 8 not in repr(PersonalIdProtector(KEY))


# --- Region codes ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["110000", "110105", "440305", "650000", "710000", "820000"])
def test_valid_region_codes(code: str) -> None:
    assert validate_region_code(code) == code


@pytest.mark.parametrize("code", ["000000", "100000", "990000", "380000", "47000", "11010X", ""])
def test_invalid_region_codes(code: str) -> None:
    with pytest.raises(CodeError):
        validate_region_code(code)


def test_region_code_rejects_full_width_digits() -> None:
    with pytest.raises(CodeError):
        validate_region_code("１１０１０５")


# --- Industry sections ----------------------------------------------------------------------


def test_industry_sections_table() -> None:
    assert list(INDUSTRY_SECTIONS) == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    assert INDUSTRY_SECTIONS["C"] == "制造业"
    assert INDUSTRY_SECTIONS["J"] == "金融业"


@pytest.mark.parametrize("code", ["A", "T", "j", " C "])
def test_valid_industry_section(code: str) -> None:
    assert validate_industry_section(code) == code.strip().upper()


@pytest.mark.parametrize("code", ["U", "Z", "", "AB", "1", "C13"])
def test_invalid_industry_section(code: str) -> None:
    with pytest.raises(CodeError, match="A-T"):
        validate_industry_section(code)


# ------------------------------------------------------------------ ids and texts from outside

@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1), ("42", 42), (str(2**63 - 1), 2**63 - 1),
    (str(2**63), None), ("9" * 20, None), ("0", None), ("", None), ("-5", None), (" 7", None),
    ("²", None), ("٣", None), ("1e3", None), ("0x10", None),
])
def test_parse_id_takes_ascii_digits_within_bigint(text: str, expected: int | None) -> None:
    assert parse_id(text) == expected


def test_check_text_strips_bounds_and_refuses_control_characters() -> None:
    violations: list[tuple[str, str]] = []
    assert check_text("  多行\n摘要\t ", "summary", 10, violations) == "多行\n摘要"
    assert violations == []
    for value, required in (("", True), ("x" * 11, False), ("a\x00b", False),
                            ("a\x1bb", True), ("a\x7fb", True)):
        out: list[tuple[str, str]] = []
        check_text(value, "summary", 10, out, required=required)
        assert [f for f, _ in out] == ["summary"], value
    optional: list[tuple[str, str]] = []
    assert check_text("", "summary", 10, optional, required=False) == "" and not optional


def test_today_is_the_date_in_china_whatever_the_host_zone() -> None:
    # 2026-11-28 23:30 UTC is already 2026-11-29 07:30 in Beijing.
    from datetime import UTC, datetime

    from services.common.codes import CHINA_TZ, china_today
    from services.common.config import clock

    late_utc = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    assert late_utc.astimezone(CHINA_TZ).date().isoformat() == "2026-11-29"
    assert china_today() == datetime.now(CHINA_TZ).date()
    assert clock(None) is china_today
    assert clock(date(2025, 11, 20))() == date(2025, 11, 20)
