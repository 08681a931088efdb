//! The login page (`sesame_login_page on|FILE`): what FranceConnect's qualification checks on
//! a service's login section (docs/qualification.md): the sentence above the official button,
//! the button itself (FranceConnect, the « + » variant of FranceConnect+, ProConnect's own),
//! the « Qu'est-ce que … ? » link 8 px under it opening a new window, FranceConnect first and
//! an « OU » separator before any other method, and the operator's blocks (a title, who may
//! log in, the site's own login). The button POSTs to the page's own URL with a token bound to
//! that URL and provider, so that fetching the page (a crawler, a prefetch) creates nothing.
//!
//! The page depends on the location only (never on the user): it is cacheable by the browser
//! with an ETag, and revalidated each time (`private, no-cache`).

use crate::directives::local_path::is_safe_local_path;
use crate::directives::registry::location_name;
use crate::identity::Federation;

use super::{builtin_csp, html_escape, layout, security_headers, Lang, Page};

/// Which official button a federation's login gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    FranceConnect,
    /// The « + » variant, with its own « Qu'est-ce que FranceConnect+ ? » page. `Button::of`
    /// gives it to a FranceConnect+ provider once the core has that federation.
    #[cfg_attr(not(test), allow(dead_code))]
    FranceConnectPlus,
    ProConnect,
}

impl Button {
    /// The button of a federation's login; None for a generic provider (no official button).
    pub fn of(federation: Federation) -> Option<Button> {
        match federation {
            Federation::FranceConnect => Some(Button::FranceConnect),
            Federation::FranceConnectPlus => Some(Button::FranceConnectPlus),
            Federation::ProConnect => Some(Button::ProConnect),
            Federation::Generic => None,
        }
    }

    fn brand(self) -> &'static str {
        match self {
            Button::FranceConnect | Button::FranceConnectPlus => "FranceConnect",
            Button::ProConnect => "ProConnect",
        }
    }

    /// The DSFR "connect" classes.
    fn classes(self) -> &'static str {
        match self {
            Button::FranceConnect => "fr-connect",
            Button::FranceConnectPlus => "fr-connect fr-connect--plus",
            Button::ProConnect => "fr-connect fr-connect--pro",
        }
    }

    /// The federation's own page the « Qu'est-ce que … ? » link opens.
    fn what_is_url(self) -> &'static str {
        match self {
            Button::FranceConnect => "https://franceconnect.gouv.fr/",
            Button::FranceConnectPlus => "https://franceconnect.gouv.fr/france-connect-plus",
            Button::ProConnect => "https://www.proconnect.gouv.fr/",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Button::FranceConnect => "FranceConnect",
            Button::FranceConnectPlus => "FranceConnect+",
            Button::ProConnect => "ProConnect",
        }
    }

    /// The sentence above the button (FranceConnect's is mandatory word for word).
    fn sentence(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Button::FranceConnect, Lang::Fr) => "FranceConnect est la solution proposée par l’État pour sécuriser et simplifier la connexion à vos services en ligne.",
            (Button::FranceConnect, Lang::En) => "FranceConnect is the solution offered by the French State to secure and simplify logging in to your online services.",
            (Button::FranceConnectPlus, Lang::Fr) => "FranceConnect+ est la solution proposée par l’État pour sécuriser et simplifier la connexion à vos services en ligne qui demandent un niveau de sécurité renforcé.",
            (Button::FranceConnectPlus, Lang::En) => "FranceConnect+ is the solution offered by the French State to secure and simplify logging in to your online services that need a higher level of security.",
            (Button::ProConnect, Lang::Fr) => "ProConnect est la solution proposée par l’État pour simplifier la connexion des professionnels à leurs services en ligne.",
            (Button::ProConnect, Lang::En) => "ProConnect is the solution offered by the French State to simplify professionals' logging in to their online services.",
        }
    }

    /// A section heading when the page offers both federations.
    fn audience(self, lang: Lang) -> &'static str {
        match self {
            Button::FranceConnect | Button::FranceConnectPlus => {
                lang.pick("Vous êtes un particulier", "For individuals")
            }
            Button::ProConnect => lang.pick("Vous êtes un professionnel", "For professionals"),
        }
    }

    /// FranceConnect's buttons come first on the page (qualification item 5).
    fn rank(self) -> u8 {
        match self {
            Button::FranceConnect | Button::FranceConnectPlus => 0,
            Button::ProConnect => 1,
        }
    }
}

