"""``approvals``: the command line. The only place where errors become messages and exit codes,
and the one place where the settings (:mod:`pipeline.config`: command line over environment over
the YAML file over the defaults) become what each stage receives.

Exit codes (docs/operations.md): 0 published / done; 1 the export has invalid records
(``validate``); 2 usage error; 3 refused — the export is broken or a gate refused it, nothing was
published; 4 the export API could not be reached; 5 bad configuration (a message names the
setting, where its value came from and the value); 6 the disk is full (ENOSPC or EDQUOT while
writing the release: nothing was published, the staging folder is removed); 7 nothing changed
(``--if-changed``); 8 another build is running (``build``, ``trigger``, ``rollback``).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import DEFAULTS, SETTING, Settings, default_text, load_settings
from pipeline.errors import ApprovalsError, ConfigurationError
from pipeline.gates.manifest import Limits
from pipeline.gates.shrink import GateSettings
from pipeline.outcomes.run import OutcomeSettings
from pipeline.search.cli import add_search_command, cmd_search

if TYPE_CHECKING:
    from pipeline.build import BuildOptions

DEFAULT_SITE = DEFAULTS["site"]


def settings_from(args: argparse.Namespace, require_export: bool = True) -> Settings:
    """The settings of this run: the options given on the command line over the environment
    over the ``--config`` file over the defaults (exit 5 on any bad value)."""
    given = {name: value for name, value in vars(args).items() if name in SETTING}
    settings = load_settings(getattr(args, "config", None), given)
    if require_export and not settings.export:
        raise ConfigurationError("缺少导出位置：请给出 --export，或在配置文件中设置 export")
    return settings


def site_folder(settings: Settings) -> Path:
    """The ``site`` setting's folder, created if missing; exit 5 naming ``site`` when it is a
    file, cannot be created (``/proc/self/x``) or cannot be written."""
    site = settings.site
    if site.exists() and not site.is_dir():
        raise settings.invalid("site", "这是一个已存在的文件，不是目录")
    try:
        site.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise settings.invalid("site", f"无法创建该目录（{exc.strerror}）") from exc
    if not os.access(site, os.W_OK | os.X_OK):
        raise settings.invalid("site", "该目录不可写")
    return site


def _add_setting(parser: argparse.ArgumentParser, name: str) -> None:
    """The command-line option of a setting, with its help and default from the model."""
    info = SETTING[name]
    if info.option is None:
        raise ValueError(f"setting {name} has no command-line option")
    default = "" if info.default is None else f"（默认 {default_text(info.default)}）"
    parser.add_argument(
        info.option, dest=name, default=None, metavar=name.upper(), help=info.help + default
    )


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="管理员的 YAML 配置文件（命令行参数优先于环境变量，环境变量优先于文件）",
    )
    for name in ("export", "profile", "max_invalid_share", "token_env"):
        _add_setting(parser, name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="approvals", description="公开审批：把审批系统的导出发布为静态网站与开放数据"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="输出调试日志")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build",
        help="从导出构建并发布一个新版本的网站",
        description="抽取 → 校验 → 发布数据 → 生成网站 → 检查 → 原子切换 current",
    )
    _add_source_arguments(build)
    for name in ("site", "pelican_settings", "k", "lag_days", "holidays", "keep_releases"):
        _add_setting(build, name)
    build.add_argument(
        "--allow-shrink",
        action="store_true",
        help="本次允许数据量大幅减少（越过收缩检查；会记入日志与构建报告）",
    )
    build.add_argument(
        "--if-changed",
        action="store_true",
        help="导出与线上版本相同（export_id 相同）时不构建，以 7 退出",
    )

    validate = commands.add_parser(
        "validate",
        help="只校验导出，不构建；有错误时以 1 退出",
        description="逐条校验导出并打印问题报告（记录、字段、问题、取值）",
    )
    _add_source_arguments(validate)

    serve = commands.add_parser(
        "serve",
        help="在本机预览已发布的网站",
        description="以 HTTP 提供 SITE/current/site（默认只监听 127.0.0.1）",
    )
    serve.add_argument(
        "--site", default=DEFAULT_SITE, type=Path, help="网站目录（默认 %(default)s）"
    )
    serve.add_argument("--host", default="127.0.0.1", help="监听地址（默认 %(default)s）")
    serve.add_argument("--port", default=8000, type=int, help="端口（默认 %(default)s）")
    add_search_command(commands, DEFAULT_SITE)

    releases = commands.add_parser(
        "releases",
        help="列出保留的版本及其状态",
        description="列出 SITE/releases 下的版本：线上版本、导出时间、事项数、问题数",
    )
    releases.add_argument(
        "--site", default=DEFAULT_SITE, type=Path, help="网站目录（默认 %(default)s）"
    )

    rollback = commands.add_parser(
        "rollback",
        help="把线上版本切回上一个（或指定的）版本",
        description="原子切换 current 到较早的版本；不删除任何版本",
    )
    rollback.add_argument(
        "--site", default=DEFAULT_SITE, type=Path, help="网站目录（默认 %(default)s）"
    )
    rollback.add_argument("--to", default=None, help="目标版本 id（默认为当前版本之前的一个）")

    trigger = commands.add_parser(
        "trigger",
        help="在后台启动一次构建（已有构建在运行时以 8 退出）",
        description="按配置文件在后台启动 approvals build，输出写入 SITE/logs/build-<时间>.log",
    )
    trigger.add_argument("--config", type=Path, default=None, help="管理员的 YAML 配置文件（必填）")

    admin = commands.add_parser(
        "admin-serve",
        help="管理接口：POST /rebuild 触发构建，GET /status 查看状态",
        description="供审批系统运维台调用的 HTTP 接口（令牌认证、合并请求、限流；默认只监听本机）",
    )
    admin.add_argument("--config", type=Path, default=None, help="管理员的 YAML 配置文件（必填）")
    _add_setting(admin, "admin_host")
    _add_setting(admin, "admin_port")

    contract = commands.add_parser(
        "contract",
        help="由模型生成导出契约的 JSON Schema 与 OpenAPI",
        description="写出 export-contract.schema.json 与 openapi.json",
    )
    contract.add_argument(
        "--out", default=Path("docs"), type=Path, help="输出目录（默认 %(default)s）"
    )
    return parser


# ------------------------------------------------------------------ settings → the stages
# The one place where the settings become the objects each stage receives.


def source_options(settings: Settings) -> dict[str, Any]:
    """The export source's options: the HTTP client's limits for an export API, else none."""
    if not str(settings.export).startswith(("http://", "https://")):
        return {}
    return {
        "token_env": settings.token_env,
        "timeout": settings.http_timeout,
        "retries": settings.http_retries,
        "backoff": settings.http_backoff,
        "deadline_seconds": settings.http_deadline,
        "max_page_bytes": int(settings.http_max_page_bytes),
        "max_export_bytes": int(settings.http_max_export_bytes),
    }


def limits(settings: Settings) -> Limits:
    return Limits(max_invalid_share=settings.max_invalid_share)


def gate_settings(settings: Settings, allow_shrink: bool) -> GateSettings:
    return GateSettings(
        shrink_items=settings.shrink_items,
        shrink_departments=settings.shrink_departments,
        shrink_cases=settings.shrink_cases,
        allow_shrink=allow_shrink,
    )


def outcome_settings(settings: Settings) -> OutcomeSettings:
    return OutcomeSettings(
        k=settings.k, lag_days=settings.lag_days, holidays_file=settings.holidays
    )


def build_options(settings: Settings, args: argparse.Namespace) -> BuildOptions:
    from pipeline.build import DEFAULT_SETTINGS, BuildOptions

    return BuildOptions(
        export=str(settings.export),
        site_dir=settings.site,
        profile=settings.profile,
        settings_file=settings.pelican_settings or DEFAULT_SETTINGS,
        limits=limits(settings),
        outcomes=outcome_settings(settings),
        source_options=source_options(settings),
        gates=gate_settings(settings, args.allow_shrink),
        keep_releases=settings.keep_releases,
        workers=settings.workers,
        if_changed=args.if_changed,
        progress=True,
    )


# ------------------------------------------------------------------ the commands


def cmd_build(args: argparse.Namespace) -> int:
    from pipeline.build import BUILD_GC_THRESHOLD, gc_threshold, run_build, summary
    from pipeline.ops.status import RunRecorder

    settings = settings_from(args)
    site_folder(settings)
    options = build_options(settings, args)
    with RunRecorder(
        options.site_dir
    ) as run:  # logs/runs.jsonl however it ends; status.json on success
        with gc_threshold(BUILD_GC_THRESHOLD):
            result = run_build(options)
        run.succeeded(result.release_id, result.timings)
    for line in [*map(str, result.report.problems), *result.report.not_shown_summary()]:
        print(line, file=sys.stderr)
    print(summary(result))
    print(f"已发布版本 {result.release_id}：{options.site_dir}/current/site")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from pipeline.build import validate_export
    from pipeline.gates.manifest import check_export

    settings = settings_from(args)
    catalogue, report = validate_export(
        str(settings.export), settings.profile, None, **source_options(settings)
    )
    for line in [*map(str, report.problems), *report.not_shown_summary()]:
        print(line)
    kept = "，".join(f"{k} {report.kept[k]}/{report.read[k]}" for k in sorted(report.read))
    print(f"读取/通过：{kept}；错误 {report.error_count} 个，提示 {report.warning_count} 个")
    check_export(catalogue, report, limits(settings))
    return 1 if report.error_count else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.ops.serve import serve

    serve(args.site, args.host, args.port)
    return 0


def cmd_releases(args: argparse.Namespace) -> int:
    from pipeline.release.publish import list_releases

    for release in list_releases(args.site):
        marker = "*" if release.live else " "
        print(f"{marker} {release.release_id}  {release.status}  {release.summary}")
    return 0


ROLLBACK_REFUSED = "现在不回滚（它发布和清理旧版本时不能切换 current）——请等它结束后再试"


def cmd_rollback(args: argparse.Namespace) -> int:
    from pipeline.ops.status import write_public_status
    from pipeline.release.lock import build_lock
    from pipeline.release.publish import rollback

    if not (args.site / "releases").is_dir():
        raise ConfigurationError(f"{args.site} 下没有任何版本（releases/ 不存在），无法回滚")
    with build_lock(args.site, ROLLBACK_REFUSED):  # exit 8 while a build runs
        target = rollback(args.site, args.to)
        write_public_status(args.site)  # status.json describes the release now live
    print(f"线上版本已切换为 {target}")
    return 0


def cmd_contract(args: argparse.Namespace) -> int:
    from pipeline.contract.docs import write_contract_docs

    for path in write_contract_docs(args.out):
        print(path)
    return 0


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
DISK_FULL_EXIT = 6


def cmd_trigger(args: argparse.Namespace) -> int:
    from pipeline.ops.admin import trigger_build

    return trigger_build(args.config, site_folder(settings_from(args)))


def cmd_admin_serve(args: argparse.Namespace) -> int:
    from pipeline.ops.admin import serve_admin

    settings = settings_from(args)
    site_folder(settings)
    values = {name: getattr(settings, name) for name in SETTING}
    serve_admin(values, args.config, None, None)  # --host/--port are in the settings
    return 0


COMMANDS = {
    "build": cmd_build,
    "validate": cmd_validate,
    "serve": cmd_serve,
    "contract": cmd_contract,
    "releases": cmd_releases,
    "rollback": cmd_rollback,
    "trigger": cmd_trigger,
    "admin-serve": cmd_admin_serve,
    "search": cmd_search,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s %(message)s",
    )
    try:
        return COMMANDS[args.command](args)
    except ApprovalsError as exc:
        print(f"approvals {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        where = f"写入 {exc.filename} 时" if exc.filename else ""
        print(
            f"approvals {args.command}: 磁盘空间不足：{where}失败（{exc.strerror}）；"
            "线上版本未改变——请清理磁盘后重试",
            file=sys.stderr,
        )
        return DISK_FULL_EXIT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
