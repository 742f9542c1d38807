# SPDX-License-Identifier: Apache-2.0
# A dispatched request can never be forged from outside (issue 20, item 2):
# TW-Dispatch makes the module skip the sender's verification only for a
# credential this server's dispatcher made, for that entry, attempt,
# method and path, before it expires. Every forged or replayed one is
# refused (401, the app never runs), whatever the sender's own signature
# says, on loopback and on another address. Real credentials are read
# from mod_log_forensic's log (written before the module takes the header
# out of the request). Its own httpd (t/lib/TwQueue.pm) under this run's
# MPM; Timeout 4, so a credential expires 4 s after it was made.
#
# The same over HTTP/2 (h2c with prior knowledge, "Protocols h2c
# http/1.1" on this server), where the request reaches the module through
# mod_http2's secondary connection and its own body input: a forged, an
# other entry's and an expired credential are refused there too, and a
# delivery signed by the sender is queued as over HTTP/1.1 (the refusals
# would mean nothing if HTTP/2 were refused as a whole), its dispatch
# reaching the app without the TW-Dispatch header. Refusals made on the
# headers alone go through nghttp: curl 7.88 loses their answer (see
# t/092_h2.t); those made after the body go through curl, the body
# streamed without a content-length.
#
# And h2 over TLS: a virtual host on an https listener ("Protocols h2
# http/1.1", the suite's test certificate) with a queued location of its
# own, /qtls. The dispatcher reaches it by https, and its libcurl then
# speaks HTTP/2 by ALPN as any client would: a dispatch itself over h2,
# whose app must get the body and no TW-Dispatch; a forged credential
# there is refused. Under prefork mod_http2 is inactive (AH10034) and TLS
# offers no h2: the same then runs as HTTP/1.1 over TLS (see t/092_h2.t).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;
use TwSys qw(free_port slurp);
use TwQueue qw(queue_server wait_report report_of wait_entries);

