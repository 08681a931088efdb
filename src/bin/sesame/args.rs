//! A small argument parser: `--name VALUE`, `--name=VALUE`, boolean `--flag`, positionals.

use std::path::PathBuf;

pub const DEFAULT_CONF: &str = "/etc/nginx/nginx.conf";

#[derive(Debug, Default)]
pub struct Args {
    pub help: bool,
    pub flags: Vec<String>,
    /// (option as written in `options`' first spelling, value)
    pub values: Vec<(String, String)>,
    pub positional: Vec<String>,
}

impl Args {
    /// `options` lists the options taking a value; `-c` is an alias of `--conf`.
    pub fn parse(argv: &[&str], flags: &[&str], options: &[&str]) -> Result<Args, String> {
        let mut out = Args::default();
        let mut i = 0;
        while i < argv.len() {
            let word = argv[i];
            i += 1;
            if word == "-h" || word == "--help" {
                out.help = true;
                continue;
            }
            if flags.contains(&word) {
                out.flags.push(word.to_owned());
                continue;
            }
            let (name, inline) = match word.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
                _ => (word, None),
            };
            if options.contains(&name) {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        let v = argv.get(i).ok_or_else(|| format!("{name} needs a value"))?;
                        i += 1;
                        (*v).to_owned()
                    }
                };
                let name = match name {
                    "-c" => "--conf",
                    "-a" => "--apache",
                    "-d" => "--server-root",
                    other => other,
                };
                out.values.push((name.to_owned(), value));
                continue;
            }
            if word.starts_with('-') && word.len() > 1 {
                return Err(format!("unknown option \"{word}\" (see --help)"));
            }
            out.positional.push(word.to_owned());
        }
        Ok(out)
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// Every value given to a repeatable option (`-D A -D B`).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// `-a/--apache PATH`: an Apache configuration to read instead of nginx.conf.
    pub fn apache_path(&self) -> Option<PathBuf> {
        self.value("--apache").map(PathBuf::from)
    }

    /// `-d/--server-root DIR`, else Debian's compiled-in ServerRoot.
    pub fn server_root(&self) -> PathBuf {
        PathBuf::from(
            self.value("--server-root")
                .unwrap_or(super::apache_conf::DEFAULT_SERVER_ROOT),
        )
    }

    pub fn conf_path(&self) -> PathBuf {
        PathBuf::from(self.value("--conf").unwrap_or(DEFAULT_CONF))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_flags_and_positionals_are_told_apart() {
        let a = Args::parse(
            &["-c", "x.conf", "--sub=abc", "--json", "pre"],
            &["--json"],
            &["-c", "--conf", "--sub"],
        )
        .unwrap();
        assert_eq!(a.value("--conf"), Some("x.conf"));
        assert_eq!(a.value("--sub"), Some("abc"));
        assert!(a.flag("--json"));
        assert_eq!(a.positional, vec!["pre".to_string()]);
        assert!(Args::parse(&["--bogus"], &[], &[]).is_err());
        assert!(Args::parse(&["--sub"], &[], &["--sub"]).is_err());
    }
}
