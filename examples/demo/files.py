"""Downloadable forms (空白表格, 样表, 样证): the records of files.json and their bytes.

PDFs are hand-built PDF 1.4 (one page, ASCII text, correct xref offsets, the Chinese title in
the document information dictionary); DOCX files are minimal WordprocessingML packages written
with fixed zip timestamps and attributes, so every run produces the same bytes.
"""

import io
import zipfile
from xml.sax.saxutils import escape

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSIONS = {PDF: ".pdf", DOCX: ".docx"}

APPLICANT = [
    "申请人（单位）名称",
    "统一社会信用代码／身份证件号码",
    "法定代表人（负责人）",
    "联系人",
    "联系电话",
    "住所（地址）",
    "申请事项",
    "申请日期",
]
PERSON = [
    "姓名",
    "性别",
    "出生日期",
    "身份证件类型及号码",
    "户籍地址",
    "居住地址",
    "联系电话",
    "申请事项",
    "申请日期",
]
SITE = [
    "项目名称",
    "建设单位",
    "建设地点",
    "建设规模",
    "总投资（万元）",
    "设计单位",
    "施工单位",
    "监理单位",
    "联系人及电话",
    "申请日期",
]

# file_id, title, filename, media type, fields of the form
FILES = [
    (
        "F0001",
        "食品经营许可申请书（空白）",
        "食品经营许可申请书.docx",
        DOCX,
        APPLICANT + ["经营场所", "主体业态", "经营项目"],
    ),
    ("F0002", "食品经营许可申请书（样表）", "食品经营许可申请书（样表）.pdf", PDF, None),
    (
        "F0003",
        "食品经营设施设备布局和操作流程图（样图）",
        "设施布局和操作流程图样图.pdf",
        PDF,
        None,
    ),
    ("F0004", "食品经营许可证（样证）", "食品经营许可证样证.pdf", PDF, None),
    (
        "F0005",
        "个体工商户登记（备案）申请书（空白）",
        "个体工商户登记（备案）申请书.docx",
        DOCX,
        [
            "经营者姓名",
            "身份证件号码",
            "个体工商户名称",
            "组成形式",
            "经营场所",
            "经营范围",
            "从业人数",
            "资金数额（万元）",
            "联系电话",
        ],
    ),
    ("F0006", "个体工商户登记（备案）申请书（样表）", "个体工商户登记申请书样表.pdf", PDF, None),
    (
        "F0007",
        "公司登记（备案）申请书（空白）",
        "公司登记（备案）申请书.docx",
        DOCX,
        APPLICANT + ["注册资本（万元）", "公司类型", "经营范围"],
    ),
    (
        "F0008",
        "药品经营许可证申请表（空白）",
        "药品经营许可证申请表.docx",
        DOCX,
        APPLICANT + ["经营方式", "经营范围", "质量负责人", "执业药师"],
    ),
    (
        "F0009",
        "特种设备使用登记表（空白）",
        "特种设备使用登记表.docx",
        DOCX,
        [
            "使用单位名称",
            "设备类别",
            "设备品种",
            "产品编号",
            "设备使用地点",
            "安全管理员",
            "联系电话",
        ],
    ),
    (
        "F0010",
        "公共场所卫生许可申请书（空白）",
        "公共场所卫生许可申请书.docx",
        DOCX,
        APPLICANT + ["场所类别", "经营面积（平方米）", "从业人员数"],
    ),
    ("F0011", "公共场所卫生许可证（样证）", "公共场所卫生许可证样证.pdf", PDF, None),
    (
        "F0012",
        "医疗机构执业登记申请书（空白）",
        "医疗机构执业登记申请书.docx",
        DOCX,
        APPLICANT + ["医疗机构类别", "诊疗科目", "床位（牙椅）数"],
    ),
    (
        "F0013",
        "护士执业注册申请审核表（空白）",
        "护士执业注册申请审核表.docx",
        DOCX,
        PERSON + ["护士执业资格考试合格证明编号", "拟执业机构"],
    ),
    (
        "F0014",
        "出生医学证明首次签发登记表（样表）",
        "出生医学证明首次签发登记表样表.pdf",
        PDF,
        None,
    ),
    (
        "F0015",
        "生育医疗费用报销申请表（空白）",
        "生育医疗费用报销申请表.docx",
        DOCX,
        PERSON + ["分娩医院", "分娩日期", "报销金额（元）", "银行账号"],
    ),
    (
        "F0016",
        "医师执业注册申请审核表（空白）",
        "医师执业注册申请审核表.docx",
        DOCX,
        PERSON + ["医师资格证书编码", "执业类别", "执业范围", "拟执业机构"],
    ),
    (
        "F0017",
        "最低生活保障申请书（空白）",
        "最低生活保障申请书.docx",
        DOCX,
        PERSON + ["家庭人口", "家庭月收入（元）", "申请理由"],
    ),
    (
        "F0018",
        "家庭经济状况核对授权书（空白）",
        "家庭经济状况核对授权书.docx",
        DOCX,
        ["授权人姓名", "身份证件号码", "与申请人关系", "授权核对事项", "签名", "日期"],
    ),
    ("F0019", "高龄老人津贴申请表（空白）", "高龄老人津贴申请表.docx", DOCX, PERSON + ["社保卡号"]),
    (
        "F0020",
        "社会团体成立登记申请书（空白）",
        "社会团体成立登记申请书.docx",
        DOCX,
        [
            "社会团体名称",
            "业务主管单位",
            "住所",
            "活动地域",
            "注册资金（万元）",
            "会员数",
            "法定代表人",
            "联系电话",
        ],
    ),
    (
        "F0021",
        "社会团体章程示范文本",
        "社会团体章程示范文本.docx",
        DOCX,
        [
            "第一章 总则",
            "第二章 业务范围",
            "第三章 会员",
            "第四章 组织机构",
            "第五章 资产管理",
            "第六章 章程的修改程序",
            "第七章 终止程序",
            "第八章 附则",
        ],
    ),
    ("F0022", "申请结婚登记声明书（样表）", "申请结婚登记声明书样表.pdf", PDF, None),
    (
        "F0023",
        "城乡居民基本养老保险待遇申领表（空白）",
        "城乡居民基本养老保险待遇申领表.docx",
        DOCX,
        PERSON + ["参保时间", "累计缴费年限", "领取待遇起始年月", "银行账号"],
    ),
    (
        "F0024",
        "失业保险金申领登记表（空白）",
        "失业保险金申领登记表.docx",
        DOCX,
        PERSON + ["原工作单位", "终止（解除）劳动合同日期", "累计缴费月数"],
    ),
    (
        "F0025",
        "工伤认定申请表（空白）",
        "工伤认定申请表.docx",
        DOCX,
        PERSON + ["用人单位", "事故时间", "事故地点", "受伤部位", "事故经过"],
    ),
    ("F0026", "建筑工程施工许可证申请表（空白）", "建筑工程施工许可证申请表.docx", DOCX, SITE),
    ("F0027", "建筑工程施工许可证（样证）", "建筑工程施工许可证样证.pdf", PDF, None),
    ("F0028", "建设工程规划许可证申请表（空白）", "建设工程规划许可证申请表.docx", DOCX, SITE),
    (
        "F0029",
        "占用挖掘城市道路申请表（空白）",
        "占用挖掘城市道路申请表.docx",
        DOCX,
        APPLICANT + ["道路名称及路段", "占用（挖掘）面积", "起止日期", "施工单位"],
    ),
    (
        "F0030",
        "户外广告设施设置申请表（空白）",
        "户外广告设施设置申请表.docx",
        DOCX,
        APPLICANT + ["设置地点", "设施形式", "规格（米）", "设置期限"],
    ),
    (
        "F0031",
        "排污许可证申请表（空白）",
        "排污许可证申请表.docx",
        DOCX,
        APPLICANT + ["行业类别", "主要污染物种类", "排放口数量"],
    ),
    (
        "F0032",
        "不动产登记申请书（空白）",
        "不动产登记申请书.docx",
        DOCX,
        [
            "登记事项",
            "权利人",
            "义务人",
            "不动产坐落",
            "不动产单元号",
            "面积（平方米）",
            "用途",
            "权利类型",
            "申请人签章",
        ],
    ),
    ("F0033", "不动产登记申请书（样表）", "不动产登记申请书样表.pdf", PDF, None),
    (
        "F0034",
        "城镇污水排入排水管网许可申请表（空白）",
        "排水许可申请表.docx",
        DOCX,
        APPLICANT + ["排水户类型", "排水量（立方米／日）", "接入管网位置"],
    ),
    (
        "F0035",
        "娱乐场所经营许可申请表（空白）",
        "娱乐场所经营许可申请表.docx",
        DOCX,
        APPLICANT + ["场所类型", "营业面积（平方米）", "包厢（包间）数"],
    ),
    (
        "F0036",
        "民办培训机构办学许可申请表（空白）",
        "民办培训机构办学许可申请表.docx",
        DOCX,
        APPLICANT + ["拟办机构名称", "培训类别", "办学场所", "办学规模"],
    ),
    (
        "F0037",
        "烟花爆竹零售许可申请书（空白）",
        "烟花爆竹零售许可申请书.docx",
        DOCX,
        APPLICANT + ["零售点地址", "储存面积（平方米）", "安全管理人员"],
    ),
    ("F0038", "居民身份证申领登记表（样表）", "居民身份证申领登记表样表.pdf", PDF, None),
    (
        "F0039",
        "道路货物运输经营申请表（空白）",
        "道路货物运输经营申请表.docx",
        DOCX,
        APPLICANT + ["经营范围", "车辆数", "停车场地"],
    ),
    (
        "F0040",
        "退役军人优待证申领表（空白）",
        "退役军人优待证申领表.docx",
        DOCX,
        PERSON + ["入伍时间", "退役时间", "退役证件编号"],
    ),
    (
        "F0041",
        "危险化学品经营许可证申请书（空白）",
        "危险化学品经营许可证申请书.docx",
        DOCX,
        APPLICANT + ["经营方式", "经营品种", "储存设施"],
    ),
    (
        "F0042",
        "砍伐迁移树木申请表（空白）",
        "砍伐迁移树木申请表.docx",
        DOCX,
        APPLICANT + ["树木所在地点", "树种", "数量（株）", "胸径（厘米）", "砍伐（迁移）理由"],
    ),
    ("F0043", "建设项目环境影响报告表（格式）", "建设项目环境影响报告表格式.pdf", PDF, None),
    ("F0044", "医疗机构执业许可证（样证）", "医疗机构执业许可证样证.pdf", PDF, None),
]


