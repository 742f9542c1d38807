#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# scripts/stress step "barrage": hostile raw-socket requests against a
# running stress server (event MPM, php-fpm and mod_cgid downstreams).
#
# Every case is sent on its own connection and has one expected outcome,
# checked exactly: a status (what the module or httpd's own parser
# answers), "close" (httpd closes the connection without an answer: only
# for requests whose framing is broken beyond answering), or "client" (the
# client itself goes away, nothing to read). Across all of them: never a
# 5xx, never a 2xx, the downstream never ran, no child crashed (no "exit
# signal" in the error log, the same parent and children), no twwebhook.*
# file left in the spool directory, no descriptor left open on one, and the
# children's descriptor counts back where they were.
#
# Each case is sent to both downstreams (rec.php through mod_proxy_fcgi and
# rec.cgi through mod_cgid) and the whole list is sent ROUNDS times.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TwStress;
use Time::HiRes qw(time sleep);

my $ROUNDS = $ENV{TW_STRESS_BARRAGE_ROUNDS} || (quick() ? 2 : 10);

my $fpm = TwStress::Fpm->new(name => 'barrage-fpm', children => 4)->start;
# TraceEnable Off as Debian's security.conf has it: with httpd's compiled
# default (On) httpd answers TRACE itself before any module's fixups (see
# the "trace-on" virtual host below).
my $trace_port;
my $h = stress_server(name => 'barrage', fpm => $fpm, max_body => 65536 * 2,
                      reqtimeout => 'header=5 body=5', extra => sub {
    my ($self) = @_;
    return <<"EOF";
TraceEnable Off
<VirtualHost 127.0.0.1:$self->{port}>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost 127.0.0.1:$self->{port}>
    ServerName trace-on
    TraceEnable On
</VirtualHost>
EOF
});
$h->start;
my $hp = $h->{hostport};

my $body = '{"event":"page.updated","page":{"id":4242,"title":"barrage"}}';
my $sig = sign($body, $SECRET);                  # the right signature
my $forged = sign($body, $WRONG_SECRET);          # well-formed, wrong
my $hex64 = 'a' x 64;

