# SPDX-License-Identifier: Apache-2.0
# The queue on Redis across a fleet, end to end (issue 20, "Tests"): two
# httpd servers A and B, each with TwWebhookInbox redis:... and
# TwWebhookQueue On on the same <Location /q>, share one redis-server
# started here as docs/inbox.md asks (appendonly yes, appendfsync always,
# noeviction); the app is t/cgi-bin/report.cgi, which records each
# delivery it gets ($TW_TEST_REPORTS) and is made slow with ?sleep=N.
#
#   a. deliveries sent to A and to B are each delivered once, whichever
#      dispatcher took them;
#   b. kill -9 of every process of A (parent, children, mod_cgid's daemon
#      and the app it ran) while A's dispatcher has entries in the app
#      (A's log says it took them): B delivers them once the lease ran
#      out (Timeout 3: lease 8 s); none lost;
#   c. kill -9 of redis-server in the middle of a burst and a restart
#      from its append-only file: every delivery answered 200 is
#      delivered (sent, answered 200, answered 503, delivered, delivered
#      twice, lost = 0, as notes); the 503s, sent again as the sender
#      would, are delivered too;
#   d. redis-server frozen (SIGSTOP): a delivery is answered 503 within
#      TwWebhookInboxTimeout (1 s here) and a slack, never 200, with one
#      error line per request, also when several arrive at once on one
#      child; after SIGCONT every delivery flows again;
#   e. redis-server down for 3 s: each dispatcher logs TWW0453 once for
#      the outage (not once per tick) and TWW0238 when it is back.
#
# Real engines, no mocks. Run once (t/900 %ONCE), not per MPM: the Redis
# side is what is tested, and the MPMs' dispatcher is t/160 and t/161's.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;
use TwSys qw(pid_alive);
use TwQueue qw(post_signed reports report_of wait_report);

my $t_logs = tw_vars()->{t_logs};
my $inbox_timeout = 1;    # TwWebhookInboxTimeout, seconds
my $reports = "$t_logs/queue-fleet-reports.log";
unlink $reports;
$ENV{TW_TEST_REPORTS} = $reports;

my $redis = TwFleet::RedisDurable->new(log => "$t_logs/redis-fleet.log",
                                       dir => "$t_logs/redis-fleet");
unlink glob "$t_logs/redis-fleet/*";
unlink glob "$t_logs/redis-fleet/appendonlydir/*";
TwFleet::start_or_exit($redis, 'redis-server (AOF, appendfsync always) starts on '
                               . $redis->hostport);
my $spec = 'redis:' . $redis->hostport;

# Errors these steps provoke on purpose: the dispatchers cannot take
# entries while Redis is down or frozen (every tick), nor record the end
# of a dispatch; the deliveries refused (TWW0464) are registered by id.
TwTest::expect_fault("TWW0453: cannot take queued entries from $spec");
TwTest::expect_fault("TWW0452: cannot record the end of the dispatch of entry");

# One event child each with enough threads: requests that arrive at once
# share its Redis connection (the case d looks at).
my %srv;
for my $name (qw(A B)) {
    $srv{$name} = TwFleet->new(
        name => "queue-fleet-$name", routes => ['q'], mpm_conf => TwFleet::one_child(16),
        conf => <<"EOF");
WatchdogInterval 100ms
Timeout 3
TwWebhookInboxTimeout $inbox_timeout
SetEnv TW_TEST_REPORTS "$reports"
<Location /q>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$spec"
    TwWebhookQueue On
    TwWebhookQueueRetry attempts=50 base=200ms cap=1s
</Location>
EOF
}
my ($A, $B) = @srv{qw(A B)};
TwFleet::start_or_exit($A, 'server A starts on ' . $A->hostport);
TwFleet::start_or_exit($B, 'server B starts on ' . $B->hostport);

my $stamp = int(time * 1000) . "-$$";
my $n = 0;
my %sigs;

sub new_body { return sprintf '{"event":"page.updated","fleet":"%s-%d"}', $stamp, ++$n }

# post($server, $path, %tw_request) -> the response, with took (seconds)
sub post {
    my ($srv, $path, %a) = @_;
    my $body = delete $a{body} // new_body();
    my $sig = sign($body, $SECRET{a});
    $sigs{$sig} = 1;
    my $res = post_signed($srv->hostport, $path, $body, signature => $sig, %a);
    $res->{body_sent} = $body;
    return $res;
}

# How many times the app got each delivery id and finished with it (an
# app killed with server A in b. began one it never finished).
sub got_counts {
    my %got;
    $got{ $_->{test_id} }++ for grep { defined $_->{t_end} } reports($reports);
    return \%got;
}

