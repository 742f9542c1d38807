# SPDX-License-Identifier: Apache-2.0
# HTTP/2: h2c with prior knowledge (the tw_h2c virtual host, "Protocols h2c
# http/1.1") and h2 over TLS (tw_h2tls, "Protocols h2 http/1.1", ALPN, a
# certificate made by t/TEST.PL at start). Requests go through curl.
#
# Bodies with and without a content-length (DATA frames only: the
# mod_http2 request then says Transfer-Encoding: chunked, which
# t/logs/handler_log records as it arrived), small and spilled to disk
# (3 MiB), reach the CGI and php-fpm intact, with CONTENT_LENGTH and the
# TW_WEBHOOK_* variables, verified once; forged and unsigned requests get
# 401 with no downstream run; several webhooks as parallel streams of ONE
# connection each get their own body.
#
# Two curl 7.88 (Debian 12) bugs shape this file, neither httpd's nor the
# module's: a request refused before its body is read is answered (401)
# and then reset with RST_STREAM NO_ERROR, as RFC 9113 8.1 allows, which
# curl reports as error 92 without the response, so those requests go
# through nghttp (nghttp2-client) instead; and parallel transfers over h2c
# with prior knowledge fail in curl ("Error in the HTTP2 framing layer",
# even for plain GETs), so the multiplexed test runs over TLS.
#
# Under prefork mod_http2 declares itself inactive (AH10034 at start-up)
# and TLS offers no h2 by ALPN: the tw_h2tls requests then run, and are
# checked, as HTTP/1.1 over TLS (chunked where HTTP/2 has no length),
# while h2c with prior knowledge is still served as HTTP/2 by mod_http2
# 2.0 (Debian 12) under prefork.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use TwTest;

my %base = map { $_ => vhost_base($_) } qw(tw_h2c tw_h2tls);
my %mode = (tw_h2c => 'prior', tw_h2tls => 'tls');
my $mpm = tw_vars()->{tw_mpm} // 'event';
my %version = (tw_h2c => '2', tw_h2tls => $mpm eq 'prefork' ? '1.1' : '2');
my %protocol = map { $_ => $version{$_} eq '2' ? 'HTTP/2.0' : 'HTTP/1.1' } keys %version;
if ($mpm eq 'prefork') {
    like(TwTest::slurp(tw_vars()->{t_logs} . '/error_log') // '',
         qr/AH10034: The mpm module \(prefork\.c\) is not supported by mod_http2/,
         'prefork: mod_http2 said it is inactive (AH10034), so TLS stays HTTP/1.1');
}

# a body of $n bytes that differs at every offset (a shifted or repeated
# piece would change its SHA-256)
sub body_of {
    my ($n, $tag) = @_;
    my $head = qq({"event":"page.updated","tag":"$tag","pad":");
    my $pad = '';
    my $i = 0;
    $pad .= sha256_hex("$tag-" . $i++) while length($head) + length($pad) + 2 < $n;
    return $head . substr($pad, 0, $n - length($head) - 2) . '"}';
}

my %framing_name = ('' => 'with content-length', stdin => 'no content-length (stdin)',
                    chunked => 'no content-length (curl told chunked)');

# checks one response of a delivery over HTTP/2
sub check_h2_delivery {
    my ($res, $vh, $ds, $body, $ncl, $name, $mark) = @_;
    subtest $name => sub {
        is($res->{curl_rc}, 0, 'curl succeeded') or diag($res->{error});
        is($res->{http_version}, $version{$vh}, "answered over HTTP/$version{$vh}");
        ok($res->{sent_seen}, 'curl shows the request it sent');
        is($res->{sent_content_length}, $ncl ? undef : length $body,
           $ncl ? 'curl sent no content-length' : 'curl sent a content-length');
        my $h = handler_log($res->{id});
        is($h && $h->{protocol}, $protocol{$vh}, "httpd logged the request as $protocol{$vh}");
        is($h && $h->{framing}, $ncl ? 'cl=;te=chunked' : 'cl=' . length($body) . ';te=',
           'it arrived ' . ($ncl ? 'without a content-length' : 'with its content-length'));
        is(log_count($mark, qr/TWW0201: .*\Q$res->{id}\E/), 1, 'verified once (TWW0201)');
    };
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'page.updated',
                      TW_WEBHOOK_DELIVERY => $res->{id}, TW_WEBHOOK_SECRET_INDEX => '1' },
                    "$name: delivered");
}

