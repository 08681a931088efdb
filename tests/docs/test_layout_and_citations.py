"""The README's layout table matches the tree, and every citation stays inside the repository.

- Every path the "## Layout" table names exists: the paths of its first column, and the file or
  directory names quoted in its second column (relative to the row's directories or to the root).
- Every top-level directory and every directory of `src/` (a room of the core) has a row.
- A file that cites the federations' rules cites `docs/federations.md` (or a relative link that
  resolves to it), never another copy, and no tracked file points at a directory beside the
  repository (`../shared`); each cited section number exists in docs/federations.md."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()  # names what it forbids

# What a quoted token in the second column must look like to be read as a path.
PATH_LIKE = re.compile(r"^[\w.*-]+(/[\w.*-]*)*$")
FILE_SUFFIXES = (".rs", ".c", ".h", ".py", ".php", ".md", ".lua", ".toml", ".example", ".tmpl",
                 ".sh", ".supp", ".ini")


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True)
    return [p for p in out.stdout.decode("utf-8").split("\0") if p]


def layout_rows():
    """(first-column paths, second-column text) for each row of the "## Layout" table."""
    section = README.split("\n## Layout\n", 1)
    assert len(section) == 2, "README.md has no '## Layout' section"
    body = section[1].split("\n## ", 1)[0]
    rows = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("path", "") or set(cells[0]) <= {"-", ":"}:
            continue
        rows.append((re.findall(r"`([^`]+)`", cells[0]), " | ".join(cells[1:])))
    assert rows, "the layout table has no rows"
    return rows


def exists(path):
    return any(ROOT.glob(path.rstrip("/"))) if "*" in path else (ROOT / path).exists()


def test_every_path_of_the_layout_table_exists():
    missing = []
    for paths, what in layout_rows():
        assert paths, f"a layout row names no path: {what[:60]}"
        missing += [p for p in paths if not exists(p)]
        bases = [p for p in paths if p.endswith("/")] + [""]
        for token in re.findall(r"`([^`]+)`", what):
            if not PATH_LIKE.match(token):
                continue
            if "/" not in token and not token.endswith(FILE_SUFFIXES):
                continue
            if not any(exists(base + token) for base in bases):
                missing.append(f"{token} (row {', '.join(paths)})")
    assert not missing, f"README's layout table names paths that do not exist: {missing}"


def test_every_top_level_directory_and_src_room_has_a_row():
    named = [p.rstrip("/") for paths, _ in layout_rows() for p in paths]

    def covered(directory):
        return any(n == directory or n.startswith(directory + "/") for n in named)

    dirs = set()
    for f in tracked_files():
        parts = f.split("/")
        if len(parts) > 1 and not parts[0].startswith("."):
            dirs.add(parts[0])
        if len(parts) > 2 and parts[0] == "src":
            dirs.add("src/" + parts[1])
    absent = sorted(d for d in dirs if not covered(d))
    assert not absent, f"README's layout table has no row for: {absent}"


def test_citations_stay_inside_the_repository():
    bad = []
    target = (ROOT / "docs" / "federations.md").resolve()
    outside = re.compile(r"\.\./share[d]\b|/work/share[d]\b")
    for f in tracked_files():
        path = ROOT / f
        if f == THIS_FILE or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for m in re.finditer(r"[\w./-]*federations[\w-]*\.md", line):
                token = m.group(0)
                if token == "docs/federations.md":
                    continue
                if (path.parent / token).resolve() == target:
                    continue
                bad.append(f"{f}:{n}: {token}")
            if outside.search(line):
                bad.append(f"{f}:{n}: points outside the repository")
    assert not bad, (
        "cite the federations' rules as docs/federations.md (or their public source), "
        f"never a copy outside the repository: {bad}"
    )


# "docs/federations.md §3.1, §3.9", "... §4.3–§4.5 and §10.4", "[...](docs/federations.md) §10.1"
CITATION = re.compile(
    r"docs/federations\.md\)?((?:[ ,;]*(?:and )?§\d+(?:\.\d+)?(?:–§\d+(?:\.\d+)?)?)+)"
)


def test_the_cited_sections_exist():
    """`docs/federations.md §N` must name a section the document has."""
    doc = (ROOT / "docs" / "federations.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", doc, flags=re.M))
    wrong = []
    for f in tracked_files():
        path = ROOT / f
        if f in ("docs/federations.md", THIS_FILE) or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for m in CITATION.finditer(text):
            for num in re.findall(r"§(\d+(?:\.\d+)?)", m.group(1)):
                if num not in sections:
                    wrong.append(f"{f}: §{num}")
    assert not wrong, f"citations of docs/federations.md sections it does not have: {wrong}"