# ---------------------------------------------------------------- PDF


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _pdf_utf16(text: str) -> str:
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def build_pdf(file_id: str, title: str) -> bytes:
    """A one-page PDF 1.4: a framed form with ASCII labels; the title goes in /Info."""
    sample = "SAMPLE" if "样" in title else "FORM"
    lines = [
        (72, 780, 16, "Shanghai Baoshan District - Open Approvals demo"),
        (72, 756, 11, f"Document {file_id} ({sample})"),
        (72, 740, 9, "Demonstration data: not an official document."),
    ]
    labels = [
        "Applicant",
        "ID / credit code",
        "Contact",
        "Address",
        "Item applied for",
        "Date",
        "Signature / seal",
    ]
    ops = ["0.5 w"]
    for x, y, size, text in lines:
        ops.append(f"BT /F1 {size} Tf {x} {y} Td {_pdf_string(text)} Tj ET")
    top = 700
    for index, label in enumerate(labels):
        y = top - index * 40
        ops.append(f"72 {y - 28} 451 32 re S")
        ops.append(f"72 {y - 28} m 200 {y - 28} l 200 {y + 4} l S")
        ops.append(f"BT /F1 10 Tf 78 {y - 16} Td {_pdf_string(label)} Tj ET")
        if sample == "SAMPLE":
            ops.append(f"BT /F1 10 Tf 208 {y - 16} Td {_pdf_string('(example)')} Tj ET")
    stream = ("\n".join(ops) + "\n").encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"endstream",
        (
            "<< /Title " + _pdf_utf16(title) + " /Producer (Open Approvals demo generator)"
            " /CreationDate (D:20260101000000+08'00') >>"
        ).encode("ascii"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


# ---------------------------------------------------------------- DOCX

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def _paragraph(text: str, *, size: int = 24, bold: bool = False, center: bool = False) -> str:
    ppr = '<w:pPr><w:jc w:val="center"/></w:pPr>' if center else ""
    rpr = (
        '<w:rPr><w:rFonts w:ascii="SimSun" w:eastAsia="宋体"/>'
        + ("<w:b/>" if bold else "")
        + f'<w:sz w:val="{size}"/></w:rPr>'
    )
    return f"<w:p>{ppr}<w:r>{rpr}<w:t>{escape(text)}</w:t></w:r></w:p>"


def _cell(text: str, width: int) -> str:
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>'
        f"{_paragraph(text, size=21)}</w:tc>"
    )


