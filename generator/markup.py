"""Text to safe HTML: Markdown notes, TeX fragments in titles, and plain excerpts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

# --------------------------------------------------------------------------- Markdown

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
EXTERNAL_SCHEMES = frozenset({"http", "https"})
EXTERNAL_REL = "nofollow noopener noreferrer"
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
# Characters browsers drop or ignore inside a URL scheme: C0/C1 controls, spaces, format chars.
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


def url_scheme(url: str) -> str | None:
    """Return the lowercase scheme a browser would see in `url`, or None for a relative URL."""
    cleaned = _INVISIBLE.sub("", unquote(url)).lower()
    match = _SCHEME.match(cleaned)
    if match:
        return match[1]
    head = re.split(r"[/?#]", cleaned, maxsplit=1)[0]
    return "invalid" if ":" in head else None


def is_safe_url(url: str) -> bool:
    """Return whether `url` is http(s), mailto or a same-site relative URL."""
    scheme = url_scheme(url)
    if scheme is None:
        cleaned = _INVISIBLE.sub("", unquote(url)).replace("\\", "/")
        return not cleaned.startswith("//")  # protocol-relative URLs leave the site
    return scheme in SAFE_SCHEMES


class _SafeMarkdownIt(MarkdownIt):
    """A MarkdownIt whose links and images accept only safe URLs."""

    def validateLink(self, url: str) -> bool:  # noqa: N802 - markdown-it API name
        """Accept only http(s), mailto and relative URLs."""
        return is_safe_url(url)


def _link_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """Render a link, marking links that leave the site."""
    token = tokens[idx]
    if url_scheme(str(token.attrGet("href") or "")) in EXTERNAL_SCHEMES:
        token.attrSet("rel", EXTERNAL_REL)
    return self.renderToken(tokens, idx, options, env)


def _image_as_link(
    self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """Render an image as a link to it, so viewing the page never fetches it."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    rel = f' rel="{EXTERNAL_REL}"' if url_scheme(src) in EXTERNAL_SCHEMES else ""
    return f'<a href="{escape(src)}" class="md-image"{rel}>{escape(alt)}</a>'


