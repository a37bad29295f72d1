"""The pages CMS popup mode shows in the sign-in popup, and the script that hands a sign-in to the CMS.

A page with a handshake runs the Netlify-style exchange Decap, Sveltia and
Static CMS expect: it posts ``authorizing:<provider>`` to ``window.opener``
for the one CMS origin bound at ``/auth``, waits for the opener to answer with
the same string from that origin, then posts the result to that origin only
and closes. When there is no opener, or the opener never answers, the page
says why and how to fix it instead of hanging.

Everything variable on a page is escaped: text with ``html.escape``, the
handshake's data as JSON in which ``<``, ``>`` and ``&`` are ``\\u`` escapes,
so no value (a provider's error text, say) can end the script element. The
policy allows only this page's own nonce-tagged script and style.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NO_OPENER = (
    "This window has lost its link to the CMS page that opened it (window.opener is null), "
    "so it cannot hand the sign-in over.",
    "Cause: the CMS admin page is served with a Cross-Origin-Opener-Policy of same-origin, "
    "or this page was opened in a tab or window of its own instead of the CMS's sign-in popup.",
    "Fix: serve the CMS admin page with Cross-Origin-Opener-Policy: same-origin-allow-popups "
    "(or without that header), allow pop-ups for the CMS site, then close this window "
    "and sign in from the CMS again.",
)
NO_ANSWER = (
    "The CMS page that opened this window did not answer.",
    "Cause: the page that opened it is not the CMS admin page this sign-in was started for "
    "(the origin bound at sign-in is shown below), or that page was closed or reloaded.",
    "Fix: close this window and sign in from the CMS admin page again.",
)
ANSWER_WAIT_MS = 15000

_STYLE = (
    "body{font-family:system-ui,sans-serif;line-height:1.5;max-width:36rem;margin:3rem auto;padding:0 1rem}"
    "h1{font-size:1.4rem}code{overflow-wrap:anywhere}section{border-left:4px solid #b35900;padding-left:1rem}"
)

_SCRIPT = """(function () {
  "use strict";
  var node = document.getElementById("handshake");
  var data = JSON.parse(node.textContent);
  node.parentNode.removeChild(node);
  try { history.replaceState(null, "", location.pathname); } catch (ignored) {}
  var status = document.getElementById("status");
  function reveal(id) { document.getElementById(id).hidden = false; }
  var opener = window.opener;
  if (!opener) { data = null; status.textContent = "Not signed in."; reveal("no-opener"); return; }
  var greeting = "authorizing:" + data.provider;
  var answered = false;
  function answer(event) {
    if (answered || event.origin !== data.origin || event.source !== opener || event.data !== greeting) { return; }
    answered = true;
    window.removeEventListener("message", answer);
    var success = data.success;
    opener.postMessage(data.message, data.origin);
    data = null;
    if (success) { status.textContent = "Signed in. This window closes itself."; window.close(); }
  }
  window.addEventListener("message", answer);
  opener.postMessage(greeting, data.origin);
  setTimeout(function () { if (!answered) { reveal("no-answer"); } }, %d);
})();
""" % ANSWER_WAIT_MS


@dataclass(frozen=True)
class Handshake:
    """What the page hands the CMS: ``message`` goes to ``origin`` (an exact origin, never ``*``) only."""

    origin: str
    provider: str
    message: str
    success: bool


def success_message(provider: str, token: str) -> str:
    return f"authorization:{provider}:success:" + json.dumps({"token": token, "provider": provider})


def error_message(provider: str, code: str, text: str) -> str:
    """The error as each CMS reads it: Decap and Static CMS show ``message``, Sveltia ``error``."""
    body = {"provider": provider, "error": text, "message": text, "errorCode": code}
    return f"authorization:{provider}:error:" + json.dumps(body)


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def headers(nonce: str, *, script: bool) -> Mapping[str, str]:
    """The page's headers: nothing loads but its own inline script and style; never framed, cached or referred."""
    policy = ["default-src 'none'"]
    if script:
        policy.append(f"script-src 'nonce-{nonce}'")
    # img-src data: for the page's empty icon only, so the browser does not ask the function for /favicon.ico.
    policy += [
        f"style-src 'nonce-{nonce}'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "; ".join(policy),
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def render(
    *,
    nonce: str,
    title: str,
    status: str,
    paragraphs: Sequence[str] = (),
    handshake: Handshake | None = None,
) -> str:
    """A page; ``title``, ``status`` and ``paragraphs`` are plain text."""
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        # An empty icon: otherwise the browser asks the function for /favicon.ico (an invocation, and a 404).
        '<link rel="icon" href="data:,">',
        f"<title>{html.escape(title)}</title>",
        f'<style nonce="{nonce}">{_STYLE}</style></head><body><main>',
        f"<h1>{html.escape(title)}</h1>",
        f'<p id="status">{html.escape(status)}</p>',
        *(f"<p>{html.escape(text)}</p>" for text in paragraphs),
    ]
    if handshake is not None:
        parts += [
            _section("no-opener", NO_OPENER),
            _section("no-answer", (*NO_ANSWER, f"Sign-in started for: {handshake.origin}")),
            f'<script type="application/json" id="handshake" nonce="{nonce}">{_script_json(handshake)}</script>',
            f'<script nonce="{nonce}">{_SCRIPT}</script>',
        ]
    parts.append("</main></body></html>")
    return "".join(parts)


def _section(section_id: str, paragraphs: Sequence[str]) -> str:
    body = "".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    return f'<section id="{section_id}" hidden>{body}</section>'


def _script_json(handshake: Handshake) -> str:
    """JSON that cannot end its script element or open a comment, whatever the strings in it hold.

    ``json.dumps`` already escapes every non-ASCII character (U+2028 included).
    """
    text = json.dumps(
        {
            "origin": handshake.origin,
            "provider": handshake.provider,
            "message": handshake.message,
            "success": handshake.success,
        }
    )
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return text
