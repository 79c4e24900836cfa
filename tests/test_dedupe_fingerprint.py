"""The dedupe fingerprint: folding, shingles and MinHash, pure functions without Redis."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.models import Article
from worker.pipeline.dedupe import LEAD_BANDS, LEAD_MIN_BANDS, LEAD_WORDS, fingerprint, fold, trusts_containment
from worker.pipeline.dedupe.minhash import MinHasher, estimate, folded_bytes

ROOT = Path(__file__).resolve().parent.parent
SEED_000 = (ROOT / "seeds" / "000_1c0c5df0f7ed7e12.txt").read_text()
SEED_001 = (ROOT / "seeds" / "001_34f2c2ac72de5d4c.txt").read_text()


def test_fold_ignores_case_white_space_quotes_and_dashes() -> None:
    plain = 'Zelensky said: "It\'s a positive - result" \n\n  in  KYIV'
    fancy = "ZELENSKY said: \u201cIt\u2019s a positive \u2014 result\u201d\r\nin\u00a0Kyiv"
    assert fold(plain) == fold(fancy) == "zelensky said it s a positive result in kyiv"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_fold_is_the_regular_expression_definition_for_any_text(text: str) -> None:
    expected = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
    assert fold(text) == expected


def test_fold_keeps_letters_of_every_script() -> None:
    assert fold("Café «Zürich» — Київ, 東京!") == "café zürich київ 東京"


def test_fingerprint_is_the_same_in_another_process() -> None:
    # No per-process hash seed: every worker must compute the same keys for the same text.
    code = (
        "import sys; from worker.models import Article; from worker.pipeline.dedupe import fingerprint; "
        "fp = fingerprint(Article(body=sys.stdin.read())); "
        "sys.stdout.write(fp.exact + fp.signature.hex() + fp.keys.hex())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=SEED_000, capture_output=True, text=True, check=True,
        cwd=ROOT, env={"PYTHONHASHSEED": "12345"},
    ).stdout
    fp = fingerprint(Article(body=SEED_000))
    assert out == fp.exact + fp.signature.hex() + fp.keys.hex()


def test_fingerprint_has_one_byte_per_bin_and_one_key_per_band_plus_the_exact_hash_and_lead_bands() -> None:
    fp = fingerprint(Article(body=SEED_000), MinHasher(num_perm=256), bands=48, rows=3)
    assert len(fp.signature) == 256
    assert len(fp.keys) == 7 * (1 + 48 + LEAD_BANDS)
    assert fp.shingles == len(set(_shingles(SEED_000, 5)))


def test_text_shorter_than_a_lead_has_no_lead_bands() -> None:
    short = " ".join(fold(SEED_000).split()[: LEAD_WORDS - 1])
    assert len(fingerprint(Article(body=short)).keys) == 7 * (1 + 48)


def test_lead_bands_are_those_of_the_opening_words_whatever_follows() -> None:
    words = SEED_000.split(" ")
    teaser = " ".join(words[: len(words) // 5])
    lead = slice(-7 * LEAD_BANDS, None)
    assert fingerprint(Article(body=teaser)).keys[lead] == fingerprint(Article(body=SEED_000)).keys[lead]
    assert fingerprint(Article(body=SEED_001)).keys[lead] != fingerprint(Article(body=SEED_000)).keys[lead]


def test_containment_of_a_fifth_is_trusted_only_between_texts_opening_the_same_way() -> None:
    # A teaser of a fifth of an article: Jaccard about 0.2, under the guard of other pairs.
    assert trusts_containment(0.15, 100, 500, lead_bands=LEAD_MIN_BANDS, shingle_size=5)
    assert not trusts_containment(0.15, 100, 500, lead_bands=LEAD_MIN_BANDS - 1, shingle_size=5)
    # ... and only for a teaser of LEAD_WORDS words or more.
    assert not trusts_containment(0.15, LEAD_WORDS - 5, 500, lead_bands=LEAD_BANDS, shingle_size=5)


def test_text_without_words_has_only_an_exact_key() -> None:
    fp = fingerprint(Article(body=" -- ... \u201c\u201d "))
    assert (fp.shingles, fp.signature, len(fp.keys)) == (0, b"", 7)


def test_text_shorter_than_a_shingle_is_one_shingle() -> None:
    assert MinHasher(shingle_size=5).signature(folded_bytes("Kyiv under attack")).shingles == 1


def _shingles(text: str, k: int) -> list[str]:
    words = fold(text).split()
    return [" ".join(words[i:i + k]) for i in range(len(words) - k + 1)]


def _true_similarity(a: str, b: str, k: int = 5) -> tuple[float, float]:
    sa, sb = set(_shingles(a, k)), set(_shingles(b, k))
    return len(sa & sb) / len(sa | sb), len(sa & sb) / min(len(sa), len(sb))


def test_estimated_jaccard_and_containment_track_the_true_values_on_real_copies() -> None:
    hasher = MinHasher(num_perm=256)
    words = SEED_001.split(" ")
    cases = {
        "cut to three fifths": " ".join(words[: len(words) * 3 // 5]),
        "second half": " ".join(words[len(words) // 2:]),
        "other story": SEED_000,
        "itself": SEED_001,
    }
    a = hasher.signature(folded_bytes(SEED_001))
    for name, text in cases.items():
        b = hasher.signature(folded_bytes(text))
        jaccard, contained = estimate(a.stored(), b.stored(), a.shingles, b.shingles)
        true_j, true_c = _true_similarity(SEED_001, text)
        assert abs(jaccard - true_j) < 0.1, name
        assert abs(contained - true_c) < 0.12, name
