"""Where a reader looks for a test is where it is: every e2e test file sits in the folder of its
concern, and README.md's table names each folder (README.md "Where a test goes")."""

import re

from e2e_rig.paths import E2E


def concern_folders():
    return sorted(p.parent.name for p in E2E.glob("*/test_*.py"))


def readme_folders():
    return set(re.findall(r"^\| [^|]+ \| `([a-z_]+)/` \|", (E2E / "README.md").read_text(), re.M))


def test_no_test_file_sits_directly_in_tests_e2e():
    loose = sorted(p.name for p in E2E.glob("test_*.py"))
    assert not loose, f"move these into their concern's folder (tests/e2e/README.md): {loose}"


def test_every_concern_folder_is_a_package_named_in_the_readme():
    folders = set(concern_folders())
    assert folders, "no concern folder found"
    assert not folders - readme_folders(), f"folders missing from README.md's table: {folders - readme_folders()}"
    assert not readme_folders() - folders, f"README.md names folders without tests: {readme_folders() - folders}"
    for folder in folders:
        assert (E2E / folder / "__init__.py").is_file(), f"tests/e2e/{folder}/ has no __init__.py"
