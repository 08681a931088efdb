//! Every directive's value parser, reached through the registry as an adapter reaches it.

use crate::directives::registry::{Parser, DIRECTIVES};
use crate::identity::Federation;
use crate::policy::LocationRules;
use crate::{ConfigBuilder, Syntax};

/// Input: a directive's key (`redis`, `scope`, `acr`...; another text picks one by its bytes),
/// `0xFF`, then its value. Parsers
/// that read a file or a directory (`*_file`, `error_pages`) are left out: a fuzzer must not
/// read the machine's files. Never a panic; a refusal renders, on both servers' spelling, as
/// a non-empty message; an accepted value is accepted again by a fresh configuration, and a
/// directive that may not repeat is refused the second time.
pub fn directive_value(data: &[u8]) {
    let f = super::fields(data, 2);
    let directive = DIRECTIVES
        .iter()
        .find(|d| d.key == f[0])
        .unwrap_or_else(|| {
            let pick = f[0].bytes().fold(0usize, |a, b| {
                a.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            &DIRECTIVES[pick % DIRECTIVES.len()]
        });
    let value = &f[1];
    if directive.key.ends_with("_file") || directive.key == "error_pages" {
        return;
    }
    match directive.parser {
        Parser::Global(_) => {
            let once = |b: &mut ConfigBuilder| b.set_global(directive.key, value);
            twice(directive.repeatable, once);
        }
        Parser::ProviderKey(_) => {
            let once = |b: &mut ConfigBuilder| {
                b.add_provider("fc")
                    .or(Ok(()))
                    .and_then(|()| b.set_provider("fc", directive.key, value))
            };
            twice(directive.repeatable, once);
        }
        Parser::LocationOption(_) => {
            for federation in [
                Federation::FranceConnect,
                Federation::ProConnect,
                Federation::Generic,
            ] {
                let options = [(directive.key.to_owned(), value.clone())];
                let first = LocationRules::parse(federation, &options);
                let again = LocationRules::parse(federation, &options);
                assert_eq!(
                    first.is_ok(),
                    again.is_ok(),
                    "{}: not deterministic",
                    directive.key
                );
                if let Err(fault) = first {
                    assert_eq!(fault.key, directive.key);
                    assert!(!fault.message.is_empty());
                }
            }
        }
        Parser::LocationMode | Parser::Adapter => {}
    }
}

/// Sets a value in a fresh builder, then again in the same one.
fn twice(repeatable: bool, set: impl Fn(&mut ConfigBuilder) -> Result<(), crate::ConfigError>) {
    let mut builder = ConfigBuilder::new();
    match set(&mut builder) {
        Ok(()) => {
            assert!(set(&mut ConfigBuilder::new()).is_ok(), "accepted once only");
            if !repeatable {
                assert!(
                    set(&mut builder).is_err(),
                    "a directive that may not repeat was set twice"
                );
            }
        }
        Err(e) => {
            for syntax in [Syntax::Nginx, Syntax::Apache] {
                let text = e.render(syntax);
                assert!(!text.trim().is_empty(), "an empty configuration error");
            }
        }
    }
}
