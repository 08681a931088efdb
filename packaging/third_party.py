#!/usr/bin/env python3
"""The Rust crates the packaged binaries link, for debian/copyright (`make deb`).

The sesame command and both modules link statically the crates they depend on (normal
dependencies, proc-macros and build scripts aside), so each package's copyright file must name
them with their licences and carry the notices those licences ask to keep. Reads
`cargo metadata --locked` of the checkout, then:

  - appends one DEP-5 stanza per crate (its name and version, the copyright lines of its licence
    files or its authors, its SPDX licence expression) to the copyright file given;
  - copies each crate's licence and notice files to OUT_DIR/NAME-VERSION/, which the sesame
    package installs in /usr/share/doc/sesame/crates/.

Usage: third_party.py CHECKOUT COPYRIGHT_FILE OUT_DIR
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

# What the binaries are built from (packaging/debian/rules builds these two packages).
ROOTS = ("sesame", "ngx-sesame")
LICENCE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|COPYRIGHT|UNLICENSE)", re.I)
COPYRIGHT_LINE = re.compile(r"^\s*(?:Copyright|\(c\)|©)\s*(?:\(c\)|©)?\s*(.*\d{4}.*)$", re.I)


def metadata(checkout):
    out = subprocess.run(
        ["cargo", "metadata", "--locked", "--format-version", "1",
         "--filter-platform", "x86_64-unknown-linux-gnu"],
        cwd=checkout, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def linked_packages(meta):
    """Packages reachable from ROOTS through normal dependency edges, without proc-macros."""
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    roots = [i for i in meta["workspace_members"] if packages[i]["name"] in ROOTS]
    seen, todo = set(), list(roots)
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    linked = []
    for pkg_id in seen:
        pkg = packages[pkg_id]
        if pkg_id in meta["workspace_members"]:
            continue
        # A proc-macro runs in the compiler; nothing of it is in the binaries.
        if any("proc-macro" in t["kind"] for t in pkg["targets"]):
            continue
        linked.append(pkg)
    return sorted(linked, key=lambda p: (p["name"], p["version"]))


def licence_files(pkg):
    directory = Path(pkg["manifest_path"]).parent
    files = sorted(p for p in directory.iterdir() if p.is_file() and LICENCE_FILE.match(p.name))
    if pkg.get("license_file"):
        extra = directory / pkg["license_file"]
        if extra.is_file() and extra not in files:
            files.append(extra)
    return files


def copyright_lines(pkg, files):
    lines = []
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            m = COPYRIGHT_LINE.match(line)
            # Licence templates carry placeholders, not a holder.
            if m and "[" not in m.group(1) and "<" not in m.group(1):
                text = " ".join(m.group(1).split())
                if text not in lines:
                    lines.append(text)
    if not lines:
        authors = [re.sub(r"\s*<[^>]*>", "", a).strip() for a in pkg.get("authors") or []]
        authors = [a for a in authors if a]
        lines = [", ".join(authors)] if authors else [f"the {pkg['name']} authors"]
    return lines


def spdx(pkg):
    expression = pkg.get("license")
    if expression:
        # The old slash form ("MIT/Apache-2.0") means OR.
        return " or ".join(part.strip() for part in re.split(r"\s+OR\s+|/", expression)) \
            .replace(" AND ", " and ").replace(" WITH ", " with ")
    return f"other (see /usr/share/doc/sesame/crates/{pkg['name']}-{pkg['version']}/)"


def licence_names(expression):
    words = re.split(r"[\s()]+", expression)
    return {w for w in words if w and w not in ("or", "and", "with") and not w.startswith("other")
            and not w.startswith("/usr")}


def licence_paragraph(name):
    """A stand-alone licence paragraph: Debian's copy when it has one, else where the crates'
    own copies (with their notices) are."""
    common = Path("/usr/share/common-licenses") / name
    where = (f"On Debian systems, the full text of {name} is in {common}." if common.is_file()
             else f"The text of {name}, with each crate's own notice, is in the crate's\n"
                  f" directory under /usr/share/doc/sesame/crates/.")
    return f"License: {name}\n {where}\n"


def main(checkout, copyright_path, out_dir):
    packages = linked_packages(metadata(checkout))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stanzas = []
    for pkg in packages:
        files = licence_files(pkg)
        if not files and not pkg.get("license"):
            sys.exit(f"third_party.py: crate {pkg['name']} {pkg['version']} has neither a licence "
                     f"expression nor a licence file")
        target = out_dir / f"{pkg['name']}-{pkg['version']}"
        target.mkdir(exist_ok=True)
        for path in files:
            shutil.copyfile(path, target / path.name)
        holders = copyright_lines(pkg, files)
        stanzas.append(
            f"Files: crates/{pkg['name']}-{pkg['version']}/*\n"
            f"Copyright: {holders[0]}\n"
            + "".join(f" {h}\n" for h in holders[1:])
            + f"License: {spdx(pkg)}\n"
            f"Comment: Rust crate {pkg['name']} {pkg['version']}, linked statically; its licence "
            f"and notice files are in /usr/share/doc/sesame/crates/{pkg['name']}-{pkg['version']}/.\n")
    used = sorted({name for pkg in packages for name in licence_names(spdx(pkg))} - {"Apache-2.0"})
    with open(copyright_path, "a", encoding="utf-8") as out:
        for stanza in stanzas:
            out.write("\n" + stanza)
        for name in used:
            out.write("\n" + licence_paragraph(name))
    print(f"third_party.py: {len(packages)} crates")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
