//! Reads the Sesame directives out of an Apache configuration (following Include, evaluating
//! `<IfModule>` / `<IfDefine>`, one server per `<VirtualHost>`, one directory configuration
//! per `<Location>` / `<Directory>` / `<Files>` / `<If>` section), and checks them as
//! apache/sesame_config.c does with the module loaded, in the same order: each directive's
//! value at once, then each server's core and the sections' provider and options. Errors read
//! as `apache2 -t` prints them: `AH00526: Syntax error on line N of FILE:` then the message,
//! or `mod_sesame: MESSAGE` then `AH00014: Configuration check failed`.

mod read;

use std::path::{Path, PathBuf};

use sesame::registry::{self, Parser, Scope};
use sesame::{ConfigBuilder, ConfigError, LocationMode, LocationSpec, Sesame, Subject, Syntax};

pub use read::SyntaxError;
use read::{split_words, Node, Reader};

/// Debian's compiled-in ServerRoot (`apache2 -V`: HTTPD_ROOT).
pub const DEFAULT_SERVER_ROOT: &str = "/etc/apache2";

/// How `apache2 -t` would refuse the configuration.
#[derive(Debug)]
pub enum ApacheError {
    /// While reading a directive: `AH00526: Syntax error on line N of FILE:` + message.
    Syntax(SyntaxError),
    /// In the module's check_config hook: `mod_sesame: ` + message.
    Check(String),
}

impl ApacheError {
    /// The lines `apache2 -t` prints for it.
    pub fn lines(&self) -> Vec<String> {
        match self {
            // The main file itself cannot be read: said without a line.
            ApacheError::Syntax(e) if e.line == 0 => vec![format!("apache2: {}", e.message)],
            ApacheError::Syntax(e) if e.reading => vec![format!(
                "apache2: Syntax error on line {} of {}: {}",
                e.line, e.file, e.message
            )],
            ApacheError::Syntax(e) => vec![
                format!("AH00526: Syntax error on line {} of {}:", e.line, e.file),
                e.message.clone(),
            ],
            ApacheError::Check(message) => vec![
                format!("mod_sesame: {message}"),
                "AH00014: Configuration check failed".to_owned(),
            ],
        }
    }
}

/// A (core key, value, "file:line") as the module keeps it.
#[derive(Debug, Clone)]
struct Kv {
    key: String,
    value: String,
    origin: String,
}

#[derive(Debug, Clone)]
struct ProviderDef {
    name: String,
    origin: String,
    keys: Vec<Kv>,
}

/// A server (the main one or a `<VirtualHost>`): its own Sesame settings.
#[derive(Debug, Default)]
struct Server {
    is_virtual: bool,
    /// It wrote a Sesame global or provider itself.
    own: bool,
    globals: Vec<Kv>,
    providers: Vec<ProviderDef>,
    /// ServerName and ServerAlias.
    names: Vec<String>,
    /// Where its `<VirtualHost>` section starts ("file:line").
    defined_at: String,
}

/// One directory configuration (a `<Location>`, `<Directory>`... section).
#[derive(Debug, Default)]
struct Section {
    server: usize,
    use_provider: Option<String>,
    logout: Option<(String, LocationMode)>,
    opts: Vec<Kv>,
}

/// Where a directive is read.
#[derive(Clone)]
struct Context {
    server: usize,
    /// The directory section, None at server level.
    section: Option<usize>,
    /// Inside `<Limit>` / `<LimitExcept>`.
    limited: bool,
    /// The enclosing section as written (`<Location`), None at the top of the files.
    parent: Option<String>,
}

/// What one server builds.
pub struct Built {
    pub sesame: Sesame,
    pub label: String,
    /// As the module names it in its warnings: "the main server" or "NAME (file:line)".
    server_label: String,
    /// The server wrote Sesame settings of its own (else it shares the main server's core).
    own: bool,
    /// The same settings, not built yet (for `sesame doctor`).
    pub builder: ConfigBuilder,
    pub names: Vec<String>,
}

