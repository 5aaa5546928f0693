"""实施主体: the district's departments (宝山区, 310113).

Each record is the contract's Department plus three private keys the item builder reads and the
generator drops: ``key`` (how item modules name the department), ``window`` (where its items are
handled) and ``unit`` (the approving section, for ``responsible``).
"""

from pipeline.contract.credit_code import credit_check_char, org_code_check_char

REGION = "310113"
CENTRE = "上海市宝山区密山路5号 宝山区行政服务中心"
HOURS = "周一至周五 9:00-17:00；周六 9:00-12:00（法定节假日除外）"
SITE = "https://www.shbsq.gov.cn"


def credit_code(org8: str) -> str:
    """统一社会信用代码 of a government body (机关, 11) in 宝山区: GB 11714 + GB 32100."""
    first17 = "11" + REGION + org8 + org_code_check_char(org8)
    return first17 + credit_check_char(first17)


def _dept(key, org8, name, short, name_en, address, phone, window, unit, path, parent=None,
          hours="周一至周五 9:00-17:00（法定节假日除外）"):
    record = {
        "key": key,
        "code": credit_code(org8),
        "name": name,
        "short_name": short,
        "name_en": name_en,
        "region_code": REGION,
        "address": address,
        "phone": phone,
        "office_hours": hours,
        "website": f"{SITE}/shbsq/{path}/",
        "window": window,
        "unit": unit,
    }
    if parent:
        record["parent_code"] = parent
    return record


