"""Settings of the nightly run: one typed model, every setting declared once.

Each field of :class:`Settings` has its type, default, allowed range and help text, and says
where it may come from (:class:`From`): the admin's YAML file (``--config FILE``), an
environment variable, a command-line option. When a setting is given in several places the
command line wins over the environment, which wins over the file; the default comes last.

A value that does not fit (a word where a number belongs, a share above 1, an unknown YAML key,
a secret written into the YAML file) is a :class:`~pipeline.errors.ConfigurationError` (exit 5)
whose message names the setting, where the value came from and the value. ``docs/operations.md``
lists every setting; ``tests/test_settings.py`` keeps that table equal to this model.

Pelican's own settings (``SITENAME``, ``SITEURL``, the theme's ``APPROVALS_SEARCH_API`` …) stay in
``pelicanconf.py``: they describe the site, not the run (``pelican_settings`` names the file).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
)

from pipeline.errors import ConfigurationError, cut


@dataclass(frozen=True)
class From:
    """Where a setting may come from besides its default."""

    file: bool = True
    env: str | None = None
    option: str | None = None


@dataclass(frozen=True)
class Expect:
    """What a value of a custom type must look like (for error messages)."""

    text: str


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):  # YAML's yes/no/true must not become 1/0
        raise ValueError("bool")
    return value


def _timeout(value: Any) -> Any:
    """``30``, ``"5,30"`` or ``[5, 30]`` → (connect, read) seconds."""
    _no_bool(value)
    if isinstance(value, int | float):
        parts: list[Any] = [value]
    elif isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        raise ValueError("timeout")
    if not 1 <= len(parts) <= 2 or any(isinstance(part, bool) for part in parts):
        raise ValueError("timeout")
    return (parts[0], parts[-1])


def _positive_pair(value: tuple[float, float]) -> tuple[float, float]:
    if min(value) <= 0:
        raise ValueError("timeout")
    return value


def _schedule(value: str) -> str:
    if not re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip()):
        raise ValueError("schedule")
    return value.strip()


Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool), Field(allow_inf_nan=False)]
Share = Annotated[Float, Field(ge=0, le=1)]
Bytes = Annotated[
    ByteSize,
    BeforeValidator(_no_bool),
    Field(ge=1024),
    Expect("字节数（≥ 1KiB）：整数，或带单位，如 32MiB、16GiB"),
]
EnvName = Annotated[
    str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"), Expect("环境变量名（字母、数字、下划线）")
]
Timeout = Annotated[
    tuple[Float, Float],
    BeforeValidator(_timeout),
    AfterValidator(_positive_pair),
    Expect("大于 0 的秒数，或 连接,读取 两个秒数（如 5,30）"),
]
Schedule = Annotated[str, AfterValidator(_schedule), Expect("本地时间 HH:MM（如 02:30）")]


def _not_empty(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():  # Path("") is the working directory
        raise ValueError("empty")
    return value


SiteFolder = Annotated[
    Path, BeforeValidator(_not_empty), Expect("网站目录的路径（不能为空；相对路径相对于当前目录）")
]
MAX_WORKERS = 64
"""The most worker processes a build may be given: its parallel parts are CPU-bound (one process
per core is all they use) and each is a fork of the build holding its own copy of what it
touches, so a count far above the cores only costs memory and process slots: ``workers:
100000`` was accepted and would have forked that many processes."""

MiB, GiB = 1024**2, 1024**3


class Settings(BaseModel):
    """Every setting of the nightly run (the help text is what ``--help`` and errors show)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    export: Annotated[
        str | None,
        Field(description="导出目录，或导出接口的 http(s):// 基础地址（必填）", min_length=1),
        From(option="--export"),
    ] = None
    site: Annotated[
        SiteFolder,
        Field(description="网站目录：releases/<id>/ 与指向当前版本的 current"),
        From(option="--site"),
    ] = Path("site")
    profile: Annotated[
        str,
        Field(description="映射配置：内置 contract、gbt39046，或 YAML 文件路径", min_length=1),
        From(option="--profile"),
    ] = "contract"
    token_env: Annotated[
        EnvName,
        Field(description="存放导出接口 Bearer 令牌的环境变量名"),
        From(option="--token-env"),
    ] = "APPROVALS_EXPORT_TOKEN"
    max_invalid_share: Annotated[
        Share,
        Field(description="任一实体无效记录占比超过此值即拒绝发布"),
        From(option="--max-invalid-share"),
    ] = 0.1
    pelican_settings: Annotated[
        Path | None,
        Field(description="Pelican 配置文件（默认为项目的 pelicanconf.py）"),
        From(option="--settings"),
    ] = None
    k: Annotated[
        Int,
        Field(ge=2, description="匿名化办件记录与统计隐藏的阈值 k"),
        From(option="--k"),
    ] = 5
    lag_days: Annotated[
        Int,
        Field(ge=0, le=366, description="月份结束后再等待多少天才公布该月统计"),
        From(option="--lag-days"),
    ] = 0
    holidays: Annotated[
        Path | None,
        Field(description="管理员的节假日 YAML（补充 chinesecalendar 尚未收录的年份）"),
        From(option="--holidays"),
    ] = None
    keep_releases: Annotated[
        Int,
        Field(ge=1, description="保留最近多少个版本供回滚（发布成功后才清理更早的版本）"),
        From(option="--keep-releases"),
    ] = 7
    shrink_items: Annotated[
        Share, Field(description="事项数比上一版减少超过此比例即拒绝发布"), From()
    ] = 0.1
    shrink_departments: Annotated[
        Share,
        Field(description="部门数比上一版减少超过此比例即拒绝发布（默认任何减少都拒绝）"),
        From(),
    ] = 0.0
    shrink_cases: Annotated[
        Share, Field(description="累计办件数比上一版减少超过此比例即拒绝发布"), From()
    ] = 0.2
    schedule: Annotated[
        Schedule,
        Field(
            description="每日定时构建的时间（本地时间 HH:MM，仅用于状态显示；定时由 systemd 或 cron 执行）"
        ),
        From(),
    ] = "02:30"
    admin_host: Annotated[
        str,
        Field(description="管理接口监听地址（默认只监听本机）", min_length=1),
        From(option="--host"),
    ] = "127.0.0.1"
    admin_port: Annotated[
        Int, Field(ge=1, le=65535, description="管理接口端口"), From(option="--port")
    ] = 8700
    admin_token_env: Annotated[
        EnvName, Field(description="存放管理接口令牌的环境变量名"), From()
    ] = "APPROVALS_ADMIN_TOKEN"
    admin_rate_limit: Annotated[
        Int, Field(ge=1, description="管理接口每个客户端每分钟最多接受的重建请求数"), From()
    ] = 6
    http_timeout: Annotated[
        Timeout,
        Field(description="导出接口每个请求的超时秒数（连接,读取，或一个数）"),
        From(env="APPROVALS_HTTP_TIMEOUT"),
    ] = (5.0, 30.0)
    http_retries: Annotated[
        Int,
        Field(ge=0, le=20, description="导出接口请求失败（429、5xx、连接错误）后的重试次数"),
        From(env="APPROVALS_HTTP_RETRIES"),
    ] = 4
    http_backoff: Annotated[
        Float,
        Field(ge=0, le=60, description="重试的指数退避基数（秒）"),
        From(env="APPROVALS_HTTP_BACKOFF"),
    ] = 0.5
    http_deadline: Annotated[
        Float,
        Field(gt=0, description="从导出接口读取整个导出的总时限（秒）；超过即停止（退出码 4）"),
        From(env="APPROVALS_HTTP_DEADLINE"),
    ] = 900.0
    http_max_page_bytes: Annotated[
        Bytes,
        Field(description="导出接口单个 JSON 响应（manifest 或一页记录）解压后的最大字节数"),
        From(env="APPROVALS_HTTP_MAX_PAGE_BYTES"),
    ] = ByteSize(32 * MiB)
    http_max_export_bytes: Annotated[
        Bytes,
        Field(description="从导出接口读取的全部响应（含文件）解压后的最大总字节数"),
        From(env="APPROVALS_HTTP_MAX_EXPORT_BYTES"),
    ] = ByteSize(16 * GiB)
    workers: Annotated[
        Int,
        Field(
            ge=0,
            le=MAX_WORKERS,
            description="构建的并行进程数（渲染、数据集格式、隐私检查）；0 为自动",
        ),
        From(env="APPROVALS_WORKERS"),
    ] = 0
    row_id_secret: Annotated[
        SecretStr | None,
        Field(description="匿名化办件记录行号的密钥（不设则由导出本身派生）"),
        From(file=False, env="APPROVALS_ROW_ID_SECRET"),
    ] = None

    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    def origin(self, name: str) -> str:
        """Where this setting's value came from: 命令行 --k, 环境变量 …, 配置文件 …, 默认值."""
        return self._origins.get(name, "默认值")

    def invalid(self, name: str, why: str) -> ConfigurationError:
        """The error (exit 5) for a value that passed the model but cannot be used (a site
        folder that cannot be created): the setting, where it came from, the value, why."""
        shown = cut(repr(str(getattr(self, name))))
        return ConfigurationError(
            f"设置 {name} 无效：{_where(self.origin(name), name, shown)}——{why}"
        )


