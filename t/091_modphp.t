# SPDX-License-Identifier: Apache-2.0
# mod_php as a third downstream. It only runs under prefork (Debian's
# libphp is not thread-safe), where t/TEST.PL loads it (TW_MPM=prefork);
# t/900_mpm_matrix.t runs the suite under prefork and requires this file
# to have run there, not skipped. /modphp/report.php is t/php/report.php
# with "SetHandler application/x-httpd-php"; t/logs/handler_log proves
# which handler answered.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use TwTest;

my $mpm = tw_vars()->{tw_mpm} // 'event';
plan skip_all => "mod_php needs prefork (this server runs $mpm); "
               . 't/900_mpm_matrix.t runs this file under prefork'
    if $mpm ne 'prefork';

my $PHP_HANDLER = 'application/x-httpd-php';

sub via_mod_php {
    my ($res, $name) = @_;
    my $h = handler_log($res->{id});
    is($h && $h->{handler}, $PHP_HANDLER, "$name: answered by mod_php ($PHP_HANDLER)");
}

my $body = '{"event":"comment.created","comment":{"id":77,"body":"mod_php"}}';
my %vars = (TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'comment.created',
            TW_WEBHOOK_SECRET_INDEX => '1');

# the handler log tells php-fpm apart: sanity check of the check itself
{
    my $res = tw_request(path => url('prot', 'php'), body => $body,
                         signature => sign($body, $SECRET{a}));
    is($res->{status}, 200, '/prot/report.php still goes to php-fpm') or diag(describe($res));
    my $h = handler_log($res->{id});
    like($h && $h->{handler} // '', qr/^proxy:unix:/, '... whose handler is proxy:unix:... (php-fpm)');
}

{
    my $mark = log_mark();
    my $res = tw_request(path => '/modphp/report.php', body => $body,
                         signature => sign($body, $SECRET{a}), event => 'comment.created');
    check_delivered($res, 'php', $body, { %vars, TW_WEBHOOK_DELIVERY => $res->{id} },
                    'mod_php: small body and TW_WEBHOOK_* delivered');
    via_mod_php($res, 'mod_php, small');
    wait_log($mark, qr/TWW0201: .*\Q$res->{id}\E/);
    is(log_count($mark, qr/TWW0201: .*\Q$res->{id}\E/), 1, 'mod_php, small: verified once');
}

for my $case ([ 'chunked, 200 KB', 200 * 1024, 4096 ], [ '3 MiB', 3 * 1024 * 1024, 0 ]) {
    my ($what, $size, $chunked) = @$case;
    my $big = join '', map { sha256_hex("modphp-$size-$_") } 1 .. $size / 64;
    my $mark = log_mark();
    my $res = tw_request(path => '/modphp/report.php', body => $big, chunked => $chunked,
                         signature => sign($big, $SECRET{a}), event => 'comment.created');
    check_delivered($res, 'php', $big, { %vars, TW_WEBHOOK_DELIVERY => $res->{id} },
                    "mod_php: $what delivered, CONTENT_LENGTH true");
    via_mod_php($res, "mod_php, $what");
    like(wait_log($mark, qr/TWW0201: .*\Q$res->{id}\E/) // '', qr/spooled to disk/,
         "mod_php, $what: spooled to disk");
}

# HTTP/2 (h2c, which mod_http2 still serves under prefork) without a
# content-length, to mod_php
{
    my $big = join '', map { sha256_hex("modphp-h2-$_") } 1 .. 2048;
    my $res = tw_h2c_unsized('/modphp/report.php', 'mod_php over HTTP/2', body => $big,
                             signature => sign($big, $SECRET{a}), event => 'comment.created');
    check_delivered($res, 'php', $big, { %vars, TW_WEBHOOK_DELIVERY => $res->{id} },
                    'mod_php over HTTP/2, no content-length: delivered');
    via_mod_php($res, 'mod_php over HTTP/2');
}

# refused: mod_php never runs
for my $case ([ 'forged', { signature => sign($body, $SECRET{unknown}) },
                401, 'TWW0110', 'signature mismatch' ],
              [ 'unsigned', {}, 401, 'TWW0102', 'signature header missing' ],
              [ 'GET', { method => 'GET' }, 405, 'TWW0101', 'method GET not allowed' ]) {
    my ($what, $args, $status, $tag, $reason) = @$case;
    my $mark = log_mark();
    my $res = tw_request(path => '/modphp/report.php', body => $body, %$args);
    check_rejected($res, $status, $tag, $reason, $mark, "mod_php, $what: $status");
}

# unprotected twin: no TW_WEBHOOK_* whatever the client sends
{
    my $res = tw_request(path => '/modphp-open/report.php', body => $body,
                         signature => sign($body, $SECRET{a}),
                         headers => [ 'Tw-Webhook-Verified' => '1' ]);
    is($res->{status}, 200, 'mod_php, unprotected: 200') or diag(describe($res));
    via_mod_php($res, 'mod_php, unprotected');
    my $j = $res->{json} || {};
    is($j->{TW_WEBHOOK_VERIFIED}, undef, 'mod_php, unprotected: no TW_WEBHOOK_VERIFIED');
    is($j->{HTTP_TW_WEBHOOK_VERIFIED}, '1', '... the client header arrives as HTTP_* only');
    is($j->{body_sha256}, sha256_hex($body), '... and the body is there');
}

done_testing();