def _table(fields: list[str]) -> str:
    border = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    rows = "".join(f"<w:tr>{_cell(name, 3000)}{_cell('', 6000)}</w:tr>" for name in fields)
    return (
        f'<w:tbl><w:tblPr><w:tblW w:w="9000" w:type="dxa"/><w:tblBorders>{border}'
        f'</w:tblBorders></w:tblPr><w:tblGrid><w:gridCol w:w="3000"/><w:gridCol w:w="6000"/>'
        f"</w:tblGrid>{rows}</w:tbl>"
    )


def build_docx(title: str, fields: list[str]) -> bytes:
    heading = title.replace("（空白）", "")
    body = (
        _paragraph(heading, size=36, bold=True, center=True)
        + _paragraph("上海市宝山区（演示数据，非正式文书）", size=21, center=True)
        + _table(fields)
        + _paragraph("申请人承诺：所提交的材料真实、合法、有效，如有不实，愿承担相应法律责任。")
        + _paragraph("申请人（签字或盖章）：                    年    月    日")
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:document xmlns:w="{W}"><w:body>{body}'
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
        '<w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440"/></w:sectPr>'
        "</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", RELS),
            ("word/document.xml", document),
        ):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


def build_files() -> list[tuple[dict, str, bytes]]:
    """(files.json record without checksum fields, extension, bytes) for every file."""
    built = []
    for file_id, title, filename, media_type, fields in FILES:
        data = build_pdf(file_id, title) if media_type == PDF else build_docx(title, fields)
        record = {
            "file_id": file_id,
            "title": title,
            "filename": filename,
            "media_type": media_type,
        }
        built.append((record, EXTENSIONS[media_type], data))
    return built
