"""Settings the adversarial pass found unchecked: a ``site`` that is a file, cannot be created or
is empty (a traceback, or a build writing into the working directory); ``workers`` without an
upper bound; ``approvals serve`` on a port out of range or in use (a traceback); and YAML 1.1's
base-60 numbers (``schedule: 12:30`` read as 750, ``http_deadline: 1:30`` as 90 seconds)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import MAX_WORKERS, load_settings
from pipeline.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent


def approvals(*args: str, cwd: Path = ROOT, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=timeout,
    )


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "approvals.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ site


def test_a_site_that_is_a_file_is_exit_5_naming_site(tmp_path):
    a_file = tmp_path / "passwd"
    a_file.write_text("root:x:0:0\n", encoding="utf-8")
    config = _config(tmp_path, f"export: {tmp_path / 'export'}\nsite: {a_file}\n")
    done = approvals("build", "--config", str(config))
    assert done.returncode == 5, done.stderr[-2000:]
    assert (
        f"设置 site 无效：配置文件 {config} 中的 site: '{a_file}'——这是一个已存在的文件"
        in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_a_site_that_cannot_be_created_is_exit_5_naming_site(tmp_path):
    done = approvals("build", "--export", str(tmp_path), "--site", "/proc/self/x")
    assert done.returncode == 5, done.stderr[-2000:]
    assert "设置 site 无效：命令行 --site '/proc/self/x'——无法创建该目录" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_empty_site_is_exit_5_and_writes_nothing_in_the_working_directory(tmp_path):
    work = tmp_path / "cwd"
    work.mkdir()
    done = approvals("build", "--export", "/nonexistent", "--site", "", cwd=work)
    assert done.returncode == 5, done.stderr[-2000:]
    assert "设置 site 无效：命令行 --site ''——应为网站目录的路径（不能为空" in done.stderr
    assert list(work.iterdir()) == []


def test_trigger_names_a_bad_site_too(tmp_path):
    a_file = tmp_path / "site"
    a_file.write_text("", encoding="utf-8")
    config = _config(tmp_path, f"export: {tmp_path}\nsite: {a_file}\n")
    done = approvals("trigger", "--config", str(config))
    assert done.returncode == 5 and "设置 site 无效" in done.stderr, done.stderr[-2000:]


# ------------------------------------------------------------------ workers


def test_workers_has_an_upper_bound():
    assert load_settings(None, {}, {"APPROVALS_WORKERS": str(MAX_WORKERS)}).workers == MAX_WORKERS
    with pytest.raises(ConfigurationError) as caught:
        load_settings(None, {}, {"APPROVALS_WORKERS": "100000"})
    assert str(caught.value).startswith("设置 workers 无效：环境变量 APPROVALS_WORKERS='100000'")
    assert f"≤ {MAX_WORKERS}" in str(caught.value)


# ------------------------------------------------------------------ serve's port


def test_serve_on_a_port_out_of_range_is_exit_5(tmp_path):
    done = approvals("serve", "--site", str(tmp_path), "--port", "99999")
    assert done.returncode == 5, done.stderr[-2000:]
    assert "--port 无效：99999（应为 0–65535" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_on_a_port_in_use_is_exit_5(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        done = approvals("serve", "--site", str(tmp_path), "--port", str(port))
    finally:
        taken.close()
    assert done.returncode == 5, done.stderr[-2000:]
    assert f"无法监听 127.0.0.1:{port}：Address already in use" in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------ YAML 1.1 base 60


def test_an_unquoted_schedule_is_the_time_written(tmp_path):
    config = _config(tmp_path, "export: /srv/export\nschedule: 12:30\n")
    assert load_settings(config, {}, {}).schedule == "12:30"


def test_an_unquoted_h_mm_number_is_not_read_as_base_60(tmp_path):
    config = _config(tmp_path, "http_deadline: 1:30\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, {}, {})
    assert str(caught.value).startswith(
        f"设置 http_deadline 无效：配置文件 {config} 中的 http_deadline: '1:30'——应为数值"
    )
    assert load_settings(_config(tmp_path, "http_deadline: 90\n"), {}, {}).http_deadline == 90
