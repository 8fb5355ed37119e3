"""Validation of the identifiers the platform keys credit records on.

* Unified social credit codes of legal persons and other organisations (GB 32100-2015).
* Citizen identity numbers of natural persons (GB 11643-1999), plus the keyed hashing and
  masking that let the platform refer to a person without holding the clear number.
* Administrative division codes (GB/T 2260) and industry sections (GB/T 4754-2017).

Every validator normalises its input and returns the canonical form, or raises `CodeError`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Container
from datetime import date, datetime, timedelta, timezone
from typing import Final

__all__ = [
    "INDUSTRY_SECTIONS",
    "PROVINCE_CODES",
    "REGION_PREFIX",
    "USCC_ALPHABET",
    "USCC_CATEGORIES",
    "CodeError",
    "PersonalIdProtector",
    "region_only",
    "resident_id_check_char",
    "uscc_check_char",
    "validate_industry_section",
    "validate_region_code",
    "validate_resident_id",
    "validate_uscc",
]


class CodeError(ValueError):
    """An identifier failed validation; `reason` is a human-readable English explanation.

    Reasons name positions and expected characters but never echo the value itself, so they
    are safe to log even when the value is a personal identity number.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Unified social credit code (GB 32100-2015) --------------------------------------------

# The 31-character code alphabet: digits and upper-case letters without I, O, Z, S, V
# (too easily confused with 1, 0, 2, 5, U). A character's value is its index here.
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE: Final = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
# str.isdigit() would also accept full-width and superscript digits.
_DIGITS: Final = frozenset("0123456789")
# Weight of position i is 3**i mod 31.
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# Registration authority (char 1) -> {organisation category (char 2): meaning}.
# GB 32100-2015 Appendix A; "A" (military) and "N" (rural collective economic organisations)
# were assigned later by the standardisation administration and are in use on real codes.
USCC_CATEGORIES: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "1": (
        "机构编制",
        {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    ),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {
            "1": "外国旅游部门常驻代表机构",
            "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
            "9": "其他",
        },
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他", {"1": "不再具体划分机构类别"}),
}


def _normalise(value: str) -> str:
    # Codes are copied from PDFs and web forms: drop any embedded whitespace, not just the ends.
    return "".join(value.split()).upper()


def _check_alphabet(code: str, alphabet: Container[str], what: str) -> None:
    for pos, ch in enumerate(code, start=1):
        if ch not in alphabet:
            raise CodeError(f"{what}: illegal character {ch!r} at position {pos}")


