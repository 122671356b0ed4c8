"""Article pages: the current template (2017 and later) and the older one.

`render_article(article)` returns the page as text; `replica.site` encodes it
in the article's charset.  The template parts use CRLF line ends while the
editor body uses LF, as TRS output does.
"""

from __future__ import annotations

from html import escape

from replica import chrome
from replica.article import Article, Photo

EDITOR_STYLE = (
    '<style type="text/css">.TRS_Editor P{margin-top:0px;margin-bottom:12px;line-height:1.8;'
    "font-family:宋体;font-size:12pt;}.TRS_Editor DIV{margin-top:0px;margin-bottom:12px;"
    "line-height:1.8;font-family:宋体;font-size:12pt;}.TRS_Editor TD{font-family:宋体;font-size:12pt;}"
    ".TRS_Editor TH{font-family:宋体;font-size:12pt;}.TRS_Editor{font-family:宋体;font-size:12pt;}</style>"
)
CENTRED = ' style="text-align: center;"'
OLD_CENTRED = ' align="center"'


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _text_para(text: str, article: Article, tag: str) -> str:
    look = article.look
    body = escape(text, quote=False)
    if look.font_span:
        body = f'<span style="font-family: 仿宋_GB2312; font-size: 16pt;">{body}</span>'
    style = ""
    if look.indent == "ideographic":
        body = "\u3000\u3000" + body
    elif look.indent == "nbsp":
        body = "&nbsp;&nbsp;&nbsp;&nbsp;" + body
    elif look.indent == "css":
        style = ' style="text-indent: 2em;"'
    return f"<{tag}{style}>{body}</{tag}>"


def _photo_paras(photo: Photo, tag: str, centred: str, old: bool) -> list[str]:
    src = f"./{photo.filename}"
    if old:
        img = f'<IMG style="BORDER-WIDTH: 0px" src="{src}" OLDSRC="{photo.filename}" alt="{_attr(photo.alt)}">'
    else:
        img = f'<img src="{src}" OLDSRC="{photo.filename}" alt="{_attr(photo.alt)}" style="border-width: 0px;" />'
    lines = [f"<{tag}{centred}>{img}</{tag}>"]
    if photo.caption is not None:
        lines.append(f"<{tag}{centred}>{escape(photo.caption, quote=False)}</{tag}>")
    return lines


def _body_lines(article: Article, old: bool) -> list[str]:
    tag = "P" if old else article.look.para_tag
    centred = OLD_CENTRED if old else CENTRED
    lines = []
    for i, block in enumerate(article.blocks):
        if isinstance(block, Photo):
            lines += _photo_paras(block, tag, centred, old)
        else:
            lines.append(_text_para(block, article, tag))
        if i in article.look.empty_after:
            lines.append(f"<{tag}>&nbsp;</{tag}>")
    return lines


def _stamp(article: Article) -> str:
    return f"{article.made_at:%Y-%m-%d %H:%M:%S}"


def _meta_tags(article: Article) -> list[str]:
    made = _stamp(article)
    pubdate = made[:16] if article.look.pubdate_is_maketime else f"{article.published_at:%Y-%m-%d %H:%M}"
    url = f"http://{chrome.SITE_DOMAIN}{article.entry.path}"
    pairs = (
        ("SiteName", chrome.SITE_NAME), ("SiteDomain", chrome.SITE_DOMAIN), ("SiteIDCode", chrome.SITE_ID_CODE),
        ("ColumnName", chrome.COLUMN_NAME), ("ColumnDescription", "滕州市工业经济新闻"),
        ("ColumnKeywords", "工业经济,工业强市,产业兴市"), ("ColumnType", "工作动态"),
        ("ArticleTitle", article.title), ("PubDate", pubdate), ("ContentSource", article.source),
        ("Keywords", chrome.COLUMN_NAME), ("Description", article.description), ("Url", url),
        ("Maketime", made),
    )
    return [f'<meta name="{name}" content="{_attr(value)}" />' for name, value in pairs]


