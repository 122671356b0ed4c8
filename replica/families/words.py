"""Word lists for the family sites' text: each county's towns, offices and landmarks.

Every string must encode in GBK (the xxgk site is served in GBK; the tests
check it).  Place names are real county towns; people and firms are invented.
Keep 体育 and gambling words out: the archive's integrity flags look for them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """What a county's texts name: the county, its towns, offices, media and a landmark."""

    county: str  # 微山县
    short: str  # 微山
    city: str  # the prefecture: 济宁市
    towns: tuple[str, ...]
    offices: tuple[str, ...]  # county departments, as sources and publishers
    media: tuple[str, ...]  # newspapers and media centres, as sources
    landmark: str
    parks: tuple[str, ...]
    code: str  # the 6-digit division code, used in 索引号 and 文号


OFFICES = (
    "县发展和改革局", "县农业农村局", "县住房和城乡建设局", "县文化和旅游局", "县应急管理局",
    "县市场监督管理局", "县财政局", "县民政局", "县水务局", "县卫生健康局", "县人力资源和社会保障局",
    "县自然资源和规划局", "县交通运输局", "县商务局", "县工业和信息化局", "县生态环境分局",
)

PLACES = {
    "weishan": Place(
        county="微山县", short="微山", city="济宁市",
        towns=("夏镇街道", "昭阳街道", "傅村街道", "韩庄镇", "欢城镇", "南阳镇", "鲁桥镇", "留庄镇",
               "两城镇", "马坡镇", "高楼乡", "张楼镇", "赵庙镇", "西平镇", "微山岛镇"),
        offices=OFFICES,
        media=("微山县融媒体中心", "微山县新闻中心", "济宁日报", "微山县广播电视台", "大众日报"),
        landmark="微山湖", parks=("微山经济开发区", "微山湖湿地公园", "韩庄运河港区", "微山高新产业园"),
        code="370826",
    ),
    "yutai": Place(
        county="鱼台县", short="鱼台", city="济宁市",
        towns=("谷亭街道", "滨湖街道", "王庙镇", "李阁镇", "唐马镇", "老砦镇", "王鲁镇", "张黄镇",
               "清河镇", "罗屯镇", "鱼城镇"),
        offices=OFFICES,
        media=("鱼台县融媒体中心", "济宁日报", "鱼台县广播电视台"),
        landmark="南阳湖", parks=("鱼台经济开发区", "鱼台县现代农业产业园", "鱼台县稻米产业园"),
        code="370827",
    ),
    "sishui": Place(
        county="泗水县", short="泗水", city="济宁市",
        towns=("济河街道", "泉林镇", "星村镇", "柘沟镇", "金庄镇", "苗馆镇", "中册镇", "杨柳镇",
               "泗张镇", "圣水峪镇", "高峪镇", "华村镇"),
        offices=OFFICES,
        media=("泗水县融媒体中心", "泗水县新闻中心", "济宁日报", "泗水县广播电视台"),
        landmark="泉林泉群", parks=("泗水经济开发区", "泗水县农业科技园", "泉林文旅小镇"),
        code="370831",
    ),
}

PEOPLE = ("王建国", "李红梅", "张志强", "刘洪涛", "陈晓东", "赵立新", "孙卫华", "周德明", "吴海燕", "郑国庆")
PHOTOGRAPHERS = ("刘洋", "陈静", "赵磊", "孙华", "李明", "王延平")
FIRM_HEADS = ("鲁", "华", "盛", "恒", "瑞", "通", "金", "泰", "宏", "丰", "源", "德", "润", "嘉", "兴")
FIRM_TAILS = ("邦", "阳", "诚", "达", "信", "宇", "辰", "新", "隆", "和", "昌", "荣", "科", "创", "元")
TRADES = (
    ("农业科技", "优质稻米"), ("食品", "湖产品深加工"), ("新材料", "环保板材"), ("机械", "农业机械"),
    ("电子", "智能传感器"), ("纺织", "功能性面料"), ("生物科技", "生物有机肥"), ("建材", "装配式建材"),
)
MEETINGS = (
    "县政府常务会议", "全县重点项目建设推进会", "全县安全生产工作会议", "全县优化营商环境工作会议",
    "全县乡村振兴工作推进会", "全县防汛工作会议", "全县招商引资工作调度会", "全县生态环境保护工作会议",
    "全县民生实事推进会", "全县文明城市创建工作会议",
)
TOPICS = (
    "乡村振兴", "安全生产", "营商环境", "生态环境保护", "防汛抗旱", "招商引资", "民生实事",
    "文明城市创建", "项目建设", "湖区生态治理", "农村人居环境整治", "稻渔综合种养",
)
PLANS = (
    "{county}{y}年农村人居环境整治提升实施方案", "{county}优化营商环境若干措施",
    "{county}{y}年安全生产专项整治工作方案", "{county}防汛应急预案", "{county}{y}年民生实事项目实施方案",
    "{county}促进消费若干措施", "{county}高标准农田建设实施方案", "{county}{y}年重点项目建设计划",
    "{county}城乡供水一体化实施方案", "{county}老旧小区改造工作方案",
)
CATEGORIES = (
    "综合政务", "国民经济管理、国有资产监管", "城乡建设、环境保护", "农业、林业、水利", "劳动、人事、监察",
    "财政、金融、审计", "商贸、海关、旅游", "民政、扶贫、救灾", "卫生、计划生育",
)
ATTACHMENT_NAMES = (
    ("{y}年重点项目汇总表", "xls"), ("{y}年民生实事项目清单", "xls"), ("申报表", "doc"),
    ("{y}年工作任务分解表", "doc"), ("实施方案全文", "pdf"), ("政策解读", "pdf"),
    ("{y}年资金安排明细表", "xls"), ("报名登记表", "doc"), ("名单公示", "pdf"),
)
HIDDEN_TEXTS = (
    "本网站为{site}门户网站，欢迎访问。",
    "微信扫一扫，分享到朋友圈",
    "（编辑留存：原稿请勿发布）",
    "【相关阅读】{county}召开{meeting}",
    "上一篇：{county}召开{meeting}",
)
