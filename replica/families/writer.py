"""County news and notices for the family sites, drawn from a seeded generator.

`CountyWriter(rng, place, day)` writes one article's title, paragraphs,
captions and attachment names: `kind="news"` for 要闻/动态 columns,
`kind="notice"` for 政策文件 and 通知公告 (a 关于印发…的通知 with its numbered
sections and its signature block).  The same rng state gives the same text.
"""

from __future__ import annotations

import random
import re
from datetime import date

from replica.families import words
from replica.families.words import Place

NEWS_TITLES = (
    "{county}召开{meeting}",
    "{town}扎实推进{topic}工作",
    "{leader}到{town}调研{topic}工作",
    "{county}{y}年{topic}工作取得新成效",
    "{office}开展{topic}专项行动",
    "{firm}{product}项目在{park}开工建设",
    "{town}：“{topic}”跑出加速度",
    "{county}举办{y}年{topic}培训班",
    "{landmark}畔绘就{topic}新画卷",
    "{office}召开{y}年度工作会议",
    "{town}多措并举抓好{topic}",
    "{county}{n}个重点项目集中签约",
)
NEWS_OPENINGS = (
    "{md}，{county}召开{meeting}，{purpose}。",
    "{md}，县委副书记、县长{leader}到{town}调研{topic}工作，实地察看项目进展情况。",
    "今年以来，{town}坚持把{topic}作为重点工作，细化任务分工，压实工作责任，各项工作取得明显成效。",
    "近日，{office}组织开展{topic}专项行动，{purpose}。",
    "{md}，{firm}{product}项目在{park}开工建设，项目总投资{money}亿元。",
)
PURPOSES = (
    "安排部署下一阶段重点工作", "动员全县上下凝心聚力攻坚突破", "研究解决工作推进中遇到的困难和问题",
    "推动各项任务落地见效", "进一步提升群众的获得感和满意度",
)
NEWS_BODY = (
    "{town}建立“一个项目、一名领导、一个专班”推进机制，全力保障项目早开工、早投产、早见效。",
    "截至目前，全县累计完成投资{money}亿元，占年度计划的{pct}%。",
    "会上，{office}、{office2}等单位负责同志作了发言，交流了经验做法。",
    "{leader}指出，要坚持问题导向，聚焦{topic}中的堵点难点，拿出务实管用的举措。",
    "围绕{topic}，{town}组织干部深入村居、企业开展走访，共收集意见建议{n}条，已办结{n2}条。",
    "{firm}负责人介绍，项目建成后可实现年产值{money}亿元，带动周边群众就业{n3}人。",
    "在{landmark}沿岸，{town}实施生态修复工程{n}处，修复湿地{n3}亩，湖区水质持续向好。",
    "{office}相关负责人表示，下一步将持续加大工作力度，确保各项任务按时完成。",
    "据了解，{county}今年共谋划实施{topic}项目{n}个，总投资{money}亿元。",
    "活动现场，工作人员通过发放宣传资料、现场讲解等方式，向群众普及相关知识{n3}余人次。",
    "{town}把{topic}与乡村振兴有机结合，打造示范村{n}个，带动村集体增收{money}万元。",
    "与会人员先后来到{park}、{town}等地，实地观摩项目建设情况。",
)
NEWS_CLOSINGS = (
    "会议强调，各级各部门要切实提高政治站位，狠抓工作落实，确保各项目标任务圆满完成。",
    "下一步，{town}将继续聚焦{topic}，创新工作举措，推动各项工作再上新台阶。",
    "下一步，{office}将进一步强化责任担当，持续推动{topic}工作走深走实。",
)
CAPTIONS = ("图为会议现场", "图为{town}{topic}现场", "图为{park}一角", "图为工作人员入户走访", "图为项目建设现场")
NOTICE_INTRO = "各镇人民政府（街道办事处），县政府各部门，各有关单位："
NOTICE_BODY = (
    "现将《{plan}》印发给你们，请结合实际，认真贯彻落实。",
    "一、总体要求。坚持以人民为中心的发展思想，聚焦{topic}，补短板、强弱项，推动工作提质增效。",
    "二、主要任务。到{y}年底，{topic}工作取得明显成效，群众满意度达到{pct}%以上。",
    "三、保障措施。各镇街、各部门要加强组织领导，明确责任分工，确保各项措施落到实处。",
    "四、工作要求。请各有关单位于{md}前将工作开展情况报送{office}。",
    "本方案自印发之日起施行，有效期{n}年。",
)

_SLOT = re.compile(r"\{(\w+)\}")


