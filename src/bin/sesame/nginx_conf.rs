//! Reads the Sesame directives out of an nginx configuration (following `include`), and feeds
//! them to the same `ConfigBuilder` the nginx module uses, so `sesame config check` reports the
//! same messages as `nginx -t`.

use std::path::{Path, PathBuf};

use sesame::registry::{self, Parser};
use sesame::{add_location_option, nest_location, OptionArgsError, OwnSetting};
use sesame::{ConfigBuilder, ConfigError, LocationMode, LocationSpec, Sesame, Subject};

/// One directive with its arguments, where it was written, and its block if any.
#[derive(Debug)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub at: String,
    pub block: Option<Vec<Directive>>,
}

#[derive(Debug)]
enum Token {
    Word(String, usize),
    Semi(usize),
    Open(usize),
    Close(usize),
}

fn tokenize(text: &str, file: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                while let Some(&c) = chars.peek() {
                    if c == '\n' {
                        break;
                    }
                    chars.next();
                }
            }
            ';' => {
                tokens.push(Token::Semi(line));
                chars.next();
            }
            '{' => {
                tokens.push(Token::Open(line));
                chars.next();
            }
            '}' => {
                tokens.push(Token::Close(line));
                chars.next();
            }
            '"' | '\'' => {
                let quote = c;
                let start = line;
                chars.next();
                let mut word = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(format!(
                                "unexpected end of file, expecting {quote} in {file}:{start}"
                            ))
                        }
                        Some('\\') => match chars.next() {
                            Some('n') => word.push('\n'),
                            Some('t') => word.push('\t'),
                            Some('r') => word.push('\r'),
                            Some(c) if c == quote || c == '\\' => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => {}
                        },
                        Some(c) if c == quote => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            word.push(c)
                        }
                    }
                }
                tokens.push(Token::Word(word, start));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == ';' || c == '{' || c == '}' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word, line));
            }
        }
    }
    Ok(tokens)
}

/// Parses `path` and the files it includes (relative paths are taken from `prefix`, the
/// directory of the main file, as nginx does).
pub fn parse_file(path: &Path, prefix: &Path) -> Result<Vec<Directive>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read \"{}\": {}", path.display(), io_message(&e)))?;
    let file = path.display().to_string();
    let tokens = tokenize(&text, &file)?;
    let mut pos = 0;
    let list = parse_block(&tokens, &mut pos, &file, prefix, false)?;
    Ok(list)
}

fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

fn parse_block(
    tokens: &[Token],
    pos: &mut usize,
    file: &str,
    prefix: &Path,
    nested: bool,
) -> Result<Vec<Directive>, String> {
    let mut out = Vec::new();
    let mut words: Vec<(String, usize)> = Vec::new();
    while let Some(token) = tokens.get(*pos) {
        *pos += 1;
        match token {
            Token::Word(w, line) => words.push((w.clone(), *line)),
            Token::Semi(line) => {
                let Some(((name, first), rest)) = words.split_first() else {
                    return Err(format!("unexpected \";\" in {file}:{line}"));
                };
                let args: Vec<String> = rest.iter().map(|(w, _)| w.clone()).collect();
                let at = format!("{file}:{first}");
                if name == "include" {
                    for arg in &args {
                        out.extend(include(arg, prefix, &at)?);
                    }
                } else {
                    out.push(Directive {
                        name: name.clone(),
                        args,
                        at,
                        block: None,
                    });
                }
                words.clear();
            }
            Token::Open(line) => {
                let Some(((name, first), rest)) = words.split_first() else {
                    return Err(format!("unexpected \"{{\" in {file}:{line}"));
                };
                let block = parse_block(tokens, pos, file, prefix, true)?;
                out.push(Directive {
                    name: name.clone(),
                    args: rest.iter().map(|(w, _)| w.clone()).collect(),
                    at: format!("{file}:{first}"),
                    block: Some(block),
                });
                words.clear();
            }
            Token::Close(line) => {
                if !nested || !words.is_empty() {
                    return Err(format!("unexpected \"}}\" in {file}:{line}"));
                }
                return Ok(out);
            }
        }
    }
    if nested || !words.is_empty() {
        return Err(format!(
            "unexpected end of file, expecting \"}}\" in {file}"
        ));
    }
    Ok(out)
}

