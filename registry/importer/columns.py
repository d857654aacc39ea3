"""The inventory file's columns, platform names and staff roles, and how headers are recognised."""
import re
import unicodedata
from dataclasses import dataclass

from ..models import PLATFORMS


@dataclass(frozen=True)
class Column:
    key: str
    header: str            # the template's header
    aliases: tuple         # other names accepted (English field names first)
    required: str          # "yes", "no" or a note
    help: str
    example: str


COLUMNS = (
    Column("unit_name", "主办单位", ("unit_name", "unit", "单位", "单位名称", "主办单位名称", "开设单位"),
           "与统一社会信用代码至少填一项", "开设并负责该账号的单位全称，须与系统中已登记的单位名称一致",
           "示例县人民政府办公室"),
    Column("unit_code", "统一社会信用代码", ("unit_code", "code", "credit_code", "uscc", "信用代码",
                                     "社会信用代码", "单位代码"),
           "与主办单位至少填一项", "主办单位的 18 位统一社会信用代码；填写时按代码查找单位（校验位会被核对）",
           ""),
    Column("platform", "平台", ("platform", "平台类型", "平台名称", "所属平台"), "是",
           "见下方平台对照表：可填中文名称或代码", "微信公众号"),
    Column("name", "账号名称", ("name", "account_name", "名称", "账号名", "账号名字"), "是",
           "账号在平台上显示的名称", "示例县发布"),
    Column("handle", "账号ID", ("handle", "account_id", "id", "原始id", "uid", "账号标识", "平台账号id"),
           "是", "平台的永久标识：微信填原始ID（gh_ 开头），微博、抖音填数字 UID，移动客户端填包名；"
                 "长数字请把该列设为文本格式，以免 Excel 改成科学计数法", "gh_0123456789ab"),
    Column("verified_subject", "认证主体", ("verified_subject", "认证单位", "认证主体名称"), "否",
           "平台认证显示的主体名称，原则上应为主办单位名称", "示例县人民政府办公室"),
    Column("verification_expires_on", "认证到期日", ("verification_expires_on", "认证到期日期",
                                                 "认证有效期", "认证有效期至"),
           "否", "日期", "2026-03-14"),
    Column("opened_on", "开设日期", ("opened_on", "开通日期", "开设时间", "开通时间"), "是",
           "账号开设的日期；日期可写作 2024-03-15、2024/3/15、2024年3月15日，或 Excel 日期单元格",
           "2024-03-15"),
    Column("office", "管理科室", ("office", "管理机构", "管理部门", "运维科室", "管理单位"), "否",
           "负责账号日常管理的内设机构（开设条件之一，未填会被标记）", "办公室信息科"),
    Column("staff", "管理人员", ("staff", "运维人员", "管理员信息", "管理人员信息"), "否",
           "多人用分号（；）或换行分隔；每人按“姓名/手机号/角色”填写，角色为 管理员 或 运营（默认运营），"
           "手机号与角色可省略（开设条件之一，未填会被标记）",
           "张三/13800000000/管理员；李四/13900000000/运营"),
    Column("filed_on", "备案日期", ("filed_on", "备案时间"), "否",
           "已向省、市新媒体平台备案的日期（历史台账填写后，该账号的开设备案记为已备案）；不得早于开设日期",
           "2024-03-20"),
    Column("filing_reference", "备案编号", ("filing_reference", "reference", "备案号", "备案编码"),
           "否", "备案回执上的编号；填写备案编号时须同时填写备案日期", "GX-2024-0001"),
)
COLUMN = {c.key: c for c in COLUMNS}
REQUIRED = ("platform", "name", "handle", "opened_on")
DATE_KEYS = ("opened_on", "verification_expires_on", "filed_on")

# Chinese names accepted for each platform code; the first is the template's label.
PLATFORM_NAMES = {
    "wechat": ("微信公众号", "微信", "公众号", "微信服务号", "微信订阅号"),
    "weibo": ("微博", "新浪微博"),
    "douyin": ("抖音", "抖音号"),
    "kuaishou": ("快手", "快手号"),
    "toutiao": ("今日头条", "头条", "头条号"),
    "bilibili": ("哔哩哔哩", "B站", "bilibili"),
    "xiaohongshu": ("小红书",),
    "channels": ("微信视频号", "视频号"),
    "app": ("移动客户端", "APP", "客户端"),
    "miniprogram": ("小程序", "微信小程序"),
    "other": ("其他", "其它"),
}
assert set(PLATFORM_NAMES) == set(PLATFORMS)

ROLE_WORDS = {
    "管理员": "admin", "主管理员": "admin", "超级管理员": "admin", "admin": "admin",
    "运营": "operator", "运营者": "operator", "运营人员": "operator", "运维": "operator",
    "运维人员": "operator", "编辑": "operator", "小编": "operator", "operator": "operator",
}


def norm_header(value: str) -> str:
    s = unicodedata.normalize("NFKC", value)
    s = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", s).replace("*", "")
    return re.sub(r"[\s_\-]+", "_", s.strip().lower()).strip("_")


def norm_word(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).lower()


HEADER_KEYS = {}
for _c in COLUMNS:
    for _name in (_c.header, _c.key) + _c.aliases:
        HEADER_KEYS[norm_header(_name)] = _c.key
PLATFORM_KEYS = {}
for _code, _names in PLATFORM_NAMES.items():
    for _name in (_code,) + _names:
        PLATFORM_KEYS[norm_word(_name)] = _code
ROLE_KEYS = {norm_word(k): v for k, v in ROLE_WORDS.items()}


