"""The parts every page of the portal shares: header, menus, footer, assets.

Everything here must encode in GBK.  No href or src points at an internet
host, so a crawler that strays off the section only finds 404s on loopback.
"""

from __future__ import annotations

SITE_NAME = "滕州市人民政府"
SITE_DOMAIN = "www.tengzhou.gov.cn"
SITE_ID_CODE = "3704810032"
COLUMN_NAME = "工业经济"
CITY = "滕州市"

XHTML_DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)

NAV = (
    ("/", "首页"), ("/zwgk/", "政务公开"), ("/xwzx/", "新闻中心"), ("/zmhd/", "政民互动"),
    ("/zjtz/", "走进滕州"), ("/bsfw/", "办事服务"), ("/ztzl/", "专题专栏"),
)
NEWS_MENU = (
    ("../zwyw/index.html", "政务要闻"), ("../bmdt/index.html", "部门动态"),
    ("../zjdt/index.html", "镇街动态"), ("./index.html", "工业经济"),
    ("../tzgg/index.html", "通知公告"), ("../mtgz/index.html", "媒体关注"),
)


def head_assets() -> list[str]:
    return [
        '<link href="/css/style.css" rel="stylesheet" type="text/css" />',
        '<script type="text/javascript" src="/js/jquery.min.js"></script>',
        '<script type="text/javascript" src="/js/common.js"></script>',
    ]


def header(label: str = SITE_NAME) -> list[str]:
    """The banner and top menu.  `label` is the logo text (江城足球网 on the hijacked seed page)."""
    lines = [
        "<!--头部开始-->",
        '<div class="top"><div class="top-in">',
        '<span class="top-date"><script type="text/javascript">showDate();</script></span>',
        '<span class="top-links"><a href="javascript:void(0);" onclick="setHome(this);">设为首页</a> | '
        '<a href="javascript:void(0);" onclick="addFavorite();">加入收藏</a> | <a href="/wza/">无障碍浏览</a></span>',
        "</div></div>",
        '<div class="header"><div class="logo">',
        f'<a href="/"><span class="logo-text">{label}</span><img src="/images/logo.jpg" alt="图片" /></a>',
        "</div>",
        '<div class="search"><form name="searchform" action="/search/" method="get" target="_blank">',
        '<input type="text" name="searchword" class="search-input" value="" />'
        '<input type="submit" class="search-btn" value="搜索" /></form></div>',
        "</div>",
        "<!--导航开始-->",
        '<div class="nav"><ul>',
    ]
    lines += [f'<li><a href="{href}">{text}</a></li>' for href, text in NAV]
    lines += ["</ul></div>", "<!--导航结束-->"]
    return lines


def news_menu(prefix: str = "") -> list[str]:
    """The 新闻中心 sub-menu; `prefix` adjusts the relative links to the page's folder."""
    lines = ['<div class="side"><div class="side-title">新闻中心</div><ul class="side-menu">']
    for href, text in NEWS_MENU:
        current = ' class="on"' if text == COLUMN_NAME else ""
        lines.append(f'<li{current}><a href="{prefix}{href}">{text}</a></li>')
    lines.append("</ul></div>")
    return lines


def footer(city: str = CITY) -> list[str]:
    """The footer.  `city` is 江城足球网 on the hijacked seed page."""
    return [
        "<!--底部开始-->",
        '<div class="footer"><div class="footer-in">',
        '<div class="footer-links"><a href="/wzdt/">网站地图</a> | <a href="/lxwm/">联系我们</a> | '
        '<a href="/sysm/">使用帮助</a></div>',
        "<p>Copyright @ 2000-2018 Tengzhou China. All Rights Reserved</p>",
        f"<p>中共{city}委、{city}人民政府版权所有 <a href=\"javascript:void(0);\">鲁ICP备12014628号</a> "
        f"政府网站标识码:{SITE_ID_CODE}</p>",
        '<p><a href="javascript:void(0);"><img src="/images/logo.jpg" alt="" width="16" height="16" />'
        "360网站安全检测平台</a>&nbsp;&nbsp;</p>",
        '<p><a href="javascript:void(0);"><img src="/images/logo.jpg" alt="" width="16" height="16" />'
        "鲁公网安备 37048102000005号</a></p>",
        "</div></div>",
        "<!--底部结束-->",
        '<script type="text/javascript">var _trs_uv = "";var _trs_dn = "tengzhou";</script>',
    ]


PAGER_FUNCTION = """<script type="text/javascript">
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
\tif(_nPageCount == null || _nPageCount<=1){
\t\treturn;
\t}
\tvar nCurrIndex = _nCurrIndex || 0;
\tif(nCurrIndex == 0)
\t\tdocument.write("<span class=\\"page-on\\">首页</span>&nbsp;");
\telse
\t\tdocument.write("<a href=\\""+_sPageName+"."+_sPageExt+"\\">首页</a>&nbsp;");
\tif(nCurrIndex > 0){
\t\tvar prev = (nCurrIndex == 1) ? _sPageName+"."+_sPageExt : _sPageName+"_"+(nCurrIndex-1)+"."+_sPageExt;
\t\tdocument.write("<a href=\\""+prev+"\\">上一页</a>&nbsp;");
\t}
\tif(nCurrIndex + 1 < _nPageCount)
\t\tdocument.write("<a href=\\""+_sPageName+"_"+(nCurrIndex+1)+"."+_sPageExt+"\\">下一页</a>&nbsp;");
\tdocument.write("<a href=\\""+_sPageName+"_"+(_nPageCount-1)+"."+_sPageExt+"\\">尾页</a>");
\tdocument.write("&nbsp;共"+_nPageCount+"页");
}
</script>"""

STYLE_CSS = """@charset "utf-8";
body{margin:0;padding:0;font-size:12px;font-family:"微软雅黑",Arial;color:#333;}
ul,li{margin:0;padding:0;list-style:none;}
a{color:#333;text-decoration:none;}
.top,.header,.nav,.main,.footer{width:1200px;margin:0 auto;}
.nav li{float:left;width:14%;text-align:center;line-height:48px;}
.list-ul li{line-height:36px;border-bottom:1px dashed #ddd;}
.list-ul li span{float:right;color:#999;}
.detail-title{font-size:24px;text-align:center;}
.detail-info{text-align:center;color:#666;border-bottom:1px solid #ddd;}
.TRS_Editor{font-size:16px;line-height:2;}
.footer{text-align:center;line-height:26px;background:#1a5aa8;color:#fff;}
"""

COMMON_JS = """function showDate(){var d=new Date();document.write(d.getFullYear()+"年"+(d.getMonth()+1)+"月"+d.getDate()+"日");}
function setHome(obj){try{obj.style.behavior='url(#default#homepage)';obj.setHomePage(location.href);}catch(e){}}
function addFavorite(){try{window.external.addFavorite(location.href,document.title);}catch(e){}}
"""

JQUERY_STUB = "/*! jQuery v1.8.3 (replica stub: nothing here is needed to read the pages) */\n"