/// What `load` found.
pub struct Loaded {
    pub servers: Vec<Built>,
    /// The warnings `apache2 -t` prints (`mod_sesame: ...`), the configuration being valid.
    pub warnings: Vec<String>,
    pub providers: usize,
    pub sections: usize,
    /// Every file read, in order (what `apache2ctl -t -D DUMP_INCLUDES` lists).
    pub files: Vec<PathBuf>,
}

struct Checker {
    servers: Vec<Server>,
    sections: Vec<Section>,
    /// (server, provider, "file:line") of each SesameUse / SesameLogout.
    use_refs: Vec<(usize, String, String)>,
    /// Sections with options, in the order their first option was read.
    opt_refs: Vec<usize>,
    sesame_loaded: bool,
}

/// Section kinds that open a directory configuration (Apache's dirsection, filesection,
/// `<If>` and `<Proxy>`), lower-case.
const DIR_SECTIONS: &[&str] = &[
    "<location",
    "<locationmatch",
    "<directory",
    "<directorymatch",
    "<files",
    "<filesmatch",
    "<if",
    "<elseif",
    "<else",
    "<proxy",
    "<proxymatch",
];

fn syntax(node: &Node, message: String) -> ApacheError {
    ApacheError::Syntax(SyntaxError {
        file: node.file.clone(),
        line: node.line,
        message,
        reading: false,
    })
}

/// Apache's refusal of a directive its section does not allow: the enclosing section as
/// written (`not allowed in <Location> context`), or `not allowed here` at server level.
fn not_allowed(node: &Node, name: &str, ctx: &Context) -> ApacheError {
    match &ctx.parent {
        Some(parent) => syntax(node, format!("{name} not allowed in {parent}> context")),
        None => syntax(node, format!("{name} not allowed here")),
    }
}

fn origin(node: &Node) -> String {
    format!("{}:{}", node.file, node.line)
}

fn render(e: &ConfigError) -> String {
    e.render(Syntax::Apache)
}

impl Checker {
    fn walk(&mut self, nodes: &[Node], ctx: &Context) -> Result<(), ApacheError> {
        for node in nodes {
            let lower = node.name.to_ascii_lowercase();
            if let Some(children) = &node.children {
                let parent = Some(node.name.clone());
                if lower == "<virtualhost" {
                    self.servers.push(Server {
                        is_virtual: true,
                        defined_at: origin(node),
                        ..Server::default()
                    });
                    let inner = Context {
                        server: self.servers.len() - 1,
                        section: None,
                        limited: false,
                        parent,
                    };
                    self.walk(children, &inner)?;
                } else if lower == "<sesameprovider" && self.sesame_loaded {
                    self.provider_section(node, ctx)?;
                } else if DIR_SECTIONS.contains(&lower.as_str()) {
                    self.sections.push(Section {
                        server: ctx.server,
                        ..Section::default()
                    });
                    let inner = Context {
                        section: Some(self.sections.len() - 1),
                        parent,
                        ..ctx.clone()
                    };
                    self.walk(children, &inner)?;
                } else if lower == "<limit" || lower == "<limitexcept" {
                    let inner = Context {
                        limited: true,
                        parent,
                        ..ctx.clone()
                    };
                    self.walk(children, &inner)?;
                } else if lower.starts_with("<sesame") {
                    return Err(syntax(node, invalid_command(&node.name)));
                } else {
                    // <IfVersion>, <Macro>...: read as if their condition held.
                    let inner = Context {
                        parent,
                        ..ctx.clone()
                    };
                    self.walk(children, &inner)?;
                }
                continue;
            }
            if lower == "servername" || lower == "serveralias" {
                self.servers[ctx.server]
                    .names
                    .extend(split_words(&node.args));
                continue;
            }
            if lower.starts_with("sesame") {
                self.directive(node, ctx)?;
            }
        }
        Ok(())
    }

