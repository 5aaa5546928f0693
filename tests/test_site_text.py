"""The site's pinyin sort key: pypinyin's TONE3 reading, computed faster."""

from __future__ import annotations

import json
import random
from pathlib import Path

from pypinyin import Style, lazy_pinyin

from pipeline.site.text import initial_letter, pinyin_key

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-export"


def reference(text: str) -> tuple[str, str]:
    return (
        " ".join(lazy_pinyin(text, style=Style.TONE3, errors=lambda chunk: chunk.lower())),
        text,
    )


def test_same_as_pypinyin_tone3_on_the_demo_and_random_text() -> None:
    items = json.loads((DEMO / "items.json").read_text(encoding="utf-8"))
    items = items["items"] if isinstance(items, dict) else items
    texts = [i["name"] for i in items] + [a for i in items for a in i.get("aliases", [])]
    rng = random.Random(7)
    alphabet = (
        "绿女略长重行乐的了着得地和银行差音调ABCxyz123１２·（）《》、 -_.,üǜāá\x00"
        + "".join(chr(rng.randint(0x3400, 0x9FFF)) for _ in range(3000))
    )
    texts += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20))) for _ in range(20000)
    ]
    words = texts[:]  # real names run together: words across the joins, polyphones in phrases
    texts += ["".join(rng.sample(words, 3)) for _ in range(5000)]
    texts += [
        "银行行长重新重视长大了",
        "还款还是还钱",
        "音乐乐器快乐",
        "差错出差参差",
        "调查调动声调",
    ]
    different = [t for t in texts if pinyin_key(t) != reference(t)]
    assert different == []


def test_orders_as_dictionaries_do() -> None:
    names = [
        "资质认定",
        "爱国卫生许可",
        "绿化许可",
        "路政许可",
        "银行开户",
        "八一路占道许可",
        "ICP 许可",
    ]
    assert sorted(names, key=pinyin_key) == [
        "爱国卫生许可",
        "八一路占道许可",
        "ICP 许可",
        "路政许可",
        "绿化许可",
        "银行开户",
        "资质认定",
    ]
    assert pinyin_key("银行开户")[0] == "yin2 hang2 kai1 hu4"  # the phrase reading, not xing2
    assert pinyin_key("绿化")[0] == "lv4 hua4"
    assert pinyin_key("阿胶")[0] == "e1 jiao1"  # the phrase reading of 阿
    assert [initial_letter(n) for n in ("爱国", "ICP", "12345热线")] == ["A", "I", "#"]