/// `include PATH;` with nginx's `*` globbing in the last path component.
fn include(pattern: &str, prefix: &Path, at: &str) -> Result<Vec<Directive>, String> {
    let full = prefix.join(pattern);
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut files: Vec<PathBuf> = Vec::new();
    if name.contains('*') || name.contains('?') {
        let dir = full.parent().unwrap_or(prefix);
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let fname = entry.file_name().to_string_lossy().into_owned();
                if glob_match(&name, &fname) && entry.path().is_file() {
                    files.push(entry.path());
                }
            }
        }
        files.sort();
    } else {
        if !full.is_file() {
            return Err(format!("open() \"{}\" failed in {at}", full.display()));
        }
        files.push(full);
    }
    let mut out = Vec::new();
    for f in files {
        out.extend(parse_file(&f, prefix)?);
    }
    Ok(out)
}

fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

/// A configuration error with where it was written (" in file:line"), formatted like nginx.
#[derive(Debug)]
pub struct ConfError {
    pub message: String,
    pub at: Option<String>,
}

impl std::fmt::Display for ConfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{} in {at}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// (directive, "file:line") of every http-level directive, provider block and provider key,
/// like the module's origins.
pub type Origins = Vec<(Subject, String)>;
/// Each `sesame` / `sesame_logout` with "file:line".
pub type Locations = Vec<(LocationSpec, String)>;

/// What `load` found.
pub struct Loaded {
    pub sesame: Sesame,
    pub providers: usize,
    pub locations: usize,
}

/// A value as the module passes it: arguments joined by a space, a relative `*_file` path
/// resolved against the configuration directory.
fn value_of(key: &str, args: &[String], prefix: &Path) -> String {
    let value = args.join(" ");
    if key.ends_with("_file") && args.len() == 1 && !value.is_empty() && !value.starts_with('/') {
        return prefix.join(&value).display().to_string();
    }
    value
}

/// Feeds the http block's Sesame directives to `builder`, in the order the module does.
pub fn feed(
    conf: &[Directive],
    prefix: &Path,
    builder: &mut ConfigBuilder,
) -> Result<(Origins, Locations), ConfError> {
    let mut origins = Vec::new();
    let mut locations = Vec::new();
    let Some(http) = conf.iter().find(|d| d.name == "http") else {
        return Err(ConfError {
            message: "no http { } block found".into(),
            at: None,
        });
    };
    let err = |d: &Directive, message: String| ConfError {
        message,
        at: Some(d.at.clone()),
    };
    for d in http.block.as_deref().unwrap_or(&[]) {
        match d.name.as_str() {
            "sesame_thread_pool" => {}
            "sesame_provider" => {
                let name = d.args.first().cloned().unwrap_or_default();
                builder
                    .add_provider(&name)
                    .map_err(|e| err(d, e.to_string()))?;
                origins.push((
                    Subject::Provider {
                        name: name.clone(),
                        key: None,
                    },
                    d.at.clone(),
                ));
                for inner in d.block.as_deref().unwrap_or(&[]) {
                    origins.push((
                        Subject::Provider {
                            name: name.clone(),
                            key: Some(inner.name.clone()),
                        },
                        inner.at.clone(),
                    ));
                    let value = value_of(&inner.name, &inner.args, prefix);
                    builder
                        .set_provider(&name, &inner.name, &value)
                        .map_err(|e| err(inner, e.to_string()))?;
                }
            }
            name if name.starts_with("sesame_") => {
                let key = &name["sesame_".len()..];
                origins.push((
                    Subject::Global {
                        key: key.to_owned(),
                    },
                    d.at.clone(),
                ));
                let value = value_of(key, &d.args, prefix);
                builder
                    .set_global(key, &value)
                    .map_err(|e| err(d, e.to_string()))?;
            }
            _ => collect_locations(d, &mut locations)?,
        }
    }
    Ok((origins, locations))
}

/// The `sesame` / `sesame_logout` locations below `d` with their options, merged into their
/// enclosing location as the module's `merge_loc_conf` does (the core's `nest_location`), so
/// `Sesame::location` then refuses exactly what `nginx -t` refuses.
fn collect_locations(
    d: &Directive,
    out: &mut Vec<(LocationSpec, String)>,
) -> Result<(), ConfError> {
    collect_nested(d, None, out)
}