DEPARTMENTS = [
    _dept("SCJG", "00248101", "上海市宝山区市场监督管理局", "区市场监管局",
          "Baoshan District Administration for Market Regulation",
          "上海市宝山区牡丹江路1508号", "021-56781001", f"{CENTRE} 一楼市场监管综合窗口",
          "行政审批科", "scjgj"),
    _dept("WJW", "00248136", "上海市宝山区卫生健康委员会", "区卫生健康委",
          "Baoshan District Health Commission",
          "上海市宝山区友谊路1号", "021-56781002", f"{CENTRE} 二楼卫生健康窗口",
          "医政医管科", "wjw"),
    _dept("RSJ", "00248152", "上海市宝山区人力资源和社会保障局", "区人社局",
          "Baoshan District Human Resources and Social Security Bureau",
          "上海市宝山区淞宝路30号", "021-56781003", "上海市宝山区淞宝路30号 一楼人社服务大厅",
          "就业促进科", "rsj"),
    _dept("MZJ", "00248187", "上海市宝山区民政局", "区民政局",
          "Baoshan District Civil Affairs Bureau",
          "上海市宝山区友谊路15号", "021-56781004", f"{CENTRE} 二楼民政窗口",
          "社会救助科", "mzj"),
    _dept("JSW", "00248208", "上海市宝山区建设和管理委员会", "区建设管理委",
          "Baoshan District Construction and Management Commission",
          "上海市宝山区淞宝路115号", "021-56781005", f"{CENTRE} 三楼建设工程审批窗口",
          "建筑市场管理科", "jsw"),
    _dept("GHZY", "00248224", "上海市宝山区规划和自然资源局", "区规划资源局",
          "Baoshan District Planning and Natural Resources Bureau",
          "上海市宝山区牡丹江路1325号", "021-56781006", "上海市宝山区牡丹江路1325号 不动产登记大厅",
          "建筑工程管理科", "ghzyj"),
    _dept("STHJ", "00248259", "上海市宝山区生态环境局", "区生态环境局",
          "Baoshan District Ecology and Environment Bureau",
          "上海市宝山区同济路1号", "021-56781007", f"{CENTRE} 三楼生态环境窗口",
          "环境影响评价科", "sthjj"),
    _dept("JTW", "00248275", "上海市宝山区交通委员会", "区交通委",
          "Baoshan District Transport Commission",
          "上海市宝山区海江路300号", "021-56781008", f"{CENTRE} 三楼交通窗口",
          "运输管理科", "jtw"),
    _dept("WLJ", "00248291", "上海市宝山区文化和旅游局", "区文化旅游局",
          "Baoshan District Culture and Tourism Bureau",
          "上海市宝山区淞宝路88号", "021-56781009", f"{CENTRE} 二楼文化旅游窗口",
          "文化市场管理科", "whlyj"),
    _dept("TYJ", "00248312", "上海市宝山区体育局", "区体育局",
          "Baoshan District Sports Bureau",
          "上海市宝山区宝杨路2000号", "021-56781010", f"{CENTRE} 二楼文化旅游窗口",
          "竞技体育科", "tyj"),
    _dept("JYJ", "00248338", "上海市宝山区教育局", "区教育局",
          "Baoshan District Education Bureau",
          "上海市宝山区漠河路600号", "021-56781011", "上海市宝山区漠河路600号 一楼受理窗口",
          "民办教育管理科", "jyj"),
    _dept("YJJ", "00248354", "上海市宝山区应急管理局", "区应急局",
          "Baoshan District Emergency Management Bureau",
          "上海市宝山区淞滨路28号", "021-56781012", f"{CENTRE} 三楼应急管理窗口",
          "危险化学品安全监督管理科", "yjglj"),
    _dept("LHSR", "00248379", "上海市宝山区绿化和市容管理局", "区绿化市容局",
          "Baoshan District Landscaping and City Appearance Administrative Bureau",
          "上海市宝山区双城路813号", "021-56781013", f"{CENTRE} 三楼绿化市容窗口",
          "绿化管理科", "lhsrj"),
    _dept("SWJ", "00248395", "上海市宝山区水务局", "区水务局",
          "Baoshan District Water Authority",
          "上海市宝山区盘古路339号", "021-56781014", f"{CENTRE} 三楼水务窗口",
          "水政水资源科", "swj"),
    _dept("GAFJ", "00248416", "上海市公安局宝山分局", "宝山公安分局",
          "Baoshan Branch of Shanghai Public Security Bureau",
          "上海市宝山区友谊路99号", "021-56781015", "上海市宝山区牡丹江路1000号 出入境及户政办证大厅",
          "户政管理支队", "gafj",
          hours="周一至周六 9:00-17:00（法定节假日除外）"),
    _dept("YBJ", "00248432", "上海市宝山区医疗保障局", "区医保局",
          "Baoshan District Healthcare Security Administration",
          "上海市宝山区长江西路101号", "021-56781016", "上海市宝山区长江西路101号 医保服务大厅",
          "医药服务管理科", "ybj"),
    _dept("TYJR", "00248467", "上海市宝山区退役军人事务局", "区退役军人局",
          "Baoshan District Veterans Affairs Bureau",
          "上海市宝山区永清路100号", "021-56781017", "上海市宝山区永清路100号 退役军人服务中心",
          "优抚科", "tyjrswj"),
    _dept("CGZF", "00248483", "上海市宝山区城市管理行政执法局", "区城管执法局",
          "Baoshan District Urban Management and Law Enforcement Bureau",
          "上海市宝山区水产路2299号", "021-56781018", "上海市宝山区水产路2299号 执法受理窗口",
          "法制科", "cgzfj"),
    _dept("FGJ", "00248504", "上海市宝山区住房保障和房屋管理局", "区房管局",
          "Baoshan District Housing Security and Administration Bureau",
          "上海市宝山区铁力路2500号", "021-56781019", f"{CENTRE} 三楼住房保障窗口",
          "住房保障科", "fgj"),
    _dept("YYJD", "00248520", "上海市宝山区人民政府友谊路街道办事处", "友谊路街道",
          "Youyi Road Subdistrict Office, Baoshan District",
          "上海市宝山区团结路58号", "021-56781020", "上海市宝山区团结路58号 友谊路街道社区事务受理服务中心",
          "社区服务办公室", "yyljd",
          hours="周一至周五 8:30-17:00；周六 8:30-11:30（法定节假日除外）"),
]
# A 派出机构 of the market regulator: parent_code points at the bureau.
DEPARTMENTS.append(
    _dept("SCJGS", "00248547", "上海市宝山区市场监督管理局友谊市场监督管理所", "友谊市场监管所",
          "Youyi Market Regulation Office, Baoshan District AMR",
          "上海市宝山区友谊支路27号", "021-56781021", "上海市宝山区友谊支路27号 一楼受理窗口",
          "综合业务科", "scjgj/yysjs", parent=DEPARTMENTS[0]["code"]))

BY_KEY = {d["key"]: d for d in DEPARTMENTS}
