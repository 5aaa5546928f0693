"""Settings of the nightly run, each declared once with its default and meaning.

An admin keeps them in a YAML file (``approvals build --config approvals.yaml``); a command-line
option overrides the file. Unknown keys are refused at start-up, so a typo never silently falls
back to a default. ``docs/operations.md`` lists every setting (a test keeps it in sync).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigurationError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("export", None, "导出目录，或导出接口的 http(s):// 基础地址（必填）"),
    Setting("site", "site", "网站目录：releases/<id>/ 与指向当前版本的 current"),
    Setting("profile", "contract", "映射配置：contract、gbt39046，或 YAML 文件路径"),
    Setting("token_env", "APPROVALS_EXPORT_TOKEN", "存放导出接口 Bearer 令牌的环境变量名"),
    Setting("max_invalid_share", 0.1, "任一实体无效记录占比超过此值即拒绝发布"),
    Setting("k", 5, "匿名化办件记录与统计隐藏的阈值 k"),
    Setting("lag_days", 0, "月份结束后再等待多少天才公布该月统计"),
    Setting("holidays", None, "管理员的节假日 YAML（补充 chinesecalendar 尚未收录的年份）"),
    Setting("keep_releases", 7, "保留最近多少个版本供回滚（发布成功后才清理更早的版本）"),
    Setting("shrink_items", 0.10, "事项数比上一版减少超过此比例即拒绝发布"),
    Setting(
        "shrink_departments", 0.0, "部门数比上一版减少超过此比例即拒绝发布（默认任何减少都拒绝）"
    ),
    Setting("shrink_cases", 0.20, "累计办件数比上一版减少超过此比例即拒绝发布"),
    Setting(
        "schedule",
        "02:30",
        "每日定时构建的时间（本地时间 HH:MM，仅用于状态显示；定时由 systemd 或 cron 执行）",
    ),
    Setting("admin_host", "127.0.0.1", "管理接口监听地址（默认只监听本机）"),
    Setting("admin_port", 8700, "管理接口端口"),
    Setting("admin_token_env", "APPROVALS_ADMIN_TOKEN", "存放管理接口令牌的环境变量名"),
    Setting("admin_rate_limit", 6, "管理接口每个客户端每分钟最多接受的重建请求数"),
)
DEFAULTS = {s.name: s.default for s in SETTINGS}


def load_config(path: Path | None) -> dict[str, Any]:
    """Defaults, overlaid with the YAML file's values (unknown keys refused)."""
    values = dict(DEFAULTS)
    if path is None:
        return values
    if not path.is_file():
        raise ConfigurationError(f"找不到配置文件 {path}")
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"配置文件 {path} 不是有效的 YAML：{exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"配置文件 {path} 的顶层必须是键值对")
    unknown = sorted(set(data) - set(DEFAULTS))
    if unknown:
        raise ConfigurationError(
            f"配置文件 {path} 中有未知的设置：{', '.join(unknown)}（可用：{', '.join(DEFAULTS)}）"
        )
    values.update(data)
    return values
