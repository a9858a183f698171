"""Dev figures for the ask-back policy (issue 14, third round): the decision thresholds for chat messages
compared by cross-validation over the training data only (`benchmarks/dev_hybrid.py`'s folds).

    .venv/bin/python benchmarks/dev_askback.py [--seeds 0 1 2]

For each policy (model_dispute / model_rival / model_match, which apply to texts shorter than
`long_text`, i.e. chat; the shipped catalogue otherwise) and each fold seed, `dev_hybrid.cross_validate`
is run; the table gives right at once / right after ≤1 ask per file and the share of all chat messages
asked back, averaged over the seeds (the `dev_hybrid.TRAIN_ONLY` files, `chat-round3` and `chat-round4`,
are in every training fold and not scored). The trained models are cached, so each policy costs only the
classifying.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.dev_hybrid import CONFIG, cross_validate  # noqa: E402
from handlers.classify import read_config  # noqa: E402

POLICIES = [  # (model_dispute, model_rival, model_match); dispute 0 = the model never disputes
    (0.0, 1.0, 0.5),
    (0.2, 0.7, 0.5),  # third round
    (0.3, 0.5, 0.5),
    (0.5, 0.4, 0.5),
    (0.2, 0.7, 0.6),
    (0.3, 0.5, 0.6),
    (0.5, 0.4, 0.6),
    (0.2, 0.7, 0.65),
    (0.5, 0.4, 0.65),  # fourth round (shipped)
    (0.5, 0.4, 0.7),
    (1.0, 0.0, 0.7),  # any disagreement with the rules asks
]
KINDS = ("chat (all)", "chat-own", "chat-written", "chat-dev", "letters")


def compare(seeds: list[int]) -> list[tuple[tuple, dict[str, tuple[float, float]]]]:
    """Per policy: {kind: (right at once, right after ≤1 ask, asked)} averaged over `seeds`."""
    shipped, _, _ = read_config(CONFIG)
    rows = []
    for dispute, rival, match in POLICIES:
        catalogue = copy.deepcopy(shipped)
        catalogue["decision"].update(model_dispute=dispute, model_rival=rival, model_match=match)
        sums: dict[str, list[float]] = {}
        for seed in seeds:
            figures = cross_validate(4, seed, catalogue=catalogue)
            for kind in KINDS:
                total = sums.setdefault(kind, [0.0, 0.0, 0.0])
                total[0] += figures[kind]["right_at_once"] / len(seeds)
                total[1] += figures[kind]["right_after_ask"] / len(seeds)
                total[2] += figures[kind]["asked"] / len(seeds)
        rows.append(((dispute, rival, match), {kind: tuple(total) for kind, total in sums.items()}))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print("| dispute / rival / model_match | " + " | ".join(KINDS) + " | chat asked |")
    print("|---" * (len(KINDS) + 2) + "|")
    for policy, figures in compare(args.seeds):
        cells = " | ".join(f"{figures[kind][0]:.3f} / {figures[kind][1]:.3f}" for kind in KINDS)
        asked = figures["chat (all)"][2]
        print(f"| {' / '.join(str(value) for value in policy)} | {cells} | {asked:.1%} |", flush=True)


if __name__ == "__main__":
    main()
