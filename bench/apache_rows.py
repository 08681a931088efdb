"""Apache rows of `make bench` (filled in when the Apache module is in the tree)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(bench):
    if not (REPO / "apache" / "mod_sesame.c").is_file():
        msg = "Apache rows skipped: no apache/mod_sesame.c in this tree (issue 4 not merged)"
        print(msg, flush=True)
        bench.notes.append(msg)
        return
