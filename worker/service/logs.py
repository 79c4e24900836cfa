"""Logging for every process: readable text on a terminal, or one JSON object per line.

File names come from whoever drops files: in text logs every control character is escaped
(a newline becomes ``\\n``), so a name like ``a.txt\\n14:03:00 ERROR ...`` cannot forge a line.
JSON logs need nothing more: JSON escapes them already.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import datetime, timezone

import orjson

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """``text`` on one line: control characters (newlines, ESC, ...) as backslash escapes."""
    return _CONTROL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


class TextFormatter(logging.Formatter):
    """One line per message; a traceback follows indented, so no line it holds looks like a log line."""

    def format(self, record: logging.LogRecord) -> str:
        line = logging.Formatter.format(self, _escaped(record))
        if record.exc_info or record.stack_info:
            head, _, rest = line.partition("\n")
            line = head + "".join(f"\n  {escape_controls(part)}" for part in rest.split("\n"))
        return line


def _escaped(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of ``record`` whose message (the format and every argument) is escaped."""
    copy = logging.makeLogRecord(record.__dict__)
    copy.msg, copy.args = escape_controls(record.getMessage()), None
    return copy


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `extra={...}` fields (such as `file_id`) become keys."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(payload, default=str).decode()


def setup_logging(level: str = "INFO", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if as_json
        else TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("trafilatura", "htmldate", "charset_normalizer", "watchdog", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def redact(url: str) -> str:
    """The URL without its password, for logs and messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url
