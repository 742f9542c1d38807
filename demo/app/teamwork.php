<?php
// SPDX-License-Identifier: Apache-2.0
// The example app: it trusts what it gets, because mod_twwebhook let
// through only requests whose body carries a valid signature.
$body = file_get_contents('php://input');
$event = json_decode($body, true);
header('Content-Type: text/plain');
printf("php app: verified=%s event=%s delivery=%s secret#%s\n",
       $_SERVER['TW_WEBHOOK_VERIFIED'] ?? '-', $_SERVER['TW_WEBHOOK_EVENT'] ?? '-',
       $_SERVER['TW_WEBHOOK_DELIVERY'] ?? '-', $_SERVER['TW_WEBHOOK_SECRET_INDEX'] ?? '-');
printf("php app: %d bytes, sha256 %s, page \"%s\"\n", strlen($body),
       hash('sha256', $body), $event['page']['title'] ?? '?');
