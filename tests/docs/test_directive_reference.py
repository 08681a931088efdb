"""docs/directives.md and the nginx module's directive and variable tables must list the same names:
a directive the code registers but the reference lacks (or the reverse) fails here."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "docs" / "directives.md").read_text(encoding="utf-8")


def _code(path):
    return (ROOT / path).read_text(encoding="utf-8")


def registered_http_directives():
    """The nginx spellings of the core's directive registry: nginx's command table is built from
    it (nginx/src/conf/command_table.rs), so these are exactly the module's commands."""
    table = _code("src/directives/registry.rs").split("pub const DIRECTIVES", 1)[1]
    return set(re.findall(r'"(sesame(?:_[a-z_]+)?)"', table))


def registered_provider_directives():
    """The provider keys of the core's directive registry (nginx reads its block table there)."""
    table = _code("src/directives/registry.rs").split("pub const DIRECTIVES", 1)[1]
    return set(re.findall(r'\bprovider\(\s*"([a-z_]+)",', table))


def registered_variables():
    # The nginx module registers the names of the core's naming room (src/backend_names.rs):
    # its prefix variables (documented as $sesame_claim_NAME...) and every other variable, each
    # of which the include files generated from the room use.
    room = _code("src/backend_names.rs")
    prefixes = set(re.findall(r'pub const [A-Z_]*VARIABLE_PREFIX: &str = "(sesame_[a-z_]*_)";', room))
    used = set()
    for name in ("sesame_fastcgi_params", "sesame_proxy_params", "sesame_fastcgi_params_oidc"):
        used |= set(re.findall(r"\$(sesame_[a-z_]+)", _code("nginx/conf/" + name)))
    return {n for n in used if not any(n.startswith(p) for p in prefixes)} | {p + "NAME" for p in prefixes}


def documented_http_directives():
    return set(re.findall(r"^### (sesame[a-z_]*)$", REFERENCE, re.M))


def documented_provider_directives():
    section = REFERENCE.split("## Inside `sesame_provider", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)[ ;]", section, re.M))


def documented_variables():
    section = REFERENCE.split("## Variables", 1)[1]
    return set(re.findall(r"^\| `\$(sesame_[A-Za-z_]+)`", section, re.M))


def test_every_http_and_location_directive_is_documented_and_exists():
    assert registered_http_directives() == documented_http_directives()


def test_every_provider_block_directive_is_documented_and_exists():
    assert registered_provider_directives() == documented_provider_directives()


def test_every_variable_is_documented_and_exists():
    assert registered_variables() == documented_variables()


def test_the_tables_are_not_empty():
    # guards the parsing above: an empty extraction on both sides would compare equal
    assert len(registered_http_directives()) >= 9
    assert len(registered_provider_directives()) >= 15
    assert len(registered_variables()) >= 6
