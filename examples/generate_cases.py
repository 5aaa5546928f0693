"""Add synthetic but realistic case records (办件) and evaluations (好差评) to an export.

    python examples/generate_cases.py --catalogue examples/demo-export --out build/demo-export \
        --cases 200000

Copies the catalogue export to ``--out`` and writes ``cases/<YYYY-MM>.jsonl`` (24 months up to
the export's ``exported_at``) and ``evaluations.jsonl``, then rewrites the manifest's counts and
checksums. Deterministic: the same arguments give byte-identical files.

What it models: volumes per item from a few cases a month to hundreds (a Zipf-like spread);
results (mostly granted; denied, not accepted, withdrawn); processing time in working days (by the
statutory-holiday calendar) that mostly meets the promised limit, with a realistic overdue share;
special procedures; cases still open; personal data in the personal fields; and personal data
leaking into ``result_reason`` free text in a few percent of cases — what the anonymiser and the
PII gate must stop.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.outcomes.workdays import UnknownCalendarYear, WorkdayCalendar  # noqa: E402

SEED = 20261125
TZ = "+08:00"
STREETS = (
    "310113003",
    "310113007",
    "310113008",
    "310113101",
    "310113102",
    "310113103",
    "310113104",
    "310113106",
    "310113109",
    "310113111",
    "310113112",
    "310113113",
    "310113501",
)
STREET_NAMES = (
    "友谊路",
    "吴淞",
    "张庙",
    "罗店镇",
    "大场镇",
    "杨行镇",
    "月浦镇",
    "罗泾镇",
    "顾村镇",
    "高境镇",
    "庙行镇",
    "淞南镇",
    "宝山工业园区",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强晓明海燕小红子涵浩然欣怡梓萱宇轩思远佳怡俊杰雨桐诗涵"
ROADS = (
    "友谊路",
    "牡丹江路",
    "淞宝路",
    "密山路",
    "同济路",
    "共和新路",
    "长江西路",
    "呼兰路",
    "殷高西路",
    "泰和路",
)
COMPANY_WORDS = ("鑫源", "宝丰", "淞沪", "顺达", "恒泰", "嘉禾", "华康", "申宝", "海润", "新吴淞")
COMPANY_KINDS = (
    "餐饮管理有限公司",
    "贸易有限公司",
    "建设工程有限公司",
    "医疗科技有限公司",
    "文化传播有限公司",
    "物流有限公司",
)
DENIAL_REASONS = (
    "申请材料不齐全，经一次性告知后逾期未补正",
    "经现场核查，经营场所不符合许可条件",
    "申请事项不属于本机关职权范围，已告知向有关机关申请",
    "检验检测结果未达到标准要求",
)
WITHDRAW_REASONS = ("申请人主动撤回申请", "申请人因经营计划调整放弃申请")


def id_number(rng: random.Random) -> str:
    area = rng.choice(("310113", "310109", "320582", "340103", "410105"))
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    body = f"{area}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}"


def person(rng: random.Random) -> dict:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return {
        "applicant_name": name,
        "applicant_id_type": "居民身份证",
        "applicant_id_number": id_number(rng),
        "applicant_phone": mobile(rng),
        "applicant_address": f"上海市宝山区{rng.choice(ROADS)}{rng.randrange(1, 2000)}弄{rng.randrange(1, 60)}号{rng.randrange(101, 2602)}室",
    }


def organisation(rng: random.Random) -> dict:
    return {
        "applicant_name": f"上海{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}",
        "applicant_id_type": "统一社会信用代码",
        "applicant_id_number": None,
        "applicant_phone": mobile(rng)
        if rng.random() < 0.6
        else f"021-{rng.randrange(50000000, 69999999)}",
        "applicant_address": f"上海市宝山区{rng.choice(ROADS)}{rng.randrange(1, 3000)}号",
    }


def months_before(exported: date, count: int) -> list[date]:
    first = date(exported.year, exported.month, 1)
    out = [first]
    while len(out) < count:
        prev = out[-1] - timedelta(days=1)
        out.append(date(prev.year, prev.month, 1))
    return sorted(out)


def stamp(day: date, rng: random.Random, start_hour: int = 9, end_hour: int = 17) -> str:
    moment = datetime(
        day.year,
        day.month,
        day.day,
        rng.randrange(start_hour, end_hour),
        rng.randrange(60),
        rng.randrange(60),
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + TZ


def limit_days(limit: dict) -> int:
    value = int(limit["value"])
    return {
        "working_days": value,
        "calendar_days": max(1, value * 5 // 7),
        "months": value * 21,
    }.get(limit["unit"], value)


class CaseMaker:
    def __init__(
        self, items: list[dict], calendar: WorkdayCalendar, exported: date, rng: random.Random
    ) -> None:
        self.items, self.calendar, self.exported, self.rng = items, calendar, exported, rng
        self.serial = 0

    def workday_on_or_after(self, day: date) -> date:
        while not self.calendar.is_workday(day):
            day += timedelta(days=1)
        return day

    def make(self, item: dict, month: date) -> dict | None:
        rng = self.rng
        last = min(self.exported, (month + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        submitted = self.workday_on_or_after(
            month + timedelta(days=rng.randrange((last - month).days + 1))
        )
        if submitted > self.exported:
            return None
        self.serial += 1
        applicant_type = rng.choice(item["audiences"])
        personal = person(rng) if applicant_type == "natural_person" else organisation(rng)
        channel = rng.choice(
            [
                f if f in ("window", "online_pc", "mobile", "post") else "other"
                for f in item["handle_forms"]
            ]
        )
        record = {
            "case_id": f"BS{submitted:%Y%m%d}{self.serial:08d}",
            "impl_code": item["impl_code"],
            "item_version": max(1, item["version"] - (1 if rng.random() < 0.2 else 0)),
            "department_code": item["department_code"],
            "applicant_type": applicant_type,
            **personal,
            "street_code": rng.choice(STREETS),
            "channel": channel,
            "submitted_at": stamp(submitted, rng, 9, 16),
        }
        self.decide(record, item, submitted)
        return record

    def decide(self, record: dict, item: dict, submitted: date) -> None:
        rng, cal = self.rng, self.calendar
        promised = 0 if item["case_type"] == "instant" else limit_days(item["promised_limit"])
        statutory = 0 if item["case_type"] == "instant" else limit_days(item["statutory_limit"])
        roll = rng.random()
        if roll < 0.03:
            done = cal.add_working_days(submitted, rng.choice((0, 1, 2)))
            self.close(record, done, "not_accepted", "not_accepted", rng.choice(DENIAL_REASONS[:3]))
            return
        accepted = submitted if rng.random() < 0.7 else cal.add_working_days(submitted, 1)
        record["accepted_at"] = (
            stamp(accepted, rng, 16, 17) if accepted == submitted else stamp(accepted, rng)
        )
        special = (
            rng.randrange(5, 21) if item.get("special_procedures") and rng.random() < 0.15 else 0
        )
        if rng.random() < 0.06 and promised:
            days = rng.randrange(promised + 1, max(promised + 2, statutory + 8))  # overdue
        elif promised:
            days = min(promised, max(0, int(rng.triangular(0, promised, promised * 0.45))))
        else:
            days = 0
        try:
            done = cal.add_working_days(accepted, days + special)
        except UnknownCalendarYear:  # due beyond the calendar's last year: beyond the export too
            done = date.max
        if special:
            record["special_procedure_days"] = special
        if done > self.exported:
            record["status"] = "in_progress"
            record["updated_at"] = record["accepted_at"]
            return
        if roll < 0.05:
            self.close(record, done, "withdrawn", "withdrawn", rng.choice(WITHDRAW_REASONS))
        elif roll < 0.085:
            self.close(record, done, "completed", "denied", rng.choice(DENIAL_REASONS))
        else:
            self.close(record, done, "completed", "granted", None)

    def close(self, record: dict, day: date, status: str, result: str, reason: str | None) -> None:
        # Same-day times are ordered: submitted 9–15h, accepted 16h, completed 17–18h.
        same_day = record["submitted_at"].startswith(day.isoformat())
        completed = stamp(day, self.rng, 17, 19) if same_day else stamp(day, self.rng)
        record.update({"status": status, "result": result, "completed_at": completed})
        if reason and self.rng.random() < 0.35:
            reason = (
                f"申请人{record['applicant_name']}（联系电话{record['applicant_phone']}）：{reason}"
            )
        if reason:
            record["result_reason"] = reason
        record["updated_at"] = record["completed_at"]


def item_weights(items: list[dict], rng: random.Random) -> list[float]:
    ranks = list(range(1, len(items) + 1))
    rng.shuffle(ranks)
    return [1.0 / (rank**0.9) for rank in ranks]


def evaluation_for(case: dict, rng: random.Random) -> dict | None:
    if case.get("status") != "completed" or rng.random() > 0.3:
        return None
    level = rng.choices((5, 4, 3, 2, 1), weights=(78, 12, 5, 3, 2))[0]
    comment = rng.choice(
        ("办事效率高，窗口服务热情", "网上提交很方便", "等待时间有点长", "材料要求讲得很清楚", None)
    )
    if comment and rng.random() < 0.1:
        comment += f"，有问题请联系我{case['applicant_phone']}"
    rated = case["completed_at"][:10]
    return {
        "case_id": case["case_id"],
        "rated_at": f"{rated}T20:00:00{TZ}",
        "channel": case["channel"],
        "level": level,
        **({"comment": comment} if comment else {}),
    }


def write_cases(out: Path, items: list[dict], exported: date, total: int) -> tuple[int, int]:
    rng = random.Random(SEED)
    calendar = WorkdayCalendar()
    maker = CaseMaker(items, calendar, exported, rng)
    months = months_before(exported, 24)
    weights = item_weights(items, rng)
    per_month = total // len(months)
    (out / "cases").mkdir(parents=True, exist_ok=True)
    cases_written = evaluations_written = 0
    with (out / "evaluations.jsonl").open("w", encoding="utf-8") as evaluations:
        for month in months:
            with (out / "cases" / f"{month:%Y-%m}.jsonl").open("w", encoding="utf-8") as handle:
                for item in rng.choices(
                    items,
                    weights=weights,
                    k=per_month + rng.randrange(-per_month // 20, per_month // 20 + 1),
                ):
                    case = maker.make(item, month)
                    if case is None:
                        continue
                    handle.write(json.dumps(case, ensure_ascii=False, separators=(",", ":")) + "\n")
                    cases_written += 1
                    rating = evaluation_for(case, rng)
                    if rating:
                        evaluations.write(
                            json.dumps(rating, ensure_ascii=False, separators=(",", ":")) + "\n"
                        )
                        evaluations_written += 1
    return cases_written, evaluations_written


def rewrite_manifest(out: Path, cases: int, evaluations: int) -> None:
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    manifest["counts"].update({"cases": cases, "evaluations": evaluations})
    checksums = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"):
        checksums[path.relative_to(out).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest["sha256"] = checksums
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", "utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalogue", type=Path, default=Path("examples/demo-export"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cases", type=int, default=200_000)
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    shutil.copytree(args.catalogue, args.out)
    manifest = json.loads((args.out / "manifest.json").read_text("utf-8"))
    exported = date.fromisoformat(manifest["exported_at"][:10])
    items = [
        i
        for i in json.loads((args.out / "items.json").read_text("utf-8"))
        if i["status"] == "in_force"
    ]
    cases, evaluations = write_cases(args.out, items, exported, args.cases)
    rewrite_manifest(args.out, cases, evaluations)
    print(f"{args.out}: {cases} cases, {evaluations} evaluations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