fn collect_nested(
    d: &Directive,
    parent: Option<&LocationSpec>,
    out: &mut Vec<(LocationSpec, String)>,
) -> Result<(), ConfError> {
    let Some(block) = d.block.as_deref() else {
        return Ok(());
    };
    let err = |d: &Directive, message: String| ConfError {
        message,
        at: Some(d.at.clone()),
    };
    let mut own = OwnSetting::Unset;
    let mut options = Vec::new();
    // Like the module's LocConf.origin: the `sesame NAME` line, else the first option's.
    let mut origin: Option<String> = None;
    for inner in block {
        let Some(directive) = registry::by_nginx_name(&inner.name) else {
            continue;
        };
        let name = &inner.name;
        match directive.parser {
            Parser::LocationMode => {
                if !matches!(own, OwnSetting::Unset) {
                    return Err(err(
                        inner,
                        format!("\"{name}\" is duplicate: a location takes one of \"sesame\" or \"sesame_logout\""),
                    ));
                }
                own = location_mode(inner)?;
                // The module records no line for `sesame off;`.
                if matches!(own, OwnSetting::On(_)) {
                    origin = Some(inner.at.clone());
                }
            }
            Parser::LocationOption(_) => {
                let args: Vec<&str> = inner.args.iter().map(String::as_str).collect();
                add_location_option(&mut options, directive, &args).map_err(|e| {
                    err(
                        inner,
                        match e {
                            OptionArgsError::NotOneValue => {
                                format!("\"{name}\" takes exactly one value")
                            }
                            OptionArgsError::Duplicate => format!("\"{name}\" is duplicate"),
                            OptionArgsError::WrongCount => {
                                format!("invalid number of arguments in \"{name}\" directive")
                            }
                        },
                    )
                })?;
                origin.get_or_insert_with(|| inner.at.clone());
            }
            _ => {}
        }
    }
    let at = origin.unwrap_or_else(|| d.at.clone());
    let off = matches!(own, OwnSetting::Off);
    let merged = nest_location(own, options, parent).map_err(|without| ConfError {
        message: format!(
            "\"{}\" needs \"sesame PROVIDER;\" in this location or an enclosing one",
            registry::nginx_spelling(registry::Scope::Location, &without.key)
        ),
        at: Some(at.clone()),
    })?;
    let effective = match (&merged, off) {
        (Some(spec), _) => {
            out.push((spec.clone(), at));
            Some(spec)
        }
        (None, true) => None,
        (None, false) => parent,
    };
    for inner in block {
        if inner.block.is_some() {
            collect_nested(inner, effective, out)?;
        }
    }
    Ok(())
}

/// `sesame NAME|off;` or `sesame_logout NAME [local];`.
fn location_mode(d: &Directive) -> Result<OwnSetting, ConfError> {
    let mode = match (d.name.as_str(), d.args.as_slice()) {
        ("sesame", [off]) if off == "off" => return Ok(OwnSetting::Off),
        ("sesame", [_]) => LocationMode::Protect,
        ("sesame_logout", [_]) => LocationMode::Logout,
        ("sesame_logout", [_, local]) if local == "local" => LocationMode::LogoutLocal,
        _ => {
            return Err(ConfError {
                message: format!(
                    "invalid \"{}\" arguments: write \"sesame PROVIDER;\", \"sesame off;\" or \"sesame_logout PROVIDER [local];\"",
                    d.name
                ),
                at: Some(d.at.clone()),
            })
        }
    };
    Ok(OwnSetting::On(LocationSpec {
        mode,
        provider: d.args[0].clone(),
        options: Vec::new(),
    }))
}

/// Parses `path`, builds the core exactly like the module (`init_main_conf` then each location),
/// and reports the first error the way `nginx -t` does.
pub fn load(path: &Path) -> Result<Loaded, ConfError> {
    let (mut builder, origins, locations) = read(path)?;
    // A check writes no audit line: sesame_audit_log is nginx's to open (under its prefix, as
    // root), not this command's.
    builder.set_audit_writer(Box::new(|line: &[u8]| Ok(line.len())));
    let sesame = builder.build().map_err(|e| ConfError {
        at: position_of(&origins, &e),
        message: e.to_string(),
    })?;
    for (spec, at) in &locations {
        sesame.location(spec).map_err(|e| ConfError {
            message: e.to_string(),
            at: Some(at.clone()),
        })?;
    }
    Ok(Loaded {
        providers: origins
            .iter()
            .filter(|(d, _)| matches!(d, Subject::Provider { key: None, .. }))
            .count(),
        locations: locations.len(),
        sesame,
    })
}

