//! Reading httpd.conf as Apache does before any module sees it: lines (comments, `\`
//! continuations), `<Section>` nesting, `${VAR}` from `Define` and the environment, and what
//! Apache executes while reading: `ServerRoot`, `Define` / `UnDefine`, `LoadModule`,
//! `Include` / `IncludeOptional` (wildcards in any path component, relative to ServerRoot, as
//! `apache2ctl -t -D DUMP_INCLUDES` lists them), `<IfModule>`, `<IfDefine>`, `<IfFile>`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A directive or a section as Apache's tree holds it.
#[derive(Debug, Clone)]
pub struct Node {
    /// As written: `SesameRedis`, `<Location` (sections keep their `<`).
    pub name: String,
    /// The rest of the line (a section's without its closing `>`).
    pub args: String,
    pub file: String,
    pub line: usize,
    /// A section's content; None for a directive.
    pub children: Option<Vec<Node>>,
}

impl Node {
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A mistake Apache reports as `Syntax error on line N of FILE:` then the message.
#[derive(Debug)]
pub struct SyntaxError {
    pub file: String,
    pub line: usize,
    pub message: String,
    /// Found while reading the files (sections, includes), before any directive ran: Apache
    /// prints it on one line, `apache2: Syntax error on line N of FILE: MESSAGE`.
    pub reading: bool,
}

impl SyntaxError {
    fn reading(file: &str, line: usize, message: String) -> SyntaxError {
        SyntaxError {
            file: file.to_owned(),
            line,
            message,
            reading: true,
        }
    }
}

/// Modules compiled into Debian's apache2 (`apache2 -l`): `<IfModule>` sees them without a
/// LoadModule line.
const STATIC_MODULES: &[(&str, &str)] = &[
    ("core_module", "core.c"),
    ("so_module", "mod_so.c"),
    ("watchdog_module", "mod_watchdog.c"),
    ("http_module", "http_core.c"),
    ("log_config_module", "mod_log_config.c"),
    ("logio_module", "mod_logio.c"),
    ("version_module", "mod_version.c"),
    ("unixd_module", "mod_unixd.c"),
];

/// What reading has learnt so far (Apache learns it in the same order).
pub struct Reader {
    pub server_root: PathBuf,
    defines: BTreeMap<String, String>,
    /// Module names and source file names (`ssl_module`, `mod_ssl.c`) loaded or built in.
    modules: BTreeSet<String>,
    /// Every configuration file read, in order (DUMP_INCLUDES).
    pub files: Vec<PathBuf>,
    depth: usize,
}

/// Apache's limit on nested includes (AP_MAX_INCLUDE_DEPTH).
const MAX_INCLUDE_DEPTH: usize = 128;

impl Reader {
    pub fn new(server_root: PathBuf, defines: &[String]) -> Reader {
        let mut modules = BTreeSet::new();
        for (name, file) in STATIC_MODULES {
            modules.insert((*name).to_owned());
            modules.insert((*file).to_owned());
        }
        Reader {
            server_root,
            defines: defines.iter().map(|d| (d.clone(), String::new())).collect(),
            modules,
            files: Vec::new(),
            depth: 0,
        }
    }

    pub fn module_loaded(&self, name: &str) -> bool {
        self.modules.contains(name)
    }

    fn relative(&self, path: &str) -> PathBuf {
        if path.starts_with('/') {
            PathBuf::from(path)
        } else {
            self.server_root.join(path)
        }
    }

