# SPDX-License-Identifier: Apache-2.0
# TwWebhookQueue On (docs/inbox.md, issue 20 item 2): a verified delivery
# is put in the inbox as queued and answered 200 "accepted: queued" at
# once, without waiting for the app; the dispatcher (a mod_watchdog
# singleton) then hands it to the location's app, whatever that is
# (php-fpm, a CGI, a proxied backend), with the body byte for byte, the
# same TW_WEBHOOK_* variables as the direct mode plus TW_WEBHOOK_ATTEMPT,
# and never the TW-Dispatch header. The app's 2xx removes the entry. A
# copy of a queued delivery is 200 too. Its own httpd (t/lib/TwQueue.pm)
# under this run's MPM, with a replay cache.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;
use TwSys qw(free_port);
use TwQueue qw(queue_server post_signed wait_report report_of entries wait_entries);

my $bport = free_port();
my ($srv, $dir, $reports) = queue_server(
    name => 'queue', dirs => [qw(q d)], modules => [qw(proxy_http)], routes => [qw(q d)],
    conf => sub { my ($d) = @_; return <<"EOF" });
TwWebhookReplayCache "shmcb:queue-replay(131072)"
<Location /q>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d->{q}"
    TwWebhookQueue On
</Location>
<Location /q/proxy>
    ProxyPass "http://127.0.0.1:$bport"
</Location>
<Location /d>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d->{d}"
</Location>
EOF
$ENV{TW_TEST_REPORTS} = $reports;   # the backend's reports too
my $backend = eval { backend_start($bport) };
ok($backend, "a backend for mod_proxy_http listens on 127.0.0.1:$bport") or diag($@);
# stopped however the test ends: a forked backend left running would
# hold the harness' pipe open
END { local $?; backend_stop($backend) if $backend }
TwFleet::start_or_exit($srv, 'an httpd with TwWebhookQueue starts on ' . $srv->hostport);
my $hp = $srv->hostport;
my $stamp = int(time * 1000) . "-$$";
my $n = 0;

sub new_body { return sprintf '{"event":"page.updated","queue":"%s-%d"}', $stamp, ++$n }

sub post { return post_signed($hp, @_) }   # ($path, $body, %tw_request)

