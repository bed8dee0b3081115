"""Countries: the ISO 3166-1 alpha-2 codes the form accepts, and their names in the reader's language."""

from __future__ import annotations

from babel import Locale

#: Every officially assigned ISO 3166-1 alpha-2 code.
ISO_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT
    BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH
    ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT
    HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS
    LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI
    NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG
    SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
    UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

#: The countries the network serves first: Eastern Europe, the South Caucasus and Central Asia.
#: The nine countries the service is for: first in every country list.
REGION = ("AM", "AZ", "GE", "KG", "KZ", "MD", "TJ", "TM", "UA")


def country_name(code: str, language: str) -> str:
    """Return the name of `code` in `language`, falling back to the code itself."""
    try:
        return str(Locale.parse(language).territories.get(code, code))
    except (ValueError, TypeError):
        return code


def country_choices(language: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return (region countries, all other countries) as sorted (code, name) pairs for a select."""
    names = Locale.parse(language).territories
    region = sorted(((c, str(names.get(c, c))) for c in REGION), key=lambda pair: pair[1])
    others = sorted(((c, str(names.get(c, c))) for c in ISO_CODES - set(REGION)), key=lambda pair: pair[1])
    return region, others
