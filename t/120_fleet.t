# SPDX-License-Identifier: Apache-2.0
# A fleet behind a load balancer (docs/reference.md, TwWebhookReplayCache
# memcache:host:port): two httpds sharing one memcached, which the module
# talks to itself (libmemcached). A delivery handled by server A is a duplicate on
# server B and the other way round; a delivery in progress on one answers
# 409 on the other; a failed one can be retried on the other.
# TwWebhookReplayCacheFailure: with memcached stopped (or never there),
# "open" (the default) delivers and logs TWW0703 at error, "closed" answers
# 503; the signature is checked either way. When memcached is back, the
# fleet deduplicates again. The window is honoured by memcache too.
#
# memcached (Debian package "memcached") is started here on a free loopback
# port as the test user; without it this test fails.
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

# One child per server (see TwFleet::one_child).
my $one_child = TwFleet::one_child(25);

my $mc = TwFleet::Memcached->new(log => "$t_logs/memcached.log");
TwFleet::start_or_exit($mc, 'memcached starts on ' . $mc->hostport);

sub server {
    my ($name, $cache, $extra) = @_;
    return TwFleet->new(
        name => $name, routes => ['fleet'],
        mpm_conf => $one_child,
        conf => <<"EOF");
TwWebhookReplayCache "memcache:$cache"
$extra
<Location /fleet>
    TwWebhookSecret "$SECRET{a}"
</Location>
EOF
}

my $A = server('fleet-a', $mc->hostport, '');
my $B = server('fleet-b', $mc->hostport, 'TwWebhookReplayCacheFailure closed');
for my $s ($A, $B) {
    TwFleet::start_or_exit($s, $s->name . ': an httpd with TwWebhookReplayCache memcache starts');
}

sub post {
    my ($srv, $body, %a) = @_;
    my $q = delete $a{query};
    my $ds = delete $a{ds} // 'cgi';
    return tw_request(hostport => $srv->hostport,
                      path => "/fleet/report.$ds" . ($q ? "?$q" : ''),
                      body => $body, event => 'page.updated', %a);
}

sub new_body { my ($what) = @_; return TwFleet::signed_body('fleet', $what, \%sigs) }

# A copy that must be a duplicate: retried while 409 (see TwFleet::retry_409)
sub dup { my ($srv, @a) = @_; return TwFleet::retry_409(sub { post($srv, @a) }) }


# --- handled on one server: a duplicate on the other -----------------------------
my $stats0 = $mc->stats;
my ($body, $sig) = new_body('ab');
my $res = post($A, $body, signature => $sig);
check_delivered($res, 'cgi', $body, { TW_WEBHOOK_VERIFIED => '1' }, 'server A delivers a new body');
my $stats1 = $mc->stats;
cmp_ok(($stats1->{cmd_set} // 0) - ($stats0->{cmd_set} // 0), '>=', 1,
       'server A wrote to memcached') or diag(explain($stats1));
my $mark = $B->log_mark;
$res = dup($B, $body, signature => $sig, delivery => 'resent-to-b-' . int(rand 1e9));
TwFleet::is_duplicate($res, 'the same body on server B (fresh Delivery): duplicate');
ok($B->wait_log($mark, qr/\[twwebhook:info\].* TWW0204: duplicate/), 'B logged TWW0204 at info')
    or diag($B->log_since($mark));
$res = dup($A, $body, signature => $sig);
TwFleet::is_duplicate($res, '... and on server A again: duplicate');

($body, $sig) = new_body('ba');
$res = post($B, $body, signature => $sig, ds => 'php');
check_delivered($res, 'php', $body, { TW_WEBHOOK_VERIFIED => '1' }, 'server B delivers (php)');
$res = dup($A, $body, signature => $sig, ds => 'php');
TwFleet::is_duplicate($res, 'the same body on server A: duplicate');

# --- in progress on A: 409 on B; afterwards a duplicate ----------------------------
{
    my ($zbody, $zsig) = new_body('inflight');
    my $zid = new_id();
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = post($A, $zbody, signature => $zsig, id => $zid, query => 'sleep=2');
        POSIX::_exit($r->{status} == 200 && $r->{json} ? 0 : 1);
    }
    # the app on A has started (it logs first, then sleeps 2 s)
    my $until = time + 15;
    sleep 0.05 until downstream_ran($zid) || time > $until;
    my $m = $B->log_mark;
    $res = post($B, $zbody, signature => $zsig);
    is($res->{status}, 409, 'a copy on B while A is still handling the body: 409')
        or diag(describe($res));
    is(downstream_ran($res->{id}), 0, '... the app did not run on B');
    ok($B->wait_log($m, rejection_re('TWW0118', 409, 'the same body is being handled by another request right now', $res->{delivery})),
       '... logged TWW0118 at info') or diag($B->log_since($m));
    waitpid $pid, 0;
    is($? >> 8, 0, 'A delivered it (200 from the app)');
    is(downstream_ran($zid), 1, '... the app ran on A');
    $res = dup($B, $zbody, signature => $zsig);
    TwFleet::is_duplicate($res, 'once A is done, the copy on B is a duplicate');
}