    /// A Sesame directive outside `<SesameProvider>`.
    fn directive(&mut self, node: &Node, ctx: &Context) -> Result<(), ApacheError> {
        let known = registry::in_scope(Scope::Http)
            .chain(registry::in_scope(Scope::Location))
            .find(|d| d.apache.is_some_and(|a| a.eq_ignore_ascii_case(&node.name)));
        let Some(directive) = known.filter(|_| self.sesame_loaded) else {
            return Err(syntax(node, invalid_command(&node.name)));
        };
        let name = directive.apache.unwrap_or(directive.key);
        let args = split_words(&node.args);
        let in_dir = ctx.section.is_some();
        match directive.parser {
            Parser::Global(_) => {
                // RSRC_CONF: not in a directory section; NOT_IN_DIR_CONTEXT: not in <Limit>.
                if in_dir {
                    return Err(not_allowed(node, name, ctx));
                }
                if ctx.limited {
                    return Err(syntax(
                        node,
                        format!("{name} cannot occur within <Limit> or <LimitExcept> section"),
                    ));
                }
                let value = args.join(" ");
                let server = &mut self.servers[ctx.server];
                if server.globals.iter().any(|kv| kv.key == directive.key) {
                    return Err(syntax(
                        node,
                        format!("{name} is duplicate (write it once per server)"),
                    ));
                }
                let mut scratch = ConfigBuilder::new();
                scratch
                    .set_global(directive.key, &value)
                    .map_err(|e| syntax(node, render(&e)))?;
                server.globals.push(Kv {
                    key: directive.key.to_owned(),
                    value,
                    origin: origin(node),
                });
                server.own = true;
                Ok(())
            }
            _ => self.location_directive(node, ctx, directive, name, &args),
        }
    }

    /// SesameUse, SesameLogout, SesamePassHeaders, SesameVariables and the location options
    /// (OR_AUTHCFG: directory sections only; SesamePassAccessToken: ACCESS_CONF).
    fn location_directive(
        &mut self,
        node: &Node,
        ctx: &Context,
        directive: &registry::Directive,
        name: &str,
        args: &[String],
    ) -> Result<(), ApacheError> {
        let Some(section) = ctx.section else {
            return Err(not_allowed(node, name, ctx));
        };
        let doc = directive.doc;
        match directive.key {
            "protect" => {
                let [provider] = args else {
                    return Err(syntax(node, format!("{name} takes one argument, {doc}")));
                };
                self.sections[section].use_provider = Some(provider.clone());
                self.use_refs
                    .push((ctx.server, provider.clone(), origin(node)));
                Ok(())
            }
            "logout" => {
                let (provider, mode) = match args {
                    [p] => (p, LocationMode::Logout),
                    [p, local] if local.eq_ignore_ascii_case("local") => {
                        (p, LocationMode::LogoutLocal)
                    }
                    [p, other] => {
                        return Err(syntax(
                            node,
                            format!(
                                "SesameLogout {p} {other}: the second word can only be \"local\""
                            ),
                        ))
                    }
                    _ => {
                        return Err(syntax(
                            node,
                            format!(
                                "{name} takes 1-2 arguments, NAME [local]: what SetHandler sesame-logout ends"
                            ),
                        ))
                    }
                };
                self.sections[section].logout = Some((provider.clone(), mode));
                self.use_refs
                    .push((ctx.server, provider.clone(), origin(node)));
                Ok(())
            }
            "pass_headers" => match args {
                [v] if v.eq_ignore_ascii_case("on") || v.eq_ignore_ascii_case("off") => Ok(()),
                _ => Err(syntax(node, format!("{name} must be On or Off"))),
            },
            "variables" => match args {
                [v] if v.eq_ignore_ascii_case("sesame")
                    || v.eq_ignore_ascii_case("mod_auth_openidc") =>
                {
                    Ok(())
                }
                [v] => Err(syntax(
                    node,
                    format!("SesameVariables \"{v}\": write sesame (SESAME_CLAIM_*) or mod_auth_openidc (OIDC_CLAIM_*, REMOTE_USER sub@issuer)"),
                )),
                _ => Err(syntax(node, format!("{name} takes one argument, {doc}"))),
            },
            key => self.option(node, section, key, name, args),
        }
    }

