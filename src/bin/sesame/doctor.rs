//! `sesame doctor`: one line per check of a running deployment, from its configuration.

use std::process::ExitCode;

use sesame::doctor::{self, Deployment, Verdict};
use sesame::{escape_for_terminal as shown, registry, Syntax};

use super::args::Args;
use super::nginx_conf;

pub const HELP: &str = "\
Usage: sesame doctor [-c nginx.conf]

Checks a deployment with its own configuration, from this machine, one line per check:
  config     the configuration builds (the same checks as nginx -t)
  secret     sesame_secret_file readable by its owner only (0600 or 0400), owned by root or you
  redis      Redis reachable with the URL, TLS files and ACL user, and that user allowed every
             command Sesame sends (SET GET TTL SCAN GETDEL DEL, tried on a key of this site
             that expires in 10 s)
  provider NAME: discovery
             the discovery document fetched with the provider's ca_file and http_timeout, and
             the provider's clock (its Date header) against this machine's: a warning over 5 s,
             a failure over the provider's leeway (ID tokens would be refused)
  provider NAME: redirect_uri
             https, and a host one of the servers is named
Each failure says what to do. Exit status 0 when nothing failed (warnings allowed), 1 when a
check failed, 2 when the command could not run.

Options:
  -c, --conf PATH   the nginx.conf (default /etc/nginx/nginx.conf)";

pub fn run(rest: &[&str]) -> Result<ExitCode, String> {
    let opts = Args::parse(rest, &[], &["-c", "--conf"])?;
    if opts.help {
        say!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(extra) = opts.positional.first() {
        return Err(format!("doctor: unexpected argument \"{extra}\""));
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
    let mut failed = false;
    for f in &findings {
        failed |= f.verdict == Verdict::Fail;
        line(f.verdict, &f.check, &f.message, syntax);
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
