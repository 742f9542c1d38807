# SPDX-License-Identifier: Apache-2.0
# twwebhook-inbox redeliver as an HTTP client (docs/inbox.md, "Redeliver";
# twwebhook-inbox(1)): redirects are never followed (a 302 or 307 is a
# failed redelivery that keeps the entry, even when following the 307
# would have delivered it), --timeout bounds the whole request (a
# listener that never reads, a server that trickles its answer a byte at
# a time), https:// works with TLS verified (the suite's tw_h2tls virtual
# host and its throwaway certificate given with --cacert; without it the
# certificate is refused), and proxies named in the environment are
# ignored. The sender's Signature header never appears in the tool's
# output. Entries are made by a TwFleet httpd whose /held location holds
# deliveries to a closed port (202 held), as in t/130_inbox.t.
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

# one held entry: [ id, delivery id ]
sub held_entry {
    my $body = sprintf '{"event":"page.updated","inbox":"%s-%d"}', $stamp, ++$n;
    my $sig = sign($body, $SECRET{a});
    push @sigs, $sig;
    my $res = TwFleet::retry_409(sub {
        tw_request(hostport => $hp, path => '/held/proxy/hook', body => $body,
                   event => 'page.updated', signature => $sig) });
    is($res->{status}, 202, "delivery $n to a closed port: held (202)") or diag(describe($res));
    return [ TwFleet::replay_key_hex($body, '/held'), $res->{id} ];
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
