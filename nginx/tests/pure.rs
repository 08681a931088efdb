//! The module's pure logic, compiled on its own: the crate is a cdylib whose other code calls into
//! nginx, so its unit tests cannot link outside an nginx process. These files call no nginx symbol.

#[path = "../src/claim_name.rs"]
mod claim_name;

#[path = "../src/conf/provider_keys.rs"]
mod provider_keys;

/// nginx's `COMMANDS` table (nginx/src/conf.rs) registers exactly the registry's nginx
/// directives, each with the handler of its parser: `global_command` for the core's http keys,
/// `option_command` for location options.
mod commands_are_the_registry {
    use sesame::registry::{Parser, Scope, DIRECTIVES};
    use std::collections::BTreeSet;

    fn commands_source() -> String {
        let conf = include_str!("../src/conf.rs");
        conf.split("pub static mut COMMANDS")
            .nth(1)
            .and_then(|t| t.split("];").next())
            .expect("conf.rs has a COMMANDS table")
            .to_owned()
    }

    /// Names registered through `helper(ngx_string!("NAME"))`, or all names when `helper` is "".
    fn registered(helper: &str) -> BTreeSet<String> {
        let pattern = format!("{helper}(ngx_string!(\"");
        let table = commands_source();
        let pieces = if helper.is_empty() {
            table.split("ngx_string!(\"").skip(1).collect::<Vec<_>>()
        } else {
            table.split(pattern.as_str()).skip(1).collect::<Vec<_>>()
        };
        pieces
            .into_iter()
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    fn in_registry(keep: impl Fn(Parser) -> bool) -> BTreeSet<String> {
        DIRECTIVES
            .iter()
            .filter(|d| d.scope != Scope::Provider && keep(d.parser))
            .filter_map(|d| d.nginx.map(str::to_owned))
            .collect()
    }

    #[test]
    fn every_registry_directive_is_registered_and_no_other() {
        assert_eq!(registered(""), in_registry(|_| true));
    }

    #[test]
    fn http_keys_go_to_the_core_builder() {
        assert_eq!(
            registered("global_command"),
            in_registry(|p| matches!(p, Parser::Global(_)))
        );
    }

    #[test]
    fn location_options_go_to_the_location_spec() {
        assert_eq!(
            registered("option_command"),
            in_registry(|p| matches!(p, Parser::LocationOption(_)))
        );
    }

    #[test]
    fn the_tables_are_not_empty() {
        assert!(registered("").len() >= 20);
        assert_eq!(registered("option_command").len(), 8);
    }
}