# ------------------------------------------------------------------ the declarations, read


@dataclass(frozen=True)
class SettingInfo:
    """One setting as declared in :class:`Settings` (for help texts, docs and checks)."""

    name: str
    default: Any
    help: str
    file: bool
    env: str | None
    option: str | None
    secret: bool
    expect: str


def _marker(metadata: list[Any], kind: type) -> Any:
    return next((m for m in metadata if isinstance(m, kind)), None)


def _base_type(annotation: Any) -> Any:
    """``Path | None`` → Path; ``Annotated[int, …]`` → int."""
    if get_origin(annotation) in (Union, UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


KINDS = {int: "整数", float: "数值", str: "文本", Path: "路径", SecretStr: "文本"}


BOUNDS = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.Lt, "lt", "<"),
)


def _expectation(annotation: Any, metadata: list[Any]) -> str:
    custom = _marker(metadata, Expect)
    if custom is not None:
        return custom.text
    bounds = [
        f"{sign} {getattr(m, attr):g}"
        for kind, attr, sign in BOUNDS
        for m in metadata
        if isinstance(m, kind)
    ]
    kind = KINDS.get(_base_type(annotation), "值")
    return kind + (f"，且 {' 且 '.join(bounds)}" if bounds else "")


def _declared() -> tuple[SettingInfo, ...]:
    infos = []
    for name, field in Settings.model_fields.items():
        origin = _marker(field.metadata, From)
        if origin is None:
            raise TypeError(f"setting {name} does not say where it may come from (From)")
        infos.append(
            SettingInfo(
                name=name,
                default=field.default,
                help=field.description or "",
                file=origin.file,
                env=origin.env,
                option=origin.option,
                secret=_base_type(field.annotation) is SecretStr,
                expect=_expectation(field.annotation, field.metadata),
            )
        )
    return tuple(infos)


