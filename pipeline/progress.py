"""Progress for humans, logs for machines: a bar over the build's steps on a terminal (tqdm),
one ``key=value`` line per event otherwise (cron, systemd), and a summary at the end."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

STEP_LABELS = {
    "extract_and_validate": "抽取与校验",
    "outcomes": "办件统计与匿名化",
    "write_release_data": "写发布数据",
    "history": "变更记录",
    "datasets": "开放数据",
    "render_site": "生成网站",
    "search_index": "搜索索引",
    "check_site": "检查页面数",
    "check_datasets": "检查开放数据",
    "gates": "发布检查",
    "privacy_gate": "隐私检查",
    "publish": "原子发布",
}


def log_line(stream: TextIO, **fields: Any) -> None:
    parts = [
        f"{k}={json.dumps(v, ensure_ascii=False) if isinstance(v, str) and (' ' in v or not v) else v}"
        for k, v in fields.items()
    ]
    print(" ".join(parts), file=stream, flush=True)


class StepProgress:
    """Reports each step's start and end; a tqdm bar when ``stream`` is a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.bar = None
        if enabled and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                file=self.stream,
                unit="步",
                leave=True,
                bar_format="{desc:<16} {bar} {n_fmt}/{total_fmt} [{elapsed}]",
            )
        self.started = time.perf_counter()

    def start(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(STEP_LABELS.get(name, name))
        elif self.enabled:
            log_line(self.stream, event="step_start", step=name)

    def done(self, name: str, seconds: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled:
            log_line(self.stream, event="step_done", step=name, seconds=seconds)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
