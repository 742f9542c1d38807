# SPDX-License-Identifier: Apache-2.0
# Claims in the replay cache are leases with owner tokens (docs/reference.md,
# TwWebhookReplayLease): no fault runs the app twice for one delivery, and
# none blocks it for long. For each engine (shmcb; memcached and
# redis-server started here on free loopback ports), a server of two
# children under this run's MPM (t/900_mpm_matrix.t runs it under the
# others: the renewer is a thread in every child, prefork's too), with
# TwWebhookReplayLease 3:
#   - a child killed (SIGKILL) while its app runs: the sender's next copy
#     is taken at once (the holder is gone from this node: TWW0716), not
#     after the lease; this one runs without TwWebhookReplayLease (the
#     default);
#   - an app that works longer than the lease: a copy sent after the lease
#     would have run out is 409, a copy after the app's 2xx a duplicate;
#     the app ran once;
#   - memcached and redis: the claim's expiry cut short by hand (touch,
#     PEXPIRE) while the app works: the child's renewer extends it again,
#     and two copies racing afterwards are both 409; the app ran once;
#   - a holder frozen (SIGSTOP) past its lease: another copy claims and
#     runs the app; the frozen one, thawed, fails (500) and lets go only of
#     its own claim (TWW0717), so a third copy is still 409 while the
#     second works, and a duplicate once it answered 2xx.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;

my $t_logs = tw_vars()->{t_logs};
my %sigs;   # every correct signature sent: none may reach an error log
my $LEASE = 3;
my $MPM = tw_vars()->{tw_mpm} // 'event';
my $TWO_CHILDREN = $MPM eq 'prefork'
    ? "StartServers 3\nMinSpareServers 3\nMaxSpareServers 3\nServerLimit 3\nMaxRequestWorkers 3\n"
    : "StartServers 2\nServerLimit 2\nThreadsPerChild 8\nMinSpareThreads 1\n"
      . "MaxSpareThreads 16\nMaxRequestWorkers 16\n";

sub server {
    my ($name, $spec, $extra, @modules) = @_;
    my $s = TwFleet->new(name => $name, routes => ['lease'], mpm => $MPM, mpm_conf => $TWO_CHILDREN,
                         modules => \@modules, conf => <<"EOF");
TwWebhookReplayCache "$spec"
$extra
<Location /lease>
    TwWebhookSecret "$SECRET{a}"
</Location>
EOF
    TwFleet::start_or_exit($s, "$name: starts");
    return $s;
}

# A copy of one delivery: (body, signature) and its own X-Tw-Test-Id; the
# query asks report.cgi to sleep and answer a status.
sub copy_of {
    my ($srv, $delivery, $query, %a) = @_;
    my ($body, $sig) = @$delivery;
    return (hostport => $srv->hostport, path => "/lease/report.cgi?$query", body => $body,
            event => 'page.updated', signature => $sig, id => new_id(), %a);
}