# Waits until every id in @ids was delivered (finished) at least once, or $timeout.
sub wait_delivered {
    my ($timeout, @ids) = @_;
    my $until = time + $timeout;
    while (1) {
        my $got = got_counts();
        my @missing = grep { !$got->{$_} } @ids;
        return 1 unless @missing;
        return 0 if time >= $until;
        sleep 0.2;
    }
}

# The server whose dispatcher delivered delivery $id (its TWW0230 line).
sub delivered_by {
    my ($id) = @_;
    return join '', map { my $s = $srv{$_};
        (TwSys::slurp($s->error_log) // '') =~ /TWW0230: entry \S+ delivered .*delivery \Q$id\E\)/
            ? $_ : '' } qw(A B);
}

# id -> delivered_by(id) for each of @ids, once each has a TWW0230 line or
# $timeout s have passed. The line comes after the app's "done" line, which
# wait_delivered waits for: the app answers, the dispatcher's next tick
# (WatchdogInterval) harvests the transfer and records its end in Redis,
# and only then logs (about 0.1 s later; more on a loaded machine).
sub wait_delivered_by {
    my ($timeout, @ids) = @_;
    my $until = time + $timeout;
    while (1) {
        my %by = map { $_ => delivered_by($_) } @ids;
        return \%by if !grep({ $by{$_} eq '' } @ids) || time >= $until;
        sleep 0.1;
    }
}

# sent, answered 200, answered 503, delivered, delivered twice, lost, as a note
sub counts {
    my ($what, $sent) = @_;
    my $got = got_counts();
    my @ok = grep { ($_->{status} // 0) == 200 } @$sent;
    my %c = (sent => scalar @$sent, ok200 => scalar @ok,
             n503 => scalar(grep { ($_->{status} // 0) == 503 } @$sent),
             delivered => scalar(grep { $got->{ $_->{id} } } @$sent),
             twice => scalar(grep { ($got->{ $_->{id} } // 0) > 1 } @$sent),
             lost => scalar(grep { !$got->{ $_->{id} } } @ok));
    note(sprintf '%s: sent %d, answered 200 %d, answered 503 %d, delivered %d, '
                 . 'delivered twice %d, lost %d', $what, @c{qw(sent ok200 n503 delivered twice lost)});
    return \%c;
}

# --- a. sent to A and to B, each delivered once --------------------------------------------
{
    # the first one's app takes 2 s, so that its copy below finds its entry
    # still in the inbox: a copy that comes once the app's 2xx removed the
    # entry is a new one, delivered again (docs/reference.md, TwWebhookQueue)
    my @sent = map { post($_ % 2 ? $A : $B, $_ == 1 ? '/q/report.cgi?sleep=2' : '/q/report.cgi') }
               1 .. 12;
    is(scalar(grep { $_->{status} == 200 && $_->{body} eq "accepted: queued\n" } @sent), 12,
       'a. 12 deliveries, 6 to A and 6 to B: each answered 200 "accepted: queued"')
        or diag(join "\n", map { describe($_) } @sent);
    # a copy of one sent to A, sent to B: the same entry (the ids bind the scope)
    my $copy = post($B, '/q/report.cgi?sleep=2', body => $sent[0]{body_sent}, id => $sent[0]{id});
    is($copy->{status}, 200, '... a copy of one sent to A, sent to B: 200') or diag(describe($copy));
    ok(!grep({ defined $_->{t_end} } report_of($reports, $sent[0]{id})),
       '... while the first was still in the inbox (its app takes 2 s)');
    ok(wait_delivered(20, map { $_->{id} } @sent), '... all 12 delivered');
    sleep 1;   # a second delivery would come now
    my $c = counts('a. two servers, one Redis', \@sent);
    is($c->{delivered}, 12, '... 12 delivered');
    is($c->{twice}, 0, '... none twice (the copy included)');
    is($c->{lost}, 0, '... none lost');
    my $by_id = wait_delivered_by(10, map { $_->{id} } @sent);
    my %by;
    $by{ $by_id->{ $_->{id} } }++ for @sent;
    note('a. delivered by: ' . join ', ', map { "$_ $by{$_}" } sort keys %by);
    is(($by{A} // 0) + ($by{B} // 0), 12, '... each by exactly one of the dispatchers (TWW0230)')
        or diag(explain(\%by));
}

# --- b. kill -9 of every process of A with entries in flight ------------------------------
# Every process below $pid (the app's too), from /proc.
sub descendants {
    my ($pid) = @_;
    my %kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my ($p, $pp) = (<$fh> // '') =~ /^(\d+) \(.*\) \S (\d+)/ or next;
        push @{ $kids{$pp} }, $p;
    }
    my @out;
    my @todo = ($pid);
    while (defined(my $p = shift @todo)) {
        for my $k (@{ $kids{$p} // [] }) { push @out, $k; push @todo, $k }
    }
    return @out;
}
{
    $B->stop;   # A alone takes what it is sent
    my $mark = $A->log_mark;
    my @sent = map { post($A, '/q/report.cgi?sleep=2') } 1 .. 6;
    is(scalar(grep { $_->{status} == 200 } @sent), 6, 'b. B stopped; 6 deliveries to A '
       . '(an app that takes 2 s): all 200');
    # the default concurrency is 4: 4 in A's app, 2 waiting in the stream
    my $until = time + 10;
    my @in_app;
    while (time < $until) {
        @in_app = grep { my @r = report_of($reports, $_->{id}); @r && !defined $r[0]{t_end} }
                  @sent;
        last if @in_app >= 4;
        sleep 0.05;
    }
    my $log = $A->log_since($mark);
    cmp_ok(scalar @in_app, '>=', 1, 'b. some are in the app: ' . scalar @in_app);
    my @taken = grep { my $e = TwFleet::replay_key_hex($_->{body_sent}, '/q');
                       $log =~ /TWW0233: dispatching entry \Q$e\E \(attempt 1\)/ } @in_app;
    is(scalar @taken, scalar @in_app, '... each taken by A (its TWW0233 line)') or diag($log);
    my $master = $A->httpd_pid;
    my @all = ($master, descendants($master));
    kill 'KILL', @all;
    sleep 0.2;
    is(scalar(grep { pid_alive($_) } @all), 0,
       'b. kill -9 of every process of A (' . scalar(@all) . ": parent, children, cgid, the app)");
    $A->{started} = 0;   # gone; nothing to stop at exit
    # as after a reboot: its pid file names no process (a killed one may
    # linger as a zombie here, which httpd -k start takes for running)
    unlink $A->{pid_file};
    my $t_kill = time;
    ok($B->start, 'b. B starts again') or diag($B->why);
    ok(wait_delivered(30, map { $_->{id} } @sent), '... B delivers all 6');
    my $took = time - $t_kill;
    note(sprintf 'b. the last one delivered %.1f s after the kill (lease: Timeout 3 + 5 s)', $took);
    my $c = counts('b. kill -9 of server A with entries in flight', \@sent);
    is($c->{lost}, 0, '... none lost');
    my $by = wait_delivered_by(10, map { $_->{id} } @in_app);
    is(scalar(grep { $by->{ $_->{id} } =~ /B/ } @in_app), scalar @in_app,
       '... those A had in its app, delivered by B') or diag(explain($by));
    ok($A->start, 'b. A starts again (its own entries are gone to B)') or diag($A->why);
}

# --- c. kill -9 of redis-server mid-burst, restart from its AOF ---------------------------
{
    my @ids = map { TwTest::new_id() } 1 .. 40;
    TwTest::expect_fault($_) for @ids;   # a 503 is logged (TWW0464) with the id
    my $go = time + 0.5;
    my @h;
    for my $i (0 .. $#ids) {
        my $body = new_body();
        my $sig = sign($body, $SECRET{a});
        $sigs{$sig} = 1;
        push @h, TwFleet::request_in_background(
            hostport => ($i % 2 ? $A : $B)->hostport, path => '/q/report.cgi', body => $body,
            event => 'page.updated', signature => $sig, id => $ids[$i], at => $go + $i * 0.04);
        $h[-1]{body_sent} = $body;
    }
    sleep($go + 0.7 - time) if $go + 0.7 > time;
    ok($redis->crash, 'c. redis-server killed (-9) in the middle of a burst of 40');
    sleep 0.5;
    ok($redis->start, '... restarted from its append-only file');
    my @sent;
    for my $h (@h) {
        my $res = TwFleet::background_result($h);
        $res->{body_sent} = $h->{body_sent};
        push @sent, $res;
    }
    ok(!grep({ ($_->{status} // 0) != 200 && ($_->{status} // 0) != 503 } @sent),
       '... every delivery answered 200 or 503') or diag(join "\n", map { describe($_) } @sent);
    cmp_ok(scalar(grep { ($_->{status} // 0) == 503 } @sent), '>', 0,
           '... some 503 (Redis was down for them: the sender retries)');
    ok(wait_delivered(30, map { $_->{id} } grep { $_->{status} == 200 } @sent),
       '... every delivery answered 200 is delivered');
    sleep 1;
    my $c = counts('c. kill -9 of redis-server mid-burst', \@sent);
    is($c->{lost}, 0, '... none answered 200 lost');
    my @again = map { post($_->{id} =~ /[02468]$/ ? $A : $B, '/q/report.cgi',
                           body => $_->{body_sent}, id => $_->{id}) }
                grep { $_->{status} == 503 } @sent;
    is(scalar(grep { $_->{status} == 200 } @again), scalar @again,
       '... the ' . scalar(@again) . ' answered 503, sent again: 200');
    ok(wait_delivered(30, map { $_->{id} } @sent), '... and all 40 are delivered in the end');
    counts('c. after the sender retried the 503s', \@sent);
}

# --- d. redis-server frozen ---------------------------------------------------------------
{
    ok($redis->freeze, 'd. redis-server frozen (SIGSTOP)');
    my $mark = $A->log_mark;
    my $res = post($A, '/q/report.cgi', id => do { my $id = TwTest::new_id();
                                                  TwTest::expect_fault($id); $id });
    is($res->{status}, 503, 'd. a delivery: 503, not 200') or diag(describe($res));
    cmp_ok($res->{took}, '<', $inbox_timeout + 0.5,
           sprintf('... within TwWebhookInboxTimeout (%d s) + 0.5 s: %.3f s',
                   $inbox_timeout, $res->{took}));
    my @lines = grep { /\[twwebhook:error\]/ && /\Q$res->{id}\E/ }
                split /\n/, $A->log_since($mark);
    is(scalar @lines, 1, '... one error line for it') or diag(join "\n", @lines);
    like($lines[0] // '', rejection_re('TWW0464', 503, qr/cannot queue the delivery/, $res->{id}),
         '... TWW0464');

    # several at once on A's one child: each bounded, not one after the other
    my @ids = map { TwTest::new_id() } 1 .. 4;
    TwTest::expect_fault($_) for @ids;
    $mark = $A->log_mark;
    my @par = TwFleet::parallel_requests(map {
        my $body = new_body();
        my $sig = sign($body, $SECRET{a});
        $sigs{$sig} = 1;
        { hostport => $A->hostport, path => '/q/report.cgi', body => $body,
          event => 'page.updated', signature => $sig, id => $_ } } @ids);
    is(scalar(grep { ($_->{status} // 0) == 503 } @par), 4, 'd. 4 at once: each 503')
        or diag(join "\n", map { describe($_) } @par);
    my $slowest = 0;
    for (@par) { $slowest = $_->{elapsed} if ($_->{elapsed} // 99) > $slowest }
    cmp_ok($slowest, '<', $inbox_timeout + 0.5,
           sprintf('... the slowest within TwWebhookInboxTimeout + 0.5 s: %.3f s', $slowest));
    my $log = $A->log_since($mark);
    is(scalar(grep { my $id = $_; grep { /\[twwebhook:error\]/ && /\Q$id\E/ } split /\n/, $log }
              @ids), 4, '... one error line for each') or diag($log);

    ok($redis->thaw, 'd. redis-server thawed (SIGCONT)');
    my @sent = map { post($_ % 2 ? $A : $B, '/q/report.cgi') } 1 .. 6;
    is(scalar(grep { $_->{status} == 200 } @sent), 6, '... 6 deliveries: all 200 again')
        or diag(join "\n", map { describe($_) } @sent);
    ok(wait_delivered(20, map { $_->{id} } @sent), '... and all delivered');
    # A put that ran out of time was written to Redis' socket: the thawed
    # Redis may still carry it out (docs/inbox.md, "What it still cannot
    # promise"); the sender was told 503 and retries, and its copy is the
    # same entry. At least once, so no assertion either way.
    sleep 2;
    note(sprintf 'd. of the 5 refused while Redis was frozen, %d reached the app after the thaw',
                 scalar grep { got_counts()->{ $_->{id} } } $res, @par);
}

# --- e. Redis away for a while: the dispatchers say so once, not every tick ---------------
{
    my %mark = map { $_ => $srv{$_}->log_mark } qw(A B);
    ok($redis->crash, 'e. redis-server killed (-9) and left down for 3 s');
    sleep 3;
    ok($redis->start, '... restarted');
    my @sent = map { post($_ % 2 ? $A : $B, '/q/report.cgi') } 1 .. 4;
    is(scalar(grep { $_->{status} == 200 } @sent), 4, '... 4 deliveries: all 200');
    ok(wait_delivered(20, map { $_->{id} } @sent), '... and all delivered');
    for my $name (qw(A B)) {
        my $s = $srv{$name};
        my @down = grep { /TWW0453: cannot take queued entries/ } split /\n/, $s->log_since($mark{$name});
        is(scalar @down, 1, "e. $name: one TWW0453 line for the 3 s outage (about 30 ticks)")
            or diag(scalar(@down) . " lines, e.g.\n" . join "\n", @down[0 .. ($#down < 2 ? $#down : 2)]);
        like($s->wait_log($mark{$name}, qr/TWW0238:/, 5) // '',
             qr/\[twwebhook:notice\].* TWW0238: taking queued entries from \Q$spec\E again after \d+ failed tr(?:y|ies) over [\d.]+ s/,
             "e. $name: TWW0238 (notice) once Redis is back");
    }
}

TwFleet::check_logs($_, \%sigs) for $A, $B;
$A->stop;
$B->stop;
$redis->stop;
done_testing();
