"""Construction (区建设管理委), planning and land (区规划资源局), housing (区房管局)."""

from demo.common import (
    AGENT,
    ID,
    LEGAL_REP,
    LICENCE,
    RECTIFY,
    SHOW_LICENCE,
    F,
    L,
    M,
    V,
    family,
    ol,
    p,
)

BDC_FEE_BASIS = (
    "《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》（发改价格规〔2016〕2559号）"
)
BDC_FEES = [
    F("不动产登记费（住宅）", "每件80元", 80, BDC_FEE_BASIS, True),
    F("不动产登记费（非住宅）", "每件550元", 550, BDC_FEE_BASIS, True),
    F("不动产权属证书工本费", "每本10元（向一个权利人核发一本证书的免收）", 10, BDC_FEE_BASIS),
]
ROAD_BASIS = "《城市道路管理条例》第三十三条、第三十七条"
PERMIT_POOL = {
    "app": M("建筑工程施工许可证申请表", blank="F0026", medium="electronic", copies=None),
    "land": M(
        "建设用地批准手续",
        kind="certificate",
        source="government",
        medium="electronic",
        copies=None,
        std="不动产权证书或者用地批准文件，已共享的免于提交",
    ),
    "plan": M(
        "建设工程规划许可证",
        kind="certificate",
        source="government",
        medium="electronic",
        copies=None,
    ),
    "contract": M("施工合同及监理合同", std="已在建设市场管理信息平台备案"),
    "drawings": M("施工图设计文件审查合格书", kind="certificate", medium="electronic", copies=None),
    "funds": M("建设资金已经落实承诺书", std="法定代表人签字并加盖公章"),
    "safety": M("保证工程质量和安全的具体措施", std="含危险性较大的分部分项工程清单及管控措施"),
    "change": M("变更事项说明及证明材料"),
    "delay": M("延期开工申请及理由说明", std="在领取施工许可证之日起三个月内提出"),
    "old": M("建筑工程施工许可证原件", kind="certificate", source="government"),
}
ROAD_POOL = {
    "app": M("占用挖掘城市道路申请表", blank="F0029"),
    "rep": LEGAL_REP,
    "plan": M("占用（挖掘）位置平面图及交通组织方案", std="标明占用范围、面积和安全围挡设置"),
    "police": M(
        "公安交通管理部门意见",
        kind="certificate",
        source="government",
        std="影响交通安全的，由窗口并联征求意见，申请人无需自行办理",
    ),
    "pipe": M("管线工程规划许可文件", "optional", notes="挖掘道路敷设管线的提供"),
    "old": M("原占用挖掘城市道路许可文件", kind="certificate", source="government"),
}
BDC_POOL = {
    "app": M("不动产登记申请书", blank="F0032", sample="F0033", medium="both", copies=1),
    "id": M(
        "申请人身份证明",
        kind="certificate",
        medium="both",
        source="government",
        std="自然人提交身份证件；法人提交营业执照，已共享的免于提交",
    ),
    "title": M("不动产权属证书", kind="certificate", source="government", std="原件收回"),
    "land": M(
        "土地权属来源材料及建设工程符合规划的材料",
        kind="certificate",
        source="government",
        medium="electronic",
        copies=None,
    ),
    "survey": M("不动产权籍调查成果（房屋测绘报告）", std="由具备资质的测绘单位出具"),
    "deal": M("存量房买卖合同", std="通过网上签约系统签订并备案"),
    "tax": M(
        "完税或者缴费凭证",
        kind="certificate",
        source="government",
        medium="electronic",
        copies=None,
        std="税务部门已推送的免于提交",
    ),
    "loan": M("主债权合同及抵押合同", std="抵押合同载明被担保债权数额、债务履行期限、抵押财产"),
    "change": M("不动产权利变更的证明材料", std="如名称变更提供市场监管部门出具的变更证明"),
    "release": M("抵押权人同意注销的证明", std="或者主债权消灭的证明"),
    "agent": AGENT,
}

