"""Word-pasted and hostile rich text → the small safe subset."""

from __future__ import annotations

import pytest

from pipeline.contract.sanitise import clean_text, rich_text_to_plain, sanitise_rich_text

WORD = (
    '<p class="MsoNormal" style="text-indent:21.0pt;mso-char-indent-count:2.0">'
    '<span style="font-size:10.5pt;font-family:宋体">申请人应当具备&nbsp;&nbsp;以下条件：'
    '<o:p></o:p></span></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
    '<font face="仿宋_GB2312"><b>（一）</b>有固定场所；</font>'
)


def test_word_html_becomes_plain_semantic_html():
    assert (
        sanitise_rich_text(WORD)
        == "<p>申请人应当具备 以下条件：</p><strong>（一）</strong>有固定场所；"
    )


@pytest.mark.parametrize(
    "hostile, expected",
    [
        ("<p>a<script>alert(1)</script></p>", "<p>a</p>"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        (
            '<a href="https://gov.cn/x" onclick="y">x</a>',
            '<a href="https://gov.cn/x" rel="noopener noreferrer nofollow">x</a>',
        ),
        ("<img src=x onerror=alert(1)>ok", "ok"),
        (
            '<table><tr><td colspan="2" style="x">一</td></tr></table>',
            '<table><tbody><tr><td colspan="2">一</td></tr></tbody></table>',
        ),
        ('<style>p{}</style><iframe src="https://x"></iframe>正文', "正文"),
    ],
)
def test_hostile_html(hostile, expected):
    assert sanitise_rich_text(hostile) == expected


def test_plain_text_loses_tags_and_control_characters_but_keeps_comparisons():
    assert clean_text(" 食品<script>x</script>经营\x00许可 ") == "食品x经营许可"
    assert clean_text("人数 <5 人，a < b") == "人数 <5 人，a < b"


def test_rich_text_to_plain():
    assert rich_text_to_plain("<p>一</p><ul><li>二 &amp; 三</li></ul>") == "一二 & 三"
