# SPDX-License-Identifier: Apache-2.0
# twwebhook-inbox redeliver as an HTTP client (docs/inbox.md, "Redeliver";
# twwebhook-inbox(1)): on the wire, exactly the entry's headers plus Host
# and Content-Length and the body byte for byte (1.5 MB, nothing libcurl
# would add: Accept, Expect, a form Content-Type); redirects are never
# followed (a 302 or 307 is a failed redelivery that keeps the entry, even
# when following the 307 would have delivered it); --timeout bounds the
# whole request (a listener that never reads, a server that trickles its
# answer a byte at a time) and --connect-timeout the connection with its
# TLS handshake; a refused connection says so without the URL's password;
# proxies named in the environment are ignored; https:// works with TLS
# verified (the suite's tw_h2tls virtual host and its throwaway
# certificate given with --cacert; without it the certificate is
# refused). The sender's Signature header never appears in the tool's
# output. Entries are made by a TwFleet httpd whose /held location holds
# deliveries to a closed port (200, held), as in t/130_inbox.t.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use Apache::TestRequest ();
use TwTest;
use TwFleet;

my $tool = TwFleet::inbox_tool_path();
ok(-x $tool, "twwebhook-inbox is built ($tool)") or BAIL_OUT('twwebhook-inbox not built');

my $closed = TwFleet::free_port();       # nothing listens here
my $dir = TwTest::tw_vars()->{t_logs} . '/inbox-http-entries';   # not the server's own dir
make_path($dir);
chmod 0700, $dir;

my $srv = TwFleet->new(
    name => 'inbox-http', modules => [qw(proxy_http)], routes => [qw(held)],
    conf => <<"EOF");
<Location /held>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$dir"
    TwWebhookInboxHold On
    TwWebhookMaxBodySize 4194304
</Location>
<Location /held/proxy>
    ProxyPass "http://127.0.0.1:$closed/"
</Location>
# following either would reach /held/report.cgi, which delivers (a 307
# even keeps the POST and its body)
Redirect 302 /moved302/ /held/
Redirect 307 /moved307/ /held/
EOF
TwFleet::start_or_exit($srv, 'an httpd with TwWebhookInbox starts on ' . $srv->hostport);
my $hp = $srv->hostport;
my $stamp = int(time * 1000) . "-$$";
my $n = 0;
my @sigs;                                # every Signature sent: never in the output

