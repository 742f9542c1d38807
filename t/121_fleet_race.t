# SPDX-License-Identifier: Apache-2.0
# A fleet claims a delivery atomically (docs/reference.md, TwWebhookReplayCache,
# "Fleets"): two httpds on loopback share one memcached, then one
# redis-server (both started here on free loopback ports, without
# persistence). For each engine:
#   - 40 copies of one body sent at the same instant, split across both
#     servers, reach the app exactly once (the others answer 409 or
#     "200 duplicate"); four rounds, four bodies;
#   - a delivery handled on one server is a duplicate on the other;
#   - the cache dies while a delivery is in the app: that delivery still
#     gets the app's answer (TWW0704: not recorded); then "open" delivers
#     (TWW0703) and "closed" answers 503; a forged request is 401 either way;
#   - the cache comes back: the fleet deduplicates again.
#
# memcached and redis-server (Debian packages of those names) are started
# as the test user; without them this test fails.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;

my $t_logs = tw_vars()->{t_logs};
my %sigs;   # every correct signature sent: none may reach an error log

# One child per server, enough threads for every copy of a round at once.
my $one_child = TwFleet::one_child(32);

my $COPIES = 40;
my $ROUNDS = 4;

sub new_body { my ($what) = @_; return TwFleet::signed_body('race', $what, \%sigs) }

sub post {
    my ($srv, $body, %a) = @_;
    my $q = delete $a{query};
    return tw_request(hostport => $srv->hostport, path => '/race/report.cgi' . ($q ? "?$q" : ''),
                      body => $body, event => 'page.updated', %a);
}