# The variables an app got, but for the attempt (the direct mode's is 1).
sub tw_env_of { my ($r) = @_; my %e = %{ $r->{tw_env} // {} }; return \%e }

# --- the direct mode, for comparison ---------------------------------------------------
my %direct;
for my $ds (qw(cgi php)) {
    my $body = new_body();
    my $res = post("/d/report.$ds", $body);
    is($res->{status}, 200, "direct, $ds: 200 from the app") or diag(describe($res));
    my ($r) = report_of($reports, $res->{id});
    ok($r, "... the app reported it") and $direct{$ds} = $r;
}

# --- queued: answered at once, delivered in the background, as in direct mode ----------
for my $case ([ 'cgi', 'php-fpm', 3 ], [ 'php', 'php-fpm', 10 ], [ 'cgi', 'CGI', 0 ]) {
    my ($ds, undef, $sleep) = @$case;
    my $body = new_body();
    my $path = "/q/report.$ds" . ($sleep ? "?sleep=$sleep" : '');
    my $res = post($path, $body);
    subtest "queued, $ds, the app takes ${sleep}s" => sub {
        is($res->{status}, 200, 'the sender gets 200') or diag(describe($res));
        is($res->{body}, "accepted: queued\n", '... "accepted: queued"');
        cmp_ok($res->{took}, '<', 1, sprintf('... in well under a second (%.3f s)', $res->{took}));
        my $r = wait_report($reports, $res->{id}, $sleep + 15, 1);
        ok($r, '... the app got it in the background') or return;
        is($r->{body_sha256}, sha256_hex($body), '... the body, byte for byte (SHA-256)');
        is($r->{body_length}, length $body, '... its length');
        is($r->{CONTENT_LENGTH}, length $body, '... CONTENT_LENGTH');
        is($r->{REQUEST_METHOD}, 'POST', '... POST');
        is($r->{REQUEST_URI}, $path, '... the path it came in on');
        is($r->{TW_WEBHOOK_ATTEMPT}, '1', '... TW_WEBHOOK_ATTEMPT 1');
        ok(!defined $r->{HTTP_TW_DISPATCH}, '... no TW-Dispatch header reached the app');
        my %want = %{ tw_env_of($direct{$ds}) };
        $want{TW_WEBHOOK_DELIVERY} = $res->{id};
        is_deeply(tw_env_of($r), \%want, '... the same TW_WEBHOOK_* as the direct mode')
            or diag(explain(tw_env_of($r), \%want));
        my $e = wait_entries($dir->{q}, sub { !%{ $_[0] } }, 10);
        is(scalar keys %$e, 0, "... the app's 2xx removed the entry") or diag(explain($e));
    };
}

# --- a proxied backend ----------------------------------------------------------------
{
    my $body = new_body();
    my $res = post('/q/proxy/hook?x=1', $body);
    is($res->{status}, 200, 'queued, proxied backend: 200') or diag(describe($res));
    my $r = wait_report($reports, $res->{id}, 15);
    ok($r, '... the backend got it') or diag(TwTest::slurp($reports) // '');
    if ($r) {
        is($r->{body_sha256}, sha256_hex($body), '... the body, byte for byte');
        is($r->{CONTENT_LENGTH}, length $body, '... Content-Length');
        is($r->{REQUEST_URI}, '/hook?x=1', '... the path as proxied');
        ok(!exists $r->{headers}{'tw-dispatch'}, '... no TW-Dispatch header reached it');
        is($r->{headers}{delivery}, $res->{id}, '... Delivery as the sender sent it');
        ok(defined $r->{headers}{signature}, "... the sender's Signature");
    }
}

# --- copies: 200 ---------------------------------------------------------------------------
{
    my $body = new_body();
    my $sig = sign($body, $SECRET{a});
    my $res = post('/q/report.php?sleep=2', $body, signature => $sig);
    is($res->{status}, 200, 'a delivery queued while the app is slow: 200') or diag(describe($res));
    my $copy = post('/q/report.php?sleep=2', $body, signature => $sig, id => $res->{id});
    is($copy->{status}, 200, '... its copy at once: 200') or diag(describe($copy));
    is($copy->{body}, "duplicate: already handled\n", '... a duplicate (the claim settled on the first 200)');
    ok(wait_report($reports, $res->{id}, 15, 1), '... the app got it');
    sleep 1;
    my @got = report_of($reports, $res->{id});
    is(scalar @got, 1, '... once');
}

# --- disk full: 503, never a 200 without a durable copy ------------------------------------
SKIP: {
    my $full = $ENV{TW_TEST_FULL_FS};
    skip 'no small file system to fill (TW_TEST_FULL_FS: scripts/test-integration '
         . 'mounts one when run as root)', 6 unless $full && -d $full && -w $full;
    my $fs = TwFleet->new(name => 'queue-full', routes => ['qfull'],
                          mpm => TwTest::tw_vars()->{tw_mpm} // 'event', conf => <<"EOF");
WatchdogInterval 100ms
SetEnv TW_TEST_REPORTS "$reports"
<Location /qfull>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$full"
    TwWebhookQueue On
</Location>
EOF
    ok($fs->start, 'an httpd with its queue on a tiny tmpfs starts') or diag($fs->why);
    TwSys::fill_file_system($full);
    my $body = '{"event":"page.updated","big":"' . ('q' x 20000) . '"}';
    my $id = TwTest::new_id();
    TwTest::expect_fault($id);
    my $mark = $fs->log_mark;
    my $res = tw_request(hostport => $fs->hostport, path => '/qfull/report.cgi', body => $body,
                         event => 'page.updated', signature => sign($body, $SECRET{a}), id => $id);
    is($res->{status}, 503, 'queue on a full disk (ENOSPC): 503, not 200') or diag(describe($res));
    like($fs->wait_log($mark, rejection_re('TWW0464', 503, qr/cannot queue the delivery/, $id)) // '',
         qr/\(28\)No space left on device: /, '... TWW0464 says "No space left on device"')
        or diag($fs->log_since($mark));
    sleep 1;
    is(scalar(report_of($reports, $id)), 0, '... and the app never got it');
    unlink "$full/filler";
    $res = tw_request(hostport => $fs->hostport, path => '/qfull/report.cgi', body => $body,
                      event => 'page.updated', signature => sign($body, $SECRET{a}), id => $id);
    is($res->{body}, "accepted: queued\n", 'space again: the retry is queued') or diag(describe($res));
    ok(wait_report($reports, $id, 15), '... and delivered');
    $fs->stop;
}

done_testing();
