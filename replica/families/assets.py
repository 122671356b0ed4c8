"""Static files of the family sites: PNG icons (share buttons, QR codes, logos), CSS and scripts.

The scripts work in a browser: jpage renders a Hanweb column from its inline
datastore and fetches further groups from dataproxy.jsp by POST; list.js
renders a JSON channel; article.js reveals a body hidden until it runs.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png_bytes(name: str, size: int = 24) -> bytes:
    """A valid grey square PNG, unique to `name` (a tEXt chunk names it)."""
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    raw = b"".join(b"\x00" + bytes([0x99]) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"tEXt", b"Comment\x00" + name.encode("utf-8"))
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


CSS = """body{margin:0;font:14px/1.8 "Microsoft YaHei",SimSun,sans-serif;color:#333}
a{color:#333;text-decoration:none}ul,li{margin:0;padding:0;list-style:none}
.header,.nav,.main,.footer{width:1200px;margin:0 auto}
.list li{line-height:36px;border-bottom:1px dashed #ddd}.list li span{float:right;color:#999}
.footer{text-align:center;background:#0d5aa7;color:#fff}
"""

JPAGE_JS = r"""/* jpage: pages a Hanweb column.  Groups of perPage*groupSize records; the first group is inline. */
(function($){
  $.fn.jpage = function(o){
    var box = this, store = box.find('script[type="text/xml"]').text(), pages = Math.ceil(o.totalRecord / o.perPage);
    var rows = [], group = o.perPage * o.groupSize;
    function records(xml){ var out = [], re = /<record><!\[CDATA\[([\s\S]*?)\]\]><\/record>/g, m;
      while ((m = re.exec(xml))) out.push(m[1]); return out; }
    rows = records(store);
    function show(page){
      var need = (page - 1) * o.perPage;
      if (need >= rows.length && rows.length < o.totalRecord) {
        var start = rows.length + 1;
        $.post(o.proxyUrl + '?startrecord=' + start + '&endrecord=' + (start + group - 1) + '&perpage=' + o.perPage,
               o.ajaxParam, function(xml){ rows = rows.concat(records(xml)); show(page); }, 'text');
        return;
      }
      box.html(o.dataBefore + rows.slice(need, need + o.perPage).join('') + o.dataAfter);
      var bar = $('<div class="pagebar"></div>').appendTo(box);
      for (var p = 1; p <= pages; p++) $('<a href="javascript:;"></a>').text(p).data('p', p).appendTo(bar);
      bar.on('click', 'a', function(){ show($(this).data('p')); });
    }
    show(1);
    return this;
  };
})(jQuery);
"""

JQUERY_STUB = "/*! jQuery v1.12.4 (replica stub: load a real jQuery to run jpage in a browser) */\n"

LIST_JS = r"""/* NewsList: renders a channel from the JSON list API. */
var NewsList = {
  init: function(o){
    var el = document.querySelector(o.el), pager = document.querySelector(o.pager);
    function load(page){
      var xhr = new XMLHttpRequest();
      xhr.open('GET', o.api + '?channel=' + o.channel + '&page=' + page + '&size=' + o.size);
      xhr.onload = function(){
        var data = JSON.parse(xhr.responseText), html = '';
        for (var i = 0; i < data.list.length; i++) {
          var row = data.list[i];
          html += '<li><a href="' + row.url + '" target="_blank" title="' + row.title + '">' + row.title
                + '</a><span>' + row.date + '</span></li>';
        }
        el.innerHTML = html;
        pager.innerHTML = '';
        for (var p = 1; p <= data.pages; p++) {
          var a = document.createElement('a'); a.href = 'javascript:;'; a.textContent = p;
          a.onclick = (function(n){ return function(){ load(n); }; })(p);
          pager.appendChild(a);
        }
      };
      xhr.send();
    }
    load(1);
  }
};
"""

ARTICLE_JS = r"""/* Reveals the article body (hidden by [v-cloak] until this runs) and counts a view. */
document.addEventListener('DOMContentLoaded', function(){
  var body = document.getElementById('articleBody');
  if (body) body.removeAttribute('v-cloak');
  var views = document.getElementById('views');
  if (views) views.textContent = '1';
});
"""


def static_files(cms: str) -> dict[str, tuple[str, bytes]]:
    """path -> (content type, bytes) of the static files a family's pages refer to."""
    files = {
        "/images/logo.png": ("image/png", png_bytes("logo", 48)),
        "/images/share_wx.png": ("image/png", png_bytes("share_wx")),
        "/images/share_wb.png": ("image/png", png_bytes("share_wb")),
        "/images/share_qq.png": ("image/png", png_bytes("share_qq")),
        "/images/ewm.png": ("image/png", png_bytes("ewm", 96)),
        "/css/main.css": ("text/css", CSS.encode("utf-8")),
    }
    if cms == "hanweb":
        files["/module/jslib/jquery/jquery.js"] = ("application/javascript", JQUERY_STUB.encode("utf-8"))
        files["/module/jslib/jquery/jpage/jquery.page.js"] = ("application/javascript", JPAGE_JS.encode("utf-8"))
    if cms == "json":
        files["/static/js/list.js"] = ("application/javascript", LIST_JS.encode("utf-8"))
        files["/static/js/article.js"] = ("application/javascript", ARTICLE_JS.encode("utf-8"))
    return files
