# SPDX-License-Identifier: Apache-2.0
# The queue's retries (issue 20, item 2): with the app down, every
# delivery is answered 200 at once, tried again with exponential backoff
# and jitter, and delivered once the app is back; past TwWebhookQueueRetry's
# limit an entry is dead (a warn line, listed by twwebhook-inbox, kept and
# requeueable); TwWebhookQueueConcurrency bounds how many are in the app at
# once; a graceful restart while dispatching loses nothing (at least once).
# The counts go out as notes: sent, answered 200, delivered, delivered
# twice, dead, lost (must be 0). Its own httpd (t/lib/TwQueue.pm) under
# this run's MPM; Timeout 4, so an abandoned dispatch's lease ends 9 s on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;
use TwSys qw(free_port slurp);
use TwQueue qw(queue_server post_signed reports report_of wait_report entries wait_entries max_concurrent);

my ($bport, $bport2) = (free_port(), free_port());
my ($srv, $dir, $reports) = queue_server(
    name => 'qretry', dirs => [qw(r dead slow)], modules => [qw(proxy_http)],
    routes => [qw(slow)], conf => sub { my ($d) = @_; return <<"EOF" });
Timeout 4
<Location /r>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d->{r}"
    TwWebhookQueue On
    TwWebhookQueueRetry attempts=30 base=200ms cap=1s
    ProxyPass "http://127.0.0.1:$bport"
</Location>
<Location /dead>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d->{dead}"
    TwWebhookQueue On
    TwWebhookQueueRetry attempts=3 base=100ms cap=200ms
    ProxyPass "http://127.0.0.1:$bport2"
</Location>
<Location /slow>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d->{slow}"
    TwWebhookQueue On
    TwWebhookQueueConcurrency 2
</Location>
<Location /metrics>
    SetHandler twwebhook-metrics
</Location>
EOF
$ENV{TW_TEST_REPORTS} = $reports;   # the backends' reports too
# Backends are stopped however the test ends: a forked one left running
# would hold the harness' pipe open.
my %backends;
sub start_backend {
    my ($port) = @_;
    my $pid = eval { backend_start($port) };
    diag($@) unless $pid;
    $backends{$pid} = 1 if $pid;
    return $pid;
}
sub stop_backend {
    my ($pid) = @_;
    delete $backends{$pid};
    backend_stop($pid);
}
END { local $?; backend_stop($_) for keys %backends }
TwFleet::start_or_exit($srv, 'an httpd with TwWebhookQueue starts on ' . $srv->hostport);
my $hp = $srv->hostport;
my $stamp = int(time * 1000) . "-$$";
my $n = 0;

sub new_body { return sprintf '{"event":"page.updated","retry":"%s-%d"}', $stamp, ++$n }

sub post { return post_signed($hp, @_) }   # ($path, $body)

