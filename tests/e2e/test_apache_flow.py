"""The nginx behaviour tests, run unchanged against Apache httpd + mod_sesame (event MPM,
php-fpm through proxy_fcgi, the echo app through mod_proxy_http).

The test functions are imported from the nginx modules; overriding `make_site` here makes every
fixture they use (`nginx_site`, `nginx`, `browser`, `new_browser`, `start_nginx`) serve Apache.
"""

import pytest

from test_callback_attacks import (  # noqa: F401
    test_callback_in_a_browser_that_did_not_start_the_login_is_rejected,
    test_callback_replayed_after_success_is_rejected,
    test_callback_replayed_with_a_captured_login_cookie_is_rejected,
    test_callback_with_a_malformed_code_gets_the_error_page_and_no_token_request,
    test_callback_with_a_replayed_code_is_rejected,
    test_callback_with_foreign_iss_is_rejected,
    test_callback_with_iss_changed_by_hand_is_rejected,
    test_callback_with_tampered_state_is_rejected,
    test_callback_without_iss_is_rejected,
    test_callback_without_state_is_rejected,
    test_cancelled_login_shows_a_clear_page_with_a_retry_link,
    test_error_description_from_the_provider_is_html_escaped,
)
from test_claims import (  # noqa: F401
    test_array_claim_reaches_php_as_compact_json,
    test_claims_outside_the_requested_scope_are_not_passed,
    test_identity_claims_reach_php,
)
from test_login_flow import (  # noqa: F401
    test_authorize_request_carries_exactly_franceconnect_parameters,
    test_claims_reach_php_with_utf8_intact,
    test_cookies_are_host_prefixed_secure_httponly_lax,
    test_full_flow_logs_in_shows_claims_and_logs_out_through_provider,
    test_head_without_session_redirects_to_provider,
    test_login_returns_to_the_originally_asked_url_with_its_query,
    test_logs_never_contain_secrets_tokens_codes_or_cookies,
    test_only_the_four_newest_pending_logins_are_kept,
    test_post_without_session_gets_401_not_a_redirect,
    test_proxied_app_receives_percent_encoded_claim_headers,
    test_session_cookie_carries_no_claims,
    test_session_is_shared_between_php_and_proxied_locations,
    test_state_and_nonce_are_fresh_for_every_login,
    test_token_call_uses_client_secret_post_only,
    test_two_tabs_logging_in_at_once_each_return_where_they_started,
    test_unprotected_location_needs_no_login,
    test_user_key_is_stable_across_logins_and_differs_between_identities,
)
from test_sessions import (  # noqa: F401
    test_forged_session_cookie_means_login_again,
    test_garbage_session_cookie_means_login_again,
    test_logout_deletes_the_session_server_side,
    test_logout_return_with_tampered_state_gets_400,
    test_logout_return_without_logout_cookie_is_left_to_the_site,
    test_logout_without_session_goes_to_logout_redirect,
    test_missing_session_cookie_means_login_again,
    test_session_cookie_copied_to_another_browser_is_the_same_session,
    test_session_cookie_with_altered_id_means_login_again,
    test_session_opens_nothing_on_a_server_sharing_secret_and_redis_with_another_client_id,
)
from test_spoofed_headers import (  # noqa: F401
    test_ordinary_headers_still_reach_php,
    test_spoofed_identity_header_never_reaches_php,
    test_spoofed_identity_header_never_reaches_proxied_app,
    test_spoofed_remote_user_does_not_bypass_login,
)
from test_token_validation import (  # noqa: F401
    test_login_after_provider_key_rotation_succeeds_by_refetching_jwks,
    test_login_after_refusal_works_again,
    test_login_with_bad_tokens_is_refused,
)


@pytest.fixture(scope="module")
def make_site(make_apache_site):
    return make_apache_site  # event MPM, php-fpm
