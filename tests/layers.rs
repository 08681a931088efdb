//! Layers go one way. A room of the core (a top-level module of `src/`: a file or a directory)
//! imports only from the rooms below it in [`CORE_LAYERS`], so that the import graph between
//! rooms has no cycle; the nginx module's rooms (top-level modules of `nginx/src/`) have no
//! cycle either. Read from the sources: every `crate::` / `super::` / child-module path of
//! non-test code (comments, strings and `#[cfg(test)]` items left out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The core's rooms, lowest first: a room may import from the rooms before it only.
const CORE_LAYERS: &[&str] = &[
    // Primitives: what operators write, log lines, outgoing HTTPS, provider error codes.
    "directives",
    "log",
    "http",
    "translate",
    // Counters shared by every process of the server (they name provider codes).
    "metrics",
    // The identity a login yields, and the names and views backends read it through.
    "identity",
    "claims",
    "backend_names",
    "compat",
    // The federations' rules, the site's own keys, OpenID Connect, then per-location policy.
    "federation",
    "site_keys",
    "oidc",
    // API FranceConnectées: data fetched with the access token at login.
    "data",
    "policy",
    // Sessions, the pages Sesame answers, the configuration (plain data), the request path
    // built from it, and the C ABI over everything.
    "session",
    "pages",
    "config",
    // `sesame doctor`'s checks of a deployment, from its configuration.
    "doctor",
    "engine",
    "ffi",
    // The fuzz targets' invariants, over everything.
    "fuzzing",
];

/// Imports that still go up, each with the item that has to move down to remove it. The test
/// fails when one of them no longer occurs: delete its line then.
const KNOWN_UPWARD: &[(&str, &str, &str)] = &[];