/// The query parameter the button's POST carries.
pub const LOGIN_TOKEN_PARAM: &str = "sesame_login";

/// A location's login page, as its options configured it.
#[derive(Debug, Clone)]
pub struct LoginPage {
    pub button: Button,
    /// An operator's template (`sesame_login_page FILE`), read at config time.
    template: Option<String>,
    title: Option<String>,
    eligibility: Option<String>,
    /// `sesame_login_page_own_login URL TEXT`.
    own_login: Option<(String, String)>,
    /// Other locations whose login the page also offers (another federation).
    pub offers: Vec<Offer>,
}

/// `sesame_login_page_offer PROVIDER PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub provider: String,
    pub button: Button,
    /// The protected location whose login the button starts (it comes back there).
    pub path: String,
}

/// A login page option that cannot hold: its key and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPageError {
    pub key: String,
    pub message: String,
}

fn fault(key: &str, message: String) -> LoginPageError {
    LoginPageError {
        key: key.to_owned(),
        message,
    }
}

/// Longest operator text on the page.
const MAX_TEXT: usize = 500;

fn text_option(key: &str, value: &str) -> Result<String, LoginPageError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(fault(
            key,
            format!(
                "{} must be one line of 1 to {MAX_TEXT} characters",
                location_name(key)
            ),
        ));
    }
    Ok(value.to_owned())
}

/// The placeholders an operator's template may hold; `{button}` is required.
pub const PLACEHOLDERS: &[&str] = &[
    "{lang}",
    "{title}",
    "{style}",
    "{eligibility}",
    "{sentence}",
    "{button}",
    "{login_url}",
    "{what_is_link}",
    "{offers}",
    "{own_login}",
];

impl LoginPage {
    /// The login page a protected location's options ask for, None when they ask for none
    /// (`sesame_login_page off` or absent). `federation` is the location's provider's;
    /// `button_of` names the button of another provider (`sesame_login_page_offer`), or says
    /// why it has none. Reads the template file now: a missing file or a template without
    /// `{button}` fails at config test, not at the first visitor.
    pub fn parse(
        federation: Federation,
        options: &[(String, String)],
        button_of: impl Fn(&str) -> Result<Button, String>,
    ) -> Result<Option<LoginPage>, LoginPageError> {
        let mut mode: Option<&str> = None;
        let mut page = LoginPage {
            button: Button::FranceConnect,
            template: None,
            title: None,
            eligibility: None,
            own_login: None,
            offers: Vec::new(),
        };
        let mut other_key = None;
        for (key, value) in options {
            let value = value.trim();
            match key.as_str() {
                "login_page" => mode = Some(value),
                "login_page_title" => page.title = Some(text_option(key, value)?),
                "login_page_eligibility" => page.eligibility = Some(text_option(key, value)?),
                "login_page_own_login" => page.own_login = Some(own_login(key, value)?),
                "login_page_offer" => page.offers.push(offer(key, value, &button_of)?),
                _ => continue,
            }
            if key != "login_page" {
                other_key.get_or_insert(key.as_str());
            }
        }
        let template = match mode {
            None | Some("off") => {
                return match other_key {
                    Some(key) => Err(fault(
                        key,
                        format!(
                            "{} has no effect without {} on (or FILE)",
                            location_name(key),
                            location_name("login_page")
                        ),
                    )),
                    None => Ok(None),
                }
            }
            Some("on") => None,
            Some(path) => Some(read_template(path)?),
        };
        page.template = template;
        page.button = Button::of(federation).ok_or_else(|| {
            fault(
                "login_page",
                format!(
                    "{} shows a federation's official button: it needs a FranceConnect or ProConnect preset",
                    location_name("login_page")
                ),
            )
        })?;
        for o in &page.offers {
            if o.button.rank() == page.button.rank() {
                return Err(fault(
                    "login_page_offer",
                    format!(
                        "{} {}: this page already offers {}; offer a location of the other federation",
                        location_name("login_page_offer"),
                        o.provider,
                        page.button.name()
                    ),
                ));
            }
        }
        Ok(Some(page))
    }

