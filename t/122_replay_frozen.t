# SPDX-License-Identifier: Apache-2.0
# A frozen replay-cache engine holds no request longer than
# TwWebhookReplayCacheTimeout (docs/reference.md, TwWebhookReplayCacheTimeout; default
# 2 s). memcached, then redis-server (started here on free loopback ports),
# behind a server under the event and one under the worker MPM (one child,
# 16 threads: one pooled connection per thread), and one under prefork (4
# children):
#   - 16 deliveries at once warm every pooled connection;
#   - the engine is stopped with SIGSTOP (it still accepts connections, as
#     a hung or half-open one does, and never answers);
#   - 8 deliveries at once (prefork: 4, one per child), then 3 one after
#     another: each is answered by the app (TwWebhookReplayCacheFailure
#     open, TWW0703) within the bound and a slack for a busy 2-core
#     machine, never after each stale pooled connection timed out in turn
#     (about 2 s each) or never at all (apr_memcache had no read timeout);
#   - a server failing closed answers 503 (TWW0410) within the bound;
#   - SIGCONT: the engine is used again.
#
# memcached and redis-server (Debian packages of those names) are started
# as the test user; without them this test fails.
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
my $BOUND = 2;     # seconds: TwWebhookReplayCacheTimeout's default
my $SLACK = 2.5;   # the app (a CGI) and a loaded machine

my %MPM_CONF = (
    event   => TwFleet::one_child(16),
    worker  => TwFleet::one_child(16),
    prefork => "StartServers 4\nMinSpareServers 4\nMaxSpareServers 4\nServerLimit 4\n"
             . "MaxRequestWorkers 4\n",
);

sub deliveries {
    my ($srv, $n, $what) = @_;
    return map {
        my ($body, $sig) = TwFleet::signed_body('frozen', "$what-$_", \%sigs);
        +{ hostport => $srv->hostport, path => '/frozen/report.cgi', body => $body,
           event => 'page.updated', signature => $sig, timeout => 20 }
    } 1 .. $n;
}

# Each response is the app's 200 (or $status) within the bound and slack.
sub answered_in_time {
    my ($name, $status, @res) = @_;
    my @late = grep { ($_->{status} // 0) != $status
                      || ($_->{elapsed} // 99) >= $BOUND + $SLACK } @res;
    ok(!@late, "$name: all " . scalar(@res) . " answered $status within $BOUND s + $SLACK s")
        or diag(join "\n", map { describe($_) . sprintf(' after %.1f s', $_->{elapsed} // -1) }
                           @late);
    my @slowest = sort { $b <=> $a } map { $_->{elapsed} // 0 } @res;
    note(sprintf '%s: slowest %.2f s', $name, $slowest[0] // 0);
}

for my $engine (qw(memcache redis)) {
    TwTest::expect_fault("TWW0703: replay cache unavailable ($engine); failing");
    TwTest::expect_fault('TWW0410: rejected with 503: replay cache unavailable');
    my $class = $engine eq 'memcache' ? 'TwFleet::Memcached' : 'TwFleet::Redis';
    my $cache = $class->new(log => "$t_logs/frozen-$engine.log");
    TwFleet::start_or_exit($cache, "$engine: the daemon starts on " . $cache->hostport);
    for my $mpm (qw(event worker prefork)) {
        my %srv;
        for my $failure (qw(open closed)) {
            my $s = TwFleet->new(
                name => "frozen-$engine-$mpm-$failure", routes => ['frozen'], mpm => $mpm,
                mpm_conf => $MPM_CONF{$mpm}, conf => <<"EOF");
TwWebhookReplayCache "$engine:${\ $cache->hostport }"
TwWebhookReplayCacheFailure $failure
<Location /frozen>
    TwWebhookSecret "$SECRET{a}"
</Location>
EOF
            TwFleet::start_or_exit($s, $s->name . ': starts');
            $srv{$failure} = $s;
        }
        my $name = "$engine, $mpm";

        my @res = TwFleet::parallel_requests(deliveries($srv{open}, 16, "$mpm-warm"));
        is(scalar(grep { ($_->{status} // 0) == 200 } @res), 16,
           "$name: 16 deliveries at once warm the pool: all 200");
        TwFleet::parallel_requests(deliveries($srv{closed}, 4, "$mpm-warm-closed"));

        ok($cache->freeze, "$name: $engine stopped (SIGSTOP)");
        my $mark = $srv{open}->log_mark;
        # as many at once as the server has workers (prefork: 4), so that
        # none waits for another's 2 s
        my $at_once = $mpm eq 'prefork' ? 4 : 8;
        @res = TwFleet::parallel_requests(deliveries($srv{open}, $at_once, "$mpm-frozen"));
        answered_in_time("$name, frozen: $at_once deliveries at once", 200, @res);
        @res = map { tw_request(%$_) } deliveries($srv{open}, 3, "$mpm-frozen-seq");
        answered_in_time("$name, frozen: 3 deliveries one after another", 200, @res);
        like($srv{open}->log_since($mark), qr/TWW0703: replay cache unavailable \($engine\); failing open/,
             "$name: the fault is logged (TWW0703)");
        $mark = $srv{closed}->log_mark;
        @res = map { tw_request(%$_) } deliveries($srv{closed}, 3, "$mpm-frozen-closed");
        answered_in_time("$name, frozen, failing closed", 503, @res);
        like($srv{closed}->log_since($mark), qr/TWW0410/, "$name: failing closed is logged (TWW0410)");

        ok($cache->thaw, "$name: $engine goes on (SIGCONT)");
        TwFleet::cache_back($srv{open}, $engine, sub {
            my ($s, $id) = @_;
            my ($d) = deliveries($s, 1, "$mpm-back");
            return tw_request(%$d, id => $id);
        });
        for my $s (values %srv) {
            TwFleet::check_logs($s, \%sigs);
            $s->stop;
        }
    }
    $cache->stop;
}

done_testing();
