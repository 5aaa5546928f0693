"""The typed settings model (``pipeline/config.py``): where values come from and in which order,
every bad value refused with its setting, source and value (exit 5, through the real command
line), the stages' settings objects made from the model, and ``docs/operations.md`` equal to it."""

from __future__ import annotations

import argparse
import gc
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.build import BUILD_GC_THRESHOLD, DEFAULT_SETTINGS, gc_threshold
from pipeline.cli import build_options, build_parser, settings_from
from pipeline.config import SETTINGS, Settings, default_text, load_settings
from pipeline.errors import ConfigurationError
from tests.fixtures import small_export

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "docs" / "operations.md"


def approvals(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALS_HTTP")}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**environment, **(env or {})},
    )


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "approvals.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ order and sources


def test_the_command_line_wins_over_the_environment_over_the_file(tmp_path):
    config = write_config(tmp_path, "k: 3\nlag_days: 4\nhttp_retries: 5\nhttp_backoff: 2\n")
    settings = load_settings(
        config,
        {"k": "9", "lag_days": None},  # None: the option was not given
        {"APPROVALS_HTTP_RETRIES": "7", "APPROVALS_HTTP_DEADLINE": " 60 "},
    )
    assert (settings.k, settings.origin("k")) == (9, "命令行 --k")
    assert (settings.lag_days, settings.origin("lag_days")) == (4, f"配置文件 {config}")
    assert settings.http_retries == 7 and settings.origin("http_retries").startswith("环境变量")
    assert settings.http_backoff == 2.0 and settings.http_deadline == 60.0
    assert (settings.keep_releases, settings.origin("keep_releases")) == (7, "默认值")


def test_typed_values_from_text():
    settings = load_settings(
        None,
        {},
        {
            "APPROVALS_HTTP_TIMEOUT": "3",
            "APPROVALS_HTTP_MAX_PAGE_BYTES": "1MiB",
            "APPROVALS_HTTP_MAX_EXPORT_BYTES": "2000000",
            "APPROVALS_WORKERS": "2",
            "APPROVALS_ROW_ID_SECRET": "s3cret",
        },
    )
    assert settings.http_timeout == (3.0, 3.0)
    assert settings.http_max_page_bytes == 1024**2 and settings.http_max_export_bytes == 2_000_000
    assert settings.workers == 2
    assert settings.row_id_secret is not None and "s3cret" not in repr(settings)
    assert load_settings(None, {}, {"APPROVALS_HTTP_TIMEOUT": "2, 40"}).http_timeout == (2, 40)


@pytest.mark.parametrize(
    ("yaml_text", "setting", "shown", "expect"),
    [
        ("k: five", "k", "'five'", "整数，且 ≥ 2"),
        ("k: 1", "k", "1", "≥ 2"),
        ("k: true", "k", "True", "整数"),
        ("k: 2.5", "k", "2.5", "整数"),
        ("max_invalid_share: 1.5", "max_invalid_share", "1.5", "≤ 1"),
        ("shrink_cases: .nan", "shrink_cases", "nan", "数值"),
        ("keep_releases: 0", "keep_releases", "0", "≥ 1"),
        ("lag_days: -1", "lag_days", "-1", "≥ 0"),
        ("schedule: '25:00'", "schedule", "'25:00'", "HH:MM"),
        ("admin_port: 70000", "admin_port", "70000", "≤ 65535"),
        ("token_env: 'MY TOKEN'", "token_env", "'MY TOKEN'", "环境变量名"),
        ("http_timeout: '5,0'", "http_timeout", "'5,0'", "秒数"),
        ("http_timeout: [1, 2, 3]", "http_timeout", "[1, 2, 3]", "秒数"),
        ("http_max_page_bytes: 10", "http_max_page_bytes", "10", "1KiB"),
        ("http_max_export_bytes: lots", "http_max_export_bytes", "'lots'", "字节数"),
        ("profile: 12", "profile", "12", "文本"),
        ("workers: -2", "workers", "-2", "≥ 0"),
    ],
)
def test_a_bad_value_in_the_file_names_the_setting_its_source_and_the_value(
    tmp_path, yaml_text, setting, shown, expect
):
    config = write_config(tmp_path, yaml_text + "\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, {}, {})
    message = str(caught.value)
    assert message.startswith(
        f"设置 {setting} 无效：配置文件 {config} 中的 {setting}: {shown}——应为"
    )
    assert expect in message


def test_every_bad_value_is_reported_at_once():
    with pytest.raises(ConfigurationError) as caught:
        load_settings(
            None,
            {"k": "x", "keep_releases": "0"},
            {"APPROVALS_HTTP_BACKOFF": "slow"},
        )
    lines = str(caught.value).splitlines()
    assert lines[0] == "配置有误："
    assert [line.split(" 无效")[0].strip() for line in lines[1:]] == [
        "设置 k",
        "设置 keep_releases",
        "设置 http_backoff",
    ]
    assert "环境变量 APPROVALS_HTTP_BACKOFF='slow'——应为数值" in lines[3]


def test_unknown_keys_and_secrets_in_the_file_are_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="未知的设置：kk, timeout"):
        load_settings(write_config(tmp_path, "kk: 5\ntimeout: 3\nk: 5\n"), {}, {})
    with pytest.raises(ConfigurationError, match="row_id_secret（只能来自环境变量 APPROVALS_ROW"):
        load_settings(write_config(tmp_path, "row_id_secret: hunter2\n"), {}, {})
    with pytest.raises(ConfigurationError, match="顶层必须是键值对"):
        load_settings(write_config(tmp_path, "- k\n"), {}, {})