    /// `sesame_set_option`: the arity the module checks, duplicates, then kept for the check.
    fn option(
        &mut self,
        node: &Node,
        section: usize,
        key: &str,
        name: &str,
        args: &[String],
    ) -> Result<(), ApacheError> {
        let two_or_more = matches!(key, "require" | "login_page_offer" | "login_page_own_login");
        let single = key != "acr" && !two_or_more;
        if args.is_empty() || (single && args.len() != 1) {
            let want = if single {
                "exactly one value"
            } else {
                "at least one value"
            };
            return Err(syntax(node, format!("{name} takes {want}")));
        }
        if two_or_more && key != "require" && args.len() < 2 {
            let want = if key == "login_page_offer" {
                "a provider then the path of a location it protects, e.g. SesameLoginPageOffer pc /agents/"
            } else {
                "a URL then its text, e.g. SesameLoginPageOwnLogin /compte/ \"Se connecter avec un identifiant\""
            };
            return Err(syntax(node, format!("{name} takes {want}")));
        }
        if key == "require" && args.len() < 2 {
            return Err(syntax(
                node,
                format!("{name} takes a claim name then its accepted values, e.g. {name} siret 21750001600019"),
            ));
        }
        let sec = &mut self.sections[section];
        if sec.opts.is_empty() {
            self.opt_refs.push(section);
        }
        if key != "require" && sec.opts.iter().any(|kv| kv.key == key) {
            return Err(syntax(
                node,
                format!("{name} is duplicate in this section (write it once)"),
            ));
        }
        sec.opts.push(Kv {
            key: key.to_owned(),
            value: args.join(" "),
            origin: format!("{name} at {}", origin(node)),
        });
        Ok(())
    }

    /// `<SesameProvider NAME>`: each inner line a provider key, checked at once.
    fn provider_section(&mut self, node: &Node, ctx: &Context) -> Result<(), ApacheError> {
        if ctx.section.is_some() {
            return Err(not_allowed(node, "<SesameProvider", ctx));
        }
        if ctx.limited {
            return Err(syntax(
                node,
                "<SesameProvider> cannot occur within <Limit> or <LimitExcept> section".to_owned(),
            ));
        }
        let names = split_words(&node.args);
        let [name] = names.as_slice() else {
            return Err(syntax(
                node,
                "<SesameProvider NAME> takes exactly one name, e.g. <SesameProvider fc>".to_owned(),
            ));
        };
        let server = &mut self.servers[ctx.server];
        if server.providers.iter().any(|p| &p.name == name) {
            return Err(syntax(node, format!("<SesameProvider {name}> is duplicate (each <SesameProvider> section needs its own name)")));
        }
        let mut scratch = ConfigBuilder::new();
        scratch
            .add_provider(name)
            .map_err(|e| syntax(node, render(&e)))?;
        let mut def = ProviderDef {
            name: name.clone(),
            origin: origin(node),
            keys: Vec::new(),
        };
        for inner in node.children.as_deref().unwrap_or(&[]) {
            let key = registry::provider_keys()
                .find(|d| {
                    d.apache
                        .is_some_and(|a| a.eq_ignore_ascii_case(&inner.name))
                })
                .map(|d| d.key.to_owned())
                .unwrap_or_else(|| inner.name.to_ascii_lowercase());
            let value = split_words(&inner.args)
                .into_iter()
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            scratch.set_provider(name, &key, &value).map_err(|e| {
                syntax(
                    node,
                    format!(
                        "{} ({}, line {} of {})",
                        render(&e),
                        inner.name,
                        inner.line,
                        inner.file
                    ),
                )
            })?;
            def.keys.push(Kv {
                key,
                value,
                origin: origin(inner),
            });
        }
        server.providers.push(def);
        server.own = true;
        Ok(())
    }

    /// A virtual host's settings: the main server's, each replaced by the one of the same key
    /// (globals) or name (providers) the host writes (`sesame_merge_srv`).
    fn merged(&self, index: usize) -> (Vec<Kv>, Vec<ProviderDef>) {
        let add = &self.servers[index];
        if !add.is_virtual {
            return (add.globals.clone(), add.providers.clone());
        }
        let base = &self.servers[0];
        let mut globals: Vec<Kv> = base
            .globals
            .iter()
            .filter(|kv| !add.globals.iter().any(|a| a.key == kv.key))
            .cloned()
            .collect();
        globals.extend(add.globals.iter().cloned());
        let mut providers: Vec<ProviderDef> = base
            .providers
            .iter()
            .filter(|d| !add.providers.iter().any(|a| a.name == d.name))
            .cloned()
            .collect();
        providers.extend(add.providers.iter().cloned());
        (globals, providers)
    }
}

