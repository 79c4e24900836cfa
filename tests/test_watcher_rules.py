import re
from pathlib import Path

import pytest

from worker.sources.watcher import PARTIAL_NAME, ignored_reason, is_ignored


@pytest.mark.parametrize("name", [".hidden.txt", "a.txt.tmp", "a.part", "a.crdownload", "~$report.txt",
                                  ".done/a.txt", "sub/.git/x.txt", ".notes.txt.swp", "feed.xml.partial"])
def test_hidden_and_partial_names_are_ignored(name: str) -> None:
    assert is_ignored(Path(name))


@pytest.mark.parametrize(("name", "reason"), [
    (".hidden.txt", "hidden name"),
    ("notes.txt.swp", "temporary or partial-download name"),
    ("sub/feed.partial", "temporary or partial-download name"),
    (".done/a.txt", "in a hidden folder"),
])
def test_the_reason_for_ignoring_names_the_rule(name: str, reason: str) -> None:
    assert ignored_reason(Path(name)) == reason


def test_readme_lists_every_ignored_pattern() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    endings = re.findall(r"\\\.(\w+)", PARTIAL_NAME.pattern)
    assert {"tmp", "part", "partial", "crdownload", "swp"} <= set(endings)
    for pattern in ["`.*`", "`~$*`", *(f"`*.{ending}`" for ending in endings)]:
        assert pattern in readme


@pytest.mark.parametrize("name", ["a.txt", "sub/a.html", "news.jsonl.gz", "temporary-report.txt", "party.md"])
def test_ordinary_names_are_taken(name: str) -> None:
    assert not is_ignored(Path(name))
