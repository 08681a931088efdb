//! Configuration mistakes: what each is about and a message the server renders in its own
//! directive spelling (see [`crate::directives::registry::render`]).

use std::fmt;

use super::registry::Syntax;

/// What a configuration mistake is about: the adapter renders it in its own syntax and points
/// at the line where it recorded that directive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Subject {
    /// The configuration as a whole (e.g. an internal error).
    #[default]
    Whole,
    /// An http-level directive, by registry key (`secret_file`).
    Global { key: String },
    /// A provider block, or one of its keys.
    Provider { name: String, key: Option<String> },
    /// A location: its `sesame` / `sesame_logout` directive (`key` None) or one of its options.
    Location { key: Option<String> },
}

/// A configuration mistake: what it is about and a message that tells the operator what to
/// change. The message names directives through the registry (see [`crate::directives::registry::
/// name`]), so each server reads them in its own spelling: render with [`ConfigError::render`]
/// (`Display` renders nginx's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub subject: Subject,
    /// Server-neutral text with directive references (rendered by `render`).
    template: String,
}

impl ConfigError {
    /// A mistake about the whole configuration.
    pub fn new(template: impl Into<String>) -> Self {
        ConfigError {
            subject: Subject::Whole,
            template: template.into(),
        }
    }

    /// A mistake about `subject`.
    pub fn about(subject: Subject, template: impl Into<String>) -> Self {
        ConfigError {
            subject,
            template: template.into(),
        }
    }

    /// An http-level directive's mistake.
    pub fn global(key: &str, template: impl Into<String>) -> Self {
        Self::about(
            Subject::Global {
                key: key.to_owned(),
            },
            template,
        )
    }

    /// A provider block's mistake (`key` None: the block as a whole).
    pub fn provider(name: &str, key: Option<&str>, template: impl Into<String>) -> Self {
        Self::about(
            Subject::Provider {
                name: name.to_owned(),
                key: key.map(str::to_owned),
            },
            template,
        )
    }

    /// A location's mistake (`key` None: its `sesame` / `sesame_logout` directive).
    pub fn location(key: Option<&str>, template: impl Into<String>) -> Self {
        Self::about(
            Subject::Location {
                key: key.map(str::to_owned),
            },
            template,
        )
    }

    /// The message in `syntax`: directive names in that server's spelling, a provider's
    /// mistake prefixed with its block.
    pub fn render(&self, syntax: Syntax) -> String {
        let text = crate::directives::registry::render(&self.template, syntax);
        match (&self.subject, syntax) {
            (Subject::Provider { name, .. }, Syntax::Nginx) => {
                format!("sesame_provider \"{name}\": {text}")
            }
            (Subject::Provider { name, .. }, Syntax::Apache) => {
                format!("<SesameProvider {name}>: {text}")
            }
            _ => text,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Syntax::Nginx))
    }
}

impl std::error::Error for ConfigError {}
