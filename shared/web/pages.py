"""The app's self-contained HTML pages: one file each, with the style and script they share inlined at load.

A page file holds `<!--page:common-head-->` (after its charset) where the shared meta tags and `page_common.css`
go, and `<!--page:common-script-->` where `page_common.js` goes, before its own script. The head tells the page
how it is opened (`<meta name="operations-auth">`: `function-key` or `entra`, docs/operations.md). The page is
then served with a Content-Security-Policy that allows exactly its inline blocks (their SHA-256 hashes, no
`unsafe-inline`) and nothing but `connect-src 'self'`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path

import azure.functions as func

HERE = Path(__file__).parent
COMMON_STYLE = HERE / "page_common.css"
COMMON_SCRIPT = HERE / "page_common.js"
NO_STORE = {"Cache-Control": "no-store"}


def _hashes(html: str, tag: str) -> str:
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode("utf-8")).digest()).decode() + "'"
        for block in blocks
    )


COMMON_HEAD = """<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<meta name="operations-auth" content="{auth_mode}">
<link rel="icon" href="data:,">
<style>
{style}</style>"""


def render(path: Path, auth_mode: str) -> str:
    html = path.read_text(encoding="utf-8")
    head = COMMON_HEAD.format(auth_mode=auth_mode, style=COMMON_STYLE.read_text(encoding="utf-8"))
    html = html.replace("<!--page:common-head-->", head)
    return html.replace("<!--page:common-script-->",
                        "<script>\n" + COMMON_SCRIPT.read_text(encoding="utf-8") + "</script>")


@cache
def _page(path: Path, auth_mode: str) -> tuple[bytes, dict[str, str]]:
    html = render(path, auth_mode)
    policy = (
        f"default-src 'none'; script-src {_hashes(html, 'script')}; style-src {_hashes(html, 'style')}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    headers = {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",  # a first URL may carry ?code=
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        **NO_STORE,
    }
    return html.encode("utf-8"), headers


def page_response(path: Path, auth_mode: str) -> func.HttpResponse:
    """A static page, holding no data: it calls the JSON routes with the key it is given (or the sign-in)."""
    body, headers = _page(path, auth_mode)
    return func.HttpResponse(body, status_code=200, headers=headers, mimetype="text/html", charset="utf-8")