# sent / answered 200 / delivered / delivered twice / dead / lost, as notes
sub counts {
    my ($what, $sent, $dead_dir) = @_;
    my %got;
    $got{ $_->{test_id} }++ for reports($reports);
    my $ok200 = grep { $_->{status} == 200 } @$sent;
    my $delivered = grep { $got{ $_->{id} } } @$sent;
    my $twice = grep { ($got{ $_->{id} } // 0) > 1 } @$sent;
    my $dead = $dead_dir ? grep { $_->{state} eq 'dead' } values %{ entries($dead_dir) } : 0;
    my $lost = @$sent - $delivered - $dead;
    note(sprintf '%s: sent %d, answered 200 %d, delivered %d, delivered twice %d, dead %d, lost %d',
                 $what, scalar @$sent, $ok200, $delivered, $twice, $dead, $lost);
    return { sent => scalar @$sent, ok200 => $ok200, delivered => $delivered, twice => $twice,
             dead => $dead, lost => $lost };
}

# --- the app down, then back ----------------------------------------------------------------
my ($r_mark, @r_entries);   # for the metrics below: this section's log, its entries
{
    my $mark = $r_mark = $srv->log_mark;
    my @sent = map { my $res = post('/r/hook', new_body()); $res } 1 .. 10;
    is(scalar(grep { $_->{status} == 200 && $_->{body} eq "accepted: queued\n" } @sent), 10,
       'app down: all 10 deliveries answered 200 "accepted: queued"');
    # a 4th take of every entry: its first 3 tries have ended, and their
    # TWW0231 lines are written (a try counts as an attempt when taken)
    my $e = wait_entries($dir->{r}, sub { !grep { $_->{attempts} < 4 } values %{ $_[0] } }, 15);
    is(scalar(grep { $_->{state} eq 'queued' && $_->{attempts} >= 3 } values %$e), 10,
       '... each tried at least 3 times meanwhile, still queued') or diag(explain($e));
    @r_entries = sort keys %$e;
    # the delays asked for: "next try in N ms" of one entry, attempt by attempt
    my ($id) = sort keys %$e;
    my %delay = map { /attempt (\d+): .*?next try in (\d+) ms/ ? ($1 => $2) : () }
                grep { /TWW0231: entry \Q$id\E / } split /\n/, $srv->log_since($mark);
    ok($delay{1} && $delay{3}, '... TWW0231 says when each next try is') or diag(explain(\%delay));
    cmp_ok($delay{1} // 0, '<', 200, '... after attempt 1: under base (200 ms)');
    cmp_ok($delay{1} // 0, '>=', 90, '... but at least half of it (equal jitter)');
    cmp_ok($delay{3} // 0, '>=', 390, '... after attempt 3: at least half of 4 x base');
    cmp_ok($delay{3} // 0, '<', 800, '... and under 4 x base');
    ok(!grep({ $_ > 1000 } values %delay), '... none over cap (1 s)');

    my $backend = start_backend($bport);
    ok($backend, 'the app comes back');
    $e = wait_entries($dir->{r}, sub { !%{ $_[0] } }, 15);
    is(scalar keys %$e, 0, '... every entry delivered and removed') or diag(explain($e));
    my $c = counts('app down, then back', \@sent);
    is($c->{delivered}, 10, '... all 10 delivered');
    is($c->{lost}, 0, '... none lost');
    is($c->{twice}, 0, '... none twice');
    stop_backend($backend);
}

# --- dead after the limit; listed; requeued by hand ------------------------------------------
my @dead_sent;
{
    my $mark = $srv->log_mark;
    @dead_sent = map { post('/dead/hook', new_body()) } 1 .. 3;
    is(scalar(grep { $_->{status} == 200 } @dead_sent), 3, 'app never up: 3 deliveries answered 200');
    my $e = wait_entries($dir->{dead}, sub { my $e = $_[0];
        keys %$e == 3 && !grep { $_->{state} ne 'dead' } values %$e }, 15);
    is(scalar(grep { $_->{state} eq 'dead' } values %$e), 3, '... all 3 dead after 3 attempts')
        or diag(explain($e));
    is(scalar(grep { $_->{attempts} == 3 } values %$e), 3, '... with attempts 3');
    for my $res (@dead_sent) {
        ok($srv->wait_log($mark, qr/\[twwebhook:warn\].* TWW0451: entry [0-9a-f]{64} is dead after 3 attempt\(s\) \(last: 503; delivery \Q$res->{id}\E\)/),
           "... TWW0451 at warn for delivery $res->{id}");
    }
    my ($rc, $out) = TwFleet::inbox_tool('list', $dir->{dead}, '--state', 'dead');
    is($rc, 0, 'twwebhook-inbox list --state dead: exit 0') or diag($out);
    is(scalar(grep { / dead \S+$/ } split /\n/, $out), 3, '... lists the 3 dead entries') or diag($out);
    my $c = counts('app never up', \@dead_sent, $dir->{dead});
    is($c->{dead}, 3, '... counted dead');
    is($c->{lost}, 0, '... none lost');

    my $backend = start_backend($bport2);
    ($rc, $out) = TwFleet::inbox_tool('requeue', $dir->{dead}, '--all', '--state', 'dead');
    is($rc, 0, 'the app is back; requeue --all --state dead: exit 0') or diag($out);
    $e = wait_entries($dir->{dead}, sub { !%{ $_[0] } }, 15);
    is(scalar keys %$e, 0, '... the dispatcher delivered them all') or diag(explain($e));
    is(scalar(grep { wait_report($reports, $_->{id}, 1) } @dead_sent), 3, '... the app got each');
    stop_backend($backend);
}

# --- TwWebhookQueueConcurrency 2 ---------------------------------------------------------------
{
    my @sent = map { post('/slow/report.cgi?sleep=1', new_body()) } 1 .. 6;
    is(scalar(grep { $_->{status} == 200 } @sent), 6, 'a slow app (1 s), 6 deliveries: all 200');
    my $e = wait_entries($dir->{slow}, sub { !%{ $_[0] } }, 20);
    is(scalar keys %$e, 0, '... all delivered');
    my @r = map { report_of($reports, $_->{id}) } @sent;
    is(scalar @r, 6, '... each once');
    is(max_concurrent(@r), 2, '... never more than 2 in the app at once (and 2 were)');
}

# --- a graceful restart while dispatching --------------------------------------------------------
{
    my @sent = map { post('/slow/report.cgi?sleep=2', new_body()) } 1 .. 4;
    is(scalar(grep { $_->{status} == 200 } @sent), 4, 'a slow app (2 s), 4 deliveries: all 200');
    ok(wait_report($reports, $sent[0]{id}, 10), '... the first is in the app');
    ok($srv->graceful, '... httpd -k graceful meanwhile');
    my $e = wait_entries($dir->{slow}, sub { !%{ $_[0] } }, 45);
    is(scalar keys %$e, 0, '... every entry delivered after the restart') or diag(explain($e));
    my $c = counts('graceful restart while dispatching', \@sent);
    is($c->{delivered}, 4, '... all 4 delivered');
    is($c->{lost}, 0, '... none lost (a dispatch abandoned at the restart may come twice)');
}

# --- metrics ------------------------------------------------------------------------------------
{
    my $res = tw_request(hostport => $hp, method => 'GET', path => '/metrics');
    is($res->{status}, 200, '/metrics: 200');
    my %m = map { /^(\S+) (\S+)$/ ? ($1 => $2) : () } split /\n/, $res->{body} // '';
    my $lab = sub { my ($loc, $more) = @_;
        return sprintf '{server="localhost",location="%s"%s}', $loc, $more };
    cmp_ok($m{'twwebhook_requests_total' . $lab->('/r', ',outcome="queued"')} // 0, '==', 10,
           '... outcome queued counted under /r');
    # Each entry was taken a fourth time before the app came back, but that
    # try may have reached the app once it was back: the tries that failed
    # are those before the one that delivered (its TWW0230 line).
    my %delivered_at = map { /TWW0230: entry (\S+) delivered \(attempt (\d+),/ ? ($1 => $2) : () }
                       split /\n/, $srv->log_since($r_mark);
    my $failed = 0;
    $failed += ($delivered_at{$_} // 0) - 1 for @r_entries;
    is(scalar(grep { $delivered_at{$_} } @r_entries), 10, '... each /r entry\'s delivering try is logged (TWW0230)');
    cmp_ok($failed, '>=', 30, '... after at least 3 failed tries each (the app was down)');
    cmp_ok($m{'twwebhook_queue_dispatches_total' . $lab->('/r', ',result="5xx"')} // 0, '==', $failed,
           '... dispatch attempts answered 5xx (mod_proxy: the app is down): each failed try');
    is($m{'twwebhook_requests_total' . $lab->('/r', ',outcome="verified"')}, 0,
       '... the dispatches themselves are not counted as requests again');
    cmp_ok($m{'twwebhook_queue_dispatches_total' . $lab->('/r', ',result="2xx"')} // 0, '==', 10,
           '... and 2xx ones');
    cmp_ok($m{'twwebhook_requests_total' . $lab->('/dead', ',outcome="dead"')} // 0, '==', 3,
           '... outcome dead counted under /dead');
    ok(exists $m{'twwebhook_queue_depth' . $lab->('/r', '')}, '... a queue depth gauge')
        or diag($res->{body});
    ok(exists $m{'twwebhook_queue_oldest_seconds' . $lab->('/r', '')}, '... the oldest entry\'s age');
}

done_testing();