for my $vh (qw(tw_h2c tw_h2tls)) {
    my $proto = $vh eq 'tw_h2c' ? 'h2c' : 'h2 over TLS';
    for my $ds (downstreams()) {
        for my $size (300, 3 * 1024 * 1024) {
            my $prefix = $size > 65536 ? 'big' : 'prot';
            for my $ncl ('', 'stdin') {
                my $body = body_of($size, "$vh-$ds-$size-$ncl");
                my $mark = log_mark();
                my ($res) = tw_curl([{ url => "$base{$vh}" . url($prefix, $ds), body => $body,
                                       signature => sign($body, $SECRET{a}),
                                       event => 'page.updated', no_content_length => $ncl }],
                                    h2 => $mode{$vh});
                check_h2_delivery($res, $vh, $ds, $body, $ncl,
                                  "$proto, $ds, $size bytes, $framing_name{$ncl}", $mark);
                if ($size > 65536) {
                    like(wait_log($mark, qr/TWW0201: .*\Q$res->{id}\E/) // '',
                         qr/spooled to disk/, "$proto, $ds, $size bytes: spooled to disk");
                }
            }
        }
    }

    # forged and unsigned: 401, no downstream, over HTTP/2 too
    for my $ds (downstreams()) {
        for my $size (300, 3 * 1024 * 1024) {
            my $prefix = $size > 65536 ? 'big' : 'prot';
            my $body = body_of($size, "forged-$vh-$ds-$size");
            my $mark = log_mark();
            my ($res) = tw_curl([{ url => "$base{$vh}" . url($prefix, $ds), body => $body,
                                   signature => sign($body, $SECRET{unknown}),
                                   no_content_length => 'stdin' }], h2 => $mode{$vh});
            is($res->{http_version}, $version{$vh},
               "$proto, $ds, forged $size bytes: over HTTP/$version{$vh}");
            check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                           "$proto, $ds, forged $size bytes (no content-length): 401");
        }
        # refused on the headers, body unread: nghttp (see above)
        for my $case ([ 'unsigned', undef, 'TWW0102', 'signature header missing' ],
                      [ 'malformed signature', 'sha256=zz',
                        'TWW0103', 'signature header malformed' ]) {
            my ($what, $sig, $tag, $reason) = @$case;
            my $body = body_of(100 * 1024, "$what-$vh-$ds");
            my $mark = log_mark();
            my $url = "$base{$vh}" . url('prot', $ds);
            my $res;
            if ($version{$vh} eq '2') {
                $res = tw_nghttp(url => $url, body => $body, signature => $sig);
                is($res->{rc}, 0, "$proto, $ds, $what: nghttp succeeded")
                    or diag($res->{verbose});
            }
            else {   # no h2 to speak: curl, HTTP/1.1
                ($res) = tw_curl([{ url => $url, body => $body, signature => $sig }],
                                 h2 => $mode{$vh});
            }
            my $h = handler_log($res->{id});
            is($h && $h->{protocol}, $protocol{$vh}, "$proto, $ds, $what: over $protocol{$vh}");
            check_rejected($res, 401, $tag, $reason, $mark, "$proto, $ds, $what: 401");
            ok(!defined $res->{rst} || $res->{rst} eq 'NO_ERROR',
               "$proto, $ds, $what: a stream reset after the answer, if any, is NO_ERROR")
                or diag("RST_STREAM $res->{rst}");
            # HTTP/2: the body is left to the stream's flow control, never read;
            # HTTP/1.1 (prefork): 100 KiB is within TwWebhookMaxBodySize, discarded
            my $unread = $version{$vh} eq '2'
                ? qr/left unread \(HTTP\/2\), the stream is reset after the answer/
                : qr/\Q${\ length $body}\E bytes discarded unread, connection kept/;
            ok(wait_log($mark, qr/TWW0128: refused before its body was read: $unread/),
               "$proto, $ds, $what: the body " . ($version{$vh} eq '2' ? 'never read' : 'discarded'))
                or diag(log_since($mark));
        }
    }

    next if $vh eq 'tw_h2c';   # curl cannot multiplex h2c (see above)

    # parallel streams on one connection: each its own body, the forged
    # one refused, none leaking into another
    my @t = (
        [ cgi => 'prot', 500,             '',      $SECRET{a} ],
        [ php => 'big',  3 * 1024 * 1024, 'chunked', $SECRET{a} ],
        [ cgi => 'big',  200 * 1024,      'chunked', $SECRET{a} ],
        [ php => 'prot', 800,             'chunked', $SECRET{unknown} ],
        [ php => 'prot', 700,             '',      $SECRET{a} ],
    );
    my (@transfers, @bodies);
    for my $i (0 .. $#t) {
        my ($ds, $prefix, $size, $ncl, $secret) = @{ $t[$i] };
        my $body = body_of($size, "parallel-$vh-$i");
        push @bodies, $body;
        push @transfers, { url => "$base{$vh}" . url($prefix, $ds), body => $body,
                           signature => sign($body, $secret), event => 'page.updated',
                           no_content_length => $ncl };
    }
    my $mark = log_mark();
    my @res = tw_curl(\@transfers, h2 => $mode{$vh});
    my $connects = 0;
    $connects += $_->{num_connects} // 0 for @res;
    if ($version{$vh} eq '2') {
        is($connects, 1, "$proto, parallel: " . @res . ' streams over one connection');
    }
    else {
        is($connects, scalar @res, "$proto, parallel over HTTP/1.1: one connection each");
    }
    for my $i (0 .. $#t) {
        my ($ds, $prefix, $size, $ncl, $secret) = @{ $t[$i] };
        my $name = "$proto, parallel stream $i: $ds, $size bytes, $framing_name{$ncl}";
        if ($secret eq $SECRET{a}) {
            check_h2_delivery($res[$i], $vh, $ds, $bodies[$i], $ncl, $name, $mark);
        }
        else {
            check_rejected($res[$i], 401, 'TWW0110', 'signature mismatch', $mark,
                           "$name, forged: 401");
        }
    }
}

done_testing();