# another address of this machine than loopback, for the same checks there
my ($other_ip) = grep { !/^127\./ && /^\d+\.\d+\.\d+\.\d+$/ } split ' ', (qx(hostname -I 2>/dev/null) // '');
my $other_port = free_port();
my $forensic = TwTest::tw_vars()->{t_logs} . '/forged-forensic.log';
unlink $forensic;
my $tls_port = free_port();
my $tls_dir = TwTest::tw_vars()->{tw_tls_dir};
my $tls_version = (TwTest::tw_vars()->{tw_mpm} // 'event') eq 'prefork' ? '1.1' : '2';
my $tls_protocol = $tls_version eq '2' ? 'HTTP/2.0' : 'HTTP/1.1';   # as the request line says
# The dispatcher sends the main server's own locations (/q, /q2) to a
# plain HTTP listener before a TLS one, the lowest port first (glue/queue.c,
# target_listener), whatever the order of the Listen lines: the TLS one is
# the last here, which httpd's own list of listeners puts first. /qtls has
# its own virtual host and address.
my ($srv, $dir, $reports) = queue_server(
    name => 'forged', dirs => [qw(q q2 qtls)], modules => [qw(log_forensic http2 ssl)],
    routes => [qw(q q2 noinbox qtls)],
    conf => sub { my ($d) = @_; return ($other_ip ? "Listen $other_ip:$other_port\n" : '') . <<"EOF" });
Timeout 4
Protocols h2c http/1.1
ForensicLog "$forensic"
Listen 127.0.0.1:$tls_port https
SSLSessionCache none
<VirtualHost 127.0.0.1:$tls_port>
    ServerName localhost
    Protocols h2 http/1.1
    SSLEngine on
    SSLCertificateFile "$tls_dir/server.crt"
    SSLCertificateKeyFile "$tls_dir/server.key"
    <Location /qtls>
        TwWebhookSecret "$SECRET{a}"
        TwWebhookInbox "$d->{qtls}"
        TwWebhookQueue On
    </Location>
</VirtualHost>
<Location /q>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d->{q}"
    TwWebhookQueue On
</Location>
<Location /q2>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d->{q2}"
    TwWebhookQueue On
</Location>
<Location /noinbox>
    TwWebhookSecret "$SECRET{a}"
</Location>
EOF
TwFleet::start_or_exit($srv, 'an httpd with TwWebhookQueue and mod_log_forensic starts on ' . $srv->hostport);
my $hp = $srv->hostport;
my $stamp = int(time * 1000) . "-$$";
my $n = 0;

sub new_body { return sprintf '{"event":"page.updated","forged":"%s-%d"}', $stamp, ++$n }

# The TW-Dispatch values the forensic log saw, oldest first.
sub credentials {
    my @c;
    for my $line (split /\n/, slurp($forensic) // '') {
        next unless $line =~ /\|TW-Dispatch:([^|]+)/i;
        (my $v = $1) =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
        push @c, $v;
    }
    return @c;
}

# Sends $body with a good sender signature and TW-Dispatch $cred to $path;
# must be refused with $status and $tag, the app never running. With
# h2 => 'nghttp' or 'curl', over h2c with that client (see the top).
sub refused {
    my ($name, $path, $body, $cred, $status, $tag, $reason, %a) = @_;
    my $mark = $srv->log_mark;
    my %req = (body => $body, event => 'page.updated', signature => sign($body, $SECRET{a}),
               headers => [ 'TW-Dispatch' => $cred ]);
    my $url = 'http://' . ($a{hostport} // $hp) . $path;
    my $res = !$a{h2} ? tw_request(hostport => $a{hostport} // $hp, path => $path, %req)
        : $a{h2} eq 'nghttp' ? tw_nghttp(url => $url, %req)
        : (tw_curl([{ url => $url, no_content_length => 'stdin', %req }], h2 => 'prior'))[0];
    subtest $name => sub {
        if ($a{h2}) {
            is($res->{rc} // $res->{curl_rc}, 0, "$a{h2} succeeded") or diag($res->{error});
            is($res->{http_version} // '2', '2', 'answered over HTTP/2');
        }
        is($res->{status}, $status, "status $status") or diag(describe($res));
        sleep 0.3;
        is(downstream_ran($res->{id}), 0, 'the app never ran');
        ok($srv->wait_log($mark, rejection_re($tag, $status, $reason, $res->{id})),
           "$tag logged") or diag($srv->log_since($mark));
        unlike($res->{body}, qr/accepted|duplicate/, 'not accepted as a delivery either');
    };
}

my $id64 = 'a' x 64;
my $later = int(time) + 3600;
my $zeros = '0' x 64;
my $not_valid = 'TW-Dispatch not valid here (malformed, or not made by this server\'s '
              . 'dispatcher for this entry, method and path)';

# --- forged from scratch ------------------------------------------------------------------
for my $case ([ 'no credential value at all (empty)', '' ],
              [ 'garbage', 'yes please' ],
              [ 'a v1 credential without its MAC (no key)', "v1 $id64 1 $later" ],
              [ 'a v1 credential with a MAC of zeros', "v1 $id64 1 $later $zeros" ],
              [ 'v2', "v2 $id64 1 $later $zeros" ]) {
    my ($what, $cred) = @$case;
    refused("forged TW-Dispatch, $what: 401", '/q/report.cgi', new_body(), $cred,
            401, 'TWW0131', $not_valid);
}
refused('forged TW-Dispatch at a location without an inbox: 401', '/noinbox/report.cgi',
        new_body(), "v1 $id64 1 $later $zeros", 401, 'TWW0129',
        'TW-Dispatch at a location without TwWebhookInbox (nothing is dispatched here)');
if ($other_ip) {
    refused("forged TW-Dispatch on $other_ip (not loopback): 401", '/q/report.cgi', new_body(),
            "v1 $id64 1 $later $zeros", 401, 'TWW0131', $not_valid,
            hostport => "$other_ip:$other_port");
}
else {
    fail('this machine has an address other than loopback for the not-loopback case');
}
refused('forged TW-Dispatch over h2c, a MAC of zeros: 401', '/q/report.cgi', new_body(),
        "v1 $id64 1 $later $zeros", 401, 'TWW0131', $not_valid, h2 => 'nghttp');
refused('forged TW-Dispatch over h2c, garbage: 401', '/q/report.cgi', new_body(),
        'yes please', 401, 'TWW0131', $not_valid, h2 => 'nghttp');

# --- a real credential, replayed ------------------------------------------------------------
my %forged = map { $_ => 1 } credentials();   # those this test sent itself
my $body = new_body();
my $res = tw_request(hostport => $hp, path => '/q/report.cgi', body => $body, event => 'page.updated',
                     signature => sign($body, $SECRET{a}));
is($res->{status}, 200, 'a delivery queued') or diag(describe($res));
ok(wait_report($reports, $res->{id}, 15, 1), '... and dispatched to the app');
my ($cred) = grep { !$forged{$_} } credentials();
like($cred // '', qr/^v1 [0-9a-f]{64} 1 \d+ [0-9a-f]{64}$/, '... with a v1 credential (read from the forensic log)');
$cred //= "v1 $id64 1 $later $zeros";
my ($expires) = $cred =~ /^v1 \S+ \d+ (\d+) /;
wait_entries($dir->{q}, sub { !%{ $_[0] } }, 5);

refused('the real credential with another body (another entry): 401', '/q/report.cgi', new_body(),
        $cred, 401, 'TWW0132',
        'TW-Dispatch names another entry than this body and its signed headers make');
refused('the real credential with another body (another entry) over h2c: 401', '/q/report.cgi',
        new_body(), $cred, 401, 'TWW0132',
        'TW-Dispatch names another entry than this body and its signed headers make',
        h2 => 'curl');
refused('the real credential replayed to another path with an inbox: 401', '/q2/report.cgi', $body,
        $cred, 401, 'TWW0131', $not_valid);
refused('the real credential replayed to the same path with a query added: 401',
        '/q/report.cgi?x=1', $body, $cred, 401, 'TWW0131', $not_valid);
(my $other_attempt = $cred) =~ s/^(v1 \S+) 1 /$1 2 /;
refused('the real credential with another attempt number: 401', '/q/report.cgi', $body,
        $other_attempt, 401, 'TWW0131', $not_valid);
(my $longer = $cred) =~ s/^(v1 \S+ \d+) (\d+) /"$1 " . ($2 + 3600) . ' '/e;
refused('the real credential with a later expiry: 401', '/q/report.cgi', $body,
        $longer, 401, 'TWW0131', $not_valid);
refused('the real credential, same path and body, once the entry was delivered: 409',
        '/q/report.cgi', $body, $cred, 409, 'TWW0133',
        'the dispatched entry is no longer in the inbox (delivered, dropped or redelivered meanwhile)');
sleep 0.2 while time <= ($expires // 0) + 1;
refused('the real credential once expired: 401', '/q/report.cgi', $body, $cred, 401, 'TWW0130',
        'TW-Dispatch expired');
refused('the real credential once expired, over h2c: 401', '/q/report.cgi', $body, $cred, 401,
        'TWW0130', 'TW-Dispatch expired', h2 => 'nghttp');
is(scalar(report_of($reports, $res->{id})), 1, 'the app got the delivery exactly once');

# --- a delivery the sender signed, over h2c: queued, dispatched, no TW-Dispatch at the app -----
# Its app answers 503 (?status=503): the entry stays queued, so its real
# credential can then be sent again over h2c before it expires, which the
# module accepts as a dispatch (the README: good for one entry, one
# attempt, one path, for Timeout seconds, while the entry is there). That
# reads a dispatch's body through mod_http2, and the app must again get
# the body intact and no TW-Dispatch.
my $h2_path = '/q/report.cgi?status=503';
my $h2_body = new_body();
my %seen = map { $_ => 1 } credentials();
my ($h2) = tw_curl([{ url => "http://$hp$h2_path", body => $h2_body, event => 'page.updated',
                      signature => sign($h2_body, $SECRET{a}), no_content_length => 'stdin' }],
                   h2 => 'prior');
subtest 'a signed delivery over h2c: 200, queued' => sub {
    is($h2->{curl_rc}, 0, 'curl succeeded') or diag($h2->{error});
    is($h2->{http_version}, '2', 'answered over HTTP/2');
    is($h2->{status}, 200, 'status 200') or diag(describe($h2));
    like($h2->{body}, qr/queued/, 'queued for the dispatcher');
};
my $h2_report = wait_report($reports, $h2->{id}, 15, 1);
subtest '... and dispatched to the app, without the TW-Dispatch header' => sub {
    ok($h2_report, 'the app got it') or return;
    is($h2_report->{TW_WEBHOOK_VERIFIED}, '1', 'verified');
    is($h2_report->{body_sha256}, sha256_hex($h2_body), 'the body intact');
    ok(!defined $h2_report->{HTTP_TW_DISPATCH}, 'no TW-Dispatch header')
        or diag('the app saw TW-Dispatch');
};
my ($h2_cred) = grep { !$seen{$_} } credentials();
like($h2_cred // '', qr/^v1 [0-9a-f]{64} 1 \d+ [0-9a-f]{64}$/, '... with a v1 credential');
my ($h2_entry) = ($h2_cred // '') =~ /^v1 (\S+) /;
$h2_entry //= 'none';
my $mark = $srv->log_mark;
my ($again) = tw_curl([{ url => "http://$hp$h2_path", body => $h2_body, event => 'page.updated',
                         signature => sign($h2_body, $SECRET{a}), delivery => $h2->{id},
                         no_content_length => 'stdin',
                         headers => [ 'TW-Dispatch' => $h2_cred // "v1 $id64 1 $later $zeros" ] }],
                      h2 => 'prior');
my $again_report = wait_report($reports, $again->{id}, 5, 1);
subtest 'that credential sent again over h2c, the entry still queued: a dispatch, no header at the app' => sub {
    is($again->{curl_rc}, 0, 'curl succeeded') or diag($again->{error});
    is($again->{http_version}, '2', 'answered over HTTP/2');
    is($again->{status}, 503, "the app's answer (503)") or diag(describe($again));
    ok($srv->wait_log($mark, qr/TWW0236: dispatch of queued entry \Q$h2_entry\E, attempt 1/),
       'received as a dispatch (TWW0236)') or diag($srv->log_since($mark));
    ok($again_report, 'the app ran') or return;
    is($again_report->{TW_WEBHOOK_ATTEMPT}, '1', 'attempt 1, as the credential says');
    is($again_report->{body_sha256}, sha256_hex($h2_body), 'the body intact');
    ok(!defined $again_report->{HTTP_TW_DISPATCH}, 'no TW-Dispatch header')
        or diag('the app saw TW-Dispatch');
};

# --- h2 over TLS: a forged credential refused; a dispatch over h2 by ALPN ---------------------
my $tls = "https://127.0.0.1:$tls_port";
{
    my $b = new_body();
    my $mark = $srv->log_mark;
    my %req = (url => "$tls/qtls/report.cgi", body => $b, event => 'page.updated',
               signature => sign($b, $SECRET{a}), headers => [ 'TW-Dispatch' => "v1 $id64 1 $later $zeros" ]);
    # refused on its headers: nghttp over h2 (see the top), curl over HTTP/1.1
    my $r = $tls_version eq '2' ? tw_nghttp(%req) : (tw_curl([\%req], h2 => 'tls'))[0];
    subtest "forged TW-Dispatch over TLS (HTTP/$tls_version), a MAC of zeros: 401" => sub {
        is($r->{rc} // $r->{curl_rc}, 0, 'the client succeeded') or diag($r->{error});
        is($r->{http_version} // '2', $tls_version, "answered over HTTP/$tls_version");
        is($r->{status}, 401, 'status 401') or diag(describe($r));
        sleep 0.3;
        is(downstream_ran($r->{id}), 0, 'the app never ran');
        ok($srv->wait_log($mark, rejection_re('TWW0131', 401, $not_valid, $r->{id})), 'TWW0131 logged')
            or diag($srv->log_since($mark));
    };
}
my $tls_body = new_body();
my ($t) = tw_curl([{ url => "$tls/qtls/report.cgi", body => $tls_body, event => 'page.updated',
                     signature => sign($tls_body, $SECRET{a}), no_content_length => 'stdin' }],
                  h2 => 'tls');
subtest "a signed delivery over TLS (HTTP/$tls_version): 200, queued" => sub {
    is($t->{curl_rc}, 0, 'curl succeeded') or diag($t->{error});
    is($t->{http_version}, $tls_version, "answered over HTTP/$tls_version");
    is($t->{status}, 200, 'status 200') or diag(describe($t));
    like($t->{body}, qr/queued/, 'queued for the dispatcher');
};
my $tls_report = wait_report($reports, $t->{id}, 15, 1);
# the dispatcher's request: the delivery's Delivery header, and TW-Dispatch
my ($tls_line) = grep { /\|TW-Dispatch:/i && /\|Delivery:\Q$t->{id}\E(?:\||$)/ }
                 split /\n/, slurp($forensic) // '';
subtest "... dispatched over https, HTTP/$tls_version by ALPN, without the TW-Dispatch header" => sub {
    like($tls_line // '', qr{^\+\S+\|POST /qtls/report\.cgi \Q$tls_protocol\E\|},
         "the dispatcher's request came over HTTP/$tls_version (forensic log)");
    ok($tls_report, 'the app got it') or return;
    is($tls_report->{TW_WEBHOOK_VERIFIED}, '1', 'verified');
    is($tls_report->{body_sha256}, sha256_hex($tls_body), 'the body intact');
    ok(!defined $tls_report->{HTTP_TW_DISPATCH}, 'no TW-Dispatch header')
        or diag('the app saw TW-Dispatch');
};
is_deeply(wait_entries($dir->{qtls}, sub { !%{ $_[0] } }, 5), {},
          '... and the entry ended (the 2xx reached the dispatcher)');

like(slurp($srv->error_log) // '', qr/TWW0236/, 'the real dispatch was received as one');
my @q_dispatches = grep { m{TWW0233: .* to \S+/q2?/report\.cgi} } split /\n/, slurp($srv->error_log) // '';
ok(@q_dispatches, 'the dispatcher sent deliveries of the main server\'s /q (TWW0233)');
is_deeply([ grep { m{ to https://} } @q_dispatches ], [],
          '... each to a plain HTTP listener, though the TLS one is the last Listen line');
unlike(join('', map { slurp($_) // '' } $srv->error_log), qr/\Q$cred\E/,
       'no credential in the error log');
my $h2_cred_text = $h2_cred // 'no credential';
unlike(slurp($srv->error_log) // '', qr/\Q$h2_cred_text\E/, '... not the one sent over h2c either');

done_testing();
