//! The module's pure logic, compiled on its own: the crate is a cdylib whose other code calls into
//! nginx, so its unit tests cannot link outside an nginx process. These files call no nginx symbol.

#[path = "../src/claim_name.rs"]
mod claim_name;
#[path = "../src/fetch_headers.rs"]
mod fetch_headers;

#[path = "../src/conf/provider_keys.rs"]
mod provider_keys;

#[path = "../src/conf/command_table.rs"]
mod command_table;

/// nginx's `COMMANDS` table (nginx/src/conf.rs) is built from `command_table::handler` over the
/// registry: every nginx directive of the registry gets the handler of its parser, and nothing
/// else is registered.
mod commands_are_the_registry {
    use super::command_table::{count, handler, nul_terminated_names, takes_one_or_two, Handler};
    use sesame::registry::{Parser, Scope, DIRECTIVES};

    #[test]
    fn every_nginx_directive_but_provider_keys_has_a_handler() {
        for d in DIRECTIVES {
            let expected = d.nginx.is_some() && d.scope != Scope::Provider;
            assert_eq!(handler(d).is_some(), expected, "{}", d.key);
        }
    }

    #[test]
    fn each_parser_has_its_handler() {
        for d in DIRECTIVES.iter().filter(|d| handler(d).is_some()) {
            let want = match d.parser {
                Parser::Global(_) => Handler::Global,
                Parser::LocationMode => Handler::Location,
                Parser::LocationOption(_) => Handler::LocationOption,
                Parser::ProviderKey(_) => unreachable!("provider keys are not commands"),
                Parser::Adapter if d.key == "provider" => Handler::ProviderBlock,
                Parser::Adapter if d.key == "metrics" => Handler::Metrics,
                Parser::Adapter => Handler::ThreadPool,
            };
            assert_eq!(handler(d), Some(want), "{}", d.key);
        }
    }

    #[test]
    fn names_are_nul_terminated_as_nginx_compares_them() {
        let names = nul_terminated_names();
        let commands = DIRECTIVES.iter().filter(|d| handler(d).is_some());
        for (bytes, d) in names.iter().zip(commands) {
            let name = d.nginx.expect("a command has an nginx name");
            assert_eq!(&bytes[..name.len()], name.as_bytes());
            assert_eq!(bytes[name.len()], 0, "{name}");
        }
    }

    #[test]
    fn the_table_has_every_command() {
        let options = DIRECTIVES
            .iter()
            .filter(|d| handler(d) == Some(Handler::LocationOption))
            .count();
        assert_eq!(options, 15);
        assert_eq!(count(), 33);
        // `sesame_logout NAME [local];` only.
        let one_or_two: Vec<_> = DIRECTIVES
            .iter()
            .filter(|d| handler(d) == Some(Handler::Location) && takes_one_or_two(d))
            .filter_map(|d| d.nginx)
            .collect();
        assert_eq!(one_or_two, ["sesame_logout"]);
    }
}