sub by_app { my ($r) = @_; return ($r->{status} // 0) == 200 && $r->{json} && ($r->{json}{test_id} // '') eq $r->{id} }

# A child holding a client connection, waited for up to 2 s.
sub busy_child {
    my ($srv) = @_;
    my $until = time + 2;
    while (time < $until) {
        my @kids = $srv->busy_children;
        return $kids[0] if @kids;
        sleep 0.05;
    }
    return undef;
}

sub claim_key { my ($body) = @_; return 'twwebhook-rc:' . TwFleet::replay_key_hex($body, '/lease') }

# the faults provoked below, logged at error level
TwTest::expect_fault('TWW0713: a claim in the replay cache');
TwTest::expect_fault('TWW0717: the claim on this delivery in the replay cache');

my %daemon;
for my $engine (qw(memcache redis)) {
    my $class = $engine eq 'memcache' ? 'TwFleet::Memcached' : 'TwFleet::Redis';
    $daemon{$engine} = $class->new(log => "$t_logs/lease-$engine.log");
    TwFleet::start_or_exit($daemon{$engine}, "$engine: the daemon starts");
}

for my $engine (qw(shmcb memcache redis)) {
    my $cache = $daemon{$engine};
    my $spec = $cache ? "$engine:" . $cache->hostport : "shmcb:$t_logs/lease-$engine-shm(65536)";
    my @modules = $cache ? () : ('socache_shmcb');

    # --- kill -9 of the child in the app: the next copy is taken at once -----------
    {
        my $srv = server("lease-$engine-kill", $spec, '', @modules);
        my $delivery = [TwFleet::signed_body('lease', "$engine-kill", \%sigs)];
        my $first = TwFleet::request_in_background(copy_of($srv, $delivery, 'sleep=8'));
        my $victim = busy_child($srv);
        ok($victim, "$engine: the first copy is in a child ($victim) while its app works")
            or diag('no busy child found');
        sleep 0.5;   # past the claim, in the app
        ok($victim && kill('KILL', $victim), "$engine: that child killed with SIGKILL");
        TwFleet::background_result($first);
        my $mark = $srv->log_mark;
        my $t0 = time;
        my $res = tw_request(copy_of($srv, $delivery, 'sleep=0'));
        ok(by_app($res), "$engine: the sender's next copy reaches the app at once, not 409")
            or diag(describe($res));
        cmp_ok(time - $t0, '<', 5, '... well within the default lease (30 s)');
        like($srv->log_since($mark), qr/TWW0716: the claim on this delivery was held by process $victim, which is gone: taken over/,
             '... the takeover is logged (TWW0716)');
        my $again = TwFleet::retry_409(sub { tw_request(copy_of($srv, $delivery, 'sleep=0')) });
        TwFleet::is_duplicate($again, "$engine: a copy after that is a duplicate");
        TwFleet::check_logs($srv, \%sigs);
        $srv->stop;
    }

    my $srv = server("lease-$engine", $spec, "TwWebhookReplayLease $LEASE", @modules);

    # --- an app slower than the lease: never twice ----------------------------------
    {
        my $delivery = [TwFleet::signed_body('lease', "$engine-slow", \%sigs)];
        my @res = TwFleet::parallel_requests(
            { copy_of($srv, $delivery, 'sleep=' . ($LEASE * 2 + 1)) },
            { copy_of($srv, $delivery, 'sleep=0'), after => $LEASE + 1.5 },
        );
        ok(by_app($res[0]), "$engine: an app working " . ($LEASE * 2 + 1) . " s (lease $LEASE s) answers")
            or diag(describe($res[0]));
        is($res[1]{status}, 409, '... a copy sent after the lease would have run out: 409')
            or diag(describe($res[1]));
        ok(!downstream_ran($res[1]{id}), '... and its app did not run');
        my $again = TwFleet::retry_409(sub { tw_request(copy_of($srv, $delivery, 'sleep=0')) });
        TwFleet::is_duplicate($again, "$engine: a copy after the app's 2xx is a duplicate");
    }

    # --- the expiry cut short by hand: renewed, the app runs once -------------------
    if ($cache) {
        my $delivery = [TwFleet::signed_body('lease', "$engine-expire", \%sigs)];
        my $first = TwFleet::request_in_background(copy_of($srv, $delivery, 'sleep=6'));
        sleep 1;
        ok($cache->expire_soon(claim_key($delivery->[0]), 1500),
           "$engine: the claim's expiry cut to 1.5 s by hand");
        sleep 2.5;   # past that expiry: only a renewal kept it
        my @res = TwFleet::parallel_requests(map { { copy_of($srv, $delivery, 'sleep=0') } } 1 .. 2);
        for my $i (0, 1) {
            is($res[$i]{status}, 409, "$engine: racing copy " . ($i + 2) . ' is 409 (renewed)')
                or diag(describe($res[$i]));
        }
        ok(by_app(TwFleet::background_result($first)), '... the first copy is answered by its app');
        is(scalar(grep { downstream_ran($_->{id}) } @res), 0, '... the app ran once');
    }

    # --- a holder frozen past its lease lets go only of its own claim ----------------
    {
        my $delivery = [TwFleet::signed_body('lease', "$engine-frozen", \%sigs)];
        my $first = TwFleet::request_in_background(copy_of($srv, $delivery, 'sleep=4&status=500'));
        my $holder = busy_child($srv);
        sleep 0.3;
        ok($holder && kill('STOP', $holder), "$engine: the holder's child frozen (SIGSTOP)");
        sleep $LEASE + 1.5;   # its claim ran out, unrenewed
        my $second = TwFleet::request_in_background(copy_of($srv, $delivery, 'sleep=5'));
        sleep 1;              # claimed by the other child, in its app
        my $mark = $srv->log_mark;
        ok($holder && kill('CONT', $holder), "$engine: the holder thawed (SIGCONT)");
        my $r1 = TwFleet::background_result($first);
        is($r1->{status}, 500, '... its app failed (500)') or diag(describe($r1));
        ok($srv->wait_log($mark, qr/TWW0717: the claim on this delivery in the replay cache \(\Q$engine\E\) ran out before it was settled .*: left to its new holder/, 5),
           '... and it found its claim gone (TWW0717), not deleting the new one');
        my $third = tw_request(copy_of($srv, $delivery, 'sleep=0'));
        is($third->{status}, 409, '... a third copy while the second works: 409')
            or diag(describe($third));
        ok(!downstream_ran($third->{id}), '... its app did not run');
        my $r2 = TwFleet::background_result($second);
        ok(by_app($r2), '... the second copy is answered by its app') or diag(describe($r2));
        my $again = TwFleet::retry_409(sub { tw_request(copy_of($srv, $delivery, 'sleep=0')) });
        TwFleet::is_duplicate($again, "$engine: a copy after the second's 2xx is a duplicate");
    }
    TwFleet::check_logs($srv, \%sigs);
    $srv->stop;
}
$_->stop for values %daemon;

done_testing();