    /// The tree of `path` with its includes and conditions already applied.
    pub fn read_file(&mut self, path: &Path) -> Result<Vec<Node>, SyntaxError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SyntaxError::reading(
                &path.display().to_string(),
                0,
                format!(
                    "Could not open configuration file {}: {}",
                    path.display(),
                    io_message(&e)
                ),
            )
        })?;
        self.files.push(path.to_path_buf());
        let file = path.display().to_string();
        let lines = logical_lines(&text);
        let mut pos = 0;
        self.nodes(&lines, &mut pos, &file, None)
    }

    /// Nodes until the end of the file or the `</name>` closing `open`.
    fn nodes(
        &mut self,
        lines: &[(usize, String)],
        pos: &mut usize,
        file: &str,
        open: Option<(&str, usize)>,
    ) -> Result<Vec<Node>, SyntaxError> {
        let mut out = Vec::new();
        while let Some((line, raw)) = lines.get(*pos) {
            *pos += 1;
            let text = self.substitute(raw);
            let err = |message: String| SyntaxError::reading(file, *line, message);
            if let Some(closing) = text.strip_prefix("</") {
                let closing = closing.trim_end_matches('>').trim();
                let Some((name, _)) = open else {
                    return Err(err(format!(
                        "</{closing}> without matching <{closing}> section"
                    )));
                };
                let name = &name[1..];
                if !closing.eq_ignore_ascii_case(name) {
                    return Err(err(format!("Expected </{name}> but saw </{closing}>")));
                }
                return Ok(out);
            }
            let mut rest = text.as_str();
            let mut name = getword_conf(&mut rest);
            if let Some(section) = name.strip_prefix('<') {
                // `<Else>`: no argument, the `>` ends the name itself.
                let args = match (section.strip_suffix('>'), rest.rfind('>')) {
                    (Some(bare), _) if rest.is_empty() => {
                        name = format!("<{bare}");
                        String::new()
                    }
                    (_, Some(end)) => rest[..end].trim().to_owned(),
                    (_, None) => {
                        return Err(err(format!("<{section}> directive missing closing '>'")))
                    }
                };
                let children = self.nodes(lines, pos, file, Some((&name, *line)))?;
                let node = Node {
                    name: name.clone(),
                    args,
                    file: file.to_owned(),
                    line: *line,
                    children: Some(children),
                };
                out.extend(self.on_read_section(node)?);
                continue;
            }
            let node = Node {
                name,
                args: rest.to_owned(),
                file: file.to_owned(),
                line: *line,
                children: None,
            };
            out.extend(self.on_read_directive(node)?);
        }
        if let Some((name, opened)) = open {
            return Err(SyntaxError::reading(
                file,
                opened,
                format!("{file}:{opened}: {name}> was not closed."),
            ));
        }
        Ok(out)
    }

    /// `${NAME}` from Define, else from the environment; unknown ones are left as written
    /// (Apache warns and does the same).
    fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            match self
                .defines
                .get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
            {
                Some(value) => out.push_str(&value),
                None => out.push_str(&rest[start..start + 3 + end]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Sections Apache evaluates while reading: their content when true, nothing when not.
    fn on_read_section(&mut self, node: Node) -> Result<Vec<Node>, SyntaxError> {
        let children = node.children.clone().unwrap_or_default();
        let (negated, arg) = match node.args.strip_prefix('!') {
            Some(a) => (true, a.trim()),
            None => (false, node.args.as_str()),
        };
        let arg = arg.trim_matches('"');
        let holds = if node.is("<IfModule") {
            self.module_loaded(arg)
        } else if node.is("<IfDefine") {
            self.defines.contains_key(arg)
        } else if node.is("<IfFile") {
            self.relative(arg).exists()
        } else {
            return Ok(vec![node]);
        };
        Ok(if holds != negated {
            children
        } else {
            Vec::new()
        })
    }

    /// Directives Apache executes while reading.
    fn on_read_directive(&mut self, node: Node) -> Result<Vec<Node>, SyntaxError> {
        let err = |message: String| SyntaxError::reading(&node.file, node.line, message);
        let words = split_words(&node.args);
        if node.is("ServerRoot") {
            if let Some(root) = words.first() {
                self.server_root = PathBuf::from(root);
            }
            return Ok(vec![node]);
        }
        if node.is("Define") {
            if let Some(name) = words.first() {
                let value = words.get(1).cloned().unwrap_or_default();
                self.defines.insert(name.clone(), value);
            }
            return Ok(Vec::new());
        }
        if node.is("UnDefine") {
            if let Some(name) = words.first() {
                self.defines.remove(name);
            }
            return Ok(Vec::new());
        }
        if node.is("LoadModule") {
            if let [name, file, ..] = words.as_slice() {
                self.modules.insert(name.clone());
                if let Some(base) = Path::new(file).file_name() {
                    // `<IfModule mod_ssl.c>` names the module by its source file.
                    let base = base.to_string_lossy();
                    let stem = base.strip_suffix(".so").unwrap_or(&base);
                    self.modules.insert(format!("{stem}.c"));
                }
            }
            return Ok(vec![node]);
        }
        let optional = node.is("IncludeOptional");
        if !(optional || node.is("Include")) {
            return Ok(vec![node]);
        }
        let Some(pattern) = words.first() else {
            return Err(err(format!("{} takes one argument", node.name)));
        };
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(err(format!(
                "Exceeded the maximum include directory nesting level of {MAX_INCLUDE_DEPTH}. You have probably a recursion somewhere."
            )));
        }
        let files = expand(&self.relative(pattern), optional).map_err(err)?;
        self.depth += 1;
        let mut out = Vec::new();
        for f in files {
            match self.read_file(&f) {
                Ok(nodes) => out.extend(nodes),
                // The file could not be opened: said at the Include line.
                Err(e) if e.line == 0 => {
                    self.depth -= 1;
                    return Err(err(e.message));
                }
                // A mistake inside it: Apache's message for the included file, at the line
                // of the Include.
                Err(e) => {
                    self.depth -= 1;
                    return Err(err(format!(
                        "Syntax error on line {} of {}: {}",
                        e.line, e.file, e.message
                    )));
                }
            }
        }
        self.depth -= 1;
        Ok(out)
    }
}

fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// Physical lines joined at a trailing `\`, trimmed, comments and blank lines left out, each
/// with the number of its last physical line (as Apache counts).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let joined = std::mem::take(&mut pending);
        let trimmed = joined.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        out.push((i + 1, trimmed.to_owned()));
    }
    out
}

/// One word as `ap_getword_conf` reads it: quoted with `"` or `'` (a backslash escapes the
/// quote or itself), else up to the next blank; `rest` moves past it and the blanks after.
pub fn getword_conf(rest: &mut &str) -> String {
    let s = rest.trim_start();
    let mut chars = s.char_indices().peekable();
    let Some(&(_, first)) = chars.peek() else {
        *rest = s;
        return String::new();
    };
    let mut word = String::new();
    let end;
    if first == '"' || first == '\'' {
        chars.next();
        let mut closed_at = s.len();
        while let Some((i, c)) = chars.next() {
            if c == first {
                closed_at = i + 1;
                break;
            }
            if c == '\\' {
                if let Some(&(_, next)) = chars.peek() {
                    if next == first || next == '\\' {
                        word.push(next);
                        chars.next();
                        continue;
                    }
                }
            }
            word.push(c);
        }
        end = closed_at;
    } else {
        let stop = s.find(char::is_whitespace).unwrap_or(s.len());
        let raw = &s[..stop];
        let mut it = raw.chars().peekable();
        while let Some(c) = it.next() {
            if c == '\\' && it.peek() == Some(&'\\') {
                it.next();
            }
            word.push(c);
        }
        end = stop;
    }
    *rest = s[end..].trim_start();
    word
}

/// The words of a directive's arguments (`AP_INIT_TAKE_ARGV`).
pub fn split_words(args: &str) -> Vec<String> {
    let mut rest = args;
    let mut out = Vec::new();
    while !rest.trim().is_empty() {
        out.push(getword_conf(&mut rest));
    }
    out
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The files an Include names: one file; every file of a directory (sorted, recursively); or
/// what the wildcards match, component by component, sorted as Apache sorts them.
fn expand(path: &Path, optional: bool) -> Result<Vec<PathBuf>, String> {
    let text = path.display().to_string();
    if !has_wildcard(&text) {
        if path.is_dir() {
            return Ok(dir_files(path));
        }
        if optional && !path.exists() {
            return Ok(Vec::new());
        }
        return Ok(vec![path.to_path_buf()]);
    }
    let mut candidates = vec![PathBuf::from("/")];
    let parts: Vec<String> = path
        .components()
        .skip(1)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for dir in &candidates {
            if !has_wildcard(part) {
                let p = dir.join(part);
                if p.exists() || !optional {
                    next.push(p);
                }
                continue;
            }
            let listing = match std::fs::read_dir(dir) {
                Ok(listing) => listing,
                Err(_) if optional => continue,
                Err(e) => {
                    return Err(format!(
                        "Include/IncludeOptional: Could not open directory {}: {}",
                        dir.display(),
                        io_message(&e)
                    ))
                }
            };
            let mut names: Vec<String> = listing
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| fnmatch(part, n))
                .collect();
            names.sort();
            for n in names {
                let p = dir.join(&n);
                if (last && p.is_file()) || (!last && p.is_dir()) {
                    next.push(p);
                }
            }
        }
        if next.is_empty() && has_wildcard(part) && !optional {
            return Err(format!(
                "Include/IncludeOptional: No matches for the wildcard '{part}' in '{}', failing",
                candidates
                    .first()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            ));
        }
        candidates = next;
    }
    Ok(candidates)
}