# ------------------------------------------------------------------ through the real command


def test_a_bad_yaml_value_is_exit_5_not_a_traceback(tmp_path):
    export = small_export(tmp_path / "x")
    config = write_config(tmp_path, f"export: {export}\nsite: {tmp_path / 'site'}\nk: five\n")
    result = approvals("build", "--config", str(config))
    assert result.returncode == 5, result.stderr
    assert "Traceback" not in result.stderr
    assert f"设置 k 无效：配置文件 {config} 中的 k: 'five'——应为整数，且 ≥ 2" in result.stderr
    assert not (tmp_path / "site" / "current").exists()


def test_a_bad_option_value_is_exit_5_naming_the_option(tmp_path):
    export = small_export(tmp_path / "x")
    result = approvals("build", "--export", str(export), "--site", str(tmp_path / "s"), "--k", "x")
    assert result.returncode == 5, result.stderr
    assert "设置 k 无效：命令行 --k 'x'——应为整数" in result.stderr


def test_a_bad_environment_value_is_exit_5_naming_the_variable(tmp_path):
    result = approvals(
        "validate",
        "--export",
        "http://127.0.0.1:9/",
        env={"APPROVALS_HTTP_DEADLINE": "-5"},
    )
    assert result.returncode == 5, result.stderr
    assert "设置 http_deadline 无效：环境变量 APPROVALS_HTTP_DEADLINE='-5'——应为" in result.stderr


def test_a_setting_from_the_file_reaches_the_stage_and_an_option_overrides_it(tmp_path):
    export = small_export(tmp_path / "x")
    site = tmp_path / "site"
    config = write_config(tmp_path, f"export: {export}\nsite: {site}\nkeep_releases: 1\n")
    for _ in range(2):
        assert approvals("build", "--config", str(config)).returncode == 0
    assert len(list((site / "releases").iterdir())) == 1  # keep_releases: 1 from the file
    result = approvals("build", "--config", str(config), "--keep-releases", "3")
    assert result.returncode == 0, result.stderr
    assert len(list((site / "releases").iterdir())) == 2  # the option won


# ------------------------------------------------------------------ the stages' settings


SAMPLES = {  # a value other than the default for every setting
    "export": "http://127.0.0.1:1/api",
    "site": "elsewhere",
    "profile": "gbt39046",
    "token_env": "OTHER_TOKEN",
    "max_invalid_share": "0.3",
    "pelican_settings": "publishconf.py",
    "k": "7",
    "lag_days": "3",
    "holidays": "holidays.yaml",
    "keep_releases": "2",
    "shrink_items": "0.5",
    "shrink_departments": "0.25",
    "shrink_cases": "0.75",
    "schedule": "03:15",
    "admin_host": "0.0.0.0",
    "admin_port": "8800",
    "admin_token_env": "OTHER_ADMIN_TOKEN",
    "admin_rate_limit": "9",
    "http_timeout": "2,9",
    "http_retries": "1",
    "http_backoff": "0.1",
    "http_deadline": "30",
    "http_max_page_bytes": "1MiB",
    "http_max_export_bytes": "1GiB",
    "workers": "2",
    "row_id_secret": "s3cret",
}
NOT_FOR_THE_BUILD = {
    "schedule": "the admin endpoint's status (pipeline.ops.status)",
    "admin_host": "admin-serve",
    "admin_port": "admin-serve",
    "admin_token_env": "admin-serve",
    "admin_rate_limit": "admin-serve",
    "row_id_secret": "pipeline.outcomes.anonymise reads APPROVALS_ROW_ID_SECRET itself",
}


