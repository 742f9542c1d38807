<?php
// SPDX-License-Identifier: Apache-2.0
// The downstream app of the "plain" and "module" rows: reads the whole body
// (as any webhook consumer does) and answers 200. No verification here; in
// the "module" row mod_twwebhook has verified the delivery before php-fpm is
// reached and says so in TW_WEBHOOK_VERIFIED.
$body = file_get_contents('php://input');
header('Content-Type: text/plain');
echo 'ok ', strlen($body), ' ', $_SERVER['TW_WEBHOOK_VERIFIED'] ?? '-', "\n";
