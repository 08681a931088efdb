"""HTML pages served by the emulator (error pages, login / SSO confirmation, logged-out page)."""

import html
import uuid

from emu_identities import IDENTITIES, display_name

_STYLE = "body{font-family:sans-serif;max-width:40em;margin:2em auto}.code{font-weight:bold}"


def _doc(title, body):
    return (
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
        "<title>%s</title><style>%s</style></head><body>\n%s\n</body></html>\n"
        % (html.escape(title), _STYLE, body)
    ).encode("utf-8")


def error_page(code, message):
    """FC-style error page: no link back to the service provider, just the code and an id."""
    return _doc(
        "FranceConnect - Erreur",
        "<h1>Une erreur est survenue</h1>\n"
        "<p class=\"code\" id=\"error-code\">Code d'erreur : %s</p>\n"
        "<p id=\"error-message\">%s</p>\n"
        "<p>ID de l'erreur : %s</p>"
        % (html.escape(code), html.escape(message), uuid.uuid4()),
    )


def login_page(issuer, interaction, client_id, sso_login=None):
    """Identity choice page. With an SSO session: a "continue as" confirmation using the same
    form fields (select `login` with the session's identity only) so automated clients still work."""
    action = html.escape(issuer + "/login", quote=True)
    if sso_login:
        intro = ("<p class=\"sso-session\">Continuer en tant que %s</p>"
                 % html.escape(display_name(sso_login)))
        logins = [sso_login]
    else:
        intro = "<p>Choisissez l'identité de test :</p>"
        logins = list(IDENTITIES)
    options = "\n".join(
        "<option value=\"%s\">%s (%s)</option>"
        % (html.escape(login, quote=True), html.escape(display_name(login)), html.escape(login))
        for login in logins
    )
    return _doc(
        "FranceConnect - Connexion",
        "<h1>Connexion à %s</h1>\n%s\n"
        "<form method=\"post\" action=\"%s\">\n"
        "<input type=\"hidden\" name=\"interaction\" value=\"%s\">\n"
        "<select name=\"login\">\n%s\n</select>\n"
        "<button type=\"submit\" name=\"action\" value=\"login\">Continuer</button>\n"
        "<button type=\"submit\" name=\"action\" value=\"cancel\">Revenir sur le site</button>\n"
        "</form>"
        % (html.escape(client_id), intro, action, html.escape(interaction, quote=True), options),
    )


def logged_out_page():
    return _doc("FranceConnect - Déconnexion",
                "<h1>Vous êtes déconnecté de FranceConnect</h1>\n"
                "<p>You have been logged out of FranceConnect.</p>")
