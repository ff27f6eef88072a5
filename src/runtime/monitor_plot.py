"""pipe monitor --plot: the score's distribution, baseline against now, one panel per model version.

    python monitor_plot.py IN.json OUT.png

IN.json: {"title": str, "panels": [{"title": str, "score": str, "bins": [{"range": str, "baseline": share,
"now": share}], "psi": float, "reading": str, "verdict": str, "by_label": bool, "records": int, "baseline_rows": int}]}. Each panel shows
the share of decisions in each of the baseline's score bins (deciles), side by side. Exit 2 when
matplotlib is not there.
"""

from __future__ import annotations

import json
import sys


def main(source: str, target: str) -> int:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("error: matplotlib is not installed in the training environment", file=sys.stderr)
        return 2
    with open(source, encoding="utf-8") as file:
        spec = json.load(file)
    panels = spec["panels"]
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 3.6 * len(panels)), squeeze=False)
    for axis, panel in zip(axes[:, 0], panels):
        bins = panel["bins"]
        at = list(range(len(bins)))
        width = 0.4
        axis.bar([x - width / 2 for x in at], [100 * b["baseline"] for b in bins], width,
                 label=f"baseline ({panel['baseline_rows']} validation rows)", color="#9aa5b1")
        axis.bar([x + width / 2 for x in at], [100 * b["now"] for b in bins], width,
                 label=f"now ({panel['records']} decisions)", color="#2f6fdf")
        axis.set_xticks(at, [b["range"] for b in bins], rotation=30, ha="right", fontsize=8)
        axis.set_xlabel(panel["score"] if panel["by_label"] else f"{panel['score']} (bins: the baseline's deciles)")
        axis.set_ylabel("share of records (%)")
        axis.set_title(f"{panel['title']}: {'PSI of the label' if panel['by_label'] else 'score PSI'} {panel['psi']:.3f} ({panel['reading']}); verdict: {panel['verdict']}",
                       fontsize=10)
        axis.legend(fontsize=8)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(spec["title"], fontsize=11)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
