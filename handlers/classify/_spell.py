"""Homophone typos corrected for the model's view of a chat message (拉级桶 → 垃圾桶, 造音 → 噪音).

Residents type with pinyin input methods, so a typo is usually another character of the same sound. A
character that forms no bigram the model saw (neither with its left nor with its right neighbour: in a text the
model knows, nearly every character does) is replaced by the homophone that makes its left (else right) bigram
one seen in at least `MIN_DOCUMENTS` training examples (the most frequent bigram of that sound). Rules match
homophones on their own (`homophones` in a rule); the stored and normalised texts are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from handlers.classify._pinyin import to_pinyin

MIN_DOCUMENTS = 20  # training examples a bigram must occur in to stand for its sound (3 and 8 corrected right texts too)


def _chinese(gram: str) -> bool:
    return all("\u4e00" <= char <= "\u9fff" for char in gram)


class Speller:
    """The frequent bigrams of a model's vocabulary by their sound."""

    def __init__(self, vocabulary: Mapping[str, int], idf: np.ndarray, documents: int,
                 min_documents: int = MIN_DOCUMENTS) -> None:
        # smooth idf = ln((1 + n) / (1 + df)) + 1, so df >= m exactly when idf <= ln((1 + n) / (1 + m)) + 1
        limit = math.log((1.0 + documents) / (1.0 + min_documents)) + 1.0 + 1e-9
        best: dict[str, tuple[float, str]] = {}
        for gram, row in vocabulary.items():
            if len(gram) == 2 and _chinese(gram) and idf[row] <= limit:
                sound = to_pinyin(gram)
                if sound not in best or idf[row] < best[sound][0]:
                    best[sound] = (float(idf[row]), gram)
        self._known = vocabulary
        self._by_sound = {sound: gram for sound, (_, gram) in best.items()}

    def correct(self, text: str) -> str:
        """`text` with each orphan character (in no bigram the model saw) replaced by the homophone that makes
        its left, else its right, bigram a frequent one."""
        known, by_sound = self._known, self._by_sound
        seen = [False, *map(known.__contains__, [text[i:i + 2] for i in range(len(text) - 1)]), False]
        if len(text) < 2 or all(seen[1:-1]):  # a message the model knows every bigram of: nothing to correct
            return text
        chars = list(text)
        for i in range(len(text)):
            if seen[i] or seen[i + 1]:  # the bigram ending here or the one starting here is known
                continue
            left, right = text[i - 1:i + 1] if i else "", text[i:i + 2]
            if len(left) == 2 and (fix := by_sound.get(to_pinyin(left))) is not None and fix[0] == left[0]:
                chars[i] = fix[1]
            elif len(right) == 2 and (fix := by_sound.get(to_pinyin(right))) is not None and fix[1] == right[1]:
                chars[i] = fix[0]
        return "".join(chars)
