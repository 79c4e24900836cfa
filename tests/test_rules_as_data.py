"""Rules and word lists are data: each YAML file beside the stage that reads it validates
against its shape, and a user's rules file extends the built-in line rules, HTML chrome
included."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from worker.pipeline.enrich.aliases import BUILT_IN as ALIASES, AliasFile, load_aliases
from worker.pipeline.enrich.wordlists import WORDLISTS, WordLists
from worker.pipeline.normalise.patterns import LEXICON, Lexicon
from worker.pipeline.normalise.rules import BUILTIN_RULES, RuleFile, load_rules
from worker.pipeline.parse import parse
from worker.pipeline.parse.html import extract_html

PAGES = Path(__file__).resolve().parent / "data" / "html"
APPEAL = "Support the Courier's local journalism: become a member from £1 a week."
LAST_LINE = "The council said it would publish a timetable next month."


@pytest.mark.parametrize(
    ("path", "shape"),
    [(BUILTIN_RULES, RuleFile), (LEXICON, Lexicon), (WORDLISTS, WordLists), (ALIASES, AliasFile)],
    ids=lambda v: v.name if isinstance(v, Path) else v.__name__,
)
def test_built_in_file_validates_against_its_shape(path: Path, shape: type[BaseModel]) -> None:
    shape.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_built_in_rules_hold_html_chrome_rules() -> None:
    assert "ad_label" in load_rules().html_chrome.names


def _page_with_appeal() -> str:
    page = (PAGES / "news_article.html").read_text(encoding="utf-8")
    return page.replace(f"{LAST_LINE}</p>", f"{LAST_LINE}</p>\n    <p>{APPEAL}</p>")


def test_user_rules_file_adds_an_html_chrome_rule_that_applies_to_html_pages(tmp_path: Path) -> None:
    html = _page_with_appeal()
    assert APPEAL in extract_html(html).text
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "html_chrome:\n  - name: member_appeal\n    match: contains\n    max_words: 30\n"
        "    pattern: 'become a member\\b'\n", "utf-8")
    (doc,) = parse(html.encode("utf-8"), "page.html", max_decompressed_bytes=1 << 26,
                   rules=load_rules(rules_file))
    assert APPEAL not in doc.text
    assert doc.text.endswith(LAST_LINE)


def test_html_chrome_rule_with_a_word_limit_leaves_longer_lines_alone(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "html_chrome:\n  - name: member_appeal\n    match: contains\n    max_words: 5\n"
        "    pattern: 'become a member\\b'\n", "utf-8")
    assert APPEAL in extract_html(_page_with_appeal(), load_rules(rules_file)).text


def test_user_rules_file_with_a_bad_html_chrome_pattern_is_refused_with_its_name(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("html_chrome:\n  - name: broken_chrome\n    pattern: '[unclosed'\n", "utf-8")
    with pytest.raises(ValueError, match="broken_chrome"):
        load_rules(rules_file)


def test_user_alias_file_with_an_unknown_key_is_refused_with_its_path(tmp_path: Path) -> None:
    alias_file = tmp_path / "aliases.yaml"
    alias_file.write_text("entries:\n  - name: Port Alden\n    alias: [Alden]\n", "utf-8")
    with pytest.raises(ValueError, match="aliases.yaml"):
        load_aliases(alias_file)


def test_user_alias_file_adds_to_the_built_in_table(tmp_path: Path) -> None:
    alias_file = tmp_path / "aliases.yaml"
    alias_file.write_text(
        "entries:\n  - name: Port Alden Council\n    type: organization\n    aliases: [PAC]\n", "utf-8")
    table = load_aliases(alias_file)
    assert table.lookup("PAC").name == "Port Alden Council"
    assert table.lookup("U.S.").name == "United States"


def test_word_list_entry_that_yaml_reads_as_a_boolean_is_refused() -> None:
    # bare `on` is true in YAML: a list of words must quote it, and a file that does not is refused
    data = yaml.safe_load(WORDLISTS.read_text(encoding="utf-8"))
    data["not_names"] = yaml.safe_load("[In, On, At]")
    with pytest.raises(ValueError):
        WordLists.model_validate(data)