# one held entry: [ id, delivery id, body ] ($body: a small one if not given)
sub held_entry {
    my ($body) = @_;
    $body //= sprintf '{"event":"page.updated","inbox":"%s-%d"}', $stamp, ++$n;
    my $sig = sign($body, $SECRET{a});
    push @sigs, $sig;
    my $res = TwFleet::retry_409(sub {
        tw_request(hostport => $hp, path => '/held/proxy/hook', body => $body,
                   event => 'page.updated', signature => $sig) });
    is($res->{status}, 200, 'a delivery to a closed port: 200') or diag(describe($res));
    like($res->{body} // '', qr/^accepted: held for redelivery$/m, '... held for redelivery');
    return [ TwFleet::replay_key_hex($body, '/held'), $res->{id}, $body ];
}

sub is_kept {
    my ($id, $name) = @_;
    my ($rc, $out) = TwFleet::inbox_tool('list', $dir);
    like($out, qr/^\Q$id\E /m, $name);
}

sub no_signature_in {
    my ($out, $name) = @_;
    my @seen = grep { index($out, $_) >= 0 } @sigs;
    ok(!@seen, "$name: no Signature header value in the output");
}

# --- on the wire: the entry's headers and body, nothing libcurl adds ------------------
# A listener that records one request as it arrived and answers 200. The
# body is 1.5 MB (libcurl would add "Expect: 100-continue" to it) of
# every byte value a JSON string may hold.
{
    my $big = '{"event":"page.updated","pad":"'
            . join('', map { chr(32 + $_ % 95) =~ s/["\\]/x/r } 0 .. 1_500_000) . '"}';
    my ($id, $delivery, $body) = @{ held_entry($big) };
    my ($src, $shown) = TwFleet::inbox_tool('show', $dir, $id);
    my @stored = $shown =~ /^header: ([^:]+): (.*)$/mg;
    my $wire = TwTest::tw_vars()->{t_logs} . '/inbox-http-wire';
    my $l = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my $port = $l->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $c = $l->accept or exit 0;
        binmode $c;
        my $in = '';
        my $until = time + 20;
        while (time < $until) {
            my $end = index $in, "\r\n\r\n";
            last if $end >= 0 && $in =~ /^Content-Length: (\d+)\r$/mi && length($in) >= $end + 4 + $1;
            my $r = sysread($c, my $buf, 65536);
            last unless $r;
            $in .= $buf;
        }
        open my $fh, '>', $wire or exit 1;
        binmode $fh;
        print {$fh} $in;
        close $fh;
        syswrite($c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
        exit 0;
    }
    close $l;
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--url', "http://127.0.0.1:$port", $id);
    waitpid $pid, 0;
    is($rc, 0, 'redeliver a 1.5 MB entry to a recording listener: exit 0') or diag($out);
    like($out, qr/^\Q$id\E 200 removed$/m, '... "<id> 200 removed" (nobody else touched it)');
    my $req = TwTest::slurp($wire) // '';
    my $end = index $req, "\r\n\r\n";
    my ($line, @lines) = split /\r\n/, substr($req, 0, $end < 0 ? 0 : $end);
    is($line, 'POST /held/proxy/hook HTTP/1.1', '... POST to the path it came in on, HTTP/1.1');
    my @got = map { /^([^:]+):\s?(.*)$/ ? ($1, $2) : ($_, undef) } @lines;
    my %want = (host => "127.0.0.1:$port", 'content-length' => length $body);
    for (my $i = 0; $i < @stored; $i += 2) { $want{ lc $stored[$i] } = $stored[$i + 1] }
    my %got;
    for (my $i = 0; $i < @got; $i += 2) { $got{ lc $got[$i] } = $got[$i + 1] }
    is_deeply(\%got, \%want, '... exactly the stored headers, Host and Content-Length: '
              . 'no Accept, no Expect, no form Content-Type') or diag(explain(\%got));
    ok(substr($req, $end + 4) eq $body, '... the body, byte for byte (' . length($body) . ' bytes)');
    unlink $wire;
}

# --- redirects are refused ---------------------------------------------------------
for my $code (302, 307) {
    my ($id, $delivery) = @{ held_entry() };
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--url', "http://$hp/moved$code/report.cgi", $id);
    is($rc, 1, "redeliver to a URL answering $code: exit 1") or diag($out);
    like($out, qr/^\Q$id\E $code kept: a redirect \(not followed\)/m,
         "... \"<id> $code kept: a redirect (not followed)\"") or diag($out);
    is_kept($id, '... the entry is kept');
    ok(!downstream_ran($delivery), '... the app never got it (the redirect was not followed)');
    no_signature_in($out, "$code");
}

# --- timeouts ------------------------------------------------------------------------
# a listener that never accepts nor reads: the connection completes (the
# kernel's backlog), the answer never comes
{
    my $mute = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my $port = $mute->sockport;
    my ($id) = @{ held_entry() };
    my $t0 = time;
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--url', "http://127.0.0.1:$port",
                                         '--timeout', 2, $id);
    my $took = time - $t0;
    is($rc, 1, 'redeliver to a listener that never reads, --timeout 2: exit 1') or diag($out);
    ok($took >= 1.8 && $took < 4, sprintf('... ends after the timeout (%.1f s)', $took));
    like($out, qr/^\Q$id\E failed: timed out after 2 s \(--timeout\)$/m, '... "<id> failed: timed out after 2 s (--timeout)"')
        or diag($out);
    is_kept($id, '... the entry is kept');
    no_signature_in($out, 'timeout');
    close $mute;
}

# https:// to a listener that never reads: the TCP connection completes,
# the TLS handshake never does; --connect-timeout (which counts the
# handshake) ends it, not --timeout
{
    my $mute = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my $port = $mute->sockport;
    my ($id) = @{ held_entry() };
    my $t0 = time;
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--url', "https://127.0.0.1:$port",
                                         '--connect-timeout', 1, '--timeout', 10, $id);
    my $took = time - $t0;
    is($rc, 1, 'https to a listener that never answers the handshake, --connect-timeout 1: exit 1')
        or diag($out);
    ok($took >= 0.8 && $took < 3, sprintf('... ends after the connect timeout, not --timeout 10 (%.1f s)', $took));
    like($out, qr/^\Q$id\E failed: cannot connect to 127\.0\.0\.1:$port: timed out after 1 s \(--connect-timeout\)$/m,
         '... "cannot connect to ...: timed out after 1 s (--connect-timeout)"') or diag($out);
    is_kept($id, '... the entry is kept');
    close $mute;
}

# a server that reads the request and trickles a 200 a byte every 0.2 s
# (the status line takes 3.4 s, the headers never end): --timeout bounds
# the whole request, not each read, and a status line that came too late
# is no answer
{
    my $slow = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my $port = $slow->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{PIPE} = 'IGNORE';
        my $c = $slow->accept or exit 0;
        my $buf;
        $c->sysread($buf, 65536);
        $c->autoflush(1);
        for my $byte (split //, "HTTP/1.1 200 OK\r\nX-Slow: " . ('x' x 20)) {
            last unless $c->syswrite($byte);
            sleep 0.2;
        }
        exit 0;
    }
    close $slow;
    my ($id) = @{ held_entry() };
    my $t0 = time;
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--url', "http://127.0.0.1:$port",
                                         '--timeout', 2, $id);
    my $took = time - $t0;
    kill 'TERM', $pid;
    waitpid $pid, 0;
    is($rc, 1, 'redeliver to a server trickling its answer, --timeout 2: exit 1') or diag($out);
    ok($took >= 1.8 && $took < 4, sprintf('... ends after the timeout, not when the server stops (%.1f s)', $took));
    like($out, qr/^\Q$id\E failed: timed out after 2 s \(--timeout\)$/m, '... says it timed out') or diag($out);
    is_kept($id, '... the entry is kept');
}

