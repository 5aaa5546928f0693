"""``approvals``: the command line. The only place where errors become messages and exit codes.

Exit codes (docs/operations.md): 0 published / done; 1 the export has invalid records
(``validate``); 2 usage error; 3 refused — the export is broken or a gate refused it, nothing was
published; 4 the export API could not be reached; 5 bad configuration; 6 the disk is full (ENOSPC
or EDQUOT while writing the release: nothing was published, the staging folder is removed);
7 nothing changed (``--if-changed``); 8 another build is running.

The export API client's limits come from the environment (unset: the defaults of
:class:`pipeline.extract.http.HttpSource`): ``APPROVALS_HTTP_TIMEOUT`` (seconds per request, one
number or ``CONNECT,READ``; default 5,30), ``APPROVALS_HTTP_RETRIES`` (default 4),
``APPROVALS_HTTP_BACKOFF`` (seconds, default 0.5) and ``APPROVALS_HTTP_DEADLINE`` (seconds for the
whole extraction, default 900). A value that is not a number is a configuration error (exit 5).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from pathlib import Path

from pipeline.config import DEFAULTS, load_config
from pipeline.errors import ApprovalsError, ConfigurationError
from pipeline.gates.manifest import Limits
from pipeline.outcomes.run import OutcomeSettings
from pipeline.search.cli import add_search_command, cmd_search

DEFAULT_SITE = DEFAULTS["site"]
OPTION_SETTINGS = (
    "export",
    "site",
    "profile",
    "max_invalid_share",
    "token_env",
    "k",
    "lag_days",
    "holidays",
    "keep_releases",
)


def resolved(args: argparse.Namespace) -> dict:
    """The config file's settings (or defaults), overridden by the options given."""
    values = load_config(args.config)
    for name in OPTION_SETTINGS:
        if getattr(args, name, None) is not None:
            values[name] = getattr(args, name)
    if not values.get("export"):
        raise ConfigurationError("缺少导出位置：请给出 --export，或在配置文件中设置 export")
    return values


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=None, help="管理员的 YAML 配置文件（命令行参数优先于文件）"
    )
    parser.add_argument("--export", default=None, help="导出目录，或导出接口的 http(s):// 基础地址")
    parser.add_argument(
        "--profile",
        default=None,
        help="映射配置：内置 contract（默认）、gbt39046，或 YAML 文件路径",
    )
    parser.add_argument(
        "--max-invalid-share",
        type=float,
        default=None,
        help=f"无效记录占比超过此值即拒绝发布（默认 {DEFAULTS['max_invalid_share']}）",
    )
    parser.add_argument(
        "--token-env",
        default=None,
        help=f"存放导出接口 Bearer 令牌的环境变量名（默认 {DEFAULTS['token_env']}）",
    )


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
    build.add_argument(
        "--site",
        default=None,
        type=Path,
        help=f"网站目录：releases/<id>/ 与指向当前版本的 current（默认 {DEFAULT_SITE}）",
    )
    build.add_argument(
        "--settings",
        type=Path,
        default=None,
        help="Pelican 配置文件（默认为项目的 pelicanconf.py）",
    )
    build.add_argument(
        "--k", type=int, default=None, help=f"匿名化与统计隐藏的阈值 k（默认 {DEFAULTS['k']}）"
    )
    build.add_argument(
        "--lag-days",
        type=int,
        default=None,
        help=f"月份结束后再等待多少天才公布该月（默认 {DEFAULTS['lag_days']}）",
    )
    build.add_argument(
        "--holidays",
        type=Path,
        default=None,
        help="管理员的节假日 YAML（补充 chinesecalendar 尚未收录的年份）",
    )
    build.add_argument(
        "--keep-releases",
        type=int,
        default=None,
        help=f"保留最近多少个版本供回滚（默认 {DEFAULTS['keep_releases']}）",
    )
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
    admin.add_argument(
        "--host", default=None, help=f"监听地址（默认 admin_host：{DEFAULTS['admin_host']}）"
    )
    admin.add_argument(
        "--port", default=None, type=int, help=f"端口（默认 admin_port：{DEFAULTS['admin_port']}）"
    )

    contract = commands.add_parser(
        "contract",
        help="由模型生成导出契约的 JSON Schema 与 OpenAPI",
        description="写出 export-contract.schema.json 与 openapi.json",
    )
    contract.add_argument(
        "--out", default=Path("docs"), type=Path, help="输出目录（默认 %(default)s）"
    )
    return parser


