"""Plausible 工业经济 news text, drawn from a seeded random generator.

`NewsWriter(rng, day)` writes one article's title, paragraphs, captions and
attachment names.  The same rng state always gives the same text.
"""

from __future__ import annotations

import random
import re
from datetime import date

from replica import words

TITLES = (
    "{town}召开{y}年{meeting}",
    "{company}{product}项目正式投产",
    "{park}:招商引资跑出“加速度”",
    "我市{n}家企业入选省级“专精特新”中小企业名单",
    "{y}年{m}月份全市工业经济运行情况",
    "{town}多措并举推动化工产业转型升级",
    "市工信局深入企业开展技改项目帮办服务",
    "{town}{industry}产业集群加速崛起",
    "高端装备制造业成为我市工业经济增长新引擎",
    "{company}年产{n}万吨{chemical}项目签约落地",
    "全市化工园区安全生产专项整治工作会议召开",
    "【工业强市 产业兴市】{town}{action}",
    "{town}“双招双引”再传捷报",
    "市领导到{town}调研工业项目建设",
    "我市召开{y}年度工业企业技术改造推进会",
    "{park}{n}个重点项目集中开工",
    "{town}:园区提档升级 企业活力迸发",
    "{company}获评国家级“专精特新”小巨人企业",
    "我市新材料产业项目建设跑出加速度",
    "{town}开展化工企业安全生产大排查",
)

OPENINGS = (
    "{md}{part},{town}召开{meeting},{purpose}。",
    "{md},记者走进{park},{company}的生产车间内机器轰鸣,工人们正在紧张有序地忙碌着。",
    "今年以来,{town}坚持把招商引资作为“一号工程”,围绕{industry}等主导产业开展精准招商,累计签约项目{n}个,总投资{money}亿元。",
    "{md}{part},市工信局组织召开{meeting},{purpose}。",
    "近日,{company}{product}项目建成投产,标志着我市{industry}产业链条进一步延伸。",
    "{md},{y}年{park}重点项目集中开工仪式举行,此次集中开工项目{n}个,总投资{money}亿元。",
)
PURPOSES = (
    "总结前期工作,安排部署下一阶段工业经济重点任务",
    "进一步推动化工园区高质量发展",
    "动员全镇上下凝心聚力攻坚突破",
    "研究解决企业发展中遇到的困难和问题",
    "推动招商引资和项目建设再上新台阶",
)
BODY = (
    "{park}坚持把化工产业作为主导产业,不断完善园区基础设施,提升园区承载能力,目前园区已入驻化工企业{n}家。",
    "{company}投资{money}亿元实施智能化技改项目,新上{n}条自动化生产线,项目投产后可新增产值{money2}亿元、利税{money3}亿元。",
    "我市持续加大“专精特新”企业培育力度,目前已累计培育省级“专精特新”中小企业{n}家、国家级专精特新“小巨人”企业{n2}家。",
    "1-{m}月份,全市规模以上工业增加值同比增长{pct}%,高于枣庄市平均水平{pct2}个百分点。",
    "围绕高端装备、高端化工、新材料等产业集群,{town}梳理产业链条,绘制招商图谱,开展以商招商、以企引企。",
    "项目建设是经济发展的“压舱石”。{town}建立重点项目“一个项目、一名领导、一个专班”推进机制,全力保障项目早开工、早投产、早见效。",
    "{company}负责人介绍,企业每年拿出销售收入的{pct}%用于研发投入,先后与多所高校院所建立产学研合作关系。",
    "在化工园区安全管理方面,{park}建成智慧化工园区管理平台,对园区企业重大危险源实行全天候监测。",
    "招商引资是推动工业经济发展的关键一招。今年以来,全市共开展招商活动{n}次,新签约过亿元项目{n2}个。",
    "{town}强化要素保障,盘活闲置土地{n}亩,为新上工业项目腾出发展空间。",
    "据了解,{company}主要生产{product}等产品,产品远销东南亚、欧洲等{n}个国家和地区。",
    "走进{company},一条条自动化生产线高速运转,工业机器人精准作业,企业技改后生产效率提升{pct}%。",
    "为推动园区企业转型升级,{park}积极引导企业实施技术改造,今年以来共实施技改项目{n}个。",
    "{town}把新材料产业作为新的增长点,先后引进{chemical}、{chemical2}等一批新材料项目,产业集群效应逐步显现。",
    "高端装备制造是我市的传统优势产业,全市现有机床及配套企业{n}余家,产业集群规模不断壮大。",
    "市工信局相关负责人表示,将进一步强化企业服务,深入开展“企业大走访”活动,帮助企业解决融资、用工、用地等难题。",
    "截至目前,{park}累计完成固定资产投资{money}亿元,规模以上工业企业达到{n}家。",
    "{company}{product}项目占地{n}亩,总投资{money}亿元,建成后可实现年产值{money2}亿元,新增就业岗位{n3}个。",
    "与会人员先后来到{company}、{company2}等企业,实地察看项目建设进展和企业生产经营情况。",
    "{town}持续深化“放管服”改革,为重点项目提供全程代办服务,项目审批时限压缩{pct}%以上。",
    "今年,全市计划实施过亿元工业技改项目{n}个,推动传统产业高端化、智能化、绿色化发展。",
)
CLOSINGS = (
    "会议指出,要坚定不移实施工业强市战略,以项目建设为抓手,以园区建设为载体,以招商引资为突破,推动工业经济提质增效。",
    "会议强调,各级各部门要牢固树立安全发展理念,压紧压实化工企业安全生产主体责任,坚决守住安全生产底线。",
    "下一步,{town}将继续聚焦{industry}产业,强化招商引资,做好企业服务,推动工业经济持续健康发展。",
    "下一步,市工信局将持续加大企业培育力度,推动更多企业走“专精特新”发展之路。",
    "据悉,{y}年{town}将谋划实施重点工业项目{n}个,力争全年工业投资增长{pct}%以上。",
)
CAPTIONS = (
    "图为{company}生产车间",
    "图为会议现场",
    "图为{park}一角",
    "图为工作人员在检查设备运行情况",
    "图为{town}重点项目建设现场",
    "图为{company}自动化生产线",
)

