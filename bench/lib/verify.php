<?php
// SPDX-License-Identifier: Apache-2.0
// The "php-verify" row: what users write without the module - the app checks
// the Teamwork signature itself (hash_hmac + hash_equals) and rejects with 401.
$body = file_get_contents('php://input');
$secret = getenv('TW_WEBHOOK_SECRET');
$sig = strtolower($_SERVER['HTTP_SIGNATURE'] ?? '');
if (strncmp($sig, 'sha256=', 7) === 0) {
    $sig = substr($sig, 7);
}
if ($secret === false || !hash_equals(hash_hmac('sha256', $body, $secret), $sig)) {
    http_response_code(401);
    header('Content-Type: text/plain');
    echo "signature mismatch\n";
    exit;
}
header('Content-Type: text/plain');
echo 'ok ', strlen($body), "\n";