/// Where the directive an error is about was written, as the module's `position_of` finds it.
fn position_of(origins: &Origins, err: &ConfigError) -> Option<String> {
    let recorded = |wanted: &Subject| {
        origins
            .iter()
            .find(|(directive, _)| directive == wanted)
            .map(|(_, at)| at.clone())
    };
    match &err.subject {
        Subject::Provider { name, key: Some(_) } => recorded(&err.subject).or_else(|| {
            recorded(&Subject::Provider {
                name: name.clone(),
                key: None,
            })
        }),
        Subject::Global { .. } | Subject::Provider { .. } => recorded(&err.subject),
        Subject::Whole | Subject::Location { .. } => None,
    }
}

/// The builder fed from `path` (not built yet), with where each directive was written.
pub fn read(path: &Path) -> Result<(ConfigBuilder, Origins, Locations), ConfError> {
    let (conf, prefix) = parse_main(path)?;
    let mut builder = ConfigBuilder::new();
    let (origins, locations) = feed(&conf, &prefix, &mut builder)?;
    Ok((builder, origins, locations))
}

/// The directives of `path` and its includes, and the directory relative paths start from.
fn parse_main(path: &Path) -> Result<(Vec<Directive>, PathBuf), ConfError> {
    let path = std::path::absolute(path).map_err(|e| ConfError {
        message: format!("cannot resolve \"{}\": {e}", path.display()),
        at: None,
    })?;
    let prefix = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let conf = parse_file(&path, &prefix).map_err(|message| ConfError { message, at: None })?;
    Ok((conf, prefix))
}

/// Every `server_name` of the http block's servers (for `sesame doctor`'s redirect_uri check);
/// `_` and regular expressions (`~...`) are left out.
pub fn server_names(path: &Path) -> Result<Vec<String>, ConfError> {
    let (conf, _) = parse_main(path)?;
    let mut names = Vec::new();
    let servers = conf
        .iter()
        .filter(|d| d.name == "http")
        .flat_map(|http| http.block.as_deref().unwrap_or(&[]))
        .filter(|d| d.name == "server");
    for server in servers {
        for d in server.block.as_deref().unwrap_or(&[]) {
            if d.name == "server_name" {
                names.extend(
                    d.args
                        .iter()
                        .filter(|n| !n.is_empty() && *n != "_" && !n.starts_with('~'))
                        .cloned(),
                );
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_handles_quotes_comments_and_blocks() {
        let conf = "http { # comment\n  sesame_redis \"redis://a b\";\n  server { location / { sesame fc; } }\n}\n";
        let tokens = tokenize(conf, "t").unwrap();
        let mut pos = 0;
        let tree = parse_block(&tokens, &mut pos, "t", Path::new("/"), false).unwrap();
        let http = &tree[0];
        assert_eq!(http.name, "http");
        let inner = http.block.as_ref().unwrap();
        assert_eq!(inner[0].name, "sesame_redis");
        assert_eq!(inner[0].args, vec!["redis://a b".to_string()]);
        assert_eq!(inner[0].at, "t:2");
        let mut locs = Vec::new();
        collect_locations(&inner[1], &mut locs).unwrap();
        assert_eq!(locs.len(), 1);
        assert_eq!(locs[0].0.provider, "fc");
        assert_eq!(locs[0].1, "t:3");
    }

    #[test]
    fn unbalanced_braces_are_reported() {
        let tokens = tokenize("http {", "t").unwrap();
        let mut pos = 0;
        assert!(parse_block(&tokens, &mut pos, "t", Path::new("/"), false).is_err());
        let tokens = tokenize("}", "t").unwrap();
        let mut pos = 0;
        assert!(parse_block(&tokens, &mut pos, "t", Path::new("/"), false).is_err());
    }

    #[test]
    fn include_globs_match_like_nginx() {
        assert!(glob_match("*.conf", "site.conf"));
        assert!(!glob_match("*.conf", "site.conf.bak"));
        assert!(glob_match("s?te.conf", "site.conf"));
    }
}