SETTINGS: tuple[SettingInfo, ...] = _declared()
SETTING = {info.name: info for info in SETTINGS}
DEFAULTS: dict[str, Any] = {info.name: info.default for info in SETTINGS}


def default_text(value: Any) -> str:
    """A default as the admin would write it: ``5,30``, ``32MiB``, ``0.1``, ``site``."""
    if isinstance(value, ByteSize):
        for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
            if value % size == 0:
                return f"{value // size}{unit}"
        return str(int(value))
    if isinstance(value, tuple):
        return ",".join(f"{part:g}" for part in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ------------------------------------------------------------------ loading


class _SettingsLoader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1, where an unquoted ``12:30`` is a base-60 number (750) and
    ``1:30`` is 90: here such a scalar stays the text it was written as (``schedule: 12:30`` is
    half past twelve, ``http_deadline: 1:30`` is refused, not 90 seconds)."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        tag = super().resolve(kind, value, implicit)
        if kind is yaml.ScalarNode and implicit[0] and ":" in value and tag in _NUMBER_TAGS:
            return "tag:yaml.org,2002:str"
        return str(tag)


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _refuse_aliases(text: str, path: Path) -> None:
    """A settings file has no use for YAML anchors and aliases (``&a``, ``*a``), and a few
    hundred bytes of nested aliases expand to gigabytes (a "billion laughs"): refused, naming
    the line, before anything is built from the file."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1 if event.start_mark else "?"
            raise ConfigurationError(
                f"配置文件 {path} 第 {line} 行使用了 YAML 锚点或别名（&、*）——配置文件不支持，"
                "请把每个值直接写出"
            )


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigurationError(f"找不到配置文件 {path}")
    try:
        text = path.read_text("utf-8")
        _refuse_aliases(text, path)
        data = yaml.load(text, Loader=_SettingsLoader) or {}  # noqa: S506 - a SafeLoader
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"配置文件 {path} 不是有效的 YAML：{cut(str(exc))}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"配置文件 {path} 的顶层必须是键值对")
    names = [str(key) for key in data]
    unknown = sorted(name for name in names if name not in SETTING)
    if unknown:
        known = ", ".join(info.name for info in SETTINGS if info.file)
        raise ConfigurationError(
            f"配置文件 {path} 中有未知的设置：{cut(', '.join(unknown))}（可用：{known}）"
        )
    not_here = [
        f"{info.name}（只能来自环境变量 {info.env}）"
        for info in SETTINGS
        if info.name in names and not info.file
    ]
    if not_here:
        raise ConfigurationError(f"配置文件 {path} 不能设置：{'，'.join(not_here)}——密钥不写入文件")
    return {str(key): value for key, value in data.items()}


def _from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        info.name: environ[info.env].strip()
        for info in SETTINGS
        if info.env and environ.get(info.env, "").strip()
    }


def load_settings(
    config_file: Path | None = None,
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The settings: defaults, then the YAML file, then the environment, then the command-line
    ``options`` (setting name → value as typed; ``None`` = not given). Every bad value is named
    with its setting, its source and the value, all at once (exit 5)."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    layers: list[tuple[dict[str, Any], Any]] = []
    if config_file is not None:
        layers.append((_read_file(config_file), lambda name: f"配置文件 {config_file}"))
    env = _from_environment(os.environ if environ is None else environ)
    layers.append((env, lambda name: f"环境变量 {SETTING[name].env}"))
    given = {name: value for name, value in (options or {}).items() if value is not None}
    layers.append((given, lambda name: f"命令行 {SETTING[name].option}"))
    for layer, describe in layers:
        for name, value in layer.items():
            values[name], origins[name] = value, describe(name)
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError(_explain(exc, values, origins)) from None
    settings._origins.update(origins)
    return settings


def _explain(exc: ValidationError, values: dict[str, Any], origins: dict[str, str]) -> str:
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        info = SETTING.get(name)
        shown = "***" if info and info.secret else cut(repr(values.get(name, error.get("input"))))
        expect = info.expect if info else error["msg"]
        where = _where(origins.get(name, "默认值"), name, shown)
        lines.append(f"设置 {name} 无效：{where}——应为{expect}")
    return "配置有误：\n  " + "\n  ".join(lines) if len(lines) > 1 else lines[0]


def _where(origin: str, name: str, shown: str) -> str:
    """The value as the admin wrote it, where they wrote it: ``环境变量 X='many'``,
    ``配置文件 F 中的 k: 'five'``, ``命令行 --k 'x'``."""
    if origin.startswith("环境变量"):
        return f"{origin}={shown}"
    if origin.startswith("配置文件"):
        return f"{origin} 中的 {name}: {shown}"
    return f"{origin} {shown}"