for my $engine (qw(memcache redis)) {
    my $class = $engine eq 'memcache' ? 'TwFleet::Memcached' : 'TwFleet::Redis';
    my $cache = $class->new(log => "$t_logs/race-$engine.log");
    unless (ok($cache->start, "$engine: the daemon starts on " . $cache->hostport)) {
        diag($cache->why);
        next;
    }
    my @srv;
    for my $side (['a', ''], ['b', 'TwWebhookReplayCacheFailure closed']) {
        my $s = TwFleet->new(
            name => "race-$engine-$side->[0]", routes => ['race'], mpm_conf => $one_child,
            conf => <<"EOF");
TwWebhookReplayCache "$engine:${\ $cache->hostport }"
$side->[1]
<Location /race>
    TwWebhookSecret "$SECRET{a}"
</Location>
EOF
        push @srv, $s;
        ok($s->start, $s->name . ": starts with TwWebhookReplayCache $engine") or diag($s->why);
    }
    my ($A, $B) = @srv;
    if (grep { !$_->{started} } @srv) {
        $_->stop for @srv;
        $cache->stop;
        next;
    }

    # --- 40 copies at once, split across A and B: one app run ------------------------
    for my $round (1 .. $ROUNDS) {
        my ($body, $sig) = new_body("$engine-round$round");
        my @ids = map { new_id() } 1 .. $COPIES;
        my @res = TwFleet::last_byte_requests(map {
            +{ hostport => $srv[$_ % 2]->hostport, path => '/race/report.cgi?sleep=1',
               body => $body, event => 'page.updated', signature => $sig, id => $ids[$_] }
        } 0 .. $COPIES - 1);
        my %n = (app => 0, duplicate => 0, busy => 0, other => 0);
        my %ran_on;
        for my $i (0 .. $#res) {
            my $r = $res[$i];
            my $kind = ($r->{status} // 0) == 200 && ($r->{body} // '') =~ /^duplicate: already handled/
                         ? 'duplicate'
                     : ($r->{status} // 0) == 200 && $r->{json} && ($r->{json}{test_id} // '') eq $ids[$i]
                         ? 'app'
                     : ($r->{status} // 0) == 409 ? 'busy' : 'other';
            $n{$kind}++;
            diag("$engine round $round, copy $i: " . describe($r)) if $kind eq 'other';
        }
        my @ran = grep { downstream_ran($ids[$_]) } 0 .. $#ids;
        $ran_on{$srv[$_ % 2]->name}++ for @ran;
        is(scalar @ran, 1, "$engine, round $round: $COPIES copies at once on A and B, "
                           . 'the app ran exactly once')
            or diag('ran on: ' . explain(\%ran_on));
        is($n{app}, 1, '... one copy answered by the app') or diag(explain(\%n));
        is($n{other}, 0, "... the others 409 ($n{busy}) or 200 duplicate ($n{duplicate})")
            or diag(explain(\%n));
        note("$engine round $round: " . join(', ', map { "$_ $n{$_}" } sort keys %n)
             . '; app ran on ' . join(', ', sort keys %ran_on));
        for my $s ($A, $B) {
            my $res = TwFleet::retry_409(sub { post($s, $body, signature => $sig) });
            TwFleet::is_duplicate($res, "$engine, round $round: afterwards a copy on " . $s->name
                               . ' is a duplicate');
        }
    }

    # --- handled on B: a duplicate on A ----------------------------------------------
    {
        my ($body, $sig) = new_body("$engine-ba");
        my $res = post($B, $body, signature => $sig);
        check_delivered($res, 'cgi', $body, { TW_WEBHOOK_VERIFIED => '1' }, "$engine: B delivers");
        $res = TwFleet::retry_409(sub { post($A, $body, signature => $sig, delivery => 'other-' . $$) });
        TwFleet::is_duplicate($res, "$engine: its copy on A (another Delivery) is a duplicate");
    }

    # --- the cache dies while a delivery is in the app ---------------------------------
    TwTest::expect_fault("TWW0704: cannot record the delivery in the replay cache ($engine)");
    TwTest::expect_fault("TWW0703: replay cache unavailable ($engine); failing open");
    TwTest::expect_fault("TWW0703: replay cache unavailable ($engine); failing closed");
    {
        my ($body, $sig) = new_body("$engine-dies");
        my $zid = new_id();
        my $m = $A->log_mark;
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $r = post($A, $body, signature => $sig, id => $zid, query => 'sleep=2');
            POSIX::_exit(($r->{status} // 0) == 200 && $r->{json} ? 0 : 1);
        }
        my $until = time + 15;
        sleep 0.05 until downstream_ran($zid) || time > $until;
        ok(downstream_ran($zid), "$engine: a delivery is in the app on A");
        $cache->stop;
        ok(!TwFleet::port_open($cache->hostport), "$engine: ... when the daemon is stopped");
        waitpid $pid, 0;
        is($? >> 8, 0, '... that delivery still gets the app\'s 200');
        ok($A->wait_log($m, qr/\[twwebhook:error\].* TWW0704: cannot record the delivery in the replay cache \(\Q$engine\E\)/, 2),
           '... and A logs at error that it could not record it (TWW0704)') or diag($A->log_since($m));
        for my $i (1 .. 3) {
            my ($obody, $osig) = new_body("$engine-down$i");
            $m = $A->log_mark;
            my $res = post($A, $obody, signature => $osig);
            check_delivered($res, 'cgi', $obody, { TW_WEBHOOK_VERIFIED => '1' },
                            "$engine down, request $i: A (open) delivers");
            ok($A->wait_log($m, qr/\[twwebhook:error\].* TWW0703: replay cache unavailable \(\Q$engine\E\); failing open/, 1),
               '... logged TWW0703 at error') or diag($A->log_since($m));
            my $id = new_id();
            TwTest::expect_fault($id);
            $m = $B->log_mark;
            $res = post($B, $obody, signature => $osig, id => $id);
            is($res->{status}, 503, "$engine down, request $i: B (closed) answers 503")
                or diag(describe($res));
            is(downstream_ran($id), 0, '... the app did not run');
            ok($B->wait_log($m, rejection_re('TWW0410', 503, 'replay cache unavailable '
                                             . '(TwWebhookReplayCacheFailure closed)', $id), 1),
               '... logged TWW0410 at error') or diag($B->log_since($m));
        }
        for my $s ($A, $B) {
            $m = $s->log_mark;
            my $res = post($s, $body, signature => sign($body, $SECRET{unknown}));
            is($res->{status}, 401, "$engine down: a forged request on " . $s->name . ' is 401')
                or diag(describe($res));
            unlike($s->log_since($m), qr/TWW0703/, '... without asking the cache');
        }
    }

    # --- the cache is back: the fleet deduplicates again ---------------------------------
    ok($cache->start, "$engine: the daemon starts again on the same port") or diag($cache->why);
    sleep 5.5 if $engine eq 'memcache';   # past libmemcached's wait before it tries a failed server again
    for my $s ($A, $B) {
        TwFleet::cache_back($s, $engine, sub {
            my ($srv, $id) = @_;
            my ($wbody, $wsig) = new_body("$engine-warmup");
            return post($srv, $wbody, signature => $wsig, id => $id);
        });
    }
    {
        my ($body, $sig) = new_body("$engine-back");
        my $res = post($A, $body, signature => $sig);
        check_delivered($res, 'cgi', $body, { TW_WEBHOOK_VERIFIED => '1' },
                        "$engine back: A delivers a new body");
        $res = TwFleet::retry_409(sub { post($B, $body, signature => $sig) });
        TwFleet::is_duplicate($res, "$engine back: its copy on B is a duplicate");
    }

    $_->stop for $A, $B;
    TwFleet::check_logs($_, \%sigs) for $A, $B;
    $cache->stop;
}

done_testing();