# ---- the cases ----------------------------------------------------------------------
# [name, expected, request bytes | {plan => [...], then => ...}]
# Expected: a status number; 'close'; 'client'; or [list of statuses]
# where httpd's answer legitimately depends on timing.
sub req {
    my ($path, @h) = @_;
    my %o;
    %o = %{ pop @h } if @h && ref $h[-1] eq 'HASH';
    return build_request(path => $path, headers => \@h,
                         body => $o{body} // $body, %o);
}

sub cases {
    my ($ds) = @_;
    my $p = "/hook/rec.$ds";
    my $head = "Host: x\r\nSignature: $forged\r\n";
    my @c;

    # -- request lines
    push @c, ['request line: garbage', 400, "GARBAGE\r\n\r\n"];
    push @c, ['request line: method only', 400, "POST\r\n\r\n"];
    push @c, ['request line: HTTP/0.9 POST', 400, "POST $p\r\n\r\n"];
    push @c, ['request line: extra token', 400, "POST $p HTTP/1.1 extra\r\n${head}Content-Length: 0\r\n\r\n"];
    push @c, ['request line: HTTP/9.9 (httpd: served as 1.1)', 401, "POST $p HTTP/9.9\r\n${head}Content-Length: 0\r\n\r\n"];
    push @c, ['request line: HTTP/2.0 in an HTTP/1 request line (served as 1.1)', 401, "POST $p HTTP/2.0\r\n${head}Content-Length: 0\r\n\r\n"];
    push @c, ['request line: lowercase version', 400, "POST $p http/1.1\r\n${head}Content-Length: 0\r\n\r\n"];
    push @c, ['request line: double spaces', 400, "POST  $p  HTTP/1.1\r\n${head}Content-Length: 0\r\n\r\n"];
    push @c, ['request line: NUL in the target', 400, "POST $p\0x HTTP/1.1\r\n${head}Content-Length: 0\r\n\r\n"];
    push @c, ['request line: 9000-byte target', 414, "POST $p?" . ('q' x 9000) . " HTTP/1.1\r\n${head}Content-Length: 0\r\n\r\n"];
    push @c, ['request line: absolute-form target', 401, "POST http://x$p HTTP/1.1\r\n${head}Content-Length: " . length($body) . "\r\n\r\n$body"];
    push @c, ['request line: dot segments into the location', 401, "POST /open/../hook/./rec.$ds HTTP/1.1\r\n${head}Content-Length: " . length($body) . "\r\n\r\n$body"];
    push @c, ['request line: %2e%2e segments into the location', 401, "POST /open/%2e%2e/hook/rec.$ds HTTP/1.1\r\n${head}Content-Length: " . length($body) . "\r\n\r\n$body"];
    push @c, ['request line: lowercase method', 405, "post $p HTTP/1.1\r\n${head}Content-Length: 0\r\n\r\n"];
    push @c, ['request line: HTTP/1.1 without Host', 400, "POST $p HTTP/1.1\r\nSignature: $forged\r\nContent-Length: 0\r\n\r\n"];
    push @c, ['request line: HTTP/1.0, forged', 401, "POST $p HTTP/1.0\r\nSignature: $forged\r\nContent-Length: " . length($body) . "\r\n\r\n$body"];
    push @c, ['request line: bare LF line ends', 400, "POST $p HTTP/1.1\nHost: x\nSignature: $forged\nContent-Length: 0\n\n"];
    push @c, ['request line: leading empty lines', 401, "\r\n\r\nPOST $p HTTP/1.1\r\n${head}Content-Length: 0\r\n\r\n"];

    # -- methods on a protected location (no body read)
    for my $m (qw(GET HEAD PUT DELETE OPTIONS PATCH PROPFIND FOO)) {
        push @c, ["method $m", 405, "$m $p HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\n\r\n"];
    }
    push @c, ['method TRACE', 405, "TRACE $p HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\n\r\n"];
    push @c, ['method GET with the right signature and a body', 405,
              req($p, 'Signature' => $sig, { method => 'GET' })];

    # -- framing: Content-Length and Transfer-Encoding
    my $cl = length $body;
    push @c, ['framing: Content-Length and chunked, forged', 401,
              "POST $p HTTP/1.1\r\n${head}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
              . sprintf("%x\r\n%s\r\n0\r\n\r\n", $cl, $body)];
    # httpd drops the Content-Length, reads the chunked body (empty) and
    # closes the connection after answering: the smuggled request is never read
    push @c, ['framing: Content-Length and chunked, right signature, smuggling attempt', 401,
              "POST $p HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
              . "0\r\n\r\nPOST $p HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\nContent-Length: $cl\r\n\r\n$body"];
    push @c, ['framing: two different Content-Lengths', 400,
              "POST $p HTTP/1.1\r\n${head}Content-Length: $cl\r\nContent-Length: 7\r\n\r\n$body"];
    push @c, ['framing: two equal Content-Lengths', 400,
              "POST $p HTTP/1.1\r\n${head}Content-Length: $cl\r\nContent-Length: $cl\r\n\r\n$body"];
    push @c, ['framing: Content-Length list "n, n"', 400,
              "POST $p HTTP/1.1\r\n${head}Content-Length: $cl, $cl\r\n\r\n$body"];
    for my $v ('abc', '-1', '+5', '1e3', '0x10', ' ', '99999999999999999999999', "5\t5") {
        (my $n = $v) =~ s/[^ -~]/?/g;
        push @c, ["framing: Content-Length \"$n\"", 400,
                  "POST $p HTTP/1.1\r\n${head}Content-Length: $v\r\n\r\n$body"];
    }
    push @c, ['framing: Content-Length 2^63-1', 413,
              "POST $p HTTP/1.1\r\n${head}Content-Length: 9223372036854775807\r\n\r\n$body"];
    for my $te ('gzip', 'identity', 'chunked, chunked', 'gzip, chunked', 'chunked, gzip',
                'xchunked', 'chunked;q=1') {
        # httpd accepts any list whose last coding is chunked
        push @c, ["framing: Transfer-Encoding \"$te\"", ($te =~ /(?:^|[ ,])chunked$/ ? 401 : 400),
                  "POST $p HTTP/1.1\r\n${head}Transfer-Encoding: $te\r\n\r\n"
                  . sprintf("%x\r\n%s\r\n0\r\n\r\n", $cl, $body)];
    }
    push @c, ['framing: Transfer-Encoding "Chunked" (case)', 401,
              "POST $p HTTP/1.1\r\n${head}Transfer-Encoding: Chunked\r\n\r\n"
              . sprintf("%x\r\n%s\r\n0\r\n\r\n", $cl, $body)];
    push @c, ['framing: Transfer-Encoding on HTTP/1.0 (httpd accepts it)', 401,
              "POST $p HTTP/1.0\r\n${head}Transfer-Encoding: chunked\r\n\r\n"
              . sprintf("%x\r\n%s\r\n0\r\n\r\n", $cl, $body)];

    # -- chunk sizes (right signature: only the framing is wrong)
    my $sh = "POST $p HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\nTransfer-Encoding: chunked\r\n\r\n";
    push @c, ['chunks: non-hex size', 400, $sh . "zz\r\n$body\r\n0\r\n\r\n"];
    push @c, ['chunks: huge size (2^80)', 413, $sh . "100000000000000000000\r\n$body\r\n0\r\n\r\n"];
    push @c, ['chunks: size 2^63', 413, $sh . "8000000000000000\r\n$body\r\n0\r\n\r\n"];
    push @c, ['chunks: negative size', 400, $sh . "-5\r\n$body\r\n0\r\n\r\n"];
    push @c, ['chunks: size with a leading space', 400, $sh . " 5\r\nabcde\r\n0\r\n\r\n"];
    push @c, ['chunks: size larger than the data, then the end, half-close', 400,
              { plan => [[ $sh . sprintf("%x\r\n%s\r\n0\r\n\r\n", $cl + 10, $body), 0 ]], then => 'shutdown' }];
    push @c, ['chunks: no CRLF after the data', 400, $sh . sprintf("%x\r\n%sXX0\r\n\r\n", $cl, $body)];
    push @c, ['chunks: 10 KiB chunk extension (httpd: 413)', 413, $sh . sprintf("%x;%s\r\n%s\r\n0\r\n\r\n", $cl, 'e' x 10240, $body)];
    push @c, ['chunks: chunked bytes beyond TwWebhookMaxBodySize', 413,
              $sh . join('', map { sprintf("%x\r\n%s\r\n", 8192, 'z' x 8192) } 1 .. 20) . "0\r\n\r\n"];
    push @c, ['chunks: a forged body in 1-byte chunks', 401,
              build_request(path => $p, body => $body, chunked => 1,
                            headers => ['Signature' => $forged])];

    # -- bodies cut short, clients going away
    my $long = $body . ('x' x 5000);
    my $lsig = sign($long, $SECRET);
    my $lhead = "POST $p HTTP/1.1\r\nHost: x\r\nSignature: $lsig\r\nContent-Length: " . length($long) . "\r\n\r\n";
    push @c, ['truncated body, client half-closes', 400,
              { plan => [[ $lhead . substr($long, 0, 1000), 0 ]], then => 'shutdown' }];
    push @c, ['truncated body, client closes', 'client',
              { plan => [[ $lhead . substr($long, 0, 1000), 0.2 ]], then => 'close' }];
    push @c, ['truncated body, client resets (RST)', 'client',
              { plan => [[ $lhead . substr($long, 0, 1000), 0.2 ]], then => 'reset' }];
    push @c, ['truncated chunked body, client half-closes', 400,
              { plan => [[ $sh . "1000\r\n" . ('c' x 100), 0 ]], then => 'shutdown' }];
    push @c, ['truncated chunked body, client resets', 'client',
              { plan => [[ $sh . "1000\r\n" . ('c' x 100), 0.2 ]], then => 'reset' }];
    my $big = 'B' x (200 * 1024);   # beyond 64 KiB: spooled to a file
    my $bhead = "POST /big/rec.$ds HTTP/1.1\r\nHost: x\r\nSignature: " . sign($big, $SECRET)
        . "\r\nContent-Length: " . length($big) . "\r\n\r\n";
    push @c, ['spooled body (150 KiB of 200) cut short, client half-closes', 400,
              { plan => [[ $bhead . substr($big, 0, 150 * 1024), 0.1 ]], then => 'shutdown' }];
    push @c, ['spooled body (150 KiB of 200), client resets', 'client',
              { plan => [[ $bhead . substr($big, 0, 150 * 1024), 0.3 ]], then => 'reset' }];
    push @c, ['headers only, then reset', 'client',
              { plan => [[ "POST $p HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\nContent-Length: 100\r\n\r\n", 0.2 ]],
                then => 'reset' }];
    push @c, ['half a request line, then close', 'client', { plan => [[ "POST /ho", 0.1 ]], then => 'close' }];
    push @c, ['half the headers, then half-close', 400,
              { plan => [[ "POST $p HTTP/1.1\r\nHost: x\r\nSign", 0.1 ]], then => 'shutdown' }];

    # -- huge and odd header values
    push @c, ['header: 8100-byte Event value (under LimitRequestFieldSize)', 401,
              req($p, 'Signature' => $forged, 'Event' => 'e' x 8100)];
    push @c, ['header: 8100-byte Event value, right signature', 400,
              req($p, 'Signature' => $sig, 'Event' => 'e' x 8100)];
    push @c, ['header: 8200-byte value (over LimitRequestFieldSize)', 400,
              req($p, 'Signature' => $sig, 'X-Pad' => 'p' x 8200)];
    push @c, ['header: 8200-byte Signature', 400, req($p, 'Signature' => 'a' x 8200)];
    push @c, ['header: 7000-byte Signature (hex)', 401, req($p, 'Signature' => 'a' x 7000)];
    push @c, ['header: 101 header fields', 400,
              req($p, 'Signature' => $sig, map { ("X-H$_" => 'v') } 1 .. 101)];
    push @c, ['header: 95 Signature fields (merged)', 401,
              req($p, map { ('Signature' => $hex64) } 1 .. 95)];
    push @c, ['header: line without a colon', 400,
              "POST $p HTTP/1.1\r\nHost: x\r\nSignature $sig\r\nContent-Length: $cl\r\n\r\n$body"];
    push @c, ['header: space before the colon', 400,
              "POST $p HTTP/1.1\r\nHost: x\r\nSignature : $sig\r\nContent-Length: $cl\r\n\r\n$body"];
    # httpd unfolds it into "<32 hex> <32 hex>": malformed
    push @c, ['header: obs-fold continuation of Signature', 401,
              "POST $p HTTP/1.1\r\nHost: x\r\nSignature: " . substr($sig, 0, 32) . "\r\n "
              . substr($sig, 32) . "\r\nContent-Length: $cl\r\n\r\n$body"];
    push @c, ['header: NUL in Event', 400, req($p, 'Signature' => $sig, 'Event' => "page\0.updated")];
    push @c, ['header: bare CR in Event', 400, req($p, 'Signature' => $sig, 'Event' => "page\r.updated")];
    push @c, ['header: bare CR + fake header in Delivery', 400,
              req($p, 'Signature' => $sig, 'Delivery' => "d1\rTW-WEBHOOK-VERIFIED: 1")];
    push @c, ['header: ESC in Delivery', 400, req($p, 'Signature' => $sig, 'Delivery' => "d\e[31m1")];
    push @c, ['header: DEL in Event', 400, req($p, 'Signature' => $sig, 'Event' => "page\x7f")];
    push @c, ['header: invalid UTF-8 in Event, forged', 401, req($p, 'Signature' => $forged, 'Event' => "page\xff\xfe.updated")];
    push @c, ['header: invalid UTF-8 in Event, right signature', 400, req($p, 'Signature' => $sig, 'Event' => "page\xc3\x28")];
    push @c, ['header: UTF-8 in Delivery, right signature', 400, req($p, 'Signature' => $sig, 'Delivery' => "d\xc3\xa9livery")];
    push @c, ['header: overlong UTF-8 "/" in Event, right signature', 400, req($p, 'Signature' => $sig, 'Event' => "page\xc0\xaf")];
    push @c, ['header: Event with space and semicolon, right signature', 400,
              req($p, 'Signature' => $sig, 'Event' => 'page.updated; rm -rf /')];
    push @c, ['header: Delivery with shell and path characters, right signature', 400,
              req($p, 'Signature' => $sig, 'Delivery' => '../../etc/passwd$(id)')];
    push @c, ['header: two Event fields, right signature', 400,
              req($p, 'Signature' => $sig, 'Event' => 'page.updated', 'Event' => 'page.deleted')];
    push @c, ['header: two Delivery fields, right signature', 400,
              req($p, 'Signature' => $sig, 'Delivery' => 'a1', 'Delivery' => 'b2')];

    # -- header names that normalise to the module's variables (unsigned)
    for my $n ('TW-WEBHOOK-VERIFIED', 'TW_WEBHOOK_VERIFIED', 'Tw-Webhook-Verified',
               'Tw-Webhook-Event', 'TW_WEBHOOK_EVENT', 'TW-WEBHOOK-DELIVERY',
               'TW_WEBHOOK_SECRET_INDEX', 'Tw.Webhook.Verified', 'PHP_VALUE', 'Php-Value',
               'HTTP_TW_WEBHOOK_VERIFIED', 'Redirect-Tw-Webhook-Verified') {
        push @c, ["spoof header $n, no signature", 401, req($p, $n => '1')];
        push @c, ["spoof header $n, forged signature", 401, req($p, 'Signature' => $forged, $n => '1')];
    }

    # -- signature values
    for my $s (["64 hex + junk", $sig . 'zz'], ['64 hex + ";x"', "$sig;x"],
               ['65 hex', $sig . 'a'], ['63 hex', substr($sig, 0, 63)],
               ['63 of the right hex + "g"', substr($sig, 0, 63) . 'g'],
               ['sha256=sha256=', "sha256=sha256=$sig"], ['sha1=', "sha1=$sig"],
               ['sha256 = (spaces)', "sha256 = $sig"], ['two values, comma', "$sig,$sig"],
               ['two values, comma space', "$sig, $sig"], ['NUL inside', substr($sig, 0, 10) . "\0" . substr($sig, 11)],
               ['UTF-8 fullwidth digits', "\xef\xbc\x90" x 64], ['empty', ''],
               ['only spaces', '   '], ['base64 of the MAC', 'q' x 43 . '='],
               ['right MAC for another body', sign("$body ", $SECRET)],
               ['right MAC, under the wrong secret', $forged],
               ['all zeros', '0' x 64], ['uppercase hex of a forged MAC', uc $forged]) {
        my ($what, $v) = @$s;
        my $exp = $v =~ /\0/ ? 400 : 401;
        push @c, ["signature: $what", $exp, req($p, 'Signature' => $v)];
    }
    push @c, ['signature: the right one twice (two fields, merged)', 401,
              req($p, 'Signature' => $sig, 'Signature' => $sig)];
    push @c, ['signature: the right one, then a junk field', 401,
              req($p, 'Signature' => $sig, 'Signature' => 'junk')];
    push @c, ['signature: the right one under X-Signature only', 401,
              req($p, 'X-Signature' => $sig)];
    push @c, ['signature: the right one in a trailer of a chunked body', 401,
              "POST $p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              . sprintf("%x\r\n%s\r\n0\r\nSignature: %s\r\n\r\n", $cl, $body, $sig)];
    push @c, ['signature: right, Content-Length one byte short', 401,
              "POST $p HTTP/1.1\r\nHost: x\r\nConnection: close\r\nSignature: $sig\r\nContent-Length: "
              . ($cl - 1) . "\r\n\r\n$body"];

    # -- Expect
    push @c, ['Expect: 100-continue, malformed signature: 401 before any 100', 401,
              "POST $p HTTP/1.1\r\nHost: x\r\nSignature: $hex64" . "zz\r\nExpect: 100-continue\r\nContent-Length: $cl\r\n\r\n"];
    push @c, ['Expect: 100-continue, forged: 100, body, then 401', 401,
              { plan => [[ "POST $p HTTP/1.1\r\nHost: x\r\nSignature: $forged\r\nExpect: 100-continue\r\nContent-Length: $cl\r\n\r\n", 0.3 ],
                         [ $body, 0 ]] }];
    push @c, ['Expect: 100-continue, oversized: 413 before any 100', 413,
              "POST $p HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\nExpect: 100-continue\r\nContent-Length: 10000000\r\n\r\n"];
    push @c, ['Expect: something else', 417,
              "POST $p HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\nExpect: tea\r\nContent-Length: $cl\r\n\r\n$body"];
    push @c, ['oversized by Content-Length', 413,
              "POST $p HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\nContent-Length: 10000000\r\n\r\n" . ('o' x 1000)];
    return @c;
}

# ---- run ----------------------------------------------------------------------------------

sub snapshot {
    my %fd;
    for my $kid ($h->children) {
        my ($n, $spool) = TwStress::Httpd::fds($kid, $h->{spool});
        $fd{$kid} = { n => $n, spool => $spool };
    }
    return \%fd;
}

# warm up both downstreams and every child's descriptors (lazy opens)
for my $i (1 .. 20) {
    for my $ds (qw(php cgi)) {
        my $r = http_exchange(hostport => $hp,
            data => req("/hook/rec.$ds", 'Signature' => $sig, 'Delivery' => "warm$i", 'X-Stress-Id' => "warm-$ds-$i"));
        die "warm-up request failed: status $r->{status}\n" unless $r->{status} == 200;
    }
}
sleep 0.5;
my @kids0 = $h->children;
my $before = snapshot();
my $parent = $h->{parent};
my $log_before = scalar @{ read_records($h->{downstream_log}) };
my $elog_mark = length $h->error_log_text;

my (%bad, %seen_status, $n_sent, %slow);
my $t0 = time;
my $deadline = $t0 + (quick() ? 120 : 600);
ROUND: for my $round (1 .. $ROUNDS) {
    for my $ds (qw(php cgi)) {
        for my $case (cases($ds)) {
            last ROUND if time > $deadline;
            my ($name, $exp, $what) = @$case;
            my %x = ref $what eq 'HASH' ? %$what : (data => $what);
            my $r = http_exchange(hostport => $hp, timeout => 15, %x);
            $n_sent++;
            $slow{$name} += $r->{elapsed} if ($r->{elapsed} // 0) > 0.5;
            my $got = $r->{status} ? $r->{status}
                    : $r->{nostatus} ? 'nostatus'
                    : ($r->{error} // '') =~ /by the client/ ? 'client'
                    : ($r->{error} // '') =~ /closed without a response/ ? 'close'
                    : "error: " . ($r->{error} // '?');
            $seen_status{$got}++;
            if ($name =~ /before any 100/ && grep { $_ == 100 } @{ $r->{interim} // [] }) {
                $bad{"$ds: $name (100)"} //= 'a 100 Continue was sent';
            }
            if ($name =~ /: 100, body/ && !grep { $_ == 100 } @{ $r->{interim} // [] }) {
                $bad{"$ds: $name (100)"} //= 'no 100 Continue';
            }
            my @exp = ref $exp ? @$exp : ($exp);
            my $key = "$ds: $name";
            unless (grep { $_ eq $got } @exp) {
                $bad{$key} //= "expected @exp, got $got"
                    . ($r->{raw} ? ' (' . substr($r->{raw} =~ s/[^ -~]/./gr, 0, 120) . ')' : '');
            }
            if ($got =~ /^5\d\d$/) {
                $bad{"$key (5xx)"} //= "5xx answer: $got";
            }
            if ($got =~ /^2\d\d$/) {
                $bad{"$key (2xx)"} //= "2xx answer: $got";
            }
        }
    }
}
my $elapsed = time - $t0;
note(sprintf "slow case: %.1fs %s", $slow{$_}, $_) for sort { $slow{$b} <=> $slow{$a} } keys %slow;

# let cleanups run (connections in lingering close, CGI daemons)
sleep 1;
my @records = @{ read_records($h->{downstream_log}) };
my @after_warm = @records[$log_before .. $#records];
my $after = snapshot();

figure(requests => $n_sent, rounds => $ROUNDS, seconds => sprintf('%.1f', $elapsed),
       statuses => join(',', map { "$_:$seen_status{$_}" } sort keys %seen_status));

check(!%bad, "every hostile request got exactly the expected answer ($n_sent sent)",
      map { "$_: $bad{$_}" } sort keys %bad);
check(!grep({ /^5/ } keys %seen_status), 'no 5xx answer at all',
      join ', ', grep { /^5/ } keys %seen_status);
check(!grep({ /^2/ } keys %seen_status), 'no 2xx answer at all');
check(!@after_warm, 'the downstream never ran for any of them',
      map { $_->{line} } @after_warm[0 .. ($#after_warm > 9 ? 9 : $#after_warm)]);
my @crash = $h->crash_lines;
check(!@crash, 'no child crashed (no "exit signal" in the error log)', @crash);
check($h->pid == $parent, "the same parent process ($parent)");
my @kids1 = $h->children;
check("@kids0" eq "@kids1", "the same children before and after (@kids0)", "after: @kids1");
my @left = glob "$h->{spool}/twwebhook.*";
check(!@left, 'no twwebhook.* file left in the spool directory', @left);
my @open = map { @{ $after->{$_}{spool} } } keys %$after;
check(!@open, 'no descriptor left open on a spool file', @open);
my @fd_diff;
for my $kid (sort keys %$before) {
    next unless $after->{$kid};
    push @fd_diff, "child $kid: $before->{$kid}{n} -> $after->{$kid}{n}"
        if $after->{$kid}{n} > $before->{$kid}{n};
}
figure(map { ("fds_$_" => "$before->{$_}{n}->" . ($after->{$_}{n} // '?')) } sort keys %$before);
check(!@fd_diff, 'no descriptor leak in the children (counts before and after)', @fd_diff);

# the module logged the rejections at info, and nothing at error
my $elog = substr($h->error_log_text, $elog_mark);
my @errors = grep { /\[twwebhook:(?:error|crit|alert|emerg)\]/ } split /\n/, $elog;
check(!@errors, 'no [twwebhook:error] line (no server fault)', @errors[0 .. ($#errors > 4 ? 4 : $#errors)]);
my $n_rej = () = $elog =~ /\[twwebhook:info\].*rejected with/g;
figure(module_rejection_lines => $n_rej);

# httpd's compiled default "TraceEnable On": httpd core answers TRACE in
# its map_to_storage hook, before the module's fixups, by echoing the
# request (200 message/http). The app is not run. Asserted exactly, so
# that a change either way is noticed.
{
    my $n0 = scalar @{ read_records($h->{downstream_log}) };
    my $r = http_exchange(hostport => $hp,
        data => "TRACE /hook/rec.php HTTP/1.1\r\nHost: trace-on\r\nSignature: $forged\r\n\r\n");
    my $n1 = scalar @{ read_records($h->{downstream_log}) };
    check($r->{status} == 200 && ($r->{headers}{'content-type'} // '') =~ m{^message/http}
          && $n1 == $n0,
          'TRACE with TraceEnable On: echoed by httpd core (200 message/http), the app never runs',
          "status $r->{status}, content-type " . ($r->{headers}{'content-type'} // '-')
          . ", downstream lines $n0 -> $n1");
}

# still healthy: a valid request is delivered
my $r = http_exchange(hostport => $hp,
    data => req('/hook/rec.php', 'Signature' => $sig, 'Delivery' => 'after-barrage', 'X-Stress-Id' => 'after'));
check($r->{status} == 200 && ($r->{body} // '') =~ /^ok after/, 'afterwards a valid webhook is delivered',
      "status $r->{status}");

exit done();
