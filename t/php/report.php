<?php
// SPDX-License-Identifier: Apache-2.0
// php-fpm downstream of the mod_twwebhook integration tests (reached through
// mod_proxy_fcgi). Same report as t/cgi-bin/report.cgi: the body's SHA-256
// and length from php://input and the request variables, as JSON. It
// appends "php <X-Tw-Test-Id>" to $TW_TEST_LOG first, so a test can prove
// the downstream never ran for a rejected request.
// A redelivery (twwebhook-inbox) carries only the stored headers: no
// X-Tw-Test-Id, but the Delivery the tests set to the same id.
$id = $_SERVER['HTTP_X_TW_TEST_ID'] ?? ($_SERVER['TW_WEBHOOK_DELIVERY'] ?? '-');
if (!empty($_SERVER['TW_TEST_LOG'])) {
    file_put_contents($_SERVER['TW_TEST_LOG'], "php $id\n", FILE_APPEND | LOCK_EX);
}

$body = file_get_contents('php://input');

// The module's temporary copy of a large body while this downstream runs:
// names in the spool directory, and descriptors open on a file there (held
// by an httpd child of the same user; the name may already be removed).
$spool_files = null;
$spool_open = null;
if (!empty($_SERVER['TW_TEST_SPOOL_DIR'])) {
    $dir = $_SERVER['TW_TEST_SPOOL_DIR'];
    $spool_files = count(glob($dir . '/twwebhook.*') ?: []);
    $spool_open = 0;
    foreach (glob('/proc/[0-9]*/fd/*') ?: [] as $fd) {
        $target = @readlink($fd);
        if ($target !== false && strpos($target, $dir . '/twwebhook.') === 0) {
            $spool_open++;
        }
    }
}

$r = [
    'downstream'  => 'php',
    'body_sha256' => hash('sha256', $body),
    'body_length' => strlen($body),
    'spool_files' => $spool_files,
    'spool_open'  => $spool_open,
    'test_id'     => $id,
];
foreach (['CONTENT_LENGTH', 'CONTENT_TYPE', 'REQUEST_METHOD', 'REQUEST_URI',
          'SCRIPT_NAME', 'HTTP_TRANSFER_ENCODING',
          'TW_WEBHOOK_VERIFIED', 'TW_WEBHOOK_EVENT', 'TW_WEBHOOK_DELIVERY',
          'TW_WEBHOOK_SECRET_INDEX', 'TW_WEBHOOK_ATTEMPT', 'HTTP_TW_DISPATCH',
          'HTTP_TW_WEBHOOK_VERIFIED',
          'REDIRECT_TW_WEBHOOK_VERIFIED', 'REDIRECT_TW_WEBHOOK_EVENT',
          'REDIRECT_TW_WEBHOOK_DELIVERY', 'REDIRECT_TW_WEBHOOK_SECRET_INDEX'] as $k) {
    // FastCGI params arrive in $_SERVER; an absent one is reported as null
    $r[$k] = array_key_exists($k, $_SERVER) ? (string)$_SERVER[$k] : null;
}
$tw = [];
$tw_env = [];
foreach ($_SERVER as $k => $v) {
    if (preg_match('/TW_?WEBHOOK/i', $k)) {
        $tw[$k] = (string)$v;
    }
    // every TW_* variable but the suite's own TW_TEST_* (TwWebhookExportJSON)
    if (strncmp($k, 'TW_', 3) === 0 && strncmp($k, 'TW_TEST_', 8) !== 0) {
        $tw_env[$k] = (string)$v;
    }
}
$r['tw_vars'] = (object)$tw;
$r['tw_env'] = (object)$tw_env;

// $TW_TEST_REPORTS: the report and a "done" line, as t/cgi-bin/report.cgi
$reports = $_SERVER['TW_TEST_REPORTS'] ?? '';
if ($reports !== '') {
    file_put_contents($reports, json_encode($r + ['t_start' => microtime(true)],
                                            JSON_UNESCAPED_SLASHES) . "\n", FILE_APPEND | LOCK_EX);
}
// ?status=NNN answers with that status, ?sleep=N first waits N seconds
// (as t/cgi-bin/report.cgi: a failing app, a slow app)
$q = $_SERVER['QUERY_STRING'] ?? '';
if (preg_match('/\bsleep=(\d+(?:\.\d+)?)\b/', $q, $m)) {
    usleep((int)((float)$m[1] * 1000000));
}
if ($reports !== '') {
    file_put_contents($reports, json_encode(['done' => $id, 't_end' => microtime(true)]) . "\n",
                      FILE_APPEND | LOCK_EX);
}
if (preg_match('/\bstatus=(\d{3})\b/', $q, $m)) {
    http_response_code((int)$m[1]);
}
header('Content-Type: application/json');
// one line, newline-terminated: TwTest::tw_nghttp finds it in nghttp's log
echo json_encode($r, JSON_UNESCAPED_SLASHES), "\n";