def uscc_check_char(first17: str) -> str:
    """Return the check character (position 18) for the first 17 characters of a USCC."""
    body = _normalise(first17)
    if len(body) != 17:
        raise CodeError(f"USCC body must be 17 characters, got {len(body)}")
    _check_alphabet(body, _USCC_VALUE, "USCC")
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(body, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Validate a unified social credit code and return it normalised (no spaces, upper case).

    Chars 3-8 are only required to be digits, not a GB/T 2260 code: organisations registered
    with central authorities carry "100000", which is no province.  The organisation code in
    chars 9-17 has its own GB 11714 check digit, but it is not enforced because codes of
    individual businesses (category 92) do not follow GB 11714.
    """
    return _validate_normalised_uscc(_normalise(code))


# Pure, and the same codes come again and again (each call and each record names one), so the
# last 65,536 valid ones are remembered: 0.1 µs instead of 8. Keyed by the normalised text,
# never the caller's (which may carry any amount of whitespace).
@functools.lru_cache(maxsize=1 << 16)
def _validate_normalised_uscc(c: str) -> str:
    if len(c) != 18:
        raise CodeError(f"USCC must be 18 characters, got {len(c)}")
    _check_alphabet(c, _USCC_VALUE, "USCC")
    authority = USCC_CATEGORIES.get(c[0])
    if authority is None:
        raise CodeError(f"USCC: unknown registration authority code {c[0]!r} at position 1")
    if c[1] not in authority[1]:
        allowed = ",".join(authority[1])
        raise CodeError(
            f"USCC: organisation category {c[1]!r} at position 2 is not valid for "
            f"registration authority {c[0]!r} (allowed: {allowed})"
        )
    for pos in range(2, 8):
        if c[pos] not in _DIGITS:
            raise CodeError(
                f"USCC: illegal character {c[pos]!r} at position {pos + 1}; "
                "positions 3-8 are an administrative division code and must be digits"
            )
    expected = uscc_check_char(c[:17])
    if c[17] != expected:
        raise CodeError(
            f"USCC: wrong check character {c[17]!r} at position 18, expected {expected!r}"
        )
    return c


# --- Administrative division codes (GB/T 2260) ---------------------------------------------

PROVINCE_CODES: Final = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23"}
    | {str(n) for n in range(31, 38)}
    | {str(n) for n in range(41, 47)}
    | {str(n) for n in range(50, 55)}
    | {str(n) for n in range(61, 66)}
    | {"71", "81", "82"}
)


# A filter on administrative regions: a code's first 0 to 6 ASCII digits (empty: any).
REGION_PREFIX: Final = re.compile(r"[0-9]{0,6}")


def validate_region_code(code: str) -> str:
    """Validate a 6-digit administrative division code; "110000"-style province codes are fine."""
    c = "".join(code.split())
    if len(c) != 6 or not set(c) <= _DIGITS:
        raise CodeError("region code must be exactly 6 digits")
    if c[:2] not in PROVINCE_CODES:
        raise CodeError(f"region code: {c[:2]!r} (positions 1-2) is not a province code")
    return c


# --- Citizen identity number (GB 11643-1999) -----------------------------------------------

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_ID_BODY_RE: Final = re.compile(r"[0-9]{17}")
# China has no daylight saving time, so a fixed offset gives the correct local date.
CHINA_TZ: Final = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving


def china_today() -> date:
    """Today's date in China, whatever the host's time zone (containers run in UTC, where
    00:00–08:00 Beijing time is still yesterday): every deadline, publication period and
    grade is dated by it."""
    return datetime.now(CHINA_TZ).date()


def resident_id_check_char(first17: str) -> str:
    """Return the check character (position 18) for the 17 leading digits of an identity number."""
    if not _ID_BODY_RE.fullmatch(first17):
        raise CodeError("identity number body must be exactly 17 digits")
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_resident_id(value: str, *, today: date | None = None) -> str:
    """Validate an 18-character citizen identity number and return it normalised.

    A lower-case check character "x" is accepted and returned as "X".  `today` (default: the
    current date in China) bounds the birth date; tests pass it to stay deterministic.
    """
    v = _normalise(value)
    if len(v) != 18:
        raise CodeError(f"identity number must be 18 characters, got {len(v)}")
    for pos, ch in enumerate(v[:17], start=1):
        if ch not in _DIGITS:
            raise CodeError(
                f"identity number: illegal character at position {pos}, expected a digit"
            )
    if v[17] not in "0123456789X":
        raise CodeError("identity number: illegal check character at position 18")
    # Residence permits of Hong Kong, Macao and Taiwan residents use 810000/820000/830000.
    if v[:2] not in PROVINCE_CODES and v[:2] != "83":
        raise CodeError("identity number: positions 1-2 are not a known province code")
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise CodeError("identity number: positions 7-14 are not a valid birth date") from None
    if born > (today or china_today()):
        raise CodeError("identity number: birth date (positions 7-14) is in the future")
    # No "expected" hint here: a mismatch usually means a mistyped digit elsewhere, and
    # suggesting a new check character would only make the typo pass.
    if v[17] != resident_id_check_char(v[:17]):
        raise CodeError("identity number: wrong check character at position 18")
    return v


class PersonalIdProtector:
    """Pseudonymises citizen identity numbers.

    Clear identity numbers are never stored or logged by the platform: records keep only
    `hash()` (for joins and look-ups) and `mask()` (for display to officials).  The hash is an
    HMAC keyed with a platform secret: valid IDs number only ~10^11 (region x birth date x
    sequence), so an unkeyed hash could be reversed by enumerating them; the key prevents that.
    """

    MIN_KEY_BYTES: Final = 32

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes):
            raise TypeError("key must be bytes")
        if len(key) < self.MIN_KEY_BYTES:
            raise ValueError(f"key must be at least {self.MIN_KEY_BYTES} bytes, got {len(key)}")
        self._key = key

    def __repr__(self) -> str:
        # Keep the secret out of tracebacks and debug logs.
        return f"{type(self).__name__}(key=<hidden>)"

    def hash(self, resident_id: str) -> str:
        """HMAC-SHA256 (hex) of the validated, normalised identity number."""
        normalised = validate_resident_id(resident_id)
        return hmac.new(self._key, normalised.encode("ascii"), hashlib.sha256).hexdigest()

    @staticmethod
    def mask(resident_id: str) -> str:
        """Display form keeping only region and last four, e.g. "220183********123X"."""
        normalised = validate_resident_id(resident_id)
        return f"{normalised[:6]}********{normalised[-4:]}"


def region_only(display_id: str) -> str:
    """A person's display form for everyone but the department that owns the finding (and
    for the public): the region, e.g. "220183************"."""
    return display_id[:6] + "*" * (len(display_id) - 6) if len(display_id) > 6 else display_id


# --- Industry sections (GB/T 4754-2017) ----------------------------------------------------

INDUSTRY_SECTIONS: Final[dict[str, str]] = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}


def validate_industry_section(code: str) -> str:
    """Validate a GB/T 4754-2017 section letter (A-T) and return it upper-cased."""
    c = code.strip().upper()
    if c not in INDUSTRY_SECTIONS:
        raise CodeError(f"industry section must be one letter A-T (GB/T 4754-2017), got {c!r}")
    return c
