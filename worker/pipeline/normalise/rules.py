"""Line rules as data: boilerplate patterns, an HTML page's chrome, wire agencies, time zones.

The built-in rules live in ``boilerplate.yaml`` beside this module; a user's file
(``INGEST_BOILERPLATE_FILE``) of the same shape adds to them, to the normaliser's line rules and
to the HTML extractor's chrome rules alike. Rules are compiled once per process into a few
combined regular expressions, so checking a line costs one match, not one per rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

BUILTIN_RULES = Path(__file__).with_name("boilerplate.yaml")

ENDS_WINDOW = 160  # characters at a line's end that `ends` rules look at

Where = Literal["anywhere", "top"]
Mode = Literal["line", "ends", "contains"]


class LineRule(BaseModel):
    """One boilerplate pattern: it matches a whole line, its end, or anywhere in it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    pattern: str
    match: Mode = "line"
    hints: list[str] = Field(
        default_factory=list,
        description="Plain strings one of which the line must contain for the rule to be tried "
        "(a cheap filter for costly patterns).",
    )
    where: Where = "anywhere"
    marks_top: bool = False
    case_sensitive: bool = False
    max_words: int | None = Field(
        default=None, ge=1,
        description="Tried only on lines of at most this many words (a prompt is a short line; "
        "an article that discusses newsletters keeps its paragraphs).",
    )


class RuleFile(BaseModel):
    """The shape of ``boilerplate.yaml`` and of a user's extra rules file."""

    model_config = ConfigDict(extra="forbid")

    lines: list[LineRule] = Field(default_factory=list)
    html_chrome: list[LineRule] = Field(default_factory=list)
    tail_markers: list[str] = Field(default_factory=list)
    agencies: dict[str, list[str]] = Field(default_factory=dict)
    timezones: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """Which rule matched a line, and what that rule says about position."""

    name: str
    where: Where
    marks_top: bool


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class LineRules:
    """One set of line rules, compiled: ``match`` answers "is this line boilerplate, and by
    which rule". Rules sharing mode, case, hints and word limit are tried as one alternation."""

    _combined: tuple[tuple[Mode, re.Pattern[str] | None, int | None, re.Pattern[str]], ...]
    _by_group: dict[str, LineRule]

    def match(self, line: str) -> Match | None:
        words = -1  # counted once, only when a rule with a word limit is tried
        for mode, hints, max_words, pattern in self._combined:
            if hints is not None and not hints.search(line):
                continue
            if max_words is not None:
                if words < 0:
                    words = len(_WORD.findall(line))
                if words > max_words:
                    continue
            if mode == "line":
                m = pattern.fullmatch(line)
            elif mode == "ends":
                m = pattern.search(line, max(0, len(line) - ENDS_WINDOW))
            else:
                m = pattern.search(line)
            if m:
                rule = self._by_group[m.lastgroup or ""]
                return Match(rule.name, rule.where, rule.marks_top)
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self._by_group.values())


@dataclass(frozen=True)
class Rules:
    """Compiled rules: the normaliser's ``lines``, the HTML extractor's ``html_chrome``, the tail
    marker, the wire agencies and the time zones."""

    lines: LineRules
    html_chrome: LineRules
    tail_marker: re.Pattern[str]
    agencies: dict[str, str]
    agency_pattern: str
    timezones: dict[str, tzinfo]

    def line_match(self, line: str) -> Match | None:
        """Whether a whole paragraph is boilerplate, and by which rule."""
        return self.lines.match(line)

    def agency(self, name: str) -> str | None:
        """The canonical name of a wire agency credit ('REUTERS' -> 'Reuters'), else None."""
        return self.agencies.get(" ".join(name.split()).casefold())


def load_rule_file(path: Path) -> RuleFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read boilerplate rules from {path}: {exc}") from None
    rule_file = RuleFile.model_validate(data)
    for rule in [*rule_file.lines, *rule_file.html_chrome]:
        try:
            re.compile(rule.pattern)
        except re.error as exc:
            raise ValueError(f"{path}: rule {rule.name!r} has a bad pattern: {exc}") from None
    return rule_file


@lru_cache(maxsize=8)
def load_rules(extra_file: Path | None = None) -> Rules:
    """The built-in rules plus ``extra_file``'s (cached: rules are read once per process)."""
    files = [load_rule_file(BUILTIN_RULES)]
    if extra_file is not None:
        files.append(load_rule_file(Path(extra_file)))
    return compile_rules(files)


def compile_line_rules(rules: list[LineRule]) -> LineRules:
    by_group = {f"r{i}": rule for i, rule in enumerate(rules)}
    combined: list[tuple[Mode, re.Pattern[str] | None, int | None, re.Pattern[str]]] = []
    groups: dict[tuple[Mode, bool, tuple[str, ...], int | None], list[str]] = {}
    for g, r in by_group.items():
        groups.setdefault((r.match, r.case_sensitive, tuple(r.hints), r.max_words), []).append(
            f"(?P<{g}>{r.pattern})")
    # Unfiltered groups first (hinted ones next, fewest hints first), then word-limited ones.
    order = sorted(groups.items(), key=lambda kv: (kv[0][3] is not None, kv[0][3] or 0, len(kv[0][2])))
    for (mode, sensitive, hints, max_words), parts in order:
        alternation = "|".join(parts)
        if mode == "ends":
            alternation = f"(?:{alternation})$"
        hint = re.compile("|".join(map(re.escape, hints))) if hints else None
        combined.append(
            (mode, hint, max_words, re.compile(alternation, 0 if sensitive else re.IGNORECASE)))
    return LineRules(_combined=tuple(combined), _by_group=by_group)


def compile_rules(files: list[RuleFile]) -> Rules:
    tails = [t for f in files for t in f.tail_markers] or [r"(?!x)x"]
    agencies: dict[str, str] = {}
    for f in files:
        for canonical, spellings in f.agencies.items():
            for spelling in [canonical, *spellings]:
                agencies[" ".join(spelling.split()).casefold()] = canonical
    # Longest spellings first, so "Associated Press" wins over "AP" inside an alternation.
    spellings = sorted({s for f in files for c, ss in f.agencies.items() for s in [c, *ss]},
                       key=len, reverse=True)
    return Rules(
        lines=compile_line_rules([rule for f in files for rule in f.lines]),
        html_chrome=compile_line_rules([rule for f in files for rule in f.html_chrome]),
        tail_marker=re.compile("|".join(f"(?:{t})" for t in tails), re.IGNORECASE),
        agencies=agencies,
        agency_pattern="|".join(re.escape(s) for s in spellings),
        timezones={
            abbr: _offset(value) for f in files for abbr, value in f.timezones.items()
        },
    )


def _offset(value: str) -> tzinfo:
    """"+05:30" (a fixed offset) or "America/New_York" (a zone with its summer time)."""
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", value.strip())
    if not m:
        try:
            return ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time zones are offsets like +05:30 or names like Europe/London, "
                             f"not {value!r}") from None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))
