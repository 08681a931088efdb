//! The nginx include files shipped in `nginx/conf/`, written from the naming room: nginx passes
//! only the parameters a configuration lists, so these files list one line per claim the
//! federations send, and `SESAME_CLAIMS` carries every claim, listed or not.
//!
//! `tests/include_files_are_current.rs` fails when a committed file differs from these;
//! `SESAME_UPDATE_PARAMS=1 cargo test --test include_files_are_current` rewrites them.

use super::{
    claim_env_name, claim_header_name, claim_nginx_header_variable, claim_nginx_variable,
    oidc_claim_name, oidc_claim_nginx_variable, uniform_claims, uniform_env_name,
    uniform_header_name, uniform_nginx_header_variable, uniform_nginx_variable, Fixed, Handed,
    OIDC_REMOTE_USER_VARIABLE, REMOTE_USER,
};

/// The claims FranceConnect, FranceConnect+ and ProConnect send (their scopes' claims, in that
/// order), each with its own line in the include files.
pub const LISTED_CLAIMS: &[&str] = &[
    "sub",
    "given_name",
    "given_name_array",
    "family_name",
    "birthdate",
    "birthplace",
    "birthcountry",
    "gender",
    "email",
    "preferred_username",
    "idp_birthdate",
    "idp_id",
    "amr",
    "acr",
    "auth_time",
    "usual_name",
    "uid",
    "siret",
    "siren",
    "organizational_unit",
    "belonging_population",
    "phone_number",
    "organization_label",
    "roles",
    "chorusdt:matricule",
    "chorusdt:societe",
    "idp_acr",
    "custom",
    "groups",
    "rnipp_given_name",
    "rnipp_given_name_array",
    "rnipp_family_name",
    "rnipp_gender",
    "rnipp_birthdate",
    "rnipp_birthplace",
    "rnipp_birthcountry",
    "rnipp_preferred_username",
];

/// `(file name in nginx/conf, content)` of every include file.
pub fn all() -> [(&'static str, String); 3] {
    [
        ("sesame_fastcgi_params", fastcgi_params()),
        ("sesame_proxy_params", proxy_params()),
        ("sesame_fastcgi_params_oidc", fastcgi_params_oidc()),
    ]
}

const GENERATED: &str =
    "# Generated from the core's naming room (src/backend_names.rs). Do not edit: run\n\
     #     SESAME_UPDATE_PARAMS=1 cargo test --test include_files_are_current\n";

/// `directive  NAME  $variable[ if_not_empty]` lines, names padded to one column.
fn block(out: &mut String, directive: &str, lines: &[(String, String)], suffix: &str) {
    let width = lines.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, variable) in lines {
        out.push_str(&format!(
            "{directive}  {name:<width$}  ${variable}{suffix};\n"
        ));
    }
}

fn fastcgi_params() -> String {
    let mut out = String::from(GENERATED);
    out.push_str(
        "# Sesame: identity for FastCGI backends (PHP-FPM...). Usage, in a location that passes to FastCGI:\n\
         #     include sesame_fastcgi_params;\n\
         # PHP sees them in $_SERVER. A parameter is sent only when it has a value (if_not_empty): a claim the\n\
         # provider did not send, or a request Sesame did not let through, leaves it unset.\n\
         # Values are the raw UTF-8 claim values (arrays and objects as compact JSON); FastCGI parameters are\n\
         # length-prefixed, so no encoding is needed. Claim `a:b` is SESAME_CLAIM_A_B ($sesame_claim_a_b).\n\
         # SESAME_CLAIMS holds every claim as one JSON object, also those without a line below.\n\
         # SESAME_DATA holds every data call's JSON result (`data NAME URL` of the provider) as one object by NAME,\n\
         # SESAME_DATA_ERRORS why the others gave nothing; for one call's own parameter add e.g.\n\
         #     fastcgi_param SESAME_DATA_QF $sesame_data_qf if_not_empty;\n\
         # Incoming request headers that could pass for these (X-Sesame-*, Remote-User...) are removed by Sesame.\n\n",
    );
    let fixed: Vec<(String, String)> = Fixed::ALL
        .iter()
        .map(|f| (f.env_name().to_owned(), f.nginx_variable().to_owned()))
        .collect();
    block(&mut out, "fastcgi_param", &fixed, " if_not_empty");
    out.push('\n');
    let claims: Vec<(String, String)> = LISTED_CLAIMS
        .iter()
        .map(|c| (claim_env_name(c), claim_nginx_variable(c)))
        .collect();
    block(&mut out, "fastcgi_param", &claims, " if_not_empty");
    out.push_str(
        "\n# Uniform claims: the same name whatever the federation (SESAME_FAMILY_NAME = FranceConnect family_name\n\
         # or ProConnect usual_name). SESAME_USER is the stable key (issuer + sub); SESAME_IDP_ID stands beside it.\n",
    );
    let uniform: Vec<(String, String)> = uniform_claims()
        .iter()
        .map(|u| (uniform_env_name(u), uniform_nginx_variable(u)))
        .collect();
    block(&mut out, "fastcgi_param", &uniform, " if_not_empty");
    out.push_str(
        "\n# The access token, only at a location with `sesame_pass_access_token on` and only when handed over\n\
         # (FranceConnect: the first request after the login; ProConnect: every request while it is valid).\n",
    );
    let handed: Vec<(String, String)> = Handed::ALL
        .iter()
        .map(|h| (h.env_name().to_owned(), h.nginx_variable().to_owned()))
        .collect();
    block(&mut out, "fastcgi_param", &handed, " if_not_empty");
    out
}

