"""Tokens of Spark SQL DDL, split as Spark 4.2's lexer splits them (``SqlBaseLexer.g4``).

Words are ``[A-Za-z0-9_]+`` (a leading digit is allowed: ``1a`` is a name), but a run that Spark
reads as a number literal (``10L``, ``1e3``, ``1.5``) is one, even where a name is expected.
Whitespace, ``-- line`` and ``/* block */`` comments separate tokens; ``!`` is ``NOT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DDLError", "Token", "tokenise", "unescape"]


class DDLError(ValueError):
    """A DDL string does not parse, or names a type the engine cannot use.

    Attributes:
        text: the DDL string.
        position: 0-based character offset of the problem in ``text``.
        reason: what is wrong, without the position.
    """

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(f"{reason} (at character {position + 1} of {text!r})")
        self.text = text
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is ident, number, literal, backtick, string, punct or end."""

    kind: str
    text: str
    pos: int


_WORD = re.compile(r"[A-Za-z0-9_]+")
# Spark's numeric literal tokens (BIGINT_LITERAL, EXPONENT_VALUE, DECIMAL_VALUE, ...): none is
# valid anywhere in a type, but they decide where a word ends.
_NUMBER_LITERAL = re.compile(
    r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:[lLsSyYfFdD]|[bB][dD])?(?![A-Za-z0-9_])"
)
_STRING = re.compile(
    r"[rR]'[^']*'|[rR]\"[^\"]*\"|'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"", re.DOTALL
)
_BACKTICK = re.compile(r"`(?:[^`]|``)*`")
_PUNCT = ("<", ">", "(", ")", ",", ":", "!", ".")


def _skip(text: str, pos: int) -> int:
    """The position after whitespace and comments starting at ``pos``."""
    while pos < len(text):
        if text[pos] <= " ":  # Spark's WS rule; Scala's trim uses the same bound
            pos += 1
        elif text.startswith("--", pos):
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end + 1
        elif text.startswith("/*", pos):
            pos = _block_comment_end(text, pos)
        else:
            return pos
    return pos


def _block_comment_end(text: str, pos: int) -> int:
    depth, i = 0, pos
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    raise DDLError(text, pos, "unclosed comment")


def _token(text: str, pos: int) -> Token:
    char = text[pos]
    if char in "rR" and text[pos + 1 : pos + 2] in ("'", '"'):  # R'raw text'
        raw = _STRING.match(text, pos)
        if raw is None:
            raise DDLError(text, pos, "unterminated quoted text")
        return Token("string", raw.group(), pos)
    word = _WORD.match(text, pos)
    number = _NUMBER_LITERAL.match(text, pos)
    if number and (not word or number.end() >= word.end()):
        kind = "number" if number.group().isdigit() else "literal"
        return Token(kind, number.group(), pos)
    if word:
        return Token("ident", word.group(), pos)
    if char == "`":
        quoted = _BACKTICK.match(text, pos)
        if quoted is None:
            raise DDLError(text, pos, "unterminated backticked name")
        return Token("backtick", quoted.group(), pos)
    if char in "'\"":
        string = _STRING.match(text, pos)
        if string is None:
            raise DDLError(text, pos, "unterminated quoted text")
        return Token("string", string.group(), pos)
    for punct in _PUNCT:
        if text.startswith(punct, pos):
            return Token("punct", punct, pos)
    raise DDLError(text, pos, f"unexpected character {char!r}")


def tokenise(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token.

    Raises:
        DDLError: a character no token starts with, or an unterminated name, text or comment.
    """
    tokens: list[Token] = []
    pos = _skip(text, 0)
    while pos < len(text):
        token = _token(text, pos)
        tokens.append(token)
        pos = _skip(text, pos + len(token.text))
    tokens.append(Token("end", "", pos))
    return tokens


_ESCAPES = {"b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[0-3][0-7]{2}|.)", re.DOTALL)


def unescape(literal: str) -> str:
    """The text of a quoted literal as Spark reads it (``'it''s'``, ``'a\\tb'``, ``R'raw'``)."""
    if literal[0] in "rR":
        return literal[2:-1]
    quote, body = literal[0], literal[1:-1]

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 5:
            return chr(int(code[1:], 16))
        if len(code) == 3:
            return chr(int(code, 8))
        return "\0" if code == "0" else _ESCAPES.get(code, code)

    # Doubled quotes first would break `'a\\''b'`; escapes are read left to right instead.
    parts = re.split(r"(\\.)", body, flags=re.DOTALL)
    doubled = quote * 2
    text = "".join(p if p.startswith("\\") else p.replace(doubled, quote) for p in parts)
    return _ESCAPE.sub(one, text)
