# SPDX-License-Identifier: Apache-2.0
# The inbox's Redis engine (libtwcore/tw_store_redis.c, TwWebhookInbox
# redis:host:port) against a real redis-server started here as
# docs/inbox.md asks (appendonly yes, appendfsync always, noeviction),
# through t/unit/tw_unit's "redis" phases (t/unit/test_store_redis.c):
#
#   all      every call of the engine: idempotent put (one entry, one
#            stream message), two takers never given the same entry while
#            the lease runs, XAUTOCLAIM after a taker died (lease 200 ms),
#            a retry not taken before its time, dead (in the dead stream,
#            listed), requeue, remove, count, refusals
#   put / check   an acknowledged put survives kill -9 of redis-server
#            and a restart from its AOF
#   unix     the same through its unix socket (redis:/path.sock)
#   frozen   redis-server stopped (SIGSTOP): APR_TIMEUP within the
#            timeout, not a hang
#
# Each TAP line of tw_unit becomes a test here. redis-server (Debian
# package "redis-server", installed by scripts/bootstrap) missing is a
# failure, not a skip.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;
use TwFleet;

my $t_logs = tw_vars()->{t_logs};
my $bin = TwFleet::top_dir() . '/t/unit/tw_unit';
unless (ok(-x $bin, "$bin is built")) {
    done_testing();
    exit 1;
}

my $redis = TwFleet::RedisDurable->new(log => "$t_logs/redis-store.log",
                                       dir => "$t_logs/redis-store");
TwFleet::start_or_exit($redis, 'redis-server (AOF, appendfsync always) starts on '
                               . $redis->hostport);
my $spec = 'redis:' . $redis->hostport;

# phase($name, @args): runs "tw_unit redis $name $spec @args"; every test
# it prints is one here, and it must end well having run its whole plan.
sub phase {
    my ($name, @args) = @_;
    my ($plan, $ran) = (0, 0);
    open my $out, '-|', $bin, 'redis', $name, $spec, @args
        or die "cannot run $bin: $!";
    while (my $line = <$out>) {
        chomp $line;
        if ($line =~ /^(not )?ok \d+ - (.*)$/) {
            ok(!defined $1, "$name: $2");
            $ran++;
        }
        elsif ($line =~ /^1\.\.(\d+)$/) {
            $plan = $1;
        }
        elsif ($line =~ /^(?:Bail out!|#)/) {
            diag($line);
        }
    }
    close $out;
    is($? >> 8, 0, "$name: tw_unit exits 0");
    ok($plan > 0 && $plan == $ran, "$name: ran its whole plan ($ran of $plan)");
}

phase('all');

phase('put');
ok($redis->crash, 'redis-server killed (-9) after the put was acknowledged');
ok($redis->start, 'redis-server restarts from its append-only file');
phase('check');

phase('unix', 'redis:' . $redis->socket_path);

phase('frozen', $redis->pid);
$redis->thaw;    # whatever the phase did

done_testing();