/// `warn_shared_secrets`: two servers with cores of their own built from one secret share a
/// Redis namespace and keys.
fn shared_secrets(built: &[Built]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in built.iter().enumerate() {
        if !a.own {
            continue;
        }
        for b in built.iter().skip(i + 1) {
            if !b.own || !a.sesame.shares_secret_with(&b.sesame) {
                continue;
            }
            out.push(format!(
                "mod_sesame: {} and virtual host {} use the same secret (SesameSecretFile): they share one Redis namespace and one set of keys, so a session of one opens the other whenever their providers have the same issuer and ClientID; give each virtual host its own SesameSecretFile (openssl rand -hex 32 > FILE)",
                a.server_label, b.server_label
            ));
        }
    }
    out
}

fn invalid_command(name: &str) -> String {
    format!("Invalid command '{name}', perhaps misspelled or defined by a module not included in the server configuration")
}

/// The builder of one server's settings, in the module's order (`build_core`), or its error
/// with " (at file:line)".
fn builder_of(globals: &[Kv], providers: &[ProviderDef]) -> Result<ConfigBuilder, String> {
    let mut b = ConfigBuilder::new();
    b.set_syntax(Syntax::Apache);
    for kv in globals {
        b.set_global(&kv.key, &kv.value)
            .map_err(|e| format!("{} (at {})", render(&e), kv.origin))?;
    }
    for d in providers {
        b.add_provider(&d.name)
            .map_err(|e| format!("{} (at {})", render(&e), d.origin))?;
        for kv in &d.keys {
            b.set_provider(&d.name, &kv.key, &kv.value)
                .map_err(|e| format!("{} (at {})", render(&e), kv.origin))?;
        }
    }
    Ok(b)
}

/// `build_error_origin`: the provider key, else its section, else the server directive; a
/// directive nobody wrote points at the first provider section.
fn build_error_origin(e: &ConfigError, globals: &[Kv], providers: &[ProviderDef]) -> String {
    if let Subject::Provider { name, key } = &e.subject {
        if let Some(d) = providers.iter().find(|d| &d.name == name) {
            if let Some(kv) = key
                .as_ref()
                .and_then(|k| d.keys.iter().find(|kv| &kv.key == k))
            {
                return format!(" (at {})", kv.origin);
            }
            return format!(" (<SesameProvider {}> at {})", d.name, d.origin);
        }
    }
    if let Subject::Global { key } = &e.subject {
        if let Some(kv) = globals.iter().find(|kv| &kv.key == key) {
            return format!(" (at {})", kv.origin);
        }
    }
    match providers.first() {
        Some(d) => format!(" (for <SesameProvider {}> at {})", d.name, d.origin),
        None => String::new(),
    }
}

/// `option_origin`: the option the error is about, else every option's place.
fn option_origin(e: &ConfigError, opts: &[Kv]) -> String {
    if let Subject::Location { key: Some(key) } = &e.subject {
        if let Some(kv) = opts.iter().find(|kv| &kv.key == key) {
            return format!(" ({})", kv.origin);
        }
    }
    let all: Vec<&str> = opts.iter().map(|kv| kv.origin.as_str()).collect();
    format!(" ({})", all.join(", "))
}

/// Reads `path` as apache2 does (`server_root` unless the file sets ServerRoot; `defines`
/// as `-D NAME`), then checks the Sesame part as the module does.
pub fn load(path: &Path, server_root: &Path, defines: &[String]) -> Result<Loaded, ApacheError> {
    let path = std::path::absolute(path)
        .map_err(|e| ApacheError::Check(format!("cannot resolve \"{}\": {e}", path.display())))?;
    let mut reader = Reader::new(server_root.to_path_buf(), defines);
    let tree = reader.read_file(&path).map_err(ApacheError::Syntax)?;
    let mut checker = Checker {
        servers: vec![Server::default()],
        sections: Vec::new(),
        use_refs: Vec::new(),
        opt_refs: Vec::new(),
        sesame_loaded: reader.module_loaded("sesame_module"),
    };
    checker.walk(
        &tree,
        &Context {
            server: 0,
            section: None,
            limited: false,
            parent: None,
        },
    )?;
    check(&checker, reader.files)
}

