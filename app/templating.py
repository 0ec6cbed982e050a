"""Texts with ``{placeholders}`` that staff write (residents' messages, push titles):
checking them when they are saved and filling them in when they are sent."""

import string
from collections.abc import Mapping


def template_errors(text: str, placeholders: tuple[str, ...]) -> list[str]:
    """What is wrong with a template text: unknown placeholders, formats, stray braces."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [f"{exc}: write a brace as {{{{ or }}}}"]
    errors = []
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in placeholders:
            errors.append(f"unknown placeholder {{{field}}}: use {', '.join(placeholders)}")
        elif spec or conversion:
            errors.append(f"{{{field}}} takes no format or conversion")
    return errors


def render(text: str, values: Mapping[str, str], placeholders: tuple[str, ...]) -> str:
    """The template filled in; a placeholder without a value becomes empty."""
    return text.format_map({name: values.get(name) or "" for name in placeholders})
