use super::*;

fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn no_offer(name: &str) -> Result<Button, String> {
    Err(format!("no provider named \"{name}\""))
}

fn page(federation: Federation, pairs: &[(&str, &str)]) -> LoginPage {
    LoginPage::parse(federation, &opts(pairs), |name| match name {
        "pc" => Ok(Button::ProConnect),
        "fc" => Ok(Button::FranceConnect),
        _ => no_offer(name),
    })
    .expect("valid options")
    .expect("a page")
}

fn header<'a>(page: &'a Page, name: &str) -> &'a str {
    page.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map_or("", |(_, v)| v.as_str())
}

#[test]
fn franceconnect_page_has_the_sentence_the_button_and_the_link_in_a_new_window() {
    let p = page(Federation::FranceConnect, &[("login_page", "on")]);
    let out = p.render(Lang::Fr, "/demarches/?sesame_login=tok", &[], "");
    assert_eq!(out.status, 200);
    let b = &out.body;
    assert!(b.contains("<html lang=\"fr\">"));
    assert!(b.contains("FranceConnect est la solution proposée par l’État pour sécuriser et simplifier la connexion à vos services en ligne."));
    assert!(b.contains("<form method=\"post\" action=\"/demarches/?sesame_login=tok\">"));
    assert!(b.contains("<button class=\"fr-connect\" type=\"submit\"><span class=\"fr-connect__login\">S’identifier avec</span> <span class=\"fr-connect__brand\">FranceConnect</span></button>"));
    assert!(b.contains("<a href=\"https://franceconnect.gouv.fr/\" target=\"_blank\" rel=\"noopener\" title=\"Qu’est-ce que FranceConnect ? - nouvelle fenêtre\">Qu’est-ce que FranceConnect ?</a>"));
    // The sentence comes before the button, the link after it.
    let (s, btn, link) = (
        b.find("FranceConnect est la solution")
            .unwrap_or(usize::MAX),
        b.find("<button").unwrap_or(0),
        b.find("Qu’est-ce que").unwrap_or(0),
    );
    assert!(s < btn && btn < link);
    assert!(
        !b.contains("class=\"sesame-or\""),
        "no separator without another method"
    );
    assert_eq!(header(&out, "X-Frame-Options"), "DENY");
    assert!(header(&out, "Content-Security-Policy").contains("frame-ancestors 'none'"));
    assert!(header(&out, "Content-Security-Policy").contains("default-src 'none'"));
    assert_eq!(header(&out, "Cache-Control"), "private, no-cache");
    assert!(header(&out, "ETag").starts_with('"'));
    assert!(header(&out, "Vary").contains("Accept-Language"));
}

#[test]
fn franceconnect_plus_gets_the_plus_variant_and_its_own_page() {
    let mut p = page(Federation::FranceConnect, &[("login_page", "on")]);
    p.button = Button::FranceConnectPlus;
    let b = p.render(Lang::Fr, "/a", &[], "").body;
    assert!(b.contains("<button class=\"fr-connect fr-connect--plus\""));
    assert!(b.contains("href=\"https://franceconnect.gouv.fr/france-connect-plus\""));
    assert!(b.contains("title=\"Qu’est-ce que FranceConnect+ ? - nouvelle fenêtre\""));
    assert!(b.contains("FranceConnect+ est la solution"));
}

#[test]
fn proconnect_gets_its_button_link_and_the_eligibility_text_before_it() {
    let p = page(
        Federation::ProConnect,
        &[
            ("login_page", "on"),
            ("login_page_title", "Espace agents"),
            ("login_page_eligibility", "Réservé aux agents <de> l'État"),
        ],
    );
    let b = p.render(Lang::Fr, "/agents/?sesame_login=t", &[], "").body;
    assert!(b.contains("<h1>Espace agents</h1>"));
    assert!(b.contains("<title>Espace agents</title>"));
    assert!(b.contains("<button class=\"fr-connect fr-connect--pro\""));
    assert!(b.contains("<span class=\"fr-connect__brand\">ProConnect</span>"));
    assert!(b.contains("href=\"https://www.proconnect.gouv.fr/\""));
    let eligibility = b
        .find("Réservé aux agents &lt;de&gt; l&#39;État")
        .unwrap_or(usize::MAX);
    assert!(eligibility < b.find("<button").unwrap_or(0));
}

#[test]
fn both_federations_put_franceconnect_first_with_an_ou_separator() {
    let p = page(
        Federation::ProConnect,
        &[("login_page", "on"), ("login_page_offer", "fc /usagers/")],
    );
    assert_eq!(p.offers[0].path, "/usagers/");
    let b = p
        .render(
            Lang::Fr,
            "/agents/?sesame_login=a",
            &["/usagers/?sesame_login=u".into()],
            "",
        )
        .body;
    let fc = b
        .find("action=\"/usagers/?sesame_login=u\"")
        .unwrap_or(usize::MAX);
    let or = b
        .find("<p class=\"sesame-or\" role=\"separator\">OU</p>")
        .unwrap_or(usize::MAX);
    let pc = b.find("action=\"/agents/?sesame_login=a\"").unwrap_or(0);
    assert!(
        fc < or && or < pc,
        "FranceConnect, then OU, then ProConnect"
    );
    assert!(b.contains("<h2>Vous êtes un particulier</h2>"));
    assert!(b.contains("<h2>Vous êtes un professionnel</h2>"));
}

