<?php
// An application written for mod_auth_openidc: it reads only what mod_auth_openidc sets by
// default (REMOTE_USER = sub@issuer, OIDC_CLAIM_<claim>), and knows nothing about Sesame.
header('Cache-Control: no-store');
header('Content-Type: application/json; charset=utf-8');
$claims = [];
foreach ($_SERVER as $k => $v) {
    if (strncmp($k, 'OIDC_CLAIM_', 11) === 0) {
        $claims[substr($k, 11)] = $v;
    }
}
ksort($claims);
echo json_encode([
    'user' => $_SERVER['REMOTE_USER'] ?? null,
    'greeting' => 'Bonjour ' . ($_SERVER['OIDC_CLAIM_given_name'] ?? '?') . ' ' . ($_SERVER['OIDC_CLAIM_family_name'] ?? '?'),
    'claims' => $claims,
    'sesame' => array_values(array_filter(array_keys($_SERVER), fn($k) => strncmp($k, 'SESAME_', 7) === 0)),
], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
