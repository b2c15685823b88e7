"""Matching in every script: words without spaces, compounds, widths and accents.

Each row is (query, text, matches?). Chinese and Japanese have no spaces, so a
term of their characters matches inside any run that holds it; compounds are
reached with a leading ``*``; NFKC folds widths alike on both sides.
"""

from __future__ import annotations

import pytest

from monitor.core.rules import RuleSet, highlight, load_ruleset
from monitor.core.text import join_words, words

ONE = RuleSet()
WITH_TAIWAN = load_ruleset({"e.yaml": "entities:\n  Taiwan: [Taiwan, Lai Ching-te, 金门, 金門]\n"})

SCRIPTS: dict[str, list[tuple[str, str, bool]]] = {
    "chinese-simplified": [
        ("关税", "美国宣布对等关税措施", True),
        ("台湾", "解放军在台湾海峡举行演习", True),
        ('"台湾海峡"', "解放军在台湾海峡举行演习", True),
        ("气候谈判", "中美重启气候谈判", True),
        ("中国", "中华民国总统", False),
        ("台湾", "平台上线", False),
    ],
    "chinese-traditional": [
        ("關稅", "美國對台課徵20%對等關稅", True),
        ("臺灣 OR 台灣", "賴清德：臺灣不會屈服", True),
        ("台灣", "賴清德：臺灣不會屈服", False),  # 台/臺 are not folded: list both
        ("解放軍", "共軍與解放軍東部戰區演習", True),
    ],
    "japanese": [
        ("関税", "トランプ関税、日本車に25%", True),
        ("トランプ", "ﾄﾗﾝﾌﾟ大統領が発表", True),  # halfwidth katakana
        ("ガス", "カス", False),  # voicing marks count
        ("台湾有事", "高市首相の台湾有事答弁", True),
    ],
    "korean": [
        ("대만", "대만은 중국의 압박에 맞섰다", True),
        ("관세", "미국의 관세 인상", True),
    ],
    "german": [
        ("*zölle", "Trump droht der EU mit Strafzölle", True),
        ("*zölle", "Importzölle auf Stahl", True),
        ("*zölle", "Die Zölle steigen", True),
        ("*zölle", "Der Zöllner kontrolliert", False),
        ("*zölle", "Trump droht mit Strafzöllen", False),  # ends in -en: write *zölle*
        ("*zölle*", "Trump droht mit Strafzöllen", True),
        ("*zölle*", "Der Zöllner kontrolliert", False),
        ("*handelskrieg", "Der neue Zollhandelskrieg", True),
        ("zoll", "Schutzzoll verhängt", False),  # whole words without the star
    ],
    "french": [
        ('"détroit de Formose"', "Des navires chinois dans le détroit de Formose", True),
        ('"droits de douane"', "Washington relève les DROITS DE DOUANE", True),
        ("Taïwan", "Pékin menace Taiwan", True),
    ],
    "spanish": [
        ("aranceles", "México impondrá aranceles a China", True),
        ("Taiwán", "Tensión en el estrecho de Taiwan", True),
    ],
    "italian": [("dazi", "Trump minaccia nuovi dazi sull'UE", True)],
    "width-and-compatibility": [
        ("Taiwan", "ＴＡＩＷＡＮ ｄｒｉｌｌｓ", True),
        ("ＴＡＩＷＡＮ", "Taiwan drills", True),
        ("COP29", "ＣＯＰ２９ opens in Baku", True),
        ("ﬁnance", "climate finance deal", True),  # ligature
    ],
    "mixed": [
        ("TSMC", "台积电TSMC公布财报", True),
        ("台积电", "台积电TSMC公布财报", True),
        ("@Taiwan", "Lai Ching-te visits 金门", True),
    ],
}
CASES = [(script, *case) for script, rows in SCRIPTS.items() for case in rows]


@pytest.mark.parametrize(("script", "query", "text", "expected"), CASES)
def test_scripts(script: str, query: str, text: str, expected: bool) -> None:
    assert bool(WITH_TAIWAN.with_query(query).match({"title": text})) is expected


def test_cjk_characters_are_words_and_are_shown_joined() -> None:
    assert words("对等关税 tariffs") == ["对", "等", "关", "税", "tariffs"]
    assert join_words(words("对等关税 tariffs")) == "对等关税 tariffs"


def test_matches_inside_a_run_are_highlighted_exactly() -> None:
    text = "美國對台課徵20%對等關稅"
    (found,) = ONE.with_query("關稅").match({"title": text})
    spans = [(s.start, s.end) for s in found.spans]
    assert highlight(text, spans) == "美國對台課徵20%對等**關稅**"
    assert found.terms == ("關稅",)


def test_a_compound_is_highlighted_whole() -> None:
    text = "Trump droht der EU mit Strafzöllen"
    (found,) = ONE.with_query("*zölle*").match({"title": text})
    assert found.terms == ("Strafzöllen",)