FAMILIES = [
    family(
        "JSW",
        1,
        "建筑工程施工许可证核发",
        "licensing",
        ["enterprise", "public_institution", "government"],
        [
            L("jzf", "第七条"),
            L("jzf", "第八条", "implementing"),
            L("sgxk", "第四条", "implementing"),
        ],
        ol(
            "依法应当办理用地批准手续的，已经办理该建筑工程用地批准手续；",
            "依法应当办理建设工程规划许可证的，已经取得建设工程规划许可证；",
            "需要拆迁的，其拆迁进度符合施工要求；",
            "已经确定建筑施工企业；",
            "有满足施工需要的资金安排、施工图纸及技术资料；",
            "有保证工程质量和安全的具体措施。",
            lead="申请领取施工许可证，应当具备下列条件：",
        ),
        prohibitions=p(
            "不得将工程分解为若干限额以下的工程规避申请领取施工许可证；不得隐瞒有关情况或者提供虚假材料申请施工许可证。"
        ),
        pool=PERMIT_POOL,
        aliases=["开工证", "施工证", "办施工许可"],
        themes=["城乡建设", "工程建设项目审批"],
        statutory=(7, "working_days"),
        promised=(3, "working_days"),
        forms=["online_pc", "window"],
        depth="deliver",
        joint=["GHZY"],
        post="建筑市场管理科科长",
        result=("certificate", "建筑工程施工许可证", "领证之日起三个月内开工", "F0027"),
        variants=[
            V("新办", "app land plan contract drawings funds safety"),
            V("变更", "app change old", promised=(2, "working_days")),
            V(
                "延期",
                "app delay old",
                legal_bases=[L("jzf", "第九条")],
                promised=(2, "working_days"),
            ),
        ],
    ),
    family(
        "JSW",
        2,
        "建设工程竣工验收备案",
        "other_power",
        ["enterprise", "public_institution", "government"],
        [L("jszl", "第四十九条"), L("jgba", "第四条", "implementing")],
        p(
            "建设单位应当自建设工程竣工验收合格之日起15日内，将建设工程竣工验收报告和规划、公安消防、环保等部门出具的认可文件或者准许使用文件报建设行政主管部门备案。"
        ),
        pool={
            "form": M("竣工验收备案表", copies=2),
            "report": M("工程竣工验收报告"),
            "docs": M(
                "规划、消防等部门出具的认可文件或者准许使用文件",
                kind="certificate",
                source="government",
                medium="electronic",
                copies=None,
            ),
            "warranty": M("施工单位签署的工程质量保修书"),
        },
        aliases=["竣工备案"],
        themes=["城乡建设", "工程建设项目审批"],
        statutory=(15, "calendar_days"),
        promised=(5, "working_days"),
        result=("filing", "竣工验收备案证明书", None, None),
    ),
    family(
        "JSW",
        3,
        "占用挖掘城市道路",
        "licensing",
        ["enterprise", "natural_person", "public_institution", "government"],
        [L("csdl", "第三十一条"), L("csdl", "第三十三条", "implementing")],
        p(
            "因特殊情况需要临时占用城市道路的，须经市政工程行政主管部门和公安交通管理部门批准；因工程建设需要挖掘城市道路的，应当持城市规划部门批准签发的文件和有关设计文件办理审批手续。"
        ),
        prohibitions=p(
            "未经批准，不得擅自占用或者挖掘城市道路；新建、扩建、改建的城市道路交付使用后5年内、大修的城市道路竣工后3年内不得挖掘，因特殊情况需要挖掘的须经县级以上城市人民政府批准。"
        ),
        pool=ROAD_POOL,
        aliases=["占道施工", "挖路", "占道审批"],
        themes=["城乡建设", "交通出行"],
        statutory=(20, "working_days"),
        promised=(5, "working_days"),
        post="市政管理科科长",
        result=("approval_document", "占用挖掘城市道路许可决定书", None, None),
        variants=[
            V(
                None,
                "app rep plan police",
                name="占用城市道路审批",
                fees=[
                    F("城市道路占用费", "按占用面积和期限计收，以缴费通知书为准", basis=ROAD_BASIS)
                ],
            ),
            V(
                None,
                "app rep plan police pipe",
                name="挖掘城市道路审批",
                fees=[
                    F(
                        "城市道路挖掘修复费",
                        "按挖掘面积和道路结构计收，以缴费通知书为准",
                        basis=ROAD_BASIS,
                    )
                ],
            ),
            V(
                None,
                "app old",
                name="占用挖掘城市道路审批（延期）",
                promised=(3, "working_days"),
                fees=[
                    F(
                        "城市道路占用费",
                        "按延长的占用面积和期限计收，以缴费通知书为准",
                        basis=ROAD_BASIS,
                    )
                ],
            ),
        ],
    ),
    family(
        "JSW",
        4,
        "建设工程质量安全监督检查",
        "inspection",
        ["enterprise", "public_institution", "government"],
        [L("jszl", "第四十七条"), L("aqsc", role="implementing")],
        p(
            "对在建房屋建筑和市政基础设施工程参建各方的质量安全行为和工程实体质量实施随机抽查和专项检查。"
        ),
        pool={
            "lic": SHOW_LICENCE,
            "docs": M("施工许可、施工组织设计、质量安全管理资料", copies=0, std="现场查验"),
            "fix": RECTIFY,
        },
        statutory=(15, "working_days"),
        promised=(10, "working_days"),
        forms=["window"],
        result=("other", "工程质量安全监督检查记录", None, None),
        post="质量安全监督站站长",
        nature="authorised",
    ),
    family(
        "JSW",
        5,
        "建设工程夜间施工证明",
        "other_power",
        ["enterprise", "public_institution"],
        [L("zsfz", "第四十三条")],
        p(
            "在噪声敏感建筑物集中区域，因生产工艺要求或者其他特殊需要必须夜间连续施工作业的，应当取得证明，并在施工现场显著位置公示或者以其他方式公告附近居民。"
        ),
        pool={
            "app": M("夜间施工申请表"),
            "reason": M("连续施工的工艺要求说明"),
            "measure": M("噪声污染防治措施", std="含降噪设备、作业时段和居民沟通安排"),
        },
        aliases=["夜间施工许可", "晚上施工"],
        themes=["城乡建设", "环境保护"],
        statutory=(5, "working_days"),
        promised=(2, "working_days"),
        result=("approval_document", "夜间施工证明", "单次不超过15日", None),
    ),
    family(
        "GHZY",
        1,
        "建设用地规划许可证核发",
        "licensing",
        ["enterprise", "public_institution", "government"],
        [
            L("cxgh", "第三十八条"),
            L("cxgh", "第三十七条", "implementing"),
            L("shcxgh", role="implementing"),
        ],
        p(
            "以出让方式取得国有土地使用权的建设项目，在签订国有土地使用权出让合同后；以划拨方式提供国有土地使用权的建设项目，经有关部门批准、核准、备案后，向规划资源部门申请核发建设用地规划许可证。"
        ),
        pool={
            "app": M("建设用地规划许可申请表"),
            "contract": M(
                "国有建设用地使用权出让合同或者划拨决定书", kind="certificate", source="government"
            ),
            "rep": LEGAL_REP,
            "map": M("建设用地红线图", std="标明坐标、面积"),
        },
        themes=["城乡建设", "工程建设项目审批"],
        statutory=(20, "working_days"),
        promised=(5, "working_days"),
        result=("certificate", "建设用地规划许可证", None, None),
        post="土地利用管理科科长",
    ),
    family(
        "GHZY",
        2,
        "建设工程规划许可证核发",
        "licensing",
        ["enterprise", "public_institution", "government"],
        [L("cxgh", "第四十条"), L("shcxgh", role="implementing")],
        p(
            "在城市、镇规划区内进行建筑物、构筑物、道路、管线和其他工程建设的，建设单位或者个人应当提交使用土地的有关证明文件、建设工程设计方案等材料，申请办理建设工程规划许可证。"
        ),
        pool={
            "app": M("建设工程规划许可证申请表", blank="F0028", medium="both"),
            "land": M(
                "使用土地的有关证明文件",
                kind="certificate",
                source="government",
                medium="electronic",
                copies=None,
            ),
            "design": M(
                "建设工程设计方案", std="符合控制性详细规划和规划条件，附总平面图、单体方案"
            ),
            "rep": LEGAL_REP,
            "change": M("变更理由及调整后的设计方案"),
        },
        aliases=["规划许可证", "工程规划证"],
        themes=["城乡建设", "工程建设项目审批"],
        statutory=(20, "working_days"),
        promised=(10, "working_days"),
        special=[
            ("批前公示", 10, "《上海市城乡规划条例》"),
            ("听证", 20, "《中华人民共和国行政许可法》第四十七条"),
        ],
        intermediary=[
            ("建设工程设计方案编制", "《上海市城乡规划条例》"),
            ("建设工程规划放样复验测绘", "《上海市城乡规划条例》"),
        ],
        result=("certificate", "建设工程规划许可证", "一年", None),
        post="建筑工程管理科科长",
        variants=[
            V(None, "app land design rep"),
            V(
                None,
                "app design change",
                name="建设工程规划许可证核发（变更）",
                legal_bases=[L("cxgh", "第四十三条")],
                special=[("批前公示", 10, "《上海市城乡规划条例》")],
            ),
        ],
    ),
    family(
        "GHZY",
        3,
        "乡村建设规划许可证核发",
        "licensing",
        ["natural_person", "other_org"],
        [L("cxgh", "第四十一条")],
        p(
            "在乡、村庄规划区内进行农村村民住宅建设的，经村民委员会讨论同意、镇人民政府审核后，向区规划资源部门申请核发乡村建设规划许可证。"
        ),
        pool={
            "app": M("乡村建设规划许可申请表"),
            "id": ID,
            "village": M("村民委员会讨论同意的书面意见"),
            "plan": M("房屋设计图或者通用图", std="层数、高度、面积符合村庄规划"),
        },
        aliases=["农村建房", "翻建房屋"],
        themes=["城乡建设"],
        statutory=(20, "working_days"),
        promised=(10, "working_days"),
        result=("certificate", "乡村建设规划许可证", "一年", None),
    ),
    family(
        "GHZY",
        4,
        "建设工程规划资源验收（竣工规划核实）",
        "other_power",
        ["enterprise", "public_institution", "government"],
        [L("cxgh", "第四十五条")],
        p(
            "建设工程竣工后，建设单位应当向规划资源部门申请核实建设工程是否符合规划条件；未经核实或者经核实不符合规划条件的，不得组织竣工验收。"
        ),
        pool={
            "app": M("规划资源验收申请表"),
            "survey": M("竣工规划测绘成果报告"),
            "permit": M("建设工程规划许可证及附图", kind="certificate", source="government"),
        },
        themes=["城乡建设", "工程建设项目审批"],
        statutory=(15, "working_days"),
        promised=(5, "working_days"),
        result=("approval_document", "建设工程规划资源验收合格证", None, None),
    ),
    family(
        "GHZY",
        5,
        "不动产",
        "confirmation",
        [
            "natural_person",
            "enterprise",
            "public_institution",
            "social_organisation",
            "government",
            "other_org",
        ],
        [
            L("mfd", "第二百零九条"),
            L("bdcdj", "第十四条", "implementing"),
            L("bdcdj", "第二十条", "implementing"),
            L("bdcsf", role="fee"),
        ],
        p(
            "不动产物权的设立、变更、转让和消灭，经依法登记，发生效力。因买卖、设定抵押权等申请不动产登记的，应当由当事人双方共同申请。"
        ),
        pool=BDC_POOL,
        aliases=["过户", "办房产证", "产证"],
        themes=["城乡建设", "不动产登记"],
        statutory=(30, "working_days"),
        promised=(5, "working_days"),
        pay_online=True,
        result=("certificate", "不动产权证书", "长期", None),
        post="不动产登记科科长",
        variants=[
            V(None, "app id land survey agent", name="不动产首次登记", fees=BDC_FEES),
            V(
                None,
                "app id title deal tax agent",
                name="不动产转移登记（存量房买卖）",
                fees=BDC_FEES,
                aliases=["二手房过户", "买房过户"],
                visits=1,
                visits_reason="买卖双方需到场核验身份并签署询问笔录（已开通“全程网办”的除外）",
            ),
            V(
                None,
                "app id title change agent",
                name="不动产变更登记",
                promised=(3, "working_days"),
                aliases=[],
            ),
            V(
                None,
                "app id title loan agent",
                name="不动产抵押权首次登记",
                promised=(1, "working_days"),
                fees=BDC_FEES[:2],
                aliases=["抵押登记", "房贷抵押"],
                result=("certificate", "不动产登记证明", None, None),
            ),
            V(
                None,
                "app id release",
                name="不动产抵押权注销登记",
                case_type="instant",
                promised=(0, "working_days"),
                aliases=["解押", "注销抵押"],
                result=("other", "注销登记（电子告知）", None, None),
            ),
        ],
    ),
    family(
        "GHZY",
        6,
        "土地权属争议行政裁决",
        "adjudication",
        ["natural_person", "enterprise", "other_org", "government"],
        [L("tdgl", "第十四条")],
        p(
            "土地所有权和使用权争议，由当事人协商解决；协商不成的，单位之间的争议由县级以上人民政府处理，个人之间、个人与单位之间的争议由乡级人民政府或者县级以上人民政府处理。"
        ),
        pool={
            "app": M("土地权属争议调查处理申请书", copies=2),
            "id": ID,
            "evid": M("土地权属来源证明等证据材料"),
            "map": M("争议地块示意图"),
        },
        themes=["城乡建设"],
        statutory=(6, "months"),
        promised=(90, "working_days"),
        special=[("现场勘查和调解", 30, "《土地权属争议调查处理办法》")],
        visits=1,
        visits_reason="调解和现场勘查时当事人须到场",
        reviewer="案件承办人（不少于两人）",
        result=("approval_document", "土地权属争议处理决定书", None, None),
    ),
    family(
        "GHZY",
        7,
        "临时用地审批",
        "licensing",
        ["enterprise", "public_institution", "government"],
        [L("tdgl", "第五十七条")],
        p(
            "建设项目施工和地质勘查需要临时使用国有土地或者农民集体所有的土地的，由县级以上人民政府自然资源主管部门批准；临时使用土地期限一般不超过二年，不得修建永久性建筑物。"
        ),
        pool={
            "app": M("临时用地申请书"),
            "contract": M("临时使用土地合同"),
            "restore": M("土地复垦方案", std="明确复垦责任和费用"),
        },
        themes=["城乡建设"],
        statutory=(20, "working_days"),
        promised=(10, "working_days"),
        result=("approval_document", "临时用地批准文件", "不超过二年", None),
    ),
    family(
        "FGJ",
        1,
        "国有土地上房屋征收决定",
        "expropriation",
        ["natural_person", "enterprise", "other_org"],
        [L("fwzs", "第八条"), L("fwzs", "第十条", "implementing")],
        p(
            "为了保障国家安全、促进国民经济和社会发展等公共利益的需要，确需征收房屋的，由区人民政府作出房屋征收决定；征收补偿方案应当征求公众意见，征求意见期限不得少于30日。"
        ),
        pool={
            "register": M(
                "被征收房屋权属证明",
                kind="certificate",
                source="government",
                medium="electronic",
                copies=None,
            ),
            "id": ID,
            "form": M("征收补偿登记表"),
        },
        aliases=["动迁", "拆迁"],
        themes=["城乡建设"],
        statutory=(6, "months"),
        promised=(120, "working_days"),
        special=[
            ("征求公众意见", 30, "《国有土地上房屋征收与补偿条例》第十条"),
            ("社会稳定风险评估", 30, "《国有土地上房屋征收与补偿条例》第十二条"),
        ],
        forms=["window"],
        visits=1,
        visits_reason="签订补偿协议须被征收人到场",
        result=("approval_document", "房屋征收决定及补偿协议", None, None),
        post="征收事务科科长",
        steps=[
            {
                "name": "拟定征收补偿方案",
                "actor": "房屋征收部门",
                "description": "组织调查登记，拟定征收补偿方案报区人民政府",
            },
            {
                "name": "征求公众意见",
                "actor": "区人民政府",
                "time_limit": {"value": 30, "unit": "calendar_days", "note": "不少于"},
                "description": "公布征收补偿方案，征求公众意见并公布修改情况",
            },
            {"name": "决定", "actor": "区人民政府", "description": "作出房屋征收决定并及时公告"},
            {
                "name": "签订补偿协议",
                "actor": "房屋征收部门、被征收人",
                "description": "按照补偿方案签订补偿协议；达不成协议的，依法作出补偿决定",
            },
        ],
    ),
    family(
        "FGJ",
        2,
        "住宅专项维修资金使用",
        "other_power",
        ["other_org", "natural_person"],
        [L("wxzj")],
        p(
            "住宅共用部位、共用设施设备保修期满后需要维修、更新和改造的，经业主大会或者相关业主表决同意，可以申请使用住宅专项维修资金。"
        ),
        pool={
            "app": M("维修资金使用申请表"),
            "vote": M("业主表决结果"),
            "budget": M("维修方案及预算"),
        },
        aliases=["大修基金", "维修基金"],
        themes=["城乡建设"],
        statutory=(10, "working_days"),
        promised=(5, "working_days"),
        result=("approval_document", "维修资金划转通知", None, None),
    ),
    family(
        "FGJ",
        3,
        "共有产权保障住房准入审核",
        "confirmation",
        ["natural_person"],
        [L("gyfz")],
        p(
            "具有本市城镇常住户口满规定年限，家庭人均住房面积、收入和财产低于规定标准的家庭和单身人士，可以申请共有产权保障住房。"
        ),
        pool={
            "app": M("共有产权保障住房申请表"),
            "id": ID,
            "auth": M("家庭经济状况核对授权书", blank="F0018"),
            "house": M("现住房情况证明"),
        },
        aliases=["共有产权房", "经济适用房"],
        themes=["住房保障"],
        statutory=(60, "working_days"),
        promised=(45, "working_days"),
        special=[("审核结果公示", 10, "《上海市共有产权保障住房管理办法》")],
        result=("certificate", "共有产权保障住房准购证明", None, None),
    ),
    family(
        "FGJ",
        4,
        "公共租赁住房申请",
        "public_service",
        ["natural_person", "enterprise"],
        [L("gzf")],
        p(
            "在本区工作、无住房或者住房困难的人员，可以申请公共租赁住房；用人单位可以代表本单位职工申请。"
        ),
        pool={"app": M("公共租赁住房申请表"), "id": ID, "work": M("劳动合同或者在本区就业证明")},
        aliases=["公租房", "人才公寓"],
        themes=["住房保障"],
        statutory=(20, "working_days"),
        promised=(10, "working_days"),
        result=("other", "公共租赁住房配租", None, None),
    ),
    family(
        "FGJ",
        5,
        "廉租住房租金配租",
        "payment",
        ["natural_person"],
        [L("lzf")],
        p(
            "本市城镇户籍、家庭人均住房面积和收入、财产符合廉租住房准入标准的家庭，可以申请廉租住房租金补贴。"
        ),
        pool={
            "app": M("廉租住房申请表"),
            "id": ID,
            "auth": M("家庭经济状况核对授权书", blank="F0018"),
            "lease": M("租赁合同", "deferrable", notes="获得配租资格后补交"),
        },
        aliases=["廉租房", "租房补贴"],
        themes=["住房保障", "社会保障"],
        statutory=(45, "working_days"),
        promised=(30, "working_days"),
        special=[("审核结果公示", 10, "《廉租住房保障办法》")],
        result=("other", "按月发放租金补贴", None, None),
    ),
    family(
        "FGJ",
        6,
        "商品房预售许可",
        "licensing",
        ["enterprise"],
        [L("fdcgl", "第四十五条")],
        ol(
            "已交付全部土地使用权出让金，取得土地使用权证书；",
            "持有建设工程规划许可证；",
            "按提供预售的商品房计算，投入开发建设的资金达到工程建设总投资的百分之二十五以上，并已经确定施工进度和竣工交付日期；",
            "向县级以上人民政府房产管理部门办理预售登记，取得商品房预售许可证明。",
            lead="商品房预售，应当符合下列条件：",
        ),
        pool={
            "app": M("商品房预售许可申请表"),
            "lic": LICENCE,
            "land": BDC_POOL["land"],
            "plan": PERMIT_POOL["plan"],
            "permit": M(
                "建筑工程施工许可证",
                kind="certificate",
                source="government",
                medium="electronic",
                copies=None,
            ),
            "funds": M("工程施工进度和投资额证明"),
            "scheme": M("商品房预售方案"),
        },
        aliases=["预售证"],
        themes=["城乡建设"],
        statutory=(10, "working_days"),
        promised=(5, "working_days"),
        result=("certificate", "商品房预售许可证", None, None),
    ),
]