# --- a refused connection; a password in --url never shows ----------------------------
{
    my ($id) = @{ held_entry() };
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--url',
                                         "http://hookuser:pw-$stamp\@127.0.0.1:$closed", $id);
    is($rc, 1, 'redeliver to a closed port (user:password in the URL): exit 1') or diag($out);
    like($out, qr/^\Q$id\E failed: cannot connect to 127\.0\.0\.1:$closed: Connection refused$/m,
         '... "cannot connect to 127.0.0.1:PORT: Connection refused"') or diag($out);
    unlike($out, qr/pw-\Q$stamp\E/, '... the password is not printed');
    is_kept($id, '... the entry is kept');
}

# --- proxies from the environment are not used --------------------------------------
{
    my ($id, $delivery) = @{ held_entry() };
    local @ENV{qw(http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY)}
        = ("http://127.0.0.1:$closed") x 6;
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--url', "http://$hp/held/report.cgi", $id);
    is($rc, 0, 'redeliver with http_proxy (and others) naming a closed port: exit 0') or diag($out);
    like($out, qr/^\Q$id\E 200 removed$/m, '... "<id> 200 removed": straight to the server');
    ok(downstream_ran($delivery), '... the app got it');
}

# --- https:// -------------------------------------------------------------------------
{
    Apache::TestRequest::module('default');
    my $tls = vhost_base('tw_h2tls');    # https://127.0.0.1:port of the suite's own server
    my $ca = TwTest::tw_vars()->{tw_tls_dir} . '/server.crt';
    my ($id, $delivery) = @{ held_entry() };

    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--url', "$tls/prot/report.cgi", $id);
    is($rc, 1, 'https without --cacert (a self-signed certificate): exit 1') or diag($out);
    like($out, qr/^\Q$id\E failed: .*certificate/m, '... the certificate is refused') or diag($out);
    is_kept($id, '... the entry is kept');
    ok(!downstream_ran($delivery), '... nothing reached the app');

    ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--cacert', "$dir/no-such-ca.pem",
                                      '--url', "$tls/prot/report.cgi", $id);
    is($rc, 1, 'https with a --cacert that does not exist: exit 1') or diag($out);
    is_kept($id, '... the entry is kept');

    ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--cacert', $ca,
                                      '--url', "$tls/prot/report.cgi", $id);
    is($rc, 0, 'https with --cacert (the test certificate): exit 0') or diag($out);
    like($out, qr/^\Q$id\E 200 removed$/m, '... "<id> 200 removed"') or diag($out);
    ok(downstream_ran($delivery), '... the app on the TLS virtual host got it (by its Delivery id)');
    my ($lrc, $left) = TwFleet::inbox_tool('list', $dir);
    unlike($left, qr/^\Q$id\E /m, '... and the entry is gone');
    no_signature_in($out, 'https');
}

# --- usage ---------------------------------------------------------------------------
for my $bad ([ '--url', 'ftp://127.0.0.1/x' ], [ '--timeout', 0 ], [ '--connect-timeout', 'x' ],
             [ '--cacert' ]) {
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--all', @$bad);
    is($rc, 2, "redeliver @$bad: usage error (exit 2)");
}

$srv->stop;
my $log = TwTest::slurp($srv->error_log) // '';
unlike($log, qr/\Q$SECRET{a}\E/, 'the error log holds no secret');
done_testing();