#[test]
fn the_own_login_comes_after_the_separator() {
    let p = page(
        Federation::FranceConnect,
        &[
            ("login_page", "on"),
            ("login_page_own_login", "/compte/ Avec un identifiant"),
        ],
    );
    let b = p.render(Lang::Fr, "/a", &[], "").body;
    let or = b.find("class=\"sesame-or\"").unwrap_or(usize::MAX);
    assert!(b.find("<button").unwrap_or(usize::MAX) < or);
    assert!(
        or < b
            .find("<a href=\"/compte/\">Avec un identifiant</a>")
            .unwrap_or(0)
    );
}

#[test]
fn english_when_the_browser_prefers_it() {
    let p = page(Federation::FranceConnect, &[("login_page", "on")]);
    let out = p.render(Lang::En, "/a", &[], "");
    assert!(out.body.contains("<html lang=\"en\">"));
    assert!(out.body.contains("Sign in with"));
    assert!(out
        .body
        .contains("title=\"What is FranceConnect? - new window\""));
    let fr = p.render(Lang::Fr, "/a", &[], "");
    assert_ne!(header(&out, "ETag"), header(&fr, "ETag"));
}

#[test]
fn a_matching_etag_gets_304_without_body() {
    let p = page(Federation::FranceConnect, &[("login_page", "on")]);
    let first = p.render(Lang::Fr, "/a", &[], "");
    let etag = header(&first, "ETag").to_owned();
    let again = p.render(Lang::Fr, "/a", &[], &format!("\"x\", W/{etag}"));
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(header(&again, "ETag"), etag);
    assert_eq!(
        p.render(Lang::Fr, "/b", &[], &etag).status,
        200,
        "another URL, another page"
    );
}

#[test]
fn off_or_absent_means_no_page_and_blocks_without_it_are_refused() {
    let none = |pairs: &[(&str, &str)]| {
        LoginPage::parse(Federation::FranceConnect, &opts(pairs), no_offer)
    };
    assert!(none(&[]).expect("ok").is_none());
    assert!(none(&[("login_page", "off")]).expect("ok").is_none());
    let e = none(&[("login_page_title", "x")]).expect_err("refused");
    assert_eq!(e.key, "login_page_title");
    assert!(e.message.contains("no effect without"), "{}", e.message);
}

#[test]
fn misconfigurations_fail_at_config_test() {
    let parse = |f: Federation, pairs: &[(&str, &str)]| {
        LoginPage::parse(f, &opts(pairs), |n| match n {
            "fc2" => Ok(Button::FranceConnect),
            _ => no_offer(n),
        })
        .expect_err("refused")
    };
    let e = parse(Federation::Generic, &[("login_page", "on")]);
    assert!(
        e.message.contains("FranceConnect or ProConnect preset"),
        "{}",
        e.message
    );
    let e = parse(
        Federation::FranceConnect,
        &[("login_page", "/nonexistent/page.html")],
    );
    assert!(
        e.message.contains("cannot read the template"),
        "{}",
        e.message
    );
    let e = parse(
        Federation::FranceConnect,
        &[("login_page", "on"), ("login_page_offer", "fc2 /x/")],
    );
    assert!(
        e.message.contains("already offers FranceConnect"),
        "{}",
        e.message
    );
    let e = parse(
        Federation::FranceConnect,
        &[("login_page", "on"), ("login_page_offer", "nope /x/")],
    );
    assert!(e.message.contains("no provider named"), "{}", e.message);
    let e = parse(
        Federation::FranceConnect,
        &[("login_page", "on"), ("login_page_offer", "fc2 //evil/")],
    );
    assert!(e.message.contains("local path"), "{}", e.message);
    let e = parse(
        Federation::FranceConnect,
        &[
            ("login_page", "on"),
            ("login_page_own_login", "javascript:alert(1) x"),
        ],
    );
    assert!(e.message.contains("local path"), "{}", e.message);
    let e = parse(
        Federation::FranceConnect,
        &[("login_page", "on"), ("login_page_title", "a\u{7}b")],
    );
    assert_eq!(e.key, "login_page_title");
}

#[test]
fn a_template_file_gets_its_placeholders_and_must_hold_the_button() {
    let dir = std::env::temp_dir().join(format!("sesame-login-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.html");
    std::fs::write(&bad, "<p>{login_url}</p>").expect("write");
    let e = LoginPage::parse(
        Federation::FranceConnect,
        &opts(&[("login_page", bad.to_str().unwrap_or_default())]),
        no_offer,
    )
    .expect_err("refused");
    assert!(
        e.message.contains("no {button} placeholder"),
        "{}",
        e.message
    );
    let good = dir.join("good.html");
    std::fs::write(&good, "<html lang=\"{lang}\"><head>{style}</head><h1>{title}</h1><p>{sentence}</p>{button}<form action=\"{login_url}\"></form>{what_is_link}{unknown}</html>").expect("write");
    let p = page(
        Federation::FranceConnect,
        &[("login_page", good.to_str().unwrap_or_default())],
    );
    let out = p.render(Lang::Fr, "/a?x=1&sesame_login=t", &[], "");
    assert!(out.body.starts_with("<html lang=\"fr\"><head><style>"));
    assert!(out.body.contains("<h1>Connexion</h1>"));
    assert!(out.body.contains("class=\"fr-connect\""));
    assert!(out
        .body
        .contains("<form action=\"/a?x=1&amp;sesame_login=t\">"));
    assert!(
        out.body.contains("{unknown}"),
        "unknown placeholders stay as written"
    );
    assert!(header(&out, "Content-Security-Policy").contains("frame-ancestors 'none'"));
    let _ = std::fs::remove_dir_all(&dir);
}