fn proxy_params() -> String {
    let mut out = String::from(GENERATED);
    out.push_str(
        "# Sesame: identity for proxied backends, as request headers. Usage, in a location with proxy_pass:\n\
         #     include sesame_proxy_params;\n\
         # Claim values are percent-encoded ($sesame_header_*: every byte outside A-Z a-z 0-9 - . _ ~ as %XX), so\n\
         # UTF-8 names and JSON arrays pass safely through any header; decode them in the application.\n\
         # X-Sesame-Claims is every claim as one JSON object, percent-encoded the same way (never a CR, LF or\n\
         # comma), also the claims without a line below.\n\
         # A header whose value is empty is not sent (nginx), so a missing claim leaves it absent.\n\
         # Incoming X-Sesame-* / Remote-User / X-Remote-User / X-Forwarded-User headers are removed by Sesame.\n\
         # Note: proxy_set_header in a location replaces all those inherited from outer levels (nginx rule);\n\
         # repeat your own proxy_set_header lines next to this include.\n\
         # REMOTE_USER is not sent as a header here: its claim is configurable and could carry any text; use\n\
         # the percent-encoded claim of your choice (X-Sesame-Claim-Sub by default).\n\n",
    );
    let fixed: Vec<(String, String)> = Fixed::ALL
        .iter()
        .filter_map(|f| {
            Some((
                f.header_name()?.to_owned(),
                f.nginx_header_variable()?.to_owned(),
            ))
        })
        .collect();
    block(&mut out, "proxy_set_header", &fixed, "");
    out.push('\n');
    let claims: Vec<(String, String)> = LISTED_CLAIMS
        .iter()
        .map(|c| (claim_header_name(c), claim_nginx_header_variable(c)))
        .collect();
    block(&mut out, "proxy_set_header", &claims, "");
    out.push_str(
        "\n# Uniform claims (same name whatever the federation; Family-Name = FranceConnect family_name or ProConnect\n\
         # usual_name), percent-encoded like the claims above.\n",
    );
    let uniform: Vec<(String, String)> = uniform_claims()
        .iter()
        .map(|u| (uniform_header_name(u), uniform_nginx_header_variable(u)))
        .collect();
    block(&mut out, "proxy_set_header", &uniform, "");
    out
}

fn fastcgi_params_oidc() -> String {
    let mut out = String::from(GENERATED);
    out.push_str(
        "# Sesame: identity for FastCGI backends written for mod_auth_openidc (migration). Usage, in place of\n\
         #     include sesame_fastcgi_params;\n\
         # PHP sees what mod_auth_openidc would have passed with its defaults: REMOTE_USER = sub@issuer (the\n\
         # issuer without https://, OIDCRemoteUserClaim sub@), and OIDC_CLAIM_<claim> with the claim's own name\n\
         # (OIDCClaimPrefix OIDC_CLAIM_): strings as they are (UTF-8), arrays joined by \",\" (OIDCClaimDelimiter),\n\
         # booleans 1/0. Claim `chorusdt:matricule` is OIDC_CLAIM_chorusdt-matricule. A parameter is sent only\n\
         # when it has a value. Apache: SesameVariables mod_auth_openidc does the same.\n\n",
    );
    block(
        &mut out,
        "fastcgi_param",
        &[(REMOTE_USER.to_owned(), OIDC_REMOTE_USER_VARIABLE.to_owned())],
        " if_not_empty",
    );
    out.push('\n');
    let claims: Vec<(String, String)> = LISTED_CLAIMS
        .iter()
        .map(|c| (oidc_claim_name(c), oidc_claim_nginx_variable(c)))
        .collect();
    block(&mut out, "fastcgi_param", &claims, " if_not_empty");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file's lines with runs of spaces as one (the columns are layout).
    fn lines(text: &str) -> Vec<String> {
        text.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn sesame_claims_is_passed_by_the_sesame_files_only() {
        let [(_, fastcgi), (_, proxy), (_, oidc)] = all();
        let (fastcgi, proxy, oidc) = (lines(&fastcgi), lines(&proxy), lines(&oidc));
        let has = |file: &[String], line: &str| file.iter().any(|l| l == line);
        assert!(has(
            &fastcgi,
            "fastcgi_param SESAME_CLAIMS $sesame_claims if_not_empty;"
        ));
        assert!(has(
            &fastcgi,
            "fastcgi_param SESAME_CLAIM_CHORUSDT_MATRICULE $sesame_claim_chorusdt_matricule if_not_empty;"
        ));
        assert!(has(
            &proxy,
            "proxy_set_header X-Sesame-Claims $sesame_claims_header;"
        ));
        assert!(!proxy
            .iter()
            .any(|l| l.starts_with("proxy_set_header") && l.contains("remote_user")));
        assert!(has(
            &oidc,
            "fastcgi_param OIDC_CLAIM_chorusdt-matricule $sesame_oidc_claim_chorusdt_matricule if_not_empty;"
        ));
        assert!(
            !oidc.iter().any(|l| l.starts_with("fastcgi_param SESAME_")),
            "mod_auth_openidc's variables only"
        );
    }
}
