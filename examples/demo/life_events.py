"""一件事: life events as step-by-step guides. Steps name items by their exact name; the generator
turns names into impl_codes and refuses any name that is missing or not in force. Steps that share
a ``group`` are alternatives (do one of them)."""


def S(title, items, description=None, optional=False, group=None):
    step = {"title": title}
    if description:
        step["description"] = description
    step["items"] = list(items)
    step["optional"] = optional
    if group:
        step["group"] = group
    return step


LIFE_EVENTS = [
    {
        "code": "LE01",
        "name": "开办餐饮店",
        "description": "从领取营业执照到开门营业：主体登记、食品经营许可、排水许可和从业人员健康证明，可在“一网通办”一次申请、并联审批。",
        "audiences": ["natural_person", "enterprise"],
        "steps": [
            S(
                "以个体工商户形式登记",
                ["个体工商户设立登记"],
                "夫妻店、小吃店常用",
                group="领取营业执照",
            ),
            S(
                "以公司形式登记",
                ["有限责任公司设立登记"],
                "合伙开店或者连锁经营常用",
                group="领取营业执照",
            ),
            S(
                "办理食品经营许可",
                ["食品经营许可（新办）"],
                "场所需符合布局和流程要求，可以预约现场核查",
            ),
            S("办理排水许可", ["城镇污水排入排水管网许可（新办）"], "餐饮排水须设置隔油设施"),
            S("员工办理健康证明", ["从业人员健康证明"], "接触直接入口食品的员工上岗前取得"),
            S("设置店招店牌", ["店招店牌设置备案"], optional=True),
            S("设置户外广告", ["户外广告设施设置审批（新办）"], optional=True),
        ],
    },
    {
        "code": "LE02",
        "name": "新生儿出生",
        "description": "孩子出生后的出生证明、落户、医保、社保卡和生育待遇，一次告知、一表申请。",
        "audiences": ["natural_person"],
        "steps": [
            S("孕期办理生育登记", ["生育登记"], "可在孕前或者孕期通过“随申办”办理", optional=True),
            S("领取出生医学证明", ["出生医学证明办理"], "出院前在助产机构办理"),
            S("申报出生登记（落户）", ["出生登记"], "出生后一个月内办理"),
            S("办理医保参保和社保卡", ["城乡居民基本医疗保险参保登记", "社会保障卡申领"]),
            S(
                "申领生育待遇",
                ["生育医疗费用报销"],
                "参加职工医保（生育保险）的父母申请",
                optional=True,
            ),
        ],
    },
    {
        "code": "LE03",
        "name": "开办个体工商户",
        "description": "个人开店、开工作室：登记、招牌、招用员工和创业补贴。",
        "audiences": ["natural_person"],
        "steps": [
            S("办理个体工商户设立登记", ["个体工商户设立登记"]),
            S("设置店招店牌", ["店招店牌设置备案"], optional=True),
            S(
                "招用员工就业登记",
                ["用人单位招用人员就业登记"],
                "招用员工的，自用工之日起30日内办理",
                optional=True,
            ),
            S("申请一次性创业补贴", ["一次性创业补贴给付"], "正常经营满一年后申请", optional=True),
        ],
    },
    {
        "code": "LE04",
        "name": "办理退休",
        "description": "到龄退休、领取养老金，以及老年综合津贴。",
        "audiences": ["natural_person", "enterprise"],
        "steps": [
            S("职工正常退休", ["职工正常退休审批"], "达到法定退休年龄的职工", group="退休审批"),
            S("特殊工种提前退休", ["职工特殊工种提前退休审批"], group="退休审批"),
            S("因病完全丧失劳动能力退休", ["职工因病完全丧失劳动能力退休审批"], group="退休审批"),
            S(
                "申领城乡居民养老金",
                ["城乡居民基本养老保险待遇申领"],
                "未参加职工养老保险、参加城乡居民养老保险的",
                group="退休审批",
            ),
            S("申请老年综合津贴", ["高龄老人津贴发放"], "年满65周岁后申请", optional=True),
        ],
    },
    {
        "code": "LE05",
        "name": "结婚登记",
        "description": "领取结婚证，以及婚后的户口迁移和生育登记。",
        "audiences": ["natural_person"],
        "steps": [
            S("办理结婚登记", ["结婚登记"], "双方本人到场，可以提前预约"),
            S("夫妻投靠迁移户口", ["户口迁移（夫妻投靠）"], optional=True),
            S("办理生育登记", ["生育登记"], optional=True),
        ],
    },
    {
        "code": "LE06",
        "name": "开办民办培训机构",
        "description": "举办艺术、体育、科技或者职业技能培训机构：先取得办学许可，再办理法人登记。义务教育阶段学科类培训暂停审批。",
        "audiences": ["natural_person", "enterprise", "social_organisation"],
        "steps": [
            S(
                "非学科类培训办学许可",
                ["民办非学科类培训机构办学许可（新办）"],
                "艺术、体育、科技等培训",
                group="办学许可",
            ),
            S("职业技能培训办学许可", ["民办职业技能培训机构办学许可（新办）"], group="办学许可"),
            S("登记为民办非企业单位", ["民办非企业单位成立登记"], "非营利性机构", group="法人登记"),
            S("登记为公司", ["有限责任公司设立登记"], "营利性机构", group="法人登记"),
            S("设置店招店牌", ["店招店牌设置备案"], optional=True),
        ],
    },
    {
        "code": "LE07",
        "name": "建设项目开工",
        "description": "社会投资建设项目从用地规划到施工许可的主要审批，多数可并联办理。",
        "audiences": ["enterprise", "public_institution", "government"],
        "steps": [
            S("取得建设用地规划许可", ["建设用地规划许可证核发"]),
            S("取得建设工程规划许可", ["建设工程规划许可证核发"]),
            S("环境影响报告表审批", ["建设项目环境影响报告表审批"], group="环境影响评价"),
            S(
                "环境影响登记表备案",
                ["建设项目环境影响登记表备案"],
                "环境影响很小的项目",
                group="环境影响评价",
            ),
            S("领取施工许可证", ["建筑工程施工许可证核发（新办）"]),
            S("占用或者挖掘道路", ["挖掘城市道路审批"], optional=True),
            S("夜间连续施工", ["建设工程夜间施工证明"], optional=True),
            S("砍伐或者迁移树木", ["砍伐、迁移城市树木审批"], optional=True),
        ],
    },
    {
        "code": "LE08",
        "name": "开办药店",
        "description": "开办零售药店：主体登记、药品经营许可，以及医疗器械、预包装食品和医保定点。",
        "audiences": ["enterprise"],
        "steps": [
            S("办理公司设立登记", ["有限责任公司设立登记"]),
            S("办理药品经营许可", ["药品零售企业经营许可（新办）"], "须配备执业药师"),
            S("经营第二类医疗器械", ["第二类医疗器械经营备案"], optional=True),
            S("销售预包装食品", ["仅销售预包装食品备案"], optional=True),
            S("申请医保定点", ["零售药店医疗保障定点申请"], "正式运营满3个月后申请", optional=True),
        ],
    },
    {
        "code": "LE09",
        "name": "二手房交易与不动产登记",
        "description": "买卖存量房：注销原抵押、办理转移登记（过户）和新的抵押登记，税费和登记可一窗办理。",
        "audiences": ["natural_person", "enterprise"],
        "steps": [
            S("卖方注销原抵押", ["不动产抵押权注销登记"], "房屋尚有贷款未还清的", optional=True),
            S("办理转移登记（过户）", ["不动产转移登记（存量房买卖）"]),
            S("买方办理抵押登记", ["不动产抵押权首次登记"], "买方申请贷款的", optional=True),
        ],
    },
    {
        "code": "LE10",
        "name": "开办歌舞娱乐场所",
        "description": "开办KTV、歌舞厅：公司登记、娱乐经营许可和公共场所卫生许可。",
        "audiences": ["enterprise"],
        "steps": [
            S("办理公司设立登记", ["有限责任公司设立登记"]),
            S("办理娱乐经营许可", ["娱乐场所经营许可（新办）"]),
            S("办理公共场所卫生许可", ["公共场所卫生许可（新办）"]),
            S("设置店招店牌", ["店招店牌设置备案"], optional=True),
        ],
    },
    {
        "code": "LE11",
        "name": "失业与再就业",
        "description": "失业后的登记、失业保险金，以及再就业、创业的扶持。",
        "audiences": ["natural_person"],
        "steps": [
            S("办理失业登记", ["失业登记"]),
            S("申领失业保险金", ["失业保险金申领"], "缴纳失业保险满一年、非因本人意愿中断就业的"),
            S("开具无犯罪记录证明", ["无犯罪记录证明开具"], "新单位要求时", optional=True),
            S("自主创业申请补贴", ["一次性创业补贴给付"], optional=True),
        ],
    },
]
