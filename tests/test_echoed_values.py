"""Messages quote values someone else chose — a setting, an export API's answer — cut to their
first 200 characters and their length: a 420-byte YAML "billion laughs" made a 580 MB error
message (YAML anchors and aliases are refused in the settings file), and a 20 MB pagination
cursor was echoed whole on stderr and in the run log (a cursor longer than any real one is
refused, and every quoted answer is cut)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.errors import ConfigurationError, ExportBroken
from pipeline.extract.http import HttpSource
from tests.export_server import ExportServer, Fault
from tests.fixtures import small_export

FAST = {"timeout": (1.0, 2.0), "retries": 0, "backoff": 0.01, "deadline_seconds": 20.0}


def _laughs(levels: int) -> str:
    """``k`` as 10**levels strings in nested aliases (a few hundred bytes of YAML)."""
    lines = ["k: [&a0 [x,x,x,x,x,x,x,x,x,x]"]
    lines += [f", &a{n} [{','.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels + 1)]
    return "".join(lines) + "]\n"


def test_yaml_aliases_in_the_settings_file_are_refused(tmp_path: Path):
    config = tmp_path / "settings.yaml"
    config.write_text("export: /srv/export\n" + _laughs(5), encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert f"配置文件 {config} 第 2 行使用了 YAML 锚点或别名（&、*）" in message
    assert len(message) < 300


def test_an_anchor_alone_is_refused_too(tmp_path: Path):
    config = tmp_path / "settings.yaml"
    config.write_text("export: &e /srv/export\nsite: site\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="第 1 行使用了 YAML 锚点或别名"):
        load_settings(config, environ={})


def test_a_long_bad_value_is_quoted_cut_with_its_length(tmp_path: Path):
    config = tmp_path / "settings.yaml"
    config.write_text(f"k: {'x' * 100_000}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert f"配置文件 {config} 中的 k: '{'x' * 199}…（共 100002 个字符）" in message
    assert len(message) < 500


def test_a_long_unknown_key_is_cut(tmp_path: Path):
    config = tmp_path / "settings.yaml"
    config.write_text(f"? {'y' * 50_000}\n: 1\n", encoding="utf-8")  # an explicit key
    with pytest.raises(ConfigurationError, match="…（共 50000 个字符）") as caught:
        load_settings(config, environ={})
    assert len(str(caught.value)) < 1000


@pytest.fixture
def server(tmp_path: Path):
    with ExportServer(small_export(tmp_path / "export")) as running:
        yield running


def test_a_huge_pagination_cursor_is_refused_and_quoted_cut(server):
    page = b'{"data": [], "next": "' + b"x" * 2_000_000 + b'"}'
    server.faults.append(Fault("/v1/items", "body", bodies=[page]))
    with pytest.raises(ExportBroken) as caught:
        list(HttpSource(server.url, **FAST).iter_records("items"))
    message = str(caught.value)
    assert "分页游标过长（在地址中占 2000008 个字符，上限 4096）" in message
    assert f"'{'x' * 200}'…（共 2000000 个字符）" in message
    assert len(message) < 600
    assert all(len(r.path) + len(str(r.query)) < 5000 for r in server.requests)  # never asked


def test_a_repeated_cursor_is_quoted_cut(server):
    cursor = "c" * 3000
    page = b'{"data": [], "next": "' + cursor.encode() + b'"}'
    server.faults.append(Fault("/v1/items", "body", bodies=[page, page]))
    with pytest.raises(ExportBroken) as caught:
        list(HttpSource(server.url, **FAST).iter_records("items"))
    message = str(caught.value)
    assert f"分页游标 '{'c' * 200}'…（共 3000 个字符） 重复" in message
    assert message.count("c") < 3000 + 400  # the URL of the page holds it once, cut nowhere else
