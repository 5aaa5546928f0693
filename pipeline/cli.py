"""``approvals``: the command line. The only place where errors become messages and exit codes.

Exit codes: 0 done; 1 the export has invalid records (``validate``); 2 usage error (argparse);
3 the export is broken and nothing was published; 4 the export API could not be reached;
5 bad configuration.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline.catalogue import Limits
from pipeline.errors import ApprovalsError, ConfigurationError
from pipeline.outcomes.run import OutcomeSettings

DEFAULT_SITE = "site"


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export", required=True,
                        help="导出目录，或导出接口的 http(s):// 基础地址")
    parser.add_argument("--profile", default="contract",
                        help="映射配置：内置 contract（默认）、gbt39046，或 YAML 文件路径")
    parser.add_argument("--max-invalid-share", type=float, default=Limits.max_invalid_share,
                        help="无效记录占比超过此值即拒绝发布（默认 %(default)s）")
    parser.add_argument("--token-env", default="APPROVALS_EXPORT_TOKEN",
                        help="存放导出接口 Bearer 令牌的环境变量名（默认 %(default)s）")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="approvals", description="公开审批：把审批系统的导出发布为静态网站与开放数据")
    parser.add_argument("-v", "--verbose", action="store_true", help="输出调试日志")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="从导出构建并发布一个新版本的网站",
                                description="抽取 → 校验 → 发布数据 → 生成网站 → 检查 → 原子切换 current")
    _add_source_arguments(build)
    build.add_argument("--site", default=DEFAULT_SITE, type=Path,
                       help="网站目录：releases/<id>/ 与指向当前版本的 current（默认 %(default)s）")
    build.add_argument("--settings", type=Path, default=None,
                       help="Pelican 配置文件（默认为项目的 pelicanconf.py）")
    build.add_argument("--k", type=int, default=OutcomeSettings.k,
                       help="匿名化与统计隐藏的阈值 k（默认 %(default)s）")
    build.add_argument("--lag-days", type=int, default=OutcomeSettings.lag_days,
                       help="月份结束后再等待多少天才公布该月（默认 %(default)s）")
    build.add_argument("--holidays", type=Path, default=None,
                       help="管理员的节假日 YAML（补充 chinesecalendar 尚未收录的年份）")

    validate = commands.add_parser("validate", help="只校验导出，不构建；有错误时以 1 退出",
                                   description="逐条校验导出并打印问题报告（记录、字段、问题、取值）")
    _add_source_arguments(validate)

    serve = commands.add_parser("serve", help="在本机预览已发布的网站",
                                description="以 HTTP 提供 SITE/current/site（默认只监听 127.0.0.1）")
    serve.add_argument("--site", default=DEFAULT_SITE, type=Path, help="网站目录（默认 %(default)s）")
    serve.add_argument("--host", default="127.0.0.1", help="监听地址（默认 %(default)s）")
    serve.add_argument("--port", default=8000, type=int, help="端口（默认 %(default)s）")

    contract = commands.add_parser("contract", help="由模型生成导出契约的 JSON Schema 与 OpenAPI",
                                   description="写出 export-contract.schema.json 与 openapi.json")
    contract.add_argument("--out", default=Path("docs"), type=Path, help="输出目录（默认 %(default)s）")
    return parser


def _source_options(args: argparse.Namespace) -> dict:
    if args.export.startswith(("http://", "https://")):
        return {"token_env": args.token_env}
    return {}


def _outcome_settings(args: argparse.Namespace) -> OutcomeSettings:
    if args.k < 2:
        raise ConfigurationError(f"--k 至少为 2（得到 {args.k}）")
    if args.lag_days < 0:
        raise ConfigurationError(f"--lag-days 不能为负（得到 {args.lag_days}）")
    return OutcomeSettings(k=args.k, lag_days=args.lag_days, holidays_file=args.holidays)


def cmd_build(args: argparse.Namespace) -> int:
    from pipeline.build import DEFAULT_SETTINGS, BuildOptions, run_build, summary

    options = BuildOptions(export=args.export, site_dir=args.site, profile=args.profile,
                           settings_file=args.settings or DEFAULT_SETTINGS,
                           limits=Limits(args.max_invalid_share),
                           outcomes=_outcome_settings(args),
                           source_options=_source_options(args))
    result = run_build(options)
    for problem in result.report.problems:
        print(problem, file=sys.stderr)
    print(summary(result))
    print(f"已发布版本 {result.release_id}：{args.site}/current/site")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from pipeline.build import validate_export
    from pipeline.catalogue import check_export

    catalogue, report = validate_export(args.export, args.profile, None, **_source_options(args))
    for problem in report.problems:
        print(problem)
    kept = "，".join(f"{k} {report.kept[k]}/{report.read[k]}" for k in sorted(report.read))
    print(f"读取/通过：{kept}；错误 {len(report.errors)} 个，提示 {len(report.warnings)} 个")
    check_export(catalogue, report, Limits(args.max_invalid_share))
    return 1 if report.errors else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.serve import serve

    serve(args.site, args.host, args.port)
    return 0


def cmd_contract(args: argparse.Namespace) -> int:
    from pipeline.contract_docs import write_contract_docs

    for path in write_contract_docs(args.out):
        print(path)
    return 0


COMMANDS = {"build": cmd_build, "validate": cmd_validate, "serve": cmd_serve, "contract": cmd_contract}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s %(message)s")
    try:
        return COMMANDS[args.command](args)
    except ApprovalsError as exc:
        print(f"approvals {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
