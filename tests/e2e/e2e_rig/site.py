"""What the nginx and Apache site builders of the rig share: the FranceConnect provider settings
(the same core keys on both servers) and the extra clients a test registers with the emulator."""

from .services import new_client


class SiteProviders:
    # Where the provider's ca_file points; Apache copies the CA into its own conf/.
    def _provider_ca_file(self):
        return str(self.env.pki.ca)

    def fc_provider(self, client, secret_file="conf/fc.client_secret"):
        return {
            "preset": "franceconnect-integration",
            "issuer": self.env.emulator.issuer,
            "ca_file": self._provider_ca_file(),
            "client_id": client["client_id"],
            "client_secret_file": secret_file,
            "redirect_uri": client["redirect_uris"][0],
            "post_logout_redirect_uri": client["post_logout_redirect_uris"][0],
            "http_timeout": "2s",
        }

    def add_fc_provider(self, name, callback_path, logout_path):
        """Another FranceConnect client of this site under provider `name`; returns the client."""
        client = new_client(self.base)
        client["redirect_uris"] = [self.base + callback_path]
        client["post_logout_redirect_uris"] = [self.base + logout_path]
        secret_file = f"conf/{name}.client_secret"
        self.files[secret_file] = client["client_secret"] + "\n"
        self.providers[name] = self.fc_provider(client, secret_file=secret_file)
        self.clients.append(client)
        return client

    def _abs(self, value):
        # Relative file names in the site's tables live in its prefix; servers resolve relative
        # paths against different directories, so hand them absolute ones.
        if isinstance(value, str) and value.startswith("conf/"):
            return str(self.prefix / value)
        return value