def _source_options(values: dict) -> dict:
    if str(values["export"]).startswith(("http://", "https://")):
        return {"token_env": values["token_env"], **http_settings_from_env()}
    return {}


HTTP_ENV = {
    "APPROVALS_HTTP_TIMEOUT": "timeout",
    "APPROVALS_HTTP_RETRIES": "retries",
    "APPROVALS_HTTP_BACKOFF": "backoff",
    "APPROVALS_HTTP_DEADLINE": "deadline_seconds",
}


def http_settings_from_env() -> dict:
    """The HttpSource limits set in the environment (see the module docstring)."""
    options: dict = {}
    for name, key in HTTP_ENV.items():
        text = os.environ.get(name, "").strip()
        if not text:
            continue
        try:
            if key == "timeout":
                parts = [float(part) for part in text.split(",")]
                value, ok = (parts[0], parts[-1]), len(parts) <= 2 and min(parts) > 0
            elif key == "retries":
                value = int(text)
                ok = value >= 0
            else:
                value = float(text)
                ok = value > 0 if key == "deadline_seconds" else value >= 0
        except ValueError:
            ok = False
        if not ok:
            raise ConfigurationError(
                f"环境变量 {name}={text!r} 无效（应为非负数值；超时可写作 连接,读取 秒）"
            )
        options[key] = value
    return options


def _outcome_settings(values: dict) -> OutcomeSettings:
    if int(values["k"]) < 2:
        raise ConfigurationError(f"k 至少为 2（得到 {values['k']}）")
    if int(values["lag_days"]) < 0:
        raise ConfigurationError(f"lag_days 不能为负（得到 {values['lag_days']}）")
    holidays = Path(values["holidays"]) if values.get("holidays") else None
    return OutcomeSettings(
        k=int(values["k"]), lag_days=int(values["lag_days"]), holidays_file=holidays
    )


def cmd_build(args: argparse.Namespace) -> int:
    from pipeline.build import DEFAULT_SETTINGS, BuildOptions, run_build, summary
    from pipeline.gates.shrink import gate_settings

    values = resolved(args)
    options = BuildOptions(
        export=str(values["export"]),
        site_dir=Path(values["site"]),
        profile=values["profile"],
        settings_file=args.settings or DEFAULT_SETTINGS,
        limits=Limits(float(values["max_invalid_share"])),
        outcomes=_outcome_settings(values),
        source_options=_source_options(values),
        gates=gate_settings(values, args.allow_shrink),
        keep_releases=int(values["keep_releases"]),
        if_changed=args.if_changed,
        progress=True,
    )
    from pipeline.ops.status import RunRecorder

    with RunRecorder(
        options.site_dir
    ) as run:  # logs/runs.jsonl however it ends; status.json on success
        result = run_build(options)
        run.succeeded(result.release_id, result.timings)
    for problem in result.report.problems:
        print(problem, file=sys.stderr)
    print(summary(result))
    print(f"已发布版本 {result.release_id}：{options.site_dir}/current/site")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from pipeline.build import validate_export
    from pipeline.gates.manifest import check_export

    values = resolved(args)
    catalogue, report = validate_export(
        str(values["export"]), values["profile"], None, **_source_options(values)
    )
    for problem in report.problems:
        print(problem)
    kept = "，".join(f"{k} {report.kept[k]}/{report.read[k]}" for k in sorted(report.read))
    print(f"读取/通过：{kept}；错误 {len(report.errors)} 个，提示 {len(report.warnings)} 个")
    check_export(catalogue, report, Limits(float(values["max_invalid_share"])))
    return 1 if report.errors else 0


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


def cmd_rollback(args: argparse.Namespace) -> int:
    from pipeline.ops.status import write_public_status
    from pipeline.release.publish import rollback

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

    values = resolved(args)
    return trigger_build(args.config, Path(values["site"]))


def cmd_admin_serve(args: argparse.Namespace) -> int:
    from pipeline.ops.admin import serve_admin

    serve_admin(resolved(args), args.config, args.host, args.port)
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