def _build_markdown() -> MarkdownIt:
    """Return the one configured parser; it keeps no state between renders."""
    md = _SafeMarkdownIt("commonmark", {"html": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image_as_link)
    return md


_MARKDOWN = _build_markdown()


def render_markdown(text: str) -> Markup:
    """Render Markdown to HTML with raw HTML escaped, unsafe links as text and images as links."""
    return Markup(_MARKDOWN.render(text))


# --------------------------------------------------------------------------- TeX in titles

_SYMBOLS = {
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "omicron": "ο", "pi": "π", "varpi": "ϖ",
    "rho": "ρ", "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ",
    "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    # letters and constants
    "ell": "ℓ", "hbar": "ℏ", "infty": "∞", "emptyset": "∅", "varnothing": "∅", "aleph": "ℵ",
    "partial": "∂", "nabla": "∇", "Re": "ℜ", "Im": "ℑ", "wp": "℘",
    # operators and relations
    "times": "×", "cdot": "·", "div": "÷", "pm": "±", "mp": "∓", "ast": "∗", "star": "⋆",
    "circ": "∘", "bullet": "•", "oplus": "⊕", "otimes": "⊗", "odot": "⊙",
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "ll": "≪", "gg": "≫",
    "approx": "≈", "sim": "∼", "simeq": "≃", "cong": "≅", "equiv": "≡", "propto": "∝",
    "in": "∈", "notin": "∉", "ni": "∋", "subset": "⊂", "subseteq": "⊆", "supset": "⊃",
    "supseteq": "⊇", "cup": "∪", "cap": "∩", "setminus": "∖", "forall": "∀", "exists": "∃",
    "neg": "¬", "lnot": "¬", "land": "∧", "lor": "∨", "wedge": "∧", "vee": "∨",
    "sum": "∑", "prod": "∏", "int": "∫", "oint": "∮",
    "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←", "leftrightarrow": "↔",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "Leftrightarrow": "⇔", "implies": "⇒", "iff": "⇔",
    "mapsto": "↦", "uparrow": "↑", "downarrow": "↓",
    "mid": "∣", "parallel": "∥", "perp": "⊥", "top": "⊤", "bot": "⊥", "angle": "∠",
    "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "lbrace": "{", "rbrace": "}", "vert": "|", "Vert": "‖", "backslash": "\\",
    "dagger": "†", "ddagger": "‡", "prime": "′", "degree": "°", "checkmark": "✓",
    "ldots": "…", "cdots": "⋯", "dots": "…", "vdots": "⋮", "ddots": "⋱",
    "S": "§", "P": "¶", "copyright": "©", "textregistered": "®", "texttrademark": "™",
    "dag": "†", "textendash": "–", "textemdash": "—", "textbackslash": "\\",
    "quad": " ", "qquad": " ",
}  # fmt: skip
# Declarations that change style but produce no text.
_IGNORED = frozenset(
    "em bf it rm sf tt sc normalfont bfseries itshape mdseries scshape upshape small large "
    "Large LARGE huge Huge tiny scriptsize footnotesize normalsize displaystyle textstyle "
    "scriptstyle limits nolimits left right big Big bigg Bigg bigl bigr Bigl Bigr middle "
    "protect noindent relax".split()
)
# Macros whose one argument is shown as is.
_PASS_THROUGH = frozenset(
    "text textrm textbf textit textsf texttt textnormal textsc emph mathrm mathbf mathit "
    "mathsf mathtt mathcal mathscr mathfrak mathnormal operatorname boldsymbol bm mbox hbox "
    "underline overline widetilde widehat overrightarrow textup".split()
)
_DOUBLE_STRUCK = dict(zip("CNPQRZ", "ℂℕℙℚℝℤ", strict=True))
_ACCENTS = {
    "hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7", "dot": "\u0307",
    "ddot": "\u0308", "acute": "\u0301", "grave": "\u0300", "breve": "\u0306", "check": "\u030c",
    "'": "\u0301", "`": "\u0300", '"': "\u0308", "^": "\u0302", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "c": "\u0327", "H": "\u030b",
}  # fmt: skip
# Control symbols that stand for text or spacing (`\\,` thin space, `\\-` hyphenation hint).
_CONTROL_TEXT = {
    ",": " ", ":": " ", ";": " ", " ": " ", "\\": " ", "!": "", "/": "", "-": "", "": "\\",
}  # fmt: skip
_FRACTIONS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
_CONTROL = re.compile(r"\\([A-Za-z]+|.?)", re.S)
_SUPERSCRIPT = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWβγδθιφχ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵝᵞᵟᶿᶥᵠᵡ",
        strict=True,
    )
)
_SUPERSCRIPT.update({"′": "′", "∘": "°", "°": "°", "∗": "*", "*": "*", "†": "†", "⊤": "ᵀ"})
_SUBSCRIPT = dict(
    zip(
        "0123456789+-=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)
_TEX_MARKERS = re.compile(r"[$\\^_]")
_MAX_DEPTH = 40
# Outside math a bare script is a digit run, one letter or one sign: `U^2-Net`, `x_1`, `A^+`.
_BARE_SCRIPT = re.compile(r"[0-9]+|[^\W\d_]|[+\-=()]")


class _Tex:
    """A small recursive-descent reader for the TeX people put in paper titles."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        """Return the character `offset` ahead, or '' past the end."""
        i = self.pos + offset
        return self.src[i] if i < len(self.src) else ""

    def run(self, math: bool, depth: int, closer: str = "") -> str:
        """Convert until `closer` (consumed) or the end of input."""
        out: list[str] = []
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if closer and ch == closer[0] and self.src.startswith(closer, self.pos):
                self.pos += len(closer)
                return "".join(out)
            out.append(self.step(ch, math, depth))
        return "".join(out)

    def step(self, ch: str, math: bool, depth: int) -> str:
        """Convert the construct starting at the current position."""
        if ch == "$" and not math:
            return self.math_span(depth)
        if ch == "\\":
            return self.macro(math, depth)
        if ch in "^_":
            return self.script(ch, math, depth)
        if ch == "{" and depth < _MAX_DEPTH and (math or self.peek(1) in ("\\", "}")):
            self.pos += 1
            return self.run(math, depth + 1, "}")
        if ch == "~" and math:
            self.pos += 1
            return " "
        self.pos += 1
        return ch

    def math_span(self, depth: int) -> str:
        """Convert `$...$` or `$$...$$` when it is closed like TeX math, else keep the `$`."""
        delim = "$$" if self.src.startswith("$$", self.pos) else "$"
        start = self.pos + len(delim)
        end = _math_end(self.src, start, delim)
        if end < 0:
            self.pos += 1
            return "$"
        inner = _Tex(self.src[start:end])
        self.pos = end + len(delim)
        return inner.run(True, depth + 1)

    def group_or_token(self, math: bool, depth: int) -> str:
        """Read one argument: a braced group, a macro or a single character."""
        ch = self.peek()
        if depth < _MAX_DEPTH and ch == "{":
            self.pos += 1
            return self.run(math, depth + 1, "}")
        if depth < _MAX_DEPTH and ch == "\\":
            return self.macro(math, depth + 1)
        self.pos += 1 if ch else 0
        return ch

    def macro(self, math: bool, depth: int) -> str:
        """Convert a control sequence and its arguments."""
        match = _CONTROL.match(self.src, self.pos)
        name = match[1] if match else ""
        self.pos = match.end() if match else self.pos + 1
        if name in _CONTROL_TEXT:
            return _CONTROL_TEXT[name]
        if name == "sqrt":
            return self.root(math, depth)
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if name in _IGNORED:
            while self.peek() == " ":  # TeX drops the space after a control word
                self.pos += 1
            return ""
        if name in _PASS_THROUGH:
            return self.argument(math, depth)
        if name == "mathbb":
            return "".join(_DOUBLE_STRUCK.get(c, c) for c in self.argument(math, depth))
        if name in _ACCENTS:
            return _accent(self.argument(math, depth), _ACCENTS[name])
        if name in _FRACTIONS:
            top, bottom = self.argument(math, depth), self.argument(math, depth)
            return f"{_wrap(top)}/{_wrap(bottom)}"
        return name

    def root(self, math: bool, depth: int) -> str:
        """Convert the rest of `\\sqrt[n]{x}` after the macro name."""
        index = ""
        if self.peek() == "[":
            close = self.src.find("]", self.pos)
            if close > 0:
                index, self.pos = self.src[self.pos + 1 : close], close + 1
        sign = {"3": "∛", "4": "∜"}.get(index) or _script(index, _SUPERSCRIPT, "^") + "√"
        return sign + _wrap(self.argument(math, depth))

    def argument(self, math: bool, depth: int) -> str:
        """Read a macro argument, skipping spaces before it."""
        while self.peek() == " ":
            self.pos += 1
        return self.group_or_token(math, depth)

    def script(self, op: str, math: bool, depth: int) -> str:
        """Convert `^x`, `^{..}`, `_x`, `_{..}`; outside math only unambiguous forms."""
        table = _SUPERSCRIPT if op == "^" else _SUBSCRIPT
        nxt = self.peek(1)
        if math or (nxt and nxt in "{\\"):
            self.pos += 1
            return _script(self.group_or_token(math, depth), table, op)
        match = _BARE_SCRIPT.match(self.src, self.pos + 1)
        after = self.src[match.end() : match.end() + 1] if match else ""
        glued = after.isalpha() or (after.isalnum() and not match[0].isdigit()) if match else True
        if glued:  # `snake_case`, `v_2b`: not a script
            self.pos += 1
            return op
        self.pos = match.end()
        return _script(match[0], table, op)


def _math_end(src: str, start: int, delim: str) -> int:
    """Return where the math span opened before `start` closes, or -1 (pandoc's rules)."""
    if start >= len(src) or src[start].isspace():
        return -1
    i = start
    while True:
        i = src.find(delim, i)
        if i < 0:
            return -1
        if src[i - 1] == "\\":
            i += 1
            continue
        after = src[i + len(delim)] if i + len(delim) < len(src) else ""
        if i > start and not src[i - 1].isspace() and not after.isdigit():
            return i
        i += len(delim)


def _wrap(text: str) -> str:
    """Parenthesise `text` unless it is a single character."""
    return text if len(text) <= 1 else f"({text})"


def _accent(text: str, mark: str) -> str:
    """Put a combining `mark` on a one-character `text`; leave longer text plain."""
    return unicodedata.normalize("NFC", text + mark) if len(text) == 1 else text


def _script(text: str, table: dict[str, str], op: str) -> str:
    """Return `text` in Unicode super/subscript, or in `^x`/`_(xy)` form when impossible."""
    if not text:
        return ""
    if len(text) > 1 and text in _SYMBOLS:  # a macro that lost its backslash: `^{dagger}`
        text = _SYMBOLS[text]
    if all(c in table for c in text):
        return "".join(table[c] for c in text)
    return f"{op}{_wrap(text)}"


def tex_to_text(title: str) -> str:
    """Turn TeX fragments in a title into legible plain Unicode text; never raise."""
    if not isinstance(title, str) or not _TEX_MARKERS.search(title):
        return title
    try:
        return _Tex(title).run(False, 0)
    except Exception:  # pragma: no cover - titles must always render; tests fuzz the parser
        return title


# --------------------------------------------------------------------------- excerpts

_ELLIPSIS = "…"
_TRAILING = " \t,;:.-–—([{/"


def plain_excerpt(text: str, limit: int) -> str:
    """Return `text` with whitespace collapsed, cut at a word boundary to at most `limit` chars."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    if limit <= 1:
        return _ELLIPSIS[:limit]
    cut = flat[: limit - 1]
    boundary = cut.rfind(" ")
    if flat[limit - 1] != " " and boundary > 0:
        cut = cut[:boundary]
    return cut.rstrip(_TRAILING) + _ELLIPSIS
