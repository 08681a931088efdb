"""apache/README.md (the Apache directive reference) and the module's tables must list the same
names: a directive, provider setting or Require provider the module registers but the reference
lacks (or the reverse) fails here."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "apache" / "README.md").read_text(encoding="utf-8")
# mod_sesame.c (command table, Require providers) and sesame_config.c (provider settings).
CODE = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "apache").glob("*.c")))


def registered_directives():
    table = CODE.split("static const command_rec sesame_cmds[]", 1)[1].split("{NULL}", 1)[0]
    return set(re.findall(r'AP_INIT_[A-Z0-9_]+\("(<?Sesame[A-Za-z]+)"', table))


def registered_provider_settings():
    """Apache spellings of the provider keys, from the core's directive registry (the module
    asks the core for them: sesame_provider_key)."""
    registry = (ROOT / "src" / "directives" / "registry.rs").read_text(encoding="utf-8")
    table = registry.split("pub const DIRECTIVES", 1)[1]
    return set(re.findall(r'\bprovider\(\s*"[a-z_]+",\s*"([A-Za-z]+)",', table))


def registered_require_providers():
    return set(re.findall(r'ap_register_auth_provider\([^;]*?"(sesame-[a-z]+)"', CODE, re.S))


def documented_directives():
    return set(re.findall(r"^### (<?Sesame[A-Za-z]+)>?$", REFERENCE, re.M))


def documented_provider_settings():
    section = REFERENCE.split("## Inside `<SesameProvider NAME>`", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Za-z]+)` \|", section, re.M))


def documented_require_providers():
    return set(re.findall(r"^### Require (sesame-[a-z]+)$", REFERENCE, re.M))


def test_every_directive_is_documented_and_exists():
    assert registered_directives() == documented_directives()


def test_every_provider_setting_is_documented_and_exists():
    assert registered_provider_settings() == documented_provider_settings()


def test_every_require_provider_is_documented_and_exists():
    assert registered_require_providers() == documented_require_providers()


def test_the_tables_are_not_empty():
    assert len(registered_directives()) >= 11
    assert len(registered_provider_settings()) >= 20
    assert registered_require_providers() == {"sesame-acr", "sesame-claim"}
