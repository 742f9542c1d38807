# SPDX-License-Identifier: Apache-2.0
# Nothing unverified reaches any handler: a request refused before (or
# while) its body is read leaves that body on the connection, and the
# handlers httpd runs next must never see a byte of it:
# - the location's ErrorDocument (an internal redirect to a PHP or CGI
#   page), whichever status: 401, 405, 413 (by Content-Length and by
#   reading), 400, and a 403 from "Require" before the module ran;
# - an ErrorDocument that is itself in a protected location (refused:
#   its handler never runs);
# - the next request on a keep-alive connection: a refusal that leaves body
#   unread closes the connection instead of reading the rest (which would
#   let a malformed signature push a client past TwWebhookMaxBodySize);
# - the same over HTTP/2 (h2c).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use TwTest;

my $body = '{"forged":"' . ('x' x 1000) . '"}';
my %page = (php => '/edoc', cgi => '/edoccgi');

# The error page (t/php/report.php or t/cgi-bin/report.cgi) reports what it
# was handed as its body; the response carries the rejection's status.
sub page_report {
    my ($res) = @_;
    return eval { JSON::PP->new->decode($res->{body} // '') } || {};
}

sub check_page_saw_nothing {
    my ($res, $status, $ds, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    subtest $name => sub {
        is($res->{status}, $status, "status $status") or diag(describe($res));
        my $j = page_report($res);
        is($j->{downstream}, $ds, "the $ds error page answered");
        is($j->{body_length}, 0, 'the error page read no body');
        ok(!$j->{CONTENT_LENGTH}, 'the error page was told of no body (CONTENT_LENGTH '
                                  . ($j->{CONTENT_LENGTH} // 'absent') . ')');
        is($j->{TW_WEBHOOK_VERIFIED}, undef, 'no TW_WEBHOOK_VERIFIED');
        is($j->{REDIRECT_TW_WEBHOOK_VERIFIED}, undef, 'no REDIRECT_TW_WEBHOOK_VERIFIED');
    };
}

for my $ds (downstreams()) {
    my $base = "$page{$ds}/report.$ds";
    # [ what, status, log tag, log reason, tw_request arguments ]
    my @cases = (
        [ 'malformed signature', 401, 'TWW0103', 'signature header malformed',
          signature => 'nothex' ],
        [ 'no signature', 401, 'TWW0102', 'signature header missing' ],
        [ 'wrong signature (body read to the end)', 401, 'TWW0110', 'signature mismatch',
          signature => sign($body, $SECRET{unknown}) ],
        [ 'too large by Content-Length', 413,
          'TWW0104', 'body larger than TwWebhookMaxBodySize (by Content-Length)',
          signature => sign($body x 5, $SECRET{a}), body => $body x 5 ],
        [ 'too large while reading (chunked)', 413,
          'TWW0109', 'body larger than TwWebhookMaxBodySize',
          signature => sign($body x 5, $SECRET{a}), body => $body x 5, chunked => 1000 ],
        [ 'Event header not plain', 400, 'TWW0111', 'Event header not plain',
          signature => sign($body, $SECRET{a}), event => 'page updated' ],
        [ 'PUT', 405, 'TWW0101', 'method PUT not allowed', method => 'PUT' ],
    );
    for my $c (@cases) {
        my ($what, $status, $tag, $reason, %a) = @$c;
        my $mark = log_mark();
        my $res = tw_request(path => $base, body => $body, %a);
        check_page_saw_nothing($res, $status, $ds, "$ds: $what: the ErrorDocument gets no body");
        ok(wait_log($mark, rejection_re($tag, $status, $reason, $res->{id})),
           "$ds: $what: the module logged the rejection ($tag)") or diag(log_since($mark));
    }
}

# An error page under a protected location is refused too: it cannot be
# verified (the body was refused), so its handler must not run.
{
    my $mark = log_mark();
    my $res = tw_request(path => '/edocprot/report.php', body => $body, signature => 'nothex');
    is($res->{status}, 401, 'ErrorDocument inside a protected location: still 401')
        or diag(describe($res));
    is(downstream_ran($res->{id}), 0, '... and its handler never ran');
    ok(wait_log($mark, rejection_re('TWW0103', 401, 'signature header malformed', $res->{id}))
       && wait_log($mark, rejection_re('TWW0120', 401, 'a request whose body was refused '
                                       . 'reached a protected location', $res->{id})),
       '... refused as malformed (TWW0103), its error page as unverifiable (TWW0120)')
        or diag(log_since($mark));
}

# An error page served by a proxied backend (mod_proxy_http) gets no body
# either (the backend this test starts reports what reached it).
{
    my $backend = eval { backend_start(tw_vars()->{tw_backend_port}) };
    ok($backend, 'the loopback backend started') or diag($@);
    my $mark = log_mark();
    my $res = tw_request(path => '/edocproxy/hook', body => $body, signature => 'nothex');
    # (mod_proxy_http answers with the backend's status, 200, not the 401:
    # httpd's doing, with or without this module)
    ok(wait_log($mark, rejection_re('TWW0103', 401, 'signature header malformed', $res->{id})),
       'ErrorDocument on a proxied backend: the request was refused (401)')
        or diag(log_since($mark));
    my $j = page_report($res);
    is($j->{downstream}, 'backend', '... answered by the backend');
    is($j->{body_length}, 0, '... which was sent no body');
    ok(!$j->{CONTENT_LENGTH}, '... and told of none (Content-Length '
                              . ($j->{CONTENT_LENGTH} // 'absent') . ')');
    backend_stop($backend) if $backend;
}

# "Require all denied" refuses before the module runs; the ErrorDocument
# still must not read the body, and the connection is not drained.
{
    my $res = tw_request(path => '/edocdeny/report.php', body => $body,
                         signature => sign($body, $SECRET{a}));
    check_page_saw_nothing($res, 403, 'php', 'Require denied: the ErrorDocument gets no body');
}

# Keep-alive: a refusal before the body is read announces and does a close
# at once, instead of reading (up to LimitRequestBody) what the client
# announced. The client here announces 100 MB and sends none of it.
for my $case ([ 'malformed signature', 401, '/prot/report.cgi', signature => 'nothex' ],
              [ 'no signature', 401, '/prot/report.cgi' ],
              [ 'GET with a body', 405, '/prot/report.cgi', method => 'GET' ],
              [ 'too large by Content-Length', 413, '/small/report.cgi',
                signature => sign('x', $SECRET{a}) ],
              [ 'Require denied (ErrorDocument)', 403, '/edocdeny/report.php',
                signature => sign('x', $SECRET{a}) ],
              [ 'ErrorDocument page', 401, '/edoc/report.php', signature => 'nothex' ]) {
    my ($what, $status, $path, %a) = @$case;
    my $res = tw_request(path => $path, body => '', content_length => 100_000_000,
                         connection => undef, timeout => 8, %a);
    subtest "keep-alive, $what: answered at once and closed, not drained" => sub {
        is($res->{status}, $status, "status $status") or diag(describe($res));
        like($res->{headers}{connection} // '', qr/close/i, 'Connection: close');
        ok(($res->{elapsed} // 99) < 5, 'answered within 5 s (' . ($res->{elapsed} // '-') . ' s)');
    };
}

# A refusal after the whole body was read keeps the connection: the next
# request on it is answered normally.
{
    my $good = '{"event":"page.updated"}';
    my $x = tw_exchange([ { path => '/prot/report.cgi', body => $body,
                            signature => sign($body, $SECRET{unknown}) },
                          { path => '/prot/report.cgi', body => $good,
                            signature => sign($good, $SECRET{a}) } ]);
    is($x->{responses}[0]{status}, 401, 'keep-alive: a wrong signature is 401');
    is($x->{responses}[1]{status}, 200, '... and the next request on the connection is served');
    is($x->{responses}[1]{json} && $x->{responses}[1]{json}{body_length}, length $good,
       '... with its own body');
}

# HTTP/2: the same error pages, over h2c. nghttp, not curl: the server
# resets a stream whose body it never read, and curl may then lose the
# response (see TwTest::tw_nghttp).
my $h2c = vhost_base('tw_h2c');
for my $ds (downstreams()) {
    my $url = "$h2c$page{$ds}/report.$ds";
    my $res = tw_nghttp(url => $url, body => $body, signature => 'nothex');
    check_page_saw_nothing($res, 401, $ds, "h2c, $ds: malformed signature: the ErrorDocument gets no body");
    $res = tw_nghttp(url => $url, body => $body x 5, signature => sign($body x 5, $SECRET{a}));
    check_page_saw_nothing($res, 413, $ds, "h2c, $ds: too large: the ErrorDocument gets no body");
}

done_testing();
