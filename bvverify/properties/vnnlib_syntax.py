"""VNN-LIB text as s-expressions and exact numbers, with source positions for messages.

The lexer keeps every token's character offset so that each later stage can name
``file:line:column`` of what it refuses; numerals are read as exact rationals (no
float ever enters) and printed back exactly when short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from bvverify.errors import BvverifyError

MAX_DEPTH = 200
"""Deepest parenthesis nesting accepted (guards the recursive evaluators)."""

MAX_EXPONENT = 1000
"""Largest decimal exponent accepted in a numeral (``1e1000``)."""


class VnnlibError(BvverifyError, ValueError):
    """A VNN-LIB file cannot be read or uses something outside the supported subset."""


# --------------------------------------------------------------------------- s-expressions


@dataclass(slots=True)
class Tok:
    text: str
    pos: int  # character offset into the text; line and column are computed only for messages
    string: bool = False  # a "string literal" (only meaningful inside set-info)


@dataclass(slots=True)
class SList:
    items: tuple
    pos: int


_LEX = re.compile(
    r"""(?P<comment>;[^\n]*)|(?P<open>\()|(?P<close>\))"""
    r"""|(?P<string>"(?:[^"]|"")*")|(?P<qsym>\|[^|]*\|)|(?P<sym>[^\s();"|]+)|(?P<bad>["|])"""
)


class Source:
    """Source name and text, plus the error helper every stage uses."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text

    def lc(self, pos: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        line = self.text.count("\n", 0, pos) + 1
        return line, pos - (self.text.rfind("\n", 0, pos) + 1) + 1

    def fail(self, pos: int, msg: str) -> VnnlibError:
        line, col = self.lc(pos)
        return VnnlibError(f"{self.source}:{line}:{col}: {msg}")

    def at(self, node: Tok | SList, msg: str) -> VnnlibError:
        return self.fail(node.pos, msg)


def read_sexprs(src: Source) -> list:
    """The top-level s-expressions of the text."""
    top: list = []
    stack: list[tuple[list, int]] = []  # (items, offset) of each open list
    for m in _LEX.finditer(src.text):
        kind, pos = m.lastgroup, m.start()
        if kind == "open":
            if len(stack) >= MAX_DEPTH:
                raise src.fail(pos, f"parentheses nested deeper than {MAX_DEPTH} levels")
            stack.append(([], pos))
        elif kind == "close":
            if not stack:
                raise src.fail(pos, "unbalanced parentheses: ')' without a matching '('")
            items, start = stack.pop()
            (stack[-1][0] if stack else top).append(SList(tuple(items), start))
        elif kind == "bad":
            what = "string literal" if m.group() == '"' else "quoted symbol"
            raise src.fail(pos, f"unterminated {what} (missing closing {m.group()})")
        elif kind != "comment":
            value = m.group()
            tok = Tok(value[1:-1] if kind == "qsym" else value, pos, string=kind == "string")
            if not stack:
                raise src.at(tok, f"expected a command in parentheses, got {value!r}")
            stack[-1][0].append(tok)
    if stack:
        raise src.fail(stack[-1][1], "unbalanced parentheses: '(' is never closed")
    return top


# --------------------------------------------------------------------------- numbers

_NUM = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\Z")
_NUMLIKE = re.compile(r"[+-]?[.\d]")


def number(tok: Tok, src: Source) -> Fraction | None:
    """The exact value of a numeral token, None if the token is not number-like."""
    if tok.string or not _NUMLIKE.match(tok.text):
        return None
    m = _NUM.match(tok.text)
    if m is None or not (m.group(2) or m.group(3)):
        raise src.at(tok, f"malformed number {tok.text!r}")
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    e = int(exp) if exp is not None else 0
    if abs(e) > MAX_EXPONENT:
        raise src.at(tok, f"number {tok.text!r} out of range (exponent beyond ±{MAX_EXPONENT})")
    value = Fraction(int(whole + frac or "0"), 10 ** len(frac))
    value *= Fraction(10) ** e
    return -value if sign == "-" else value


def show(node: Tok | SList, limit: int = 60) -> str:
    """Short source-like rendering of a node for messages."""

    def render(n) -> str:
        if isinstance(n, Tok):
            return n.text
        return "(" + " ".join(render(x) for x in n.items) + ")"

    text = render(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dec(q: Fraction) -> str:
    """A rational for messages: exact when short (integer, finite decimal or p/q), else ~17 digits."""
    den, k = q.denominator, 0
    while den % 10 == 0 or den % 2 == 0 or den % 5 == 0:
        den //= 10 if den % 10 == 0 else 2 if den % 2 == 0 else 5
        k += 1
    if den == 1 and k <= 40:  # a finite decimal with exactly k fractional digits (k = max of the 2 and 5 powers)
        digits = str(abs(q.numerator * 10**k // q.denominator)).rjust(k + 1, "0")
        text = ("-" if q < 0 else "") + (digits[: len(digits) - k] + "." + digits[len(digits) - k :] if k else digits)
    else:
        text = str(q)
    if len(text) <= 40:
        return text
    with localcontext() as ctx:
        ctx.prec = 17
        return f"~{Decimal(q.numerator) / Decimal(q.denominator):.16e}"


__all__ = ["MAX_DEPTH", "MAX_EXPONENT", "SList", "Source", "Tok", "VnnlibError", "dec", "number", "read_sexprs",
           "show"]
