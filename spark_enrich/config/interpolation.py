"""``${VAR}`` / ``${VAR:-default}`` interpolation of configuration text (``$$`` is ``$``)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from spark_enrich.config.document import Document
from spark_enrich.config.problems import Loc, shorten

__all__ = ["interpolate", "interpolate_scalar"]


_VAR = re.compile(r"\$(?:\$|\{([^}]*)\})")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """Replace ``${VAR}`` and ``${VAR:-default}``; ``$$`` is a literal ``$``.

    As in POSIX shells, the default also replaces a variable that is set but empty: an empty
    ``SPARK_ENRICH_DEMO_DIR=`` must not turn ``${SPARK_ENRICH_DEMO_DIR:-out}/sink`` into
    ``/sink``. Defaults are plain text (no nested ``${...}``).

    Returns:
        the new text and a list of ``(code, detail)`` errors: ``ENV_VAR_MISSING`` with the
        variable name, or ``BAD_INTERPOLATION`` with the malformed expression.
    """
    errors: list[tuple[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        body = match.group(1)
        name, sep, default = body.partition(":-")
        if not _VAR_NAME.match(name) or "${" in default:
            errors.append(("BAD_INTERPOLATION", match.group(0)))
            return match.group(0)
        if sep and not env.get(name):
            return default
        if name in env:
            return env[name]
        errors.append(("ENV_VAR_MISSING", name))
        return match.group(0)

    result = _VAR.sub(replace, text)
    if "${" in _VAR.sub("", text):
        errors.append(("BAD_INTERPOLATION", text[text.find("${") :]))
    return result, errors


def interpolate_scalar(doc: Document, value: str, loc: Loc, env: Mapping[str, str]) -> str:
    """Interpolate a string scalar of the file at ``loc``; its errors become problems of ``doc``."""
    result, errors = interpolate(value, env)
    for code, detail in errors:
        detail = shorten(detail)
        if code == "ENV_VAR_MISSING":
            doc.problems.append(
                doc.problem(
                    code,
                    f"environment variable {detail} is not set",
                    loc,
                    f"${{{detail}}} with {detail} unset",
                    f"set {detail}, or give a default",
                    f"${{{detail}:-default-value}}",
                )
            )
        else:
            doc.problems.append(
                doc.problem(
                    code,
                    f"malformed interpolation {detail!r}",
                    loc,
                    detail,
                    "${VAR}, ${VAR:-default} or $$ for a literal $",
                    "${KAFKA_BOOTSTRAP:-127.0.0.1:9092}",
                )
            )
    return result