# --- failed on A (500): the retry on B goes through --------------------------------
{
    my ($rbody, $rsig) = new_body('retry');
    $res = post($A, $rbody, signature => $rsig, query => 'status=500');
    is($res->{status}, 500, 'the app on A fails with 500') or diag(describe($res));
    # (A releases its reservation after its answer has left: a 409 is retried)
    $res = dup($B, $rbody, signature => $rsig);
    check_delivered($res, 'cgi', $rbody, { TW_WEBHOOK_VERIFIED => '1' },
                    'the retry on B reaches the app');
    $res = dup($A, $rbody, signature => $rsig);
    TwFleet::is_duplicate($res, 'after B succeeded, the copy on A is a duplicate');
}

# a forged request does not touch the shared cache either
{
    my ($fbody, $fsig) = new_body('forged');
    $res = post($A, $fbody, signature => sign($fbody, $SECRET{unknown}));
    is($res->{status}, 401, 'a forged copy on A: 401') or diag(describe($res));
    $res = post($B, $fbody, signature => $fsig);
    check_delivered($res, 'cgi', $fbody, { TW_WEBHOOK_VERIFIED => '1' },
                    'then the valid one on B: delivered');
}

# --- memcached stopped: open delivers (TWW0703 at error), closed answers 503 --------
# (TWW0703 has no delivery id to name: its lines are provoked on purpose here)
TwTest::expect_fault('TWW0703: replay cache unavailable (memcache); failing open');
TwTest::expect_fault('TWW0703: replay cache unavailable (memcache); failing closed');
$mc->stop;
ok(!TwFleet::port_open($mc->hostport), 'memcached stopped: its port is closed');
{
    my ($vbody, $vsig) = new_body('down');
    # several requests: the first meets the dead connection, the later ones
    # libmemcached's "server dead" state
    for my $i (1 .. 4) {
        my ($obody, $osig) = $i == 1 ? ($vbody, $vsig) : new_body("down$i");
        my $m = $A->log_mark;
        $res = post($A, $obody, signature => $osig);
        check_delivered($res, 'cgi', $obody, { TW_WEBHOOK_VERIFIED => '1' },
                        "open (default), cache down, request $i: delivered");
        ok($A->wait_log($m, qr/\[twwebhook:error\].* TWW0703: replay cache unavailable \(memcache\); failing open/, 1),
           "... logged TWW0703 at error") or diag($A->log_since($m));
    }
    $res = post($A, $vbody, signature => $vsig);
    check_delivered($res, 'cgi', $vbody, { TW_WEBHOOK_VERIFIED => '1' },
                    'open, cache down: a copy is delivered again (no replay protection meanwhile)');
    my $m = $A->log_mark;
    $res = post($A, $vbody, signature => sign($vbody, $SECRET{unknown}));
    is($res->{status}, 401, 'open, cache down: a forged request is still refused with 401')
        or diag(describe($res));
    unlike($A->log_since($m), qr/TWW0703/, '... without consulting the cache');

    for my $i (1 .. 4) {
        my ($cbody, $csig) = new_body("closed$i");
        my $id = new_id();
        TwTest::expect_fault($id);
        my $m2 = $B->log_mark;
        $res = post($B, $cbody, signature => $csig, id => $id);
        is($res->{status}, 503, "closed, cache down, request $i: 503") or diag(describe($res));
        is(downstream_ran($id), 0, '... the app did not run');
        ok($B->wait_log($m2, rejection_re('TWW0410', 503, 'replay cache unavailable '
                                          . '(TwWebhookReplayCacheFailure closed)', $id)),
           '... logged TWW0410 at error') or diag($B->log_since($m2));
    }
    $res = post($B, $vbody, signature => sign($vbody, $SECRET{unknown}));
    is($res->{status}, 401, 'closed, cache down: a forged request gets 401, not 503')
        or diag(describe($res));
}

