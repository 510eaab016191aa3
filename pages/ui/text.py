"""User text on screen: names, file names and errors shown as typed, never as markup."""
import re

# Markdown's active characters, and ':' or '.' that could start an emoji code, a colour or a bare link
# ("www.x.com", "http://"); a sentence's ': ' and '. ' and a number's '11.0' stay as they read.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$]|[:.](?=[^\s\d]))")


def escape(text: object) -> str:
    """User text (a class, file or dataset name, an error) shown as itself, never as markup."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))  # one line: no list or heading can start


def escape_html(text: object) -> str:
    """Text inside an HTML block: HTML-escaped, and markdown's characters as entities, so a name reads as
    typed whether or not the block is parsed as markdown (no stray backslashes either way)."""
    return re.sub(r"[&<>\"'\\`*_\[\]()#|~$:]", lambda m: f"&#{ord(m.group())};", str(text))
