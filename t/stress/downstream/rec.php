<?php
// SPDX-License-Identifier: Apache-2.0
// Recorder downstream of scripts/stress (php-fpm via mod_proxy_fcgi):
// appends one line about the request it was given to $TW_STRESS_LOG, under
// an exclusive lock, then answers "ok <X-Stress-Id>". The line (fields
// URL-escaped, "-" when absent; read by TwStress::read_records):
//   php <Delivery> <sha256(body)> <length> <TW_WEBHOOK_VERIFIED>
//       <TW_WEBHOOK_EVENT> <TW_WEBHOOK_SECRET_INDEX> <CONTENT_LENGTH> <id>
$f = function ($k) {
    return isset($_SERVER[$k]) && $_SERVER[$k] !== '' ? rawurlencode((string)$_SERVER[$k]) : '-';
};
$body = file_get_contents('php://input');
$line = implode(' ', ['php', $f('TW_WEBHOOK_DELIVERY'), hash('sha256', $body), strlen($body),
                      $f('TW_WEBHOOK_VERIFIED'), $f('TW_WEBHOOK_EVENT'),
                      $f('TW_WEBHOOK_SECRET_INDEX'), $f('CONTENT_LENGTH'),
                      $f('HTTP_X_STRESS_ID')]) . "\n";
if (!empty($_SERVER['TW_STRESS_LOG'])) {
    file_put_contents($_SERVER['TW_STRESS_LOG'], $line, FILE_APPEND | LOCK_EX);
}
header('Content-Type: text/plain');
echo 'ok ', $_SERVER['HTTP_X_STRESS_ID'] ?? '-', "\n";