    /// The page for this location, in `lang`. `action` is the page's own URL with its login
    /// token; `offer_actions` the same for each offer, in order. Answers 304 (no body) when
    /// `if_none_match` names the page's ETag.
    pub fn render(
        &self,
        lang: Lang,
        action: &str,
        offer_actions: &[String],
        if_none_match: &str,
    ) -> Page {
        let title = self
            .title
            .clone()
            .unwrap_or_else(|| lang.pick("Connexion", "Log in").to_owned());
        let mut sections = vec![(self.button, action)];
        for (o, a) in self.offers.iter().zip(offer_actions) {
            sections.push((o.button, a.as_str()));
        }
        sections.sort_by_key(|(b, _)| b.rank());
        let several = sections.len() > 1;
        let separator = format!(
            "<p class=\"sesame-or\" role=\"separator\">{}</p>\n",
            lang.pick("OU", "OR")
        );
        let eligibility = self
            .eligibility
            .as_deref()
            .map(|t| format!("<p>{}</p>\n", html_escape(t)))
            .unwrap_or_default();
        let own_login = self
            .own_login
            .as_ref()
            .map(|(url, text)| {
                format!(
                    "{separator}<p><a href=\"{}\">{}</a></p>\n",
                    html_escape(url),
                    html_escape(text)
                )
            })
            .unwrap_or_default();
        let body = match &self.template {
            None => {
                let mut main = format!("<h1>{}</h1>\n{eligibility}", html_escape(&title));
                for (i, (button, action)) in sections.iter().enumerate() {
                    if i > 0 {
                        main.push_str(&separator);
                    }
                    main.push_str(&section(*button, action, lang, several));
                }
                main.push_str(&own_login);
                layout::document(lang, &title, &main)
            }
            Some(template) => {
                let offers: String = sections
                    .iter()
                    .filter(|(b, _)| *b != self.button)
                    .map(|(b, a)| format!("{separator}{}", section(*b, a, lang, true)))
                    .collect();
                template
                    .replace("{lang}", lang.code())
                    .replace("{title}", &html_escape(&title))
                    .replace("{style}", &layout::style_element())
                    .replace("{eligibility}", &eligibility)
                    .replace("{sentence}", &html_escape(self.button.sentence(lang)))
                    .replace("{button}", &button_group(self.button, action, lang))
                    .replace("{login_url}", &html_escape(action))
                    .replace("{what_is_link}", &what_is_link(self.button, lang))
                    .replace("{offers}", &offers)
                    .replace("{own_login}", &own_login)
            }
        };
        let etag = etag_of(&body);
        let csp = match self.template {
            None => builtin_csp(),
            // An operator's page may use its own same-site style sheets and images.
            Some(_) => super::template_csp(),
        };
        let mut headers = vec![
            ("Cache-Control".to_string(), "private, no-cache".to_string()),
            ("ETag".to_string(), etag.clone()),
            ("Vary".to_string(), "Accept-Language, Cookie".to_string()),
        ];
        headers.extend(security_headers(&csp));
        let not_modified = if_none_match
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag);
        Page {
            status: if not_modified { 304 } else { 200 },
            content_type: "text/html; charset=utf-8".into(),
            body: if not_modified { String::new() } else { body },
            set_cookies: Vec::new(),
            headers,
            failure: None,
        }
    }
}

