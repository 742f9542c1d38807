# SPDX-License-Identifier: Apache-2.0
# What the replay cache keeps across restarts (docs/reference.md, TwWebhookReplayCache,
# "Restarts"), for the providers on one server:
#   shmcb  a graceful restart and a SIGHUP restart with the same
#          TwWebhookReplayCache line keep every entry, and a delivery still
#          in the app of an old child is "in progress" (409) for the new
#          children (one cache, one mutex for both generations); a changed
#          line, or httpd stopped and started, starts empty;
#   dbm    keeps its entries across a graceful restart and across httpd
#          stopped and started (its files stay).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;

my $stamp = int(time * 1000) . "-$$";

sub server {
    my ($name, $cache, $module) = @_;
    return TwFleet->new(
        name => $name, modules => [$module], routes => ['restart'],
        conf => <<"EOF");
TwWebhookReplayCache "$cache"
<Location /restart>
    TwWebhookSecret "$SECRET{a}"
</Location>
EOF
}

sub post {
    my ($srv, $body, %a) = @_;
    my $q = delete $a{query};
    my $ds = delete $a{ds} // 'php';
    return tw_request(hostport => $srv->hostport, path => "/restart/report.$ds" . ($q ? "?$q" : ''),
                      body => $body, event => 'page.updated', %a);
}

sub new_body {
    my ($what) = @_;
    my $body = qq({"event":"page.updated","restart":"$what-$stamp-) . int(rand 1e9) . '"}';
    return ($body, sign($body, $SECRET{a}));
}


sub dup { my ($srv, @a) = @_; return TwFleet::retry_409(sub { post($srv, @a) }) }

sub delivered {
    my ($res, $body, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    check_delivered($res, 'php', $body, { TW_WEBHOOK_VERIFIED => '1' }, $name);
}

sub no_faults {
    my ($s) = @_;
    my $log = TwTest::slurp($s->error_log) // '';
    unlike($log, qr/exit signal|Segmentation fault/, $s->name . ': no child crashed');
    unlike($log, qr/\[twwebhook:(?:error|crit|alert|emerg)\]/, $s->name . ': no server fault logged')
        or diag(join "\n", grep { /\[twwebhook:(?:error|crit)/ } split /\n/, $log);
}

# --- shmcb -----------------------------------------------------------------------------
{
    my $spec = 'shmcb:replay-cache(131072)';
    my $S = server('restart-shmcb', $spec, 'socache_shmcb');
    TwFleet::start_or_exit($S, 'shmcb: an httpd starts');
    my ($body, $sig) = new_body('shmcb');
    delivered(post($S, $body, signature => $sig), $body, 'shmcb: a new body is delivered');
    TwFleet::is_duplicate(dup($S, $body, signature => $sig), 'shmcb: its copy is a duplicate');

    my $pid = $S->httpd_pid;
    ok($S->graceful, 'shmcb: graceful restart');
    is($S->httpd_pid, $pid, '... the same parent');
    TwFleet::is_duplicate(dup($S, $body, signature => $sig),
                 'shmcb: after the graceful restart, the copy is still a duplicate');

    # a delivery in the app of an old-generation child during a graceful restart
    {
        my ($zbody, $zsig) = new_body('inflight');
        my $zid = new_id();
        my $kid = fork // die "fork: $!";
        if (!$kid) {
            my $r = post($S, $zbody, signature => $zsig, id => $zid, ds => 'cgi', query => 'sleep=3');
            POSIX::_exit(($r->{status} // 0) == 200 && $r->{json} ? 0 : 1);
        }
        my $until = time + 15;
        sleep 0.05 until downstream_ran($zid) || time > $until;
        ok(downstream_ran($zid), 'shmcb: a delivery is in the app (3 s)');
        ok($S->graceful, '... graceful restart meanwhile');
        my $m = $S->log_mark;
        my $res = post($S, $zbody, signature => $zsig);
        is($res->{status}, 409, '... a copy reaching a new child: 409, in progress')
            or diag(describe($res));
        is(downstream_ran($res->{id}), 0, '... the app did not run for it');
        waitpid $kid, 0;
        is($? >> 8, 0, '... the old child finished the delivery (200 from the app)');
        TwFleet::is_duplicate(dup($S, $zbody, signature => $zsig),
                     '... then a copy on a new child is a duplicate (settled in the same cache)');
    }

    ok($S->restart, 'shmcb: SIGHUP restart (httpd -k restart: the parent stays)');
    TwFleet::is_duplicate(dup($S, $body, signature => $sig), 'shmcb: after it, the copy is still a duplicate');

    # a changed TwWebhookReplayCache line is a new cache
    $S->replace_conf($spec, 'shmcb:replay-cache(262144)');
    ok($S->graceful, 'shmcb: graceful restart with another cache size');
    delivered(post($S, $body, signature => $sig), $body,
              'shmcb: the changed cache starts empty: the body is delivered again');
    TwFleet::is_duplicate(dup($S, $body, signature => $sig), '... and then is a duplicate');

    $S->stop;
    ok($S->start, 'shmcb: httpd stopped and started again') or diag($S->why);
    delivered(post($S, $body, signature => $sig), $body,
              'shmcb: after a stop, the cache is empty: the body is delivered again');
    $S->stop;
    no_faults($S);
}

# --- dbm --------------------------------------------------------------------------------
{
    my $D = server('restart-dbm', 'dbm:replay-dbm', 'socache_dbm');
    my $file = $D->dir . '/replay-dbm';   # relative to ServerRoot
    TwFleet::start_or_exit($D, 'dbm: an httpd starts');
    my ($body, $sig) = new_body('dbm');
    delivered(post($D, $body, signature => $sig), $body, 'dbm: a new body is delivered');
    TwFleet::is_duplicate(dup($D, $body, signature => $sig), 'dbm: its copy is a duplicate');
    ok($D->graceful, 'dbm: graceful restart');
    TwFleet::is_duplicate(dup($D, $body, signature => $sig), 'dbm: after it, the copy is still a duplicate');
    $D->stop;
    ok(scalar(glob("$file*")), 'dbm: httpd stopped: the cache files are still there')
        or diag(`ls -la ${\ $D->dir }`);
    ok($D->start, 'dbm: httpd started again') or diag($D->why);
    TwFleet::is_duplicate(dup($D, $body, signature => $sig),
                 'dbm: after a stop and a start, the copy is still a duplicate');
    my ($body2, $sig2) = new_body('dbm2');
    delivered(post($D, $body2, signature => $sig2), $body2, 'dbm: a new body is still delivered');
    $D->stop;
    no_faults($D);
}

done_testing();