# --- a memcache address where nothing ever listened ----------------------------------
{
    my $dead = '127.0.0.1:' . TwFleet::free_port();
    my $D = server('fleet-d', $dead, 'TwWebhookReplayCacheFailure closed');
    my $E = server('fleet-e', $dead, '');
    for my $s ($D, $E) {
        ok($s->start, $s->name . ": starts with memcache at a closed port ($dead)")
            or diag($s->why);
    }
    for my $i (1 .. 3) {
        my ($dbody, $dsig) = new_body("never$i");
        my $id = new_id();
        TwTest::expect_fault($id);
        $res = post($D, $dbody, signature => $dsig, id => $id);
        is($res->{status}, 503, "closed, closed port, request $i: 503") or diag(describe($res));
        is(downstream_ran($id), 0, '... the app did not run');
        $res = post($E, $dbody, signature => $dsig);
        check_delivered($res, 'cgi', $dbody, { TW_WEBHOOK_VERIFIED => '1' },
                        "open, closed port, request $i: delivered");
    }
    $_->stop for $D, $E;
    TwFleet::check_logs($_, \%sigs) for $D, $E;
}

# --- memcached back: the fleet deduplicates again ------------------------------------
ok($mc->start, 'memcached restarted on the same port') or diag($mc->why);
sleep 5.5;   # past libmemcached's wait before it tries a failed server again
for my $s ($A, $B) {
    TwFleet::cache_back($s, 'memcached', sub {
        my ($srv, $id) = @_;
        my ($wbody, $wsig) = new_body('warmup');
        return post($srv, $wbody, signature => $wsig, id => $id);
    });
}
{
    my ($kbody, $ksig) = new_body('back');
    $res = post($A, $kbody, signature => $ksig);
    check_delivered($res, 'cgi', $kbody, { TW_WEBHOOK_VERIFIED => '1' },
                    'memcached back: A delivers a new body');
    $res = dup($B, $kbody, signature => $ksig);
    TwFleet::is_duplicate($res, 'memcached back: its copy on B is a duplicate');
}

# --- the window, kept by memcached ---------------------------------------------------
for my $case ([3, 'fleet-w3', 4.2], [1, 'fleet-w1', 2.5]) {
    my ($window, $name, $wait) = @$case;
    my $W = server($name, $mc->hostport, "TwWebhookReplayWindow $window");
    unless (ok($W->start, "$name: TwWebhookReplayWindow $window with memcache starts")) {
        diag($W->why);
        next;
    }
    my ($wbody, $wsig) = new_body("window$window");
    my $m = $W->log_mark;
    $res = post($W, $wbody, signature => $wsig);
    check_delivered($res, 'cgi', $wbody, { TW_WEBHOOK_VERIFIED => '1' },
                    "window $window s: delivered");
    $res = dup($W, $wbody, signature => $wsig);
    if ($window >= 3) {
        TwFleet::is_duplicate($res, "window $window s: a copy at once is a duplicate");
    }
    else {
        # memcached counts whole seconds: a 1 s entry may be gone at once,
        # but the copy must not find the delivery "in progress" for ever
        is($res->{status}, 200, "window $window s: a copy at once gets 200 (duplicate, or "
                                . 'delivered if the second is over), not 409 (retried for 2 s)')
            or diag(describe($res));
    }
    sleep $wait;
    $res = post($W, $wbody, signature => $wsig);
    check_delivered($res, 'cgi', $wbody, { TW_WEBHOOK_VERIFIED => '1' },
                    "window $window s: ${wait} s later the same body is delivered again");
    unlike($W->log_since($m), qr/TWW0704/,
           "window $window s: the delivery was recorded (no TWW0704: cannot record)")
        or diag($W->log_since($m));
    $W->stop;
    TwFleet::check_logs($W, \%sigs);
}

$_->stop for $A, $B;
TwFleet::check_logs($_, \%sigs) for $A, $B;
$mc->stop;


done_testing();
