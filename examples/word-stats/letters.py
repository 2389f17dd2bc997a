"""Letter frequencies of every text in the corpus: a command stage in another language.

It reads the corpus through INPUT_ROOT (one folder per upstream stage), writes a CSV into
OUTPUT_ROOT, and returns a JSON result through GP_RESULT_FILE.
"""
import collections
import csv
import json
import os
import pathlib

corpus = pathlib.Path(os.environ["INPUT_ROOT"]) / "load_corpus"
counts = collections.Counter()
for text in sorted(corpus.glob("*.txt")):
    counts.update(c for c in text.read_text(encoding="utf-8").lower() if c.isalpha())

out = pathlib.Path(os.environ["OUTPUT_ROOT"]) / "letters.csv"
with out.open("w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["letter", "count"])
    writer.writerows(sorted(counts.items(), key=lambda kv: -kv[1]))

top = [letter for letter, _ in counts.most_common(5)]
print(f"{sum(counts.values())} letters, most frequent: {' '.join(top)}")
pathlib.Path(os.environ["GP_RESULT_FILE"]).write_text(json.dumps({"csv": str(out), "top": top}))
