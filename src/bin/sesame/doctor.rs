//! `sesame doctor`: one line per check of a running deployment, from its configuration.

use std::process::ExitCode;

use sesame::doctor::{self, Deployment, Verdict};
use sesame::{escape_for_terminal as shown, registry, Syntax};

use super::apache_conf;
use super::args::Args;
use super::nginx_conf;

pub const HELP: &str = "\
Usage: sesame doctor [-c nginx.conf | -a apache2.conf [-d SERVER_ROOT] [-D NAME]...]

Checks a deployment with its own configuration, from this machine, one line per check:
  config     the configuration builds (the same checks as nginx -t / apache2 -t)
  secret     sesame_secret_file readable by its owner only (0600 or 0400), owned by root or you
  redis      Redis reachable with the URL, TLS files and ACL user, and that user allowed every
             command Sesame sends (SET GET TTL SCAN GETDEL DEL, tried on a key of this site
             that expires in 10 s)
  provider NAME: discovery
             the discovery document fetched with the provider's ca_file and http_timeout, and
             the provider's clock (its Date header) against this machine's: a warning over 5 s,
             a failure over the provider's leeway (ID tokens would be refused)
  provider NAME: redirect_uri
             https, and a host one of the servers is named (server_name; Apache: ServerName,
             ServerAlias)
With Apache, every server that has its own Sesame settings is checked (a virtual host's lines
start with its name). Each failure says what to do. Exit status 0 when nothing failed (warnings allowed), 1 when a
check failed, 2 when the command could not run.

Options:
  -c, --conf PATH          the nginx.conf (default /etc/nginx/nginx.conf)
  -a, --apache PATH        an Apache configuration instead (Debian: /etc/apache2/apache2.conf)
  -d, --server-root DIR    Apache's ServerRoot when the file does not set it (default /etc/apache2)
  -D NAME                  define NAME for <IfDefine>, as apache2 -D NAME (repeatable)";

pub fn run(rest: &[&str]) -> Result<ExitCode, String> {
    let opts = Args::parse(
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
        say!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(extra) = opts.positional.first() {
        return Err(format!("doctor: unexpected argument \"{extra}\""));
    }
    if let Some(apache) = opts.apache_path() {
        return run_apache(&apache, &opts);
    }
    let path = opts.conf_path();
    eprintln!("sesame: checking the deployment of {}", path.display());
    let syntax = Syntax::Nginx;
    // Built once as the module would (locations included) to prove it builds, then read again
    // for the checks, which need the directives' values.
    let checked = nginx_conf::load(&path).and_then(|loaded| {
        drop(loaded.sesame);
        let (builder, _, _) = nginx_conf::read(&path)?;
        Ok((builder, nginx_conf::server_names(&path)?))
    });
    let (builder, served_hosts) = match checked {
        Ok(found) => found,
        Err(e) => {
            line(Verdict::Fail, "config", &e.to_string(), syntax);
            return Ok(ExitCode::from(1));
        }
    };
    line(
        Verdict::Ok,
        "config",
        &format!("{} builds", path.display()),
        syntax,
    );
    let findings = match doctor::examine(builder, &Deployment { served_hosts }) {
        Ok(findings) => findings,
        Err(e) => {
            line(Verdict::Fail, "config", &e.to_string(), syntax);
            return Ok(ExitCode::from(1));
        }
    };
    Ok(report(&findings, "", syntax))
}

/// Every server of an Apache configuration that builds a core of its own.
fn run_apache(path: &std::path::Path, opts: &Args) -> Result<ExitCode, String> {
    eprintln!("sesame: checking the deployment of {}", path.display());
    let syntax = Syntax::Apache;
    let loaded = match apache_conf::load(path, &opts.server_root(), &opts.all("-D")) {
        Ok(loaded) => loaded,
        Err(e) => {
            line(Verdict::Fail, "config", &e.lines().join(" "), syntax);
            return Ok(ExitCode::from(1));
        }
    };
    line(
        Verdict::Ok,
        "config",
        &format!(
            "{} builds ({} file(s) read)",
            path.display(),
            loaded.files.len()
        ),
        syntax,
    );
    let several = loaded.servers.len() > 1;
    let mut code = ExitCode::SUCCESS;
    for server in loaded.servers {
        drop(server.sesame);
        let prefix = if several {
            format!("{}: ", server.label)
        } else {
            String::new()
        };
        let deployment = Deployment {
            served_hosts: server.names,
        };
        match doctor::examine(server.builder, &deployment) {
            Ok(findings) => {
                if report(&findings, &prefix, syntax) != ExitCode::SUCCESS {
                    code = ExitCode::from(1);
                }
            }
            Err(e) => {
                line(
                    Verdict::Fail,
                    &format!("{prefix}config"),
                    &e.render(syntax),
                    syntax,
                );
                code = ExitCode::from(1);
            }
        }
    }
    Ok(code)
}

/// One line per finding; 1 when one failed.
fn report(findings: &[doctor::Finding], prefix: &str, syntax: Syntax) -> ExitCode {
    let mut failed = false;
    for f in findings {
        failed |= f.verdict == Verdict::Fail;
        line(
            f.verdict,
            &format!("{prefix}{}", f.check),
            &f.message,
            syntax,
        );
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn line(verdict: Verdict, check: &str, message: &str, syntax: Syntax) {
    let tag = match verdict {
        Verdict::Ok => "ok  ",
        Verdict::Warn => "WARN",
        Verdict::Fail => "FAIL",
    };
    // Messages may quote what was read (a URL, a file name, a Redis reply).
    say!(
        "{tag} {check}: {}",
        shown(&registry::render(message, syntax))
    );
}