/// `"<16 hex of sha256(body)>"`.
fn etag_of(body: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..8]))
}

/// One federation's block: the sentence, the button, the link.
fn section(button: Button, action: &str, lang: Lang, with_heading: bool) -> String {
    let heading = if with_heading {
        format!("<h2>{}</h2>\n", button.audience(lang))
    } else {
        String::new()
    };
    format!(
        "<section>\n{heading}<p>{}</p>\n{}</section>\n",
        html_escape(button.sentence(lang)),
        button_group(button, action, lang)
    )
}

/// The DSFR "connect" group: the button in a POST form, the link under it.
fn button_group(button: Button, action: &str, lang: Lang) -> String {
    format!(
        "<div class=\"fr-connect-group\">\n<form method=\"post\" action=\"{action}\">\n\
         <button class=\"{classes}\" type=\"submit\"><span class=\"fr-connect__login\">{login}</span> \
         <span class=\"fr-connect__brand\">{brand}</span></button>\n</form>\n<p>{link}</p>\n</div>\n",
        action = html_escape(action),
        classes = button.classes(),
        login = lang.pick("S’identifier avec", "Sign in with"),
        brand = button.brand(),
        link = what_is_link(button, lang),
    )
}

/// « Qu'est-ce que FranceConnect ? », opening the federation's page in a new window.
fn what_is_link(button: Button, lang: Lang) -> String {
    let label = match lang {
        Lang::Fr => format!("Qu’est-ce que {} ?", button.name()),
        Lang::En => format!("What is {}?", button.name()),
    };
    format!(
        "<a href=\"{url}\" target=\"_blank\" rel=\"noopener\" title=\"{label} - {new_window}\">{label}</a>",
        url = button.what_is_url(),
        label = html_escape(&label),
        new_window = lang.pick("nouvelle fenêtre", "new window"),
    )
}

fn own_login(key: &str, value: &str) -> Result<(String, String), LoginPageError> {
    let (url, text) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    let url_ok = is_safe_local_path(url)
        || url
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
    if !url_ok {
        return Err(fault(
            key,
            format!(
                "{} \"{url}\": the URL must be a local path (/login) or an https:// URL (write e.g. {} /compte/connexion Se connecter avec un identifiant)",
                location_name(key),
                location_name(key)
            ),
        ));
    }
    Ok((url.to_owned(), text_option(key, text)?))
}

fn offer(
    key: &str,
    value: &str,
    button_of: &impl Fn(&str) -> Result<Button, String>,
) -> Result<Offer, LoginPageError> {
    let mut words = value.split_whitespace();
    let (Some(provider), Some(path), None) = (words.next(), words.next(), words.next()) else {
        return Err(fault(
            key,
            format!(
                "{} takes a provider and the path of a location it protects (write e.g. {} pc /agents/)",
                location_name(key),
                location_name(key)
            ),
        ));
    };
    if !is_safe_local_path(path) {
        return Err(fault(
            key,
            format!(
                "{} {provider} \"{path}\": the path must be a local path of this site (/agents/)",
                location_name(key)
            ),
        ));
    }
    let button = button_of(provider)
        .map_err(|why| fault(key, format!("{} {provider}: {why}", location_name(key))))?;
    Ok(Offer {
        provider: provider.to_owned(),
        button,
        path: path.to_owned(),
    })
}

fn read_template(path: &str) -> Result<String, LoginPageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        fault(
            "login_page",
            format!(
                "{} \"{path}\": cannot read the template: {e} (write on, off, or the path of a readable HTML file)",
                location_name("login_page")
            ),
        )
    })?;
    if !text.contains("{button}") {
        return Err(fault(
            "login_page",
            format!(
                "{} \"{path}\": the template has no {{button}} placeholder (the official button goes there; placeholders: {})",
                location_name("login_page"),
                PLACEHOLDERS.join(" ")
            ),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