_SLOT = re.compile(r"\{(\w+)\}")


class NewsWriter:
    """Writes one article's text.  All randomness comes from `rng`."""

    def __init__(self, rng: random.Random, day: date) -> None:
        self.rng = rng
        self.day = day
        # The cast stays fixed within one article so the story hangs together.
        self.town = rng.choice(words.TOWNS)
        self.park = rng.choice(words.PARKS)
        self.company, self.product = self.new_company()
        self._deck: list[str] = []
        self._chemical = ""

    def new_company(self) -> tuple[str, str]:
        """An invented firm name and the product it makes."""
        r = self.rng
        trade, product = r.choice(words.TRADES)
        name = r.choice(words.NAME_HEADS) + r.choice(words.NAME_TAILS)
        prefix = r.choice(("滕州", "山东", "滕州市", "山东"))
        return f"{prefix}{name}{trade}{r.choice(words.FIRM_KINDS)}", product

    def fill(self, template: str) -> str:
        """Replace every {slot} in `template`."""
        return _SLOT.sub(lambda m: self._slot(m.group(1)), template)

    def _slot(self, name: str) -> str:
        r = self.rng
        simple = {
            "town": self.town, "park": self.park, "company": self.company,
            "product": self.product, "y": str(self.day.year), "m": str(self.day.month),
            "md": f"{self.day.month}月{self.day.day}日",
        }
        if name in simple:
            return simple[name]
        if name == "company2":
            return self.new_company()[0]
        if name in ("n", "n2"):
            return str(r.randint(2, 60))
        if name == "n3":
            return str(r.randint(50, 900))
        if name in ("money", "money2", "money3"):
            return f"{r.randint(1, 90)}.{r.randint(1, 9)}"
        if name in ("pct", "pct2"):
            return f"{r.randint(1, 30)}.{r.randint(0, 9)}"
        if name == "chemical":
            self._chemical = r.choice(words.CHEMICALS)
            return self._chemical
        if name == "chemical2":  # never the same as the {chemical} just before it
            return r.choice([c for c in words.CHEMICALS if c != self._chemical])
        pools = {
            "meeting": words.MEETINGS, "action": words.ACTIONS, "industry": words.INDUSTRIES,
            "part": words.WEEKDAY_PARTS, "purpose": PURPOSES,
        }
        return r.choice(pools[name])

    def title(self) -> str:
        return self.fill(self.rng.choice(TITLES))

    def source(self) -> str:
        if self.rng.random() < 0.25:
            return self.town + self.rng.choice(words.TOWN_SOURCE_TAILS)
        return self.rng.choice(words.SOURCES)

    def sentence(self) -> str:
        """A body sentence; templates repeat only after all have been used."""
        if not self._deck:
            self._deck = list(BODY)
            self.rng.shuffle(self._deck)
        return self.fill(self._deck.pop())

    def paragraphs(self, target_chars: int) -> list[str]:
        """Paragraphs of 1-4 sentences until about `target_chars` (never over 4,000)."""
        r = self.rng
        paras = [self.fill(r.choice(OPENINGS)) + self.sentence()]
        total = len(paras[0])
        while total < target_chars:
            para = "".join(self.sentence() for _ in range(r.randint(1, 4)))
            if total + len(para) > 3800:
                break
            paras.append(para)
            total += len(para)
        if r.random() < 0.7:
            paras.append(self.fill(r.choice(CLOSINGS)))
        return paras

    def caption(self) -> str:
        text = self.fill(self.rng.choice(CAPTIONS))
        if self.rng.random() < 0.7:
            who = self.rng.choice(words.PHOTOGRAPHERS)
            text += f"({who} {self.rng.choice(words.PHOTO_VERBS)})"
        return text

    def attachment_names(self, count: int) -> list[tuple[str, str]]:
        """`count` (name, extension) pairs, e.g. ("附件1:2023年一季度工业运行情况.xls", "xls")."""
        picks = self.rng.sample(words.ATTACHMENTS, count)
        numbered = count > 1 or self.rng.random() < 0.5
        out = []
        for i, (pattern, ext) in enumerate(picks, 1):
            name = pattern.format(y=self.day.year, q=self.rng.choice(words.QUARTERS))
            if numbered:
                name = f"附件{i}:{name}"
            out.append((f"{name}.{ext}", ext))
        return out