fn dir_files(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut out = Vec::new();
    for p in entries {
        if p.is_dir() {
            out.extend(dir_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `fnmatch` with `*`, `?` and `[...]` (`[!...]` negated), no match across `/`.
fn fnmatch(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(2).position(|c| *c == ']').map(|i| i + 2) else {
                    return n.first() == Some(&'[') && go(&p[1..], &n[1..]);
                };
                let Some(c) = n.first() else {
                    return false;
                };
                let (negated, set) = match p[1] {
                    '!' | '^' => (true, &p[2..close]),
                    _ => (false, &p[1..close]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= *c && *c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == *c;
                        i += 1;
                    }
                }
                hit != negated && go(&p[close + 1..], &n[1..])
            }
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_read_like_ap_getword_conf() {
        assert_eq!(
            split_words(r#"one "two words" 'three' "q\"uote" back\\slash"#),
            vec!["one", "two words", "three", "q\"uote", "back\\slash"]
        );
        assert_eq!(split_words(r#""""#), vec![""]);
        assert!(split_words("   ").is_empty());
    }

    #[test]
    fn continuations_comments_and_blank_lines() {
        let lines = logical_lines("# c\n\n  SesameAcr eidas1 \\\n    eidas2\nX y\n");
        assert_eq!(
            lines,
            vec![
                (4, "SesameAcr eidas1      eidas2".to_owned()),
                (5, "X y".to_owned())
            ]
        );
    }

    #[test]
    fn sections_nest_and_apache_s_read_time_directives_apply() {
        let dir = std::env::temp_dir().join(format!("sesame-read-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sites")).unwrap();
        std::fs::write(dir.join("sites/a.conf"), "SesameSessionCache 2s\n").unwrap();
        let main = dir.join("main.conf");
        std::fs::write(
            &main,
            "Define ON\n<If \"true\">\n</If>\n<Else>\n  X 1\n</Else>\n\
             <IfDefine ON>\n  Include sites/*.conf\n</IfDefine>\n\
             <IfDefine !ON>\n  Hidden 1\n</IfDefine>\n<IfModule mod_so.c>\n  Y ${ON}z\n</IfModule>\n",
        )
        .unwrap();
        let mut reader = Reader::new(dir.clone(), &[]);
        let tree = reader.read_file(&main).unwrap();
        let names: Vec<&str> = tree.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, vec!["<If", "<Else", "SesameSessionCache", "Y"]);
        assert_eq!(tree[1].children.as_ref().unwrap()[0].name, "X");
        assert_eq!(tree[2].file, dir.join("sites/a.conf").display().to_string());
        assert_eq!(tree[3].args, "z");
        assert_eq!(reader.files.len(), 2);
        std::fs::write(&main, "<Location /x>\n  A b\n").unwrap();
        let err = Reader::new(dir.clone(), &[]).read_file(&main).unwrap_err();
        assert!(err.reading && err.line == 1, "{err:?}");
        assert!(
            err.message.ends_with("<Location> was not closed."),
            "{err:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wildcards_match_like_fnmatch() {
        assert!(fnmatch("*.conf", "site.conf"));
        assert!(!fnmatch("*.conf", "site.conf~"));
        assert!(fnmatch("site-[0-9].conf", "site-3.conf"));
        assert!(!fnmatch("site-[!0-9].conf", "site-3.conf"));
        assert!(fnmatch("s?te.conf", "site.conf"));
    }
}