def _options(settings: Settings):
    switches = argparse.Namespace(allow_shrink=False, if_changed=False)
    return build_options(settings, switches)


def test_every_setting_of_the_build_reaches_the_build_options():
    assert sorted(SAMPLES) == sorted(s.name for s in SETTINGS), "a sample for every setting"
    base = Settings.model_validate({"export": SAMPLES["export"]})
    for info in SETTINGS:
        if info.name == "export" or info.name in NOT_FOR_THE_BUILD:
            continue
        changed = Settings.model_validate(
            {"export": SAMPLES["export"], info.name: SAMPLES[info.name]}
        )
        assert _options(changed) != _options(base), f"{info.name} does not reach the build"


def test_the_build_options_carry_the_settings():
    settings = Settings.model_validate({n: v for n, v in SAMPLES.items() if n != "row_id_secret"})
    options = _options(settings)
    assert options.site_dir == Path("elsewhere") and options.profile == "gbt39046"
    assert options.settings_file == Path("publishconf.py")
    assert options.limits.max_invalid_share == 0.3 and options.keep_releases == 2
    assert (options.outcomes.k, options.outcomes.lag_days) == (7, 3)
    assert options.outcomes.holidays_file == Path("holidays.yaml")
    assert (options.gates.shrink_items, options.gates.shrink_cases) == (0.5, 0.75)
    assert options.source_options == {
        "token_env": "OTHER_TOKEN",
        "timeout": (2.0, 9.0),
        "retries": 1,
        "backoff": 0.1,
        "deadline_seconds": 30.0,
        "max_page_bytes": 1024**2,
        "max_export_bytes": 1024**3,
    }
    folder = Settings.model_validate({"export": "/srv/export"})
    assert _options(folder).source_options == {}
    assert _options(folder).settings_file == DEFAULT_SETTINGS


def test_the_parser_takes_the_options_of_the_model():
    args = build_parser().parse_args(["build", "--export", "e", "--settings", "p.py", "--k", "3"])
    settings = settings_from(args)
    assert (settings.pelican_settings, settings.k) == (Path("p.py"), 3)
    with pytest.raises(ConfigurationError, match="缺少导出位置"):
        settings_from(build_parser().parse_args(["build"]))


# ------------------------------------------------------------------ the GC threshold


def test_the_gc_threshold_is_applied_and_restored():
    before = gc.get_threshold()
    with gc_threshold(BUILD_GC_THRESHOLD):
        assert gc.get_threshold() == BUILD_GC_THRESHOLD
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), gc_threshold(BUILD_GC_THRESHOLD):
        raise RuntimeError("a failed build")
    assert gc.get_threshold() == before


# ------------------------------------------------------------------ docs/operations.md


def _table(text: str, header: str) -> dict[str, list[str]]:
    """The rows of the markdown table whose header row starts with ``header``: first cell → cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def _sources(info) -> str:
    parts = (["file"] if info.file else []) + [f"`{x}`" for x in (info.env, info.option) if x]
    return ", ".join(parts)


def test_operations_doc_lists_every_setting_as_the_model_declares_it():
    rows = _table(OPERATIONS.read_text("utf-8"), "setting")
    assert list(rows) == [f"`{s.name}`" for s in SETTINGS], "the model's settings, in its order"
    for info in SETTINGS:
        default, sources, meaning = rows[f"`{info.name}`"]
        if info.default is None:
            assert default.startswith("—"), info.name
        else:
            assert default == f"`{default_text(info.default)}`", (info.name, default)
        assert sources == _sources(info), (info.name, sources)
        assert len(meaning) > 20, info.name
        assert info.help, info.name


def test_every_approvals_name_in_the_code_is_documented_as_setting_pelican_or_environment():
    """``APPROVALS_*`` names live in three places — the settings' environment variables and
    defaults, Pelican's settings, other environment variables — and the docs say which; a name
    the code dropped must leave the docs too."""
    text = OPERATIONS.read_text("utf-8")
    documented = set()
    for header, cells_naming in (("setting", 2), ("Pelican setting", 0), ("variable", 0)):
        for first, cells in _table(text, header).items():
            naming = " ".join([first, *cells[:cells_naming]])  # name; a setting's default, from
            documented |= set(re.findall(r"APPROVALS_[A-Z_]+", naming))
    files = [*(ROOT / "pipeline").rglob("*.py"), ROOT / "pelicanconf.py", ROOT / "publishconf.py"]
    in_code = {name for f in files for name in re.findall(r"APPROVALS_[A-Z_]+", f.read_text())}
    assert sorted(in_code - documented) == [], "not in docs/operations.md"
    assert sorted(documented - in_code) == [], "documented, but the code has no such name"