#[test]
fn core_rooms_import_only_from_rooms_below() {
    let graph = Crate::read(&root().join("src"));
    let rank = |room: &str| CORE_LAYERS.iter().position(|r| *r == room);
    let mut wrong = Vec::new();
    let mut upward_seen = BTreeSet::new();
    for (from, to, why) in graph.room_edges() {
        let (Some(a), Some(b)) = (rank(&from), rank(&to)) else {
            wrong.push(format!(
                "{from} -> {to} ({why}): add the new room to CORE_LAYERS in tests/layers.rs"
            ));
            continue;
        };
        if b < a {
            continue;
        }
        if KNOWN_UPWARD.iter().any(|(f, t, _)| *f == from && *t == to) {
            upward_seen.insert((from, to));
            continue;
        }
        wrong.push(format!("{from} -> {to} ({why})"));
    }
    for (from, to, what) in KNOWN_UPWARD {
        if !upward_seen.contains(&(from.to_string(), to.to_string())) {
            wrong.push(format!(
                "{from} -> {to} is gone ({what}): delete its line from KNOWN_UPWARD"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layer order (CORE_LAYERS, lowest first):\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn nginx_module_rooms_have_no_import_cycle() {
    let graph = Crate::read(&root().join("nginx/src"));
    let mut next: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut why = BTreeMap::new();
    for (from, to, files) in graph.room_edges() {
        next.entry(from.clone()).or_default().insert(to.clone());
        why.insert((from, to), files);
    }
    let cycles = cycles(&next);
    let shown: Vec<String> = cycles
        .iter()
        .map(|rooms| {
            let edges: Vec<String> = rooms
                .iter()
                .flat_map(|a| rooms.iter().map(move |b| (a, b)))
                .filter_map(|(a, b)| why.get(&(a.clone(), b.clone())))
                .cloned()
                .collect();
            format!("{}: {}", rooms.join(" "), edges.join(", "))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles between the nginx module's rooms:\n  {}",
        shown.join("\n  ")
    );
}

/// The reader must see the imports it is meant to judge, or the tests above prove nothing.
#[test]
fn the_reader_sees_imports_of_every_kind() {
    let graph = Crate::read(&root().join("src"));
    let edges: BTreeSet<(String, String)> = graph
        .room_edges()
        .into_iter()
        .map(|(from, to, _)| (from, to))
        .collect();
    for (from, to) in [
        // `use crate::...;`
        ("engine", "session"),
        // `crate::oidc::...` inside an expression, braces of a use tree
        ("config", "oidc"),
        ("ffi", "engine"),
    ] {
        assert!(
            edges.contains(&(from.to_owned(), to.to_owned())),
            "{from} -> {to} not seen"
        );
    }
    let text = strip(
        "// crate::a::x\nlet s = \"crate::b::x\"; let r = r#\"crate::c\"#; let c = '\"'; crate::d::x",
    );
    assert!(
        !text.contains("crate::a") && !text.contains("crate::b") && !text.contains("crate::c"),
        "{text}"
    );
    assert!(text.contains("crate::d::x"), "{text}");
    let (kept, test_modules) = without_test_items(
        "#[cfg(test)]\nmod tests;\n#[cfg(test)]\nfn f() { crate::x::y(); }\nuse crate::z;",
    );
    assert_eq!(test_modules, ["tests"]);
    assert!(
        !kept.contains("crate::x") && kept.contains("crate::z"),
        "{kept}"
    );
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The module tree of one crate and the modules each module's code names.
struct Crate {
    /// Module path (`["engine", "protect"]`) to its source file.
    files: BTreeMap<Vec<String>, PathBuf>,
    /// Module path to the module paths its non-test code names.
    uses: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut texts = BTreeMap::new();
        walk(Vec::new(), &src.join("lib.rs"), &mut files, &mut texts);
        let reexports = root_reexports(texts.get(&Vec::new()).map_or("", String::as_str));
        let mut graph = Crate {
            files,
            uses: BTreeMap::new(),
        };
        for (module, text) in &texts {
            let children: BTreeSet<&str> = graph
                .files
                .keys()
                .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
                .filter_map(|m| m.last().map(String::as_str))
                .collect();
            let mut named = BTreeSet::new();
            for path in paths(text) {
                let Some(absolute) = absolute(module, &path, &children) else {
                    continue;
                };
                let mut target = graph.longest_module(&absolute);
                if target.is_empty() {
                    if let Some(real) = absolute.first().and_then(|name| reexports.get(name)) {
                        target = graph.longest_module(real);
                    }
                }
                if !target.is_empty() && target != *module {
                    named.insert(target);
                }
            }
            graph.uses.insert(module.clone(), named);
        }
        graph
    }

    fn longest_module(&self, path: &[String]) -> Vec<String> {
        (1..=path.len())
            .map(|n| path[..n].to_vec())
            .take_while(|prefix| self.files.contains_key(prefix))
            .last()
            .unwrap_or_default()
    }

    /// `(from room, to room, "file -> file, ...")` for every pair of distinct rooms with an
    /// import between them (the crate root is no room: it declares them all).
    fn room_edges(&self) -> Vec<(String, String, String)> {
        let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for (from, targets) in &self.uses {
            let Some(from_room) = from.first() else {
                continue;
            };
            for to in targets {
                let Some(to_room) = to.first() else { continue };
                if from_room != to_room {
                    edges
                        .entry((from_room.clone(), to_room.clone()))
                        .or_default()
                        .insert(format!("{} -> {}", self.shown(from), self.shown(to)));
                }
            }
        }
        edges
            .into_iter()
            .map(|((a, b), files)| (a, b, files.into_iter().collect::<Vec<_>>().join(", ")))
            .collect()
    }

    fn shown(&self, module: &[String]) -> String {
        let file = &self.files[module];
        file.strip_prefix(root())
            .unwrap_or(file)
            .display()
            .to_string()
    }
}

/// Reads `file` as module `module`, then the non-test child modules it declares.
fn walk(
    module: Vec<String>,
    file: &Path,
    files: &mut BTreeMap<Vec<String>, PathBuf>,
    texts: &mut BTreeMap<Vec<String>, String>,
) {
    let source =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let (text, _) = without_test_items(&strip(&source));
    let is_dir_module = matches!(
        file.file_name().and_then(|n| n.to_str()),
        Some("lib.rs" | "mod.rs")
    );
    let dir = if is_dir_module {
        file.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        file.with_extension("")
    };
    for child in declared_modules(&text) {
        let candidates = [
            dir.join(format!("{child}.rs")),
            dir.join(&child).join("mod.rs"),
        ];
        if let Some(found) = candidates.iter().find(|c| c.exists()) {
            let mut path = module.clone();
            path.push(child);
            walk(path, found, files, texts);
        }
    }
    files.insert(module.clone(), file.to_path_buf());
    texts.insert(module, text);
}

/// Names of `mod NAME;` declarations (inline `mod NAME { }` blocks are read as their parent).
fn declared_modules(text: &str) -> Vec<String> {
    let words = tokens(text);
    words
        .windows(3)
        .filter(|w| w[0] == "mod" && w[2] == ";" && is_ident(&w[1]))
        .map(|w| w[1].clone())
        .collect()
}

/// `crate::Name` re-exported by the crate root: `Name` (or its alias) to the path it names.
fn root_reexports(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for tree in use_trees(text) {
        for (path, alias) in expand(&tree) {
            if let Some(name) = alias.or_else(|| path.last().cloned()) {
                out.insert(name, path);
            }
        }
    }
    out
}

/// The path as a module path of the crate, if it names one from `module`.
fn absolute(module: &[String], path: &[String], children: &BTreeSet<&str>) -> Option<Vec<String>> {
    let head = path.first()?;
    match head.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "super" | "self" => {
            let mut base = module.to_vec();
            let mut rest = path;
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            Some(base)
        }
        name if children.contains(name) => {
            let mut base = module.to_vec();
            base.extend(path.iter().cloned());
            Some(base)
        }
        _ => None,
    }
}

/// Every path the code names: each leaf of each `use` tree, and each `a::b::c` elsewhere.
fn paths(text: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = use_trees(text)
        .iter()
        .flat_map(|tree| expand(tree))
        .map(|(path, _)| path)
        .collect();
    let words = tokens(text);
    let mut i = 0;
    while i < words.len() {
        let starts = is_ident(&words[i]) && (i == 0 || words[i - 1] != "::");
        if !starts {
            i += 1;
            continue;
        }
        let mut path = vec![words[i].clone()];
        let mut j = i + 1;
        while j + 1 < words.len() && words[j] == "::" && is_ident(&words[j + 1]) {
            path.push(words[j + 1].clone());
            j += 2;
        }
        if path.len() > 1 {
            out.push(path);
        }
        i = j.max(i + 1);
    }
    out
}

/// The text of each `use ...;` (the tree after `use`).
fn use_trees(text: &str) -> Vec<String> {
    let words = tokens(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "use" {
            let end = words[i..]
                .iter()
                .position(|w| w == ";")
                .map_or(words.len(), |p| i + p);
            out.push(words[i + 1..end].join(" "));
            i = end;
        }
        i += 1;
    }
    out
}

/// The leaves of a use tree (`a :: { b , c :: d as e }`), each with its alias.
fn expand(tree: &str) -> Vec<(Vec<String>, Option<String>)> {
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut out = Vec::new();
    expand_from(&words, &[], &mut out);
    out
}

fn expand_from(words: &[&str], prefix: &[String], out: &mut Vec<(Vec<String>, Option<String>)>) {
    let mut path = prefix.to_vec();
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "::" => {}
            "{" => {
                let close = matching_brace(words, i);
                for part in split_top_level(&words[i + 1..close]) {
                    expand_from(&part, &path, out);
                }
                return;
            }
            "as" => {
                let alias = words.get(i + 1).map(|w| w.to_string());
                out.push((path, alias));
                return;
            }
            word if is_ident(word) => path.push(word.to_owned()),
            _ => {}
        }
        i += 1;
    }
    if path.last().is_some_and(|last| last == "self") {
        path.pop();
    }
    if !path.is_empty() {
        out.push((path, None));
    }
}

fn matching_brace(words: &[&str], open: usize) -> usize {
    let mut depth = 0;
    for (i, w) in words.iter().enumerate().skip(open) {
        match *w {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    words.len()
}

fn split_top_level<'a>(words: &[&'a str]) -> Vec<Vec<&'a str>> {
    let mut parts = vec![Vec::new()];
    let mut depth = 0;
    for w in words {
        match *w {
            "{" => depth += 1,
            "}" => depth -= 1,
            "," if depth == 0 => {
                parts.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(*w);
        }
    }
    parts.retain(|p| !p.is_empty());
    parts
}

fn is_ident(word: &str) -> bool {
    let mut chars = word.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Identifiers, `::` and single punctuation characters.
fn tokens(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(text[start..i].to_owned());
        } else if bytes[i..].starts_with(b"::") {
            out.push("::".to_owned());
            i += 2;
        } else {
            if !b.is_ascii_whitespace() && b.is_ascii() {
                out.push(char::from(b).to_string());
            }
            i += 1;
        }
    }
    out
}

/// The source without comments, and with every string and character literal emptied.
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    let ident_before = |i: usize| i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    while i < chars.len() {
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < chars.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if !ident_before(i) && (at(i, "r#") || at(i, "r\"") || at(i, "br")) {
            // Raw string: r"..." or r#"..."# (any number of #).
            let mut j = i + if chars[i] == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            j += 1;
            while j < chars.len() && !at(j, &close) {
                j += 1;
            }
            i = j + close.chars().count();
            out.push_str("\"\"");
        } else if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if chars[i] == '\'' {
            // A character literal ('x', '\n', '\u{1}'), else a lifetime or label.
            let end = if chars.get(i + 1) == Some(&'\\') {
                (i + 2..chars.len()).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The text without the items under `#[cfg(test)]`, and the names of the test-only modules
/// declared with `#[cfg(test)] mod NAME;`.
fn without_test_items(text: &str) -> (String, Vec<String>) {
    const MARK: &str = "#[cfg(test)]";
    let mut text = text.to_owned();
    let mut test_modules = Vec::new();
    while let Some(start) = text.find(MARK) {
        let bytes = text.as_bytes();
        let mut i = start + MARK.len();
        // Further attributes of the same item.
        loop {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if bytes[i..].starts_with(b"#[") {
                i += text[i..].find(']').map_or(text.len() - i, |p| p + 1);
            } else {
                break;
            }
        }
        let item_words =
            tokens(&text[i..text[i..].find([';', '{']).map_or(text.len(), |p| i + p + 1)]);
        if let [.., m, name, semi] = item_words.as_slice() {
            if m == "mod" && semi == ";" {
                test_modules.push(name.clone());
            }
        }
        let mut depth = 0usize;
        let mut end = text.len();
        for (k, b) in bytes.iter().enumerate().skip(i) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        text.replace_range(start..end, "");
    }
    (text, test_modules)
}

/// The rooms of each cycle of the graph (strongly connected components of two or more).
fn cycles(next: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = next
        .keys()
        .chain(next.values().flat_map(|s| s.iter()))
        .collect();
    let reaches = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for m in next.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reaches(n))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for n in &nodes {
        if !reach[n].contains(*n) || out.iter().any(|c| c.contains(n)) {
            continue;
        }
        let component: Vec<String> = nodes
            .iter()
            .filter(|m| reach[n].contains(**m) && reach[**m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        out.push(component);
    }
    out
}

/// One naming convention for the core's Rust tests: a file's own unit tests at its bottom
/// (`#[cfg(test)] mod tests`), a room's tests across its files in `<room>/tests.rs` and, by
/// concern, `<room>/tests/<concern>.rs` — fixtures other rooms' tests use included
/// (`oidc/tests/support.rs`). No `tests_x.rs` / `test_x.rs` beside the code.
#[test]
fn rust_test_modules_follow_one_naming() {
    fn walk(dir: &Path, wrong: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, wrong);
            } else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                if name.starts_with("test_") || name.starts_with("tests_") {
                    wrong.push(path.display().to_string());
                }
            }
        }
    }
    let mut wrong = Vec::new();
    for dir in ["src", "nginx/src"] {
        walk(&root().join(dir), &mut wrong);
    }
    assert!(
        wrong.is_empty(),
        "test modules named outside the convention (move them to <room>/tests/<concern>.rs): {wrong:?}"
    );
}
