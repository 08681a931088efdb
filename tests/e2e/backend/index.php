<?php
// Test backend: shows everything PHP received, keys sorted, as JSON. A value that is not valid
// UTF-8 gives a 500 naming the key, so an encoding bug fails loudly instead of being hidden.
header('Cache-Control: no-store');
$server = $_SERVER;
ksort($server);
try {
    $body = json_encode($server, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
} catch (JsonException $e) {
    $bad = [];
    foreach ($server as $k => $v) {
        if (is_string($v) && !preg_match('//u', $v)) {
            $bad[] = $k;
        }
    }
    http_response_code(500);
    header('Content-Type: text/plain; charset=utf-8');
    echo 'not valid UTF-8: ' . implode(' ', $bad) . "\n";
    exit;
}
header('Content-Type: application/json; charset=utf-8');
echo $body;