class CountyWriter:
    """Writes one article's text about `place`.  All randomness comes from `rng`."""

    def __init__(self, rng: random.Random, place: Place, day: date, site_name: str) -> None:
        self.rng, self.place, self.day, self.site_name = rng, place, day, site_name
        self.town = rng.choice(place.towns)
        self.office = rng.choice(place.offices)
        self.topic = rng.choice(words.TOPICS)
        self.firm = (f"{place.short}{rng.choice(words.FIRM_HEADS)}{rng.choice(words.FIRM_TAILS)}"
                     + rng.choice(words.TRADES)[0] + "有限公司")
        self.product = rng.choice(words.TRADES)[1]
        self.leader = rng.choice(words.PEOPLE)
        self.plan = rng.choice(words.PLANS).format(county=place.county, y=day.year)
        self.publisher = place.county + self.office.removeprefix("县")  # 县民政局 -> 鱼台县民政局
        self._deck: list[str] = []

    def fill(self, template: str) -> str:
        return _SLOT.sub(lambda m: self._slot(m.group(1)), template)

    def _slot(self, name: str) -> str:
        r, p = self.rng, self.place
        fixed = {
            "county": p.county, "town": self.town, "office": self.office, "topic": self.topic, "firm": self.firm,
            "product": self.product, "leader": self.leader, "landmark": p.landmark, "plan": self.plan,
            "y": str(self.day.year), "md": f"{self.day.month}月{self.day.day}日", "site": self.site_name,
        }
        if name in fixed:
            return fixed[name]
        if name == "office2":
            return r.choice([o for o in p.offices if o != self.office])
        if name in ("n", "n2"):
            return str(r.randint(2, 40))
        if name == "n3":
            return str(r.randint(50, 900))
        if name == "money":
            return f"{r.randint(1, 60)}.{r.randint(1, 9)}"
        if name == "pct":
            return str(r.randint(85, 99))
        pools = {"meeting": words.MEETINGS, "purpose": PURPOSES, "park": p.parks}
        return r.choice(pools[name])

    def title(self, kind: str) -> str:
        if kind == "notice":
            return f"{self.publisher}关于印发《{self.plan}》的通知"
        return self.fill(self.rng.choice(NEWS_TITLES))

    def other_title(self) -> str:
        """A different news title, as an editor's correction would give."""
        return self.fill(self.rng.choice(NEWS_TITLES))

    def source(self) -> str:
        roll = self.rng.random()
        if roll < 0.45:
            return self.rng.choice(self.place.media)
        if roll < 0.85:
            return self.office
        return self.town + "党政办公室"

    def sentence(self) -> str:
        """A body sentence; templates repeat only after all have been used."""
        if not self._deck:
            self._deck = list(NEWS_BODY)
            self.rng.shuffle(self._deck)
        return self.fill(self._deck.pop())

    def paragraphs(self, kind: str, signer: str, signed: date) -> list[str]:
        """The body paragraphs.  A notice ends with its signer and the date it was signed (成文日期)."""
        r = self.rng
        if kind == "notice":
            paras = [NOTICE_INTRO] + [self.fill(t) for t in NOTICE_BODY[: r.randint(3, len(NOTICE_BODY))]]
            return paras + [signer, f"{signed.year}年{signed.month}月{signed.day}日"]
        paras = [self.fill(r.choice(NEWS_OPENINGS)) + self.sentence()]
        for _ in range(r.randint(1, 6)):
            paras.append("".join(self.sentence() for _ in range(r.randint(1, 3))))
        if r.random() < 0.7:
            paras.append(self.fill(r.choice(NEWS_CLOSINGS)))
        return paras

    def caption(self) -> str:
        text = self.fill(self.rng.choice(CAPTIONS))
        if self.rng.random() < 0.6:
            text += f"（{self.rng.choice(words.PHOTOGRAPHERS)} 摄）"
        return text

    def attachment_names(self, count: int) -> list[tuple[str, str]]:
        """`count` (link text, extension) pairs, e.g. ("附件1：2023年重点项目汇总表.xls", "xls")."""
        picks = self.rng.sample(words.ATTACHMENT_NAMES, count)
        out = []
        for i, (pattern, ext) in enumerate(picks, 1):
            name = pattern.format(y=self.day.year)
            label = f"附件{i}：{name}.{ext}" if count > 1 or self.rng.random() < 0.5 else f"{name}.{ext}"
            out.append((label, ext))
        return out

    def hidden_text(self) -> str:
        return self.fill(self.rng.choice(words.HIDDEN_TEXTS))
