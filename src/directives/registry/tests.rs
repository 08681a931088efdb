//! The registry against itself and against the Apache module's tables (the nginx module's are
//! checked in nginx/, which links the registry).

use super::*;
use std::collections::BTreeSet;

fn apache_source(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("apache")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `(name, key)` of each `AP_INIT_*("Name", handler, "key" | NULL, ...)` in `sesame_cmds`.
fn apache_commands() -> BTreeSet<(String, Option<String>)> {
    let code = apache_source("mod_sesame.c");
    let table = code
        .split("static const command_rec sesame_cmds[]")
        .nth(1)
        .and_then(|t| t.split("{NULL}").next())
        .expect("mod_sesame.c has a sesame_cmds table");
    let mut out = BTreeSet::new();
    for entry in table.split("AP_INIT_").skip(1) {
        let args = entry.split_once('(').map(|(_, rest)| rest).unwrap_or("");
        let mut parts = args.splitn(4, ',').map(str::trim);
        let name = parts.next().unwrap_or("").trim_matches('"').to_owned();
        let _handler = parts.next();
        let info = parts.next().unwrap_or("");
        let key = (info != "NULL").then(|| info.trim_matches('"').to_owned());
        out.insert((name, key));
    }
    out
}

#[test]
fn keys_and_spellings_are_unique() {
    for (i, d) in DIRECTIVES.iter().enumerate() {
        for other in &DIRECTIVES[i + 1..] {
            assert!(
                !(d.scope == other.scope && d.key == other.key),
                "{} twice",
                d.key
            );
            if d.scope == other.scope {
                assert!(d.nginx.is_none() || d.nginx != other.nginx, "{:?}", d.nginx);
                assert!(
                    d.apache.is_none() || d.apache != other.apache,
                    "{:?}",
                    d.apache
                );
            }
        }
        assert!(
            d.nginx.is_some() || d.apache.is_some(),
            "{} on no server",
            d.key
        );
    }
}

#[test]
fn only_location_options_inherit_and_only_accumulating_ones_and_data_repeat() {
    for d in DIRECTIVES {
        assert_eq!(
            d.scope == Scope::Location,
            d.inherit != Inherit::None,
            "{}",
            d.key
        );
        // A provider block's `data` lines each declare one call; among location options only
        // accumulating ones repeat.
        let repeats =
            d.inherit == Inherit::Accumulate || (d.scope, d.key) == (Scope::Provider, "data");
        assert_eq!(d.repeatable, repeats, "{}", d.key);
    }
}

#[test]
fn apache_command_table_is_the_registry() {
    // The Apache handlers that pass the core key in cmd->info name it; the others pass NULL.
    let registered = apache_commands();
    let expected: BTreeSet<(String, Option<String>)> = DIRECTIVES
        .iter()
        .filter(|d| d.scope != Scope::Provider)
        .filter_map(|d| {
            let name = d.apache?;
            let key = matches!(d.parser, Parser::Global(_) | Parser::LocationOption(_))
                .then(|| d.key.to_owned());
            Some((name.to_owned(), key))
        })
        .collect();
    assert_eq!(registered, expected);
}

#[test]
fn apache_provider_spellings_differ_in_more_than_letter_case() {
    // Apache matches directive names case-insensitively; so does `sesame_provider_key`.
    let names: Vec<String> = provider_keys()
        .filter_map(|d| d.apache.map(str::to_ascii_lowercase))
        .collect();
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(names.len(), unique.len(), "{names:?}");
    assert_eq!(
        names.len(),
        provider_keys().count(),
        "every provider key has an Apache name"
    );
}

#[test]
fn the_tables_are_not_empty() {
    // guards the extraction above: two empty sets would compare equal
    assert!(apache_commands().len() >= 20);
    assert!(provider_keys().count() >= 20);
    assert_eq!(location_options().count(), 15);
}

fn no_nginx_spelling(text: &str) {
    assert!(
        !text.contains("sesame_"),
        "nginx syntax in an Apache message: {text}"
    );
}

#[test]
fn apache_operators_read_apache_directive_names() {
    use crate::config::ConfigBuilder;
    use crate::directives::Syntax;
    let mut b = ConfigBuilder::new();
    b.add_provider("fc").unwrap();
    let Err(missing) = b.validate() else {
        panic!("a provider without sesame_secret_file is refused");
    };
    assert_eq!(
        missing.subject,
        crate::directives::Subject::Global {
            key: "secret_file".into()
        }
    );
    let apache = missing.render(Syntax::Apache);
    assert!(
        apache.starts_with("SesameSecretFile is missing (write e.g. SesameSecretFile /etc/sesame/sesame.secret created"),
        "{apache}"
    );
    no_nginx_spelling(&apache);
    assert!(missing
        .render(Syntax::Nginx)
        .contains("write e.g. sesame_secret_file /etc/sesame/sesame.secret;"));

    let mut b = ConfigBuilder::new();
    b.add_provider("fc").unwrap();
    let dup = {
        b.set_provider("fc", "client_id", "a").unwrap();
        b.set_provider("fc", "client_id", "b").unwrap_err()
    };
    assert_eq!(
        dup.render(Syntax::Apache),
        "<SesameProvider fc>: ClientID is duplicate (write it once per provider block)"
    );
    assert_eq!(
        dup.render(Syntax::Nginx),
        "sesame_provider \"fc\": client_id is duplicate (write it once per provider block)"
    );
}

#[test]
fn location_option_mistakes_name_the_option_in_each_syntax() {
    use crate::directives::{Subject, Syntax};
    use crate::federation::Federation;
    use crate::policy::LocationRules;
    let options = vec![("prompt".to_owned(), "none".to_owned())];
    let fault = LocationRules::parse(Federation::FranceConnect, &options).unwrap_err();
    assert_eq!(fault.key, "prompt");
    let err = crate::directives::ConfigError::location(Some(&fault.key), fault.message);
    assert_eq!(
        err.subject,
        Subject::Location {
            key: Some("prompt".into())
        }
    );
    let apache = err.render(Syntax::Apache);
    assert!(
        apache.starts_with("SesamePrompt none is refused"),
        "{apache}"
    );
    no_nginx_spelling(&apache);
    assert!(err
        .render(Syntax::Nginx)
        .starts_with("sesame_prompt none is refused"));
}

#[test]
fn a_marker_that_names_no_directive_is_left_as_the_key() {
    use crate::directives::Syntax;
    assert_eq!(render(&provider_name("nope"), Syntax::Apache), "nope");
    assert_eq!(render(&http_name("nope"), Syntax::Nginx), "sesame_nope");
    assert_eq!(render("no marker", Syntax::Apache), "no marker");
}

#[test]
fn every_registry_key_reaches_its_parser_and_no_other_key_does() {
    use crate::config::ConfigBuilder;
    use crate::federation::Federation;
    use crate::policy::LocationRules;
    let unknown = |text: &str| text.contains("unknown");
    for d in global_keys() {
        let err = ConfigBuilder::new().set_global(d.key, "").unwrap_err();
        assert!(!unknown(&err.to_string()), "{}: {err}", d.key);
    }
    assert!(unknown(
        &ConfigBuilder::new()
            .set_global("thread_pool", "x")
            .unwrap_err()
            .to_string()
    ));
    for d in provider_keys() {
        let mut b = ConfigBuilder::new();
        b.add_provider("p").unwrap();
        if let Err(err) = b.set_provider("p", d.key, "") {
            assert!(!unknown(&err.to_string()), "{}: {err}", d.key);
        }
    }
    for d in location_options() {
        let options = vec![(d.key.to_owned(), "x".to_owned())];
        if let Err(fault) = LocationRules::parse(Federation::ProConnect, &options) {
            assert!(!unknown(&fault.message), "{}: {}", d.key, fault.message);
        }
    }
    let protect = vec![("protect".to_owned(), "x".to_owned())];
    assert!(LocationRules::parse(Federation::ProConnect, &protect).is_err());
}

#[test]
fn each_parsed_key_names_one_directive() {
    let mut seen = BTreeSet::new();
    for d in DIRECTIVES {
        let parsed_as = match d.parser {
            Parser::Global(key) => format!("{key:?}"),
            Parser::ProviderKey(key) => format!("{key:?}"),
            Parser::LocationOption(key) => format!("{key:?}"),
            _ => continue,
        };
        assert!(
            seen.insert(parsed_as.clone()),
            "{parsed_as} is the parser of two entries"
        );
        // The variant spells the key (`redis_ca_file` is `RedisCaFile`).
        assert_eq!(
            parsed_as.to_lowercase(),
            d.key.replace('_', ""),
            "{}",
            d.key
        );
    }
    assert_eq!(
        seen.len(),
        global_keys().count() + provider_keys().count() + location_options().count()
    );
}
