//! Which handler takes each nginx directive of the core's registry: the module's `COMMANDS`
//! table is built from this at compile time (nginx/src/conf.rs), so a directive added to the
//! registry is registered on nginx with no line here, unless nginx needs code of its own for it
//! (an `Adapter` directive), and then the build stops until it is named below. Pure: no nginx
//! symbol (tests/pure.rs compiles it on its own).

use sesame::registry::{Arity, Directive, Parser, Scope, DIRECTIVES};

/// What handles a directive in nginx.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// An http-level value for the core's `ConfigBuilder` (`cmd_global`).
    Global,
    /// `sesame NAME|off;`, `sesame_logout NAME [local];` (`cmd_location`).
    Location,
    /// A location option for the core's `LocationSpec` (`cmd_location_option`).
    LocationOption,
    /// `sesame_thread_pool`, `sesame_provider_thread_pool` (`cmd_thread_pool`).
    ThreadPool,
    /// `sesame_provider NAME { ... }` (`provider::cmd_provider_block`).
    ProviderBlock,
    /// `sesame_metrics;` (`cmd_metrics`: the location's content handler).
    Metrics,
}

/// The handler of `d` on nginx; None when the directive is not an nginx command (Apache only,
/// or a key inside a provider block).
pub const fn handler(d: &Directive) -> Option<Handler> {
    let Some(name) = d.nginx else {
        return None;
    };
    if matches!(d.scope, Scope::Provider) {
        return None;
    }
    Some(match d.parser {
        Parser::Global(_) => Handler::Global,
        Parser::LocationMode => Handler::Location,
        Parser::LocationOption(_) => Handler::LocationOption,
        Parser::ProviderKey(_) => return None,
        Parser::Adapter => {
            if same(name, "sesame_thread_pool") || same(name, "sesame_provider_thread_pool") {
                Handler::ThreadPool
            } else if same(name, "sesame_provider") {
                Handler::ProviderBlock
            } else if same(name, "sesame_metrics") {
                Handler::Metrics
            } else {
                panic!("an nginx directive the module handles itself has no handler in nginx/src/conf/command_table.rs")
            }
        }
    })
}

/// True when `d`'s arguments, on nginx, are one or two words (`sesame_logout NAME [local]`).
pub const fn takes_one_or_two(d: &Directive) -> bool {
    matches!(d.arity, Arity::OneOrTwo)
}

/// How many nginx commands the registry has.
pub const fn count() -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < DIRECTIVES.len() {
        if handler(&DIRECTIVES[i]).is_some() {
            n += 1;
        }
        i += 1;
    }
    n
}

/// Room for the longest nginx directive name and its NUL.
pub const NAME_MAX: usize = 48;

/// The names of the nginx commands, in table order, NUL-terminated: nginx compares a
/// directive with a command's name by `strcmp`, so the bytes after the name must be a NUL.
pub const fn nul_terminated_names() -> [[u8; NAME_MAX]; count()] {
    let mut names = [[0u8; NAME_MAX]; count()];
    let (mut i, mut n) = (0, 0);
    while i < DIRECTIVES.len() {
        if let (Some(_), Some(name)) = (handler(&DIRECTIVES[i]), DIRECTIVES[i].nginx) {
            let bytes = name.as_bytes();
            assert!(
                bytes.len() < NAME_MAX,
                "an nginx directive name is longer than NAME_MAX"
            );
            let mut b = 0;
            while b < bytes.len() {
                names[n][b] = bytes[b];
                b += 1;
            }
            n += 1;
        }
        i += 1;
    }
    names
}

/// `a == b` at compile time.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
