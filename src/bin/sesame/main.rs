//! `sesame`: the operator's command line. It reads the same configuration, Redis and derived
//! keys as the web server modules.
//!
//! sesame sessions list [filters] [--json]     sessions of this site, decrypted
//! sesame sessions kill ID-PREFIX | filters    delete sessions (offboarding)
//! sesame config check [-c nginx.conf]         the Sesame part of nginx -t
//! sesame config check -a apache2.conf          the Sesame part of apache2 -t
//! sesame doctor [-c nginx.conf]               checks of a running deployment (CA, clock, ACL...)
//! sesame keygen PATH [--force]                a new secret file, mode 0600
//! sesame keygen --enc ec|rsa PATH [--force]   a new private key (encryption or signing), 0600

/// `println!` for this command: a reader that went away (`sesame sessions list | head`) ends the
/// command quietly, where `println!` would panic on the broken pipe.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::say(format_args!($($arg)*))
    };
}

mod apache_conf;
mod args;
mod doctor;
mod keygen;
mod nginx_conf;
mod sessions;
mod time;

use std::io::Write;
use std::process::ExitCode;

/// One line on stdout (see `say!`).
fn say(line: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // The reader has what it wanted (`| head`): the rest is not needed.
            std::process::exit(0);
        }
        eprintln!("sesame: cannot write the output: {e}");
        std::process::exit(1);
    }
}

const MAIN_HELP: &str = "\
sesame — operator tool for the Sesame nginx/Apache login modules

Usage:
  sesame sessions list [-c nginx.conf] [--sub SUB] [--email EMAIL] [--siret SIRET] [--provider NAME] [--json]
  sesame sessions kill [-c nginx.conf] (ID-PREFIX | --sub SUB | --email EMAIL | --siret SIRET | --provider NAME ...)
  sesame config check [-c nginx.conf | -a apache2.conf [-d SERVER_ROOT] [-D NAME]...]
  sesame doctor [-c nginx.conf]
  sesame keygen PATH [--force]
  sesame keygen --enc ec|rsa PATH [--force]

Configuration: -c/--conf names the nginx.conf holding the sesame_* directives (default
/etc/nginx/nginx.conf). Without nginx, give --redis URL and --secret-file PATH instead
(plus --redis-ca-file, --redis-cert-file, --redis-key-file for TLS).

Run `sesame COMMAND --help` for details.";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match run(&argv) {
        Ok(code) => code,
        Err(message) => {
            // Messages may quote what was given or read (arguments, files, Redis replies).
            eprintln!("sesame: {}", sesame::escape_for_terminal(&message));
            ExitCode::from(2)
        }
    }
}

fn run(argv: &[String]) -> Result<ExitCode, String> {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["-h" | "--help" | "help"] => {
            say!("{MAIN_HELP}");
            Ok(ExitCode::SUCCESS)
        }
        ["sessions", "list", rest @ ..] => sessions::list(rest),
        ["sessions", "kill", rest @ ..] => sessions::kill(rest),
        ["sessions", ..] => {
            say!("{}", sessions::HELP);
            Ok(ExitCode::SUCCESS)
        }
        ["config", "check", rest @ ..] => config_check(rest),
        ["config", ..] => {
            say!("{CONFIG_HELP}");
            Ok(ExitCode::SUCCESS)
        }
        ["doctor", rest @ ..] => doctor::run(rest),
        ["keygen", rest @ ..] => keygen::run(rest),
        [other, ..] => Err(format!(
            "unknown command \"{other}\" (expected sessions, config, doctor or keygen; see sesame --help)"
        )),
    }
}

const CONFIG_HELP: &str = "\
Usage: sesame config check [-c nginx.conf]
       sesame config check -a apache2.conf [-d SERVER_ROOT] [-D NAME]...

Reads the Sesame directives of an nginx configuration (following include) or of an Apache one
(following Include and IncludeOptional with their wildcards, relative to ServerRoot; evaluating
<IfModule>, <IfDefine>, <IfFile>; one server per <VirtualHost>, one section per <Location>,
<Directory>, <Files>, <If>), builds them with the same code as the module and reports the first
error as `nginx -t` / `apache2 -t` with the module loaded would (same message, file and line).
Files named by the directives (secret, CA...) are read; Redis and the providers are not
contacted. Exit status 0 when valid, 1 when not.

Options:
  -c, --conf PATH          the nginx.conf (default /etc/nginx/nginx.conf)
  -a, --apache PATH        an Apache configuration instead (Debian: /etc/apache2/apache2.conf)
  -d, --server-root DIR    Apache's ServerRoot when the file does not set it (default /etc/apache2)
  -D NAME                  define NAME for <IfDefine>, as apache2 -D NAME (repeatable)";

fn config_check(rest: &[&str]) -> Result<ExitCode, String> {
    let opts = args::Args::parse(
        rest,
        &[],
        &[
            "-c",
            "--conf",
            "-a",
            "--apache",
            "-d",
            "--server-root",
            "-D",
        ],
    )?;
    if opts.help {
        say!("{CONFIG_HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(extra) = opts.positional.first() {
        return Err(format!("config check: unexpected argument \"{extra}\""));
    }
    if let Some(apache) = opts.apache_path() {
        return apache_check(&apache, &opts);
    }
    let path = opts.conf_path();
    eprintln!("sesame: checking {}", path.display());
    match nginx_conf::load(&path) {
        Ok(loaded) => {
            say!(
                "sesame: the configuration {} is valid ({} provider(s), {} location(s) using Sesame)",
                path.display(),
                loaded.providers,
                loaded.locations
            );
            drop(loaded.sesame);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            say!(
                "sesame: [emerg] {}",
                sesame::escape_for_terminal(&e.to_string())
            );
            say!("sesame: configuration file {} test failed", path.display());
            Ok(ExitCode::from(1))
        }
    }
}

fn apache_check(path: &std::path::Path, opts: &args::Args) -> Result<ExitCode, String> {
    eprintln!("sesame: checking {}", path.display());
    match apache_conf::load(path, &opts.server_root(), &opts.all("-D")) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                say!("{}", sesame::escape_for_terminal(warning));
            }
            say!(
                "sesame: the configuration {} is valid ({} provider(s), {} section(s) using Sesame, {} file(s) read)",
                path.display(),
                loaded.providers,
                loaded.sections,
                loaded.files.len()
            );
            drop(loaded.servers);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            for line in e.lines() {
                say!("{}", sesame::escape_for_terminal(&line));
            }
            say!("sesame: configuration file {} test failed", path.display());
            Ok(ExitCode::from(1))
        }
    }
}
