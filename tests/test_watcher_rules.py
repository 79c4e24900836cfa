from pathlib import Path

import pytest

from worker.sources.watcher import is_ignored


@pytest.mark.parametrize("name", [".hidden.txt", "a.txt.tmp", "a.part", "a.crdownload", "~$report.txt",
                                  ".done/a.txt", "sub/.git/x.txt"])
def test_hidden_and_partial_names_are_ignored(name: str) -> None:
    assert is_ignored(Path(name))


@pytest.mark.parametrize("name", ["a.txt", "sub/a.html", "news.jsonl.gz", "temporary-report.txt", "party.md"])
def test_ordinary_names_are_taken(name: str) -> None:
    assert not is_ignored(Path(name))