def _current(article: Article) -> str:
    charset = "gbk" if article.entry.charset == "gbk" else "utf-8"
    label = "江城足球网" if article.hijacked else chrome.SITE_NAME
    city = "江城足球网" if article.hijacked else chrome.CITY
    shown = f"{article.published_at:%Y-%m-%d %H:%M}" if article.look.time_shown else f"{article.published_at:%Y-%m-%d}"
    head = [
        chrome.XHTML_DOCTYPE,
        '<html xmlns="http://www.w3.org/1999/xhtml">',
        "<head>",
        f'<meta http-equiv="Content-Type" content="text/html; charset={charset}" />',
        '<meta http-equiv="X-UA-Compatible" content="IE=edge" />',
        f"<title>{escape(article.title, quote=False)}_{chrome.SITE_NAME}</title>",
        *_meta_tags(article),
        f'<meta name="others" content="页面生成时间 {_stamp(article)}" />',
        *chrome.head_assets(),
        "</head>",
        "<body>",
        *chrome.header(label),
        '<div class="main">',
        '<div class="position">您的位置:<a href="../../../">首页</a> &gt; <a href="../../">新闻中心</a> &gt; '
        '<a href="../">工业经济</a></div>',
        '<div class="detail">',
        f'<h1 class="detail-title">{escape(article.title, quote=False)}</h1>',
        f'<div class="detail-info"><span>时间:{shown}</span> <span>来源:{escape(article.source, quote=False)}</span></div>',
        '<div class="detail-content">',
        "<!--TRS正文开始-->",
    ]
    editor = ['<div class="TRS_Editor">']
    if article.look.style_block:
        editor += [EDITOR_STYLE, '<div class="Custom_UnionStyle">']
    editor += _body_lines(article, old=False)
    editor.append("</div></div>" if article.look.style_block else "</div>")
    tail = ["<!--TRS正文结束-->", "</div>"]
    if article.attachments:
        links = "<br />".join(
            f'<a href="./{a.filename}" target="_blank">{escape(a.name, quote=False)}</a>' for a in article.attachments
        )
        tail.append(f'<div class="detail-attach">附件:{links}</div>')
    tail += [
        '<div class="detail-tools"><a href="javascript:window.print();">【打印本页】</a> '
        '<a href="javascript:window.close();">【关闭窗口】</a></div>',
        "</div>",
        "</div>",
        *chrome.footer(city),
        "</body>",
        "</html>",
        "",
    ]
    return "\r\n".join(head) + "\r\n" + "\n".join(editor) + "\n" + "\r\n".join(tail)


def _old(article: Article) -> str:
    day = article.published_at
    charset = "gbk" if article.entry.charset == "gbk" else "utf-8"
    head = [
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">',
        "<HTML>",
        "<HEAD>",
        f'<META http-equiv="Content-Type" content="text/html; charset={charset}">',
        f"<TITLE>{escape(article.title, quote=False)}--{chrome.SITE_NAME}</TITLE>",
        '<LINK href="/css/style.css" type="text/css" rel="stylesheet">',
        "</HEAD>",
        '<BODY leftMargin="0" topMargin="0">',
        '<TABLE cellSpacing="0" cellPadding="0" width="1000" align="center" border="0">',
        f'<TR><TD class="top"><IMG src="/images/logo.jpg" alt="{chrome.SITE_NAME}" border="0"></TD></TR>',
        "</TABLE>",
        '<TABLE cellSpacing="0" cellPadding="0" width="1000" align="center" border="0">',
        '<TR><TD class="dqwz">当前位置：<A href="../../../">首页</A> &gt;&gt; <A href="../../">新闻中心</A> &gt;&gt; '
        '<A href="../">工业经济</A></TD></TR>',
        "</TABLE>",
        '<TABLE cellSpacing="0" cellPadding="0" width="1000" align="center" border="0">',
        f'<TR><TD class="title" align="center">{escape(article.title, quote=False)}</TD></TR>',
        f'<TR><TD class="info" align="center">发布日期：{day:%Y年%m月%d日}\u3000\u3000信息来源：'
        f"{escape(article.source, quote=False)}</TD></TR>",
        '<TR><TD class="content">',
        "<!--ZOOM开始-->",
    ]
    body = ['<div id="zoom">', *_body_lines(article, old=True), "</div>"]
    tail = [
        "<!--ZOOM结束-->",
        "</TD></TR>",
        '<TR><TD align="right"><A href="javascript:window.print()">[打印本页]</A> '
        '<A href="javascript:window.close()">[关闭窗口]</A></TD></TR>',
        "</TABLE>",
        '<TABLE class="bottom" cellSpacing="0" cellPadding="0" width="1000" align="center" border="0"><TR><TD align="center">',
        "Copyright @ 2000-2018 Tengzhou China. All Rights Reserved<BR>",
        f"中共{chrome.CITY}委、{chrome.CITY}人民政府版权所有 鲁ICP备12014628号 政府网站标识码:{chrome.SITE_ID_CODE}<BR>",
        "鲁公网安备 37048102000005号",
        "</TD></TR></TABLE>",
        "</BODY>",
        "</HTML>",
        "",
    ]
    return "\r\n".join(head) + "\r\n" + "\n".join(body) + "\n" + "\r\n".join(tail)


def render_article(article: Article) -> str:
    """The page for `article`, in the template its date calls for."""
    return _old(article) if article.entry.template == "old" else _current(article)
