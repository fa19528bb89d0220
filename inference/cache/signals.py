"""What differs between a request and its cached neighbour, beyond how similar their embeddings are.

A changed number, a negation added or removed, a swapped name, a word replaced by an unrelated one: the
embedder sees such prompts as near the same text, and they are the ones a semantic cache serves wrongly.
``differences`` describes the words that differ as a few numbers (pure functions, no model); the verifier
(``verifier.py``) combines them with the embeddings' similarities.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million "
    "billion first second third fourth fifth sixth seventh eighth ninth tenth half quarter double twice once "
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december yesterday today tomorrow weekend weekday".split())
NEGATIONS = frozenset(
    "not no never none nobody nothing neither nor without cannot can't don't doesn't didn't isn't aren't wasn't "
    "weren't won't wouldn't shouldn't couldn't haven't hasn't hadn't mustn't avoid stop unsafe unable".split())
# Words that carry little of a question's meaning: a difference in them is a rewording.
STOPWORDS = frozenset(
    "a an the i me my we our you your it its is are was were be been being am do does did to of in on at for "
    "with by from as and or but if so that this these those there here what which who whom whose when where why "
    "how can could would should will shall may might must please tell know want need like just also any some "
    "about into over up out get got have has had let let's i'm i've i'd you're it's that's what's whats".split())


@dataclass(frozen=True)
class Differences:
    numbers: bool  # the two texts hold different numbers, number words, weekdays or months
    negation: bool  # one text holds a negation (not, never, without, avoid, ...) the other does not
    names: bool  # a capitalised word (not at a sentence start) is in one text only: a name, a product, a place
    changed: int  # content words in one text and not the other (both ways)
    overlap: float  # Jaccard overlap of the content words


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text))


def _names(text: str) -> set[str]:
    names = set()
    for sentence in re.split(r"(?<=[.?!:\n])\s+", unicodedata.normalize("NFKC", text)):
        words = _WORD.findall(sentence)
        names.update(w.casefold() for w in words[1:] if w[:1].isupper())
    return names


def _numbers(words: list[str], text: str) -> set[str]:
    return set(_NUMBER.findall(text)) | {w for w in words if w in NUMBER_WORDS}


def differences(cached: str, asked: str) -> Differences:
    a_words = [w.casefold() for w in _words(cached)]
    b_words = [w.casefold() for w in _words(asked)]
    a_content = {w for w in a_words if w not in STOPWORDS}
    b_content = {w for w in b_words if w not in STOPWORDS}
    union = a_content | b_content
    a_negations = sum(w in NEGATIONS or w.endswith("n't") for w in a_words)
    b_negations = sum(w in NEGATIONS or w.endswith("n't") for w in b_words)
    return Differences(
        numbers=_numbers(a_words, cached) != _numbers(b_words, asked),
        negation=(a_negations > 0) != (b_negations > 0),
        names=bool(_names(cached) ^ _names(asked)),
        changed=len(a_content ^ b_content),
        overlap=len(a_content & b_content) / len(union) if union else 1.0,
    )


def changed_words(cached: str, asked: str) -> tuple[str, str]:
    """The content words only one side has, each side's in its order: what a word-level comparison reads."""
    a_words = [w for w in _words(cached) if w.casefold() not in STOPWORDS]
    b_words = [w for w in _words(asked) if w.casefold() not in STOPWORDS]
    a_set, b_set = {w.casefold() for w in a_words}, {w.casefold() for w in b_words}
    return (" ".join(w for w in a_words if w.casefold() not in b_set),
            " ".join(w for w in b_words if w.casefold() not in a_set))