/// The module's check_config hook: each server's core, then every SesameUse / SesameLogout,
/// then the sections that name their provider and options together.
fn check(checker: &Checker, files: Vec<PathBuf>) -> Result<Loaded, ApacheError> {
    let count = checker.servers.len();
    // Apache links each virtual host in front of the previous ones, after the main server.
    let order = std::iter::once(0).chain((1..count).rev());
    let mut cores: Vec<Option<usize>> = vec![None; count];
    let mut built: Vec<Built> = Vec::new();
    for s in order {
        let server = &checker.servers[s];
        let used = checker.use_refs.iter().any(|(at, _, _)| *at == s);
        if s != 0 && !server.own {
            cores[s] = cores[0];
            if !used || cores[s].is_some() {
                continue;
            }
        }
        if !server.own && !used && s == 0 {
            continue;
        }
        let (globals, providers) = checker.merged(s);
        let mut builder = builder_of(&globals, &providers).map_err(ApacheError::Check)?;
        // A check writes no audit line: SesameAuditLog is Apache's parent's to open, as root.
        builder.set_audit_writer(Box::new(|line: &[u8]| Ok(line.len())));
        let sesame = builder.build().map_err(|e| {
            ApacheError::Check(format!(
                "{}{}",
                render(&e),
                build_error_origin(&e, &globals, &providers)
            ))
        })?;
        let again = builder_of(&globals, &providers).map_err(ApacheError::Check)?;
        cores[s] = Some(built.len());
        built.push(Built {
            sesame,
            label: if server.is_virtual {
                format!(
                    "virtual host {}",
                    server.names.first().map_or("(no name)", String::as_str)
                )
            } else {
                "the main server".to_owned()
            },
            builder: again,
            server_label: if server.is_virtual {
                format!(
                    "{} ({})",
                    server.names.first().map_or("(no name)", String::as_str),
                    server.defined_at
                )
            } else {
                "the main server".to_owned()
            },
            own: server.own || s == 0,
            names: if server.is_virtual {
                server.names.clone()
            } else {
                checker.servers[0].names.clone()
            },
        });
    }
    let warnings = shared_secrets(&built);
    for (s, provider, at) in &checker.use_refs {
        let Some(core) = cores[*s].map(|i| &built[i].sesame) else {
            return Err(ApacheError::Check(format!(
                "no Sesame configuration for this server (at {at})"
            )));
        };
        let spec = LocationSpec {
            mode: LocationMode::Protect,
            provider: provider.clone(),
            options: Vec::new(),
        };
        if let Err(e) = core.location(&spec) {
            return Err(ApacheError::Check(format!("{} (at {at})", render(&e))));
        }
    }
    for &index in &checker.opt_refs {
        let section = &checker.sections[index];
        let Some(core) = cores[section.server].map(|i| &built[i].sesame) else {
            continue;
        };
        let (mode, provider) = match (&section.use_provider, &section.logout) {
            (Some(p), _) => (LocationMode::Protect, p.clone()),
            (None, Some((p, mode))) => (mode.clone(), p.clone()),
            (None, None) => continue,
        };
        let spec = LocationSpec {
            mode,
            provider,
            options: section
                .opts
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect(),
        };
        if let Err(e) = core.location(&spec) {
            return Err(ApacheError::Check(format!(
                "{}{}",
                render(&e),
                option_origin(&e, &section.opts)
            )));
        }
    }
    Ok(Loaded {
        warnings,
        providers: checker.servers.iter().map(|s| s.providers.len()).sum(),
        sections: checker
            .sections
            .iter()
            .filter(|s| s.use_provider.is_some() || s.logout.is_some())
            .count(),
        servers: built,
        files,
    })
}
