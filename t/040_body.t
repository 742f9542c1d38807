# SPDX-License-Identifier: Apache-2.0
# Bodies: empty, binary, around TwWebhookMaxBodySize, lying Content-Length,
# chunked, and httpd's own LimitRequestBody. Both downstreams must get the
# exact bytes and a Content-Length that matches them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my %v = (TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_SECRET_INDEX => '1');
my $binary = join('', map { chr } 0 .. 255) x 4 . "\0\0\r\n\r\n0\r\n\r\n\0";
my $limit = 4096;   # TwWebhookMaxBodySize of /small

for my $ds (downstreams()) {
    my $res = tw_request(path => url('prot', $ds), body => '',
                         signature => sign('', $SECRET{a}));
    check_delivered($res, $ds, '', \%v, "$ds: empty body with the empty body's signature");

    $res = tw_request(path => url('prot', $ds), body => $binary,
                      content_type => 'application/octet-stream',
                      signature => sign($binary, $SECRET{a}));
    check_delivered($res, $ds, $binary, \%v, "$ds: binary body with NUL bytes and CRLFs");

    for my $len ($limit - 1, $limit) {
        my $body = 'x' x ($len - 1) . "\n";
        $res = tw_request(path => url('small', $ds), body => $body,
                          signature => sign($body, $SECRET{a}));
        check_delivered($res, $ds, $body, \%v, "$ds: $len bytes with a limit of $limit");
    }
    my $over = 'y' x ($limit + 1);
    my $mark = log_mark();
    $res = tw_request(path => url('small', $ds), body => $over,
                      signature => sign($over, $SECRET{a}));
    check_rejected($res, 413, 'TWW0104',
                   'body larger than TwWebhookMaxBodySize (by Content-Length)', $mark,
                   "$ds: " . ($limit + 1) . " bytes with a limit of $limit");

    # chunked: the downstream still gets a true CONTENT_LENGTH
    my $chunky = join '', map { sprintf "%05d,", $_ } 1 .. 2000;   # 12000 bytes
    $res = tw_request(path => url('prot', $ds), body => $chunky, chunked => 1000,
                      signature => sign($chunky, $SECRET{a}));
    check_delivered($res, $ds, $chunky, { %v, HTTP_TRANSFER_ENCODING => undef },
                    "$ds: chunked body (12 chunks): CONTENT_LENGTH set, no Transfer-Encoding");

    my $tiny = 'chunk by chunk, one byte each';
    $res = tw_request(path => url('prot', $ds), body => $tiny, chunked => 1,
                      signature => sign($tiny, $SECRET{a}));
    check_delivered($res, $ds, $tiny, \%v, "$ds: chunked body in one-byte chunks");

    $res = tw_request(path => url('prot', $ds), body => '', chunked => 1,
                      signature => sign('', $SECRET{a}));
    check_delivered($res, $ds, '', \%v, "$ds: chunked empty body (last-chunk only)");

    my $at = 'z' x $limit;
    $res = tw_request(path => url('small', $ds), body => $at, chunked => 1000,
                      signature => sign($at, $SECRET{a}));
    check_delivered($res, $ds, $at, \%v, "$ds: chunked body of exactly the limit");

    $mark = log_mark();
    $res = tw_request(path => url('small', $ds), body => $over, chunked => 1000,
                      signature => sign($over, $SECRET{a}));
    check_rejected($res, 413, 'TWW0109', 'body larger than TwWebhookMaxBodySize', $mark,
                   "$ds: chunked body one byte over the limit");
}

# Content-Length over the limit, only a few bytes sent: 413 at once, not
# after a read timeout.
{
    my $mark = log_mark();
    my $res = tw_request(path => url('small', 'cgi'), body => '{"a":1}',
                         content_length => 100000, timeout => 15,
                         signature => sign('{"a":1}', $SECRET{a}));
    check_rejected($res, 413, 'TWW0104',
                   'body larger than TwWebhookMaxBodySize (by Content-Length)', $mark,
                   'Content-Length 100000 over a limit of 4096, 7 bytes sent');
    cmp_ok($res->{elapsed}, '<', 2, 'answered promptly (no wait for the body)');
}

# A chunked body far over the limit is cut off as soon as it crosses it.
{
    my $big = 'w' x (512 * 1024);
    my $mark = log_mark();
    my $res = tw_request(path => url('small', 'php'), body => $big, chunked => 8192,
                         signature => sign($big, $SECRET{a}));
    check_rejected($res, 413, 'TWW0109', 'body larger than TwWebhookMaxBodySize', $mark,
                   'chunked 512 KiB body against a limit of 4096');
}

# httpd's own LimitRequestBody (1000 on /limit) still applies: 413.
for my $ds (downstreams()) {
    my $under = 'u' x 999;
    my $res = tw_request(path => url('limit', $ds), body => $under,
                         signature => sign($under, $SECRET{a}));
    check_delivered($res, $ds, $under, \%v, "$ds: 999 bytes under LimitRequestBody 1000");

    my $body = 'L' x 2000;
    for my $chunked (0, 500) {
        my $mark = log_mark();
        $res = tw_request(path => url('limit', $ds), body => $body, chunked => $chunked,
                          signature => sign($body, $SECRET{a}));
        check_rejected($res, 413, 'TWW0106',
                       "body refused by httpd's input filters (LimitRequestBody, bad framing)",
                       $mark, "$ds: 2000 bytes" . ($chunked ? ' chunked' : '')
                       . ' over LimitRequestBody 1000: 413');
    }
}

done_testing();
