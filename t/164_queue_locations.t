# SPDX-License-Identifier: Apache-2.0
# The queue's limits per location (issue 20, item 2): two locations that
# share one TwWebhookInbox keep their own TwWebhookQueueConcurrency and
# TwWebhookQueueRetry. Each entry records the location it came in on (its
# scope); the dispatcher applies that location's limit on deliveries in
# the app at once, and its retry schedule and dead rule. A location at its
# limit does not hold up the other (the take leaves the full one's
# entries alone, without counting an attempt). Its own httpd
# (t/lib/TwQueue.pm) under this run's MPM.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use TwTest;
use TwFleet;
use TwQueue qw(queue_server post_signed report_of wait_entries max_concurrent);

my ($srv, $dir, $reports) = queue_server(
    name => 'qlocations', dirs => [qw(shared)], routes => [qw(one three)],
    conf => sub { my ($d) = @_; return <<"EOF" });
<Location /one>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d->{shared}"
    TwWebhookQueue On
    TwWebhookQueueConcurrency 1
    TwWebhookQueueRetry attempts=2 base=100ms cap=200ms
</Location>
<Location /three>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d->{shared}"
    TwWebhookQueue On
    TwWebhookQueueConcurrency 3
    TwWebhookQueueRetry attempts=4 base=100ms cap=200ms
</Location>
EOF
TwFleet::start_or_exit($srv, 'an httpd with two queued locations on one inbox starts on '
                             . $srv->hostport);
my $hp = $srv->hostport;
my $stamp = int(time * 1000) . "-$$";
my $n = 0;

sub post {
    my ($path) = @_;
    return post_signed($hp, $path, sprintf('{"event":"page.updated","locations":"%s-%d"}',
                                           $stamp, ++$n));
}

# The reports of the deliveries sent, each delivered exactly once.
sub reports_of {
    my (@sent) = @_;
    return map { report_of($reports, $_->{id}) } @sent;
}

# --- concurrency: 1 at /one, 3 at /three, side by side -------------------------------------
{
    my @one = map { post('/one/report.cgi?sleep=1') } 1 .. 4;
    my @three = map { post('/three/report.cgi?sleep=1') } 1 .. 6;
    is(scalar(grep { $_->{status} == 200 && $_->{body} eq "accepted: queued\n" } @one, @three),
       10, 'a slow app (1 s), 4 deliveries to /one and 6 to /three: all 200 "accepted: queued"');
    my $e = wait_entries($dir->{shared}, sub { !%{ $_[0] } }, 30);
    is(scalar keys %$e, 0, '... all delivered, the shared inbox is empty') or diag(explain($e));
    my @r1 = reports_of(@one);
    my @r3 = reports_of(@three);
    is(scalar @r1, 4, '... each of /one\'s once');
    is(scalar @r3, 6, '... each of /three\'s once');
    is(max_concurrent(@r1), 1, '... /one (TwWebhookQueueConcurrency 1): never 2 in the app at once');
    is(max_concurrent(@r3), 3,
       '... /three (TwWebhookQueueConcurrency 3): up to 3 at once, not /one\'s limit');
    is(max_concurrent(@r1, @r3), 4,
       '... /one at its limit does not hold up /three (4 in the app at once)');
}

# --- each location's own retry schedule and dead rule ----------------------------------------
{
    my $mark = $srv->log_mark;
    my @one = map { post('/one/report.cgi?status=503') } 1 .. 2;
    my @three = map { post('/three/report.cgi?status=503') } 1 .. 2;
    is(scalar(grep { $_->{status} == 200 } @one, @three), 4,
       'an app answering 503, 2 deliveries to each location: all 200');
    my $e = wait_entries($dir->{shared}, sub { my $e = $_[0];
        keys %$e == 4 && !grep { $_->{state} ne 'dead' } values %$e }, 20);
    is(scalar(grep { $_->{state} eq 'dead' } values %$e), 4, '... all 4 dead in the end')
        or diag(explain($e));
    is(scalar(reports_of(@one)), 2 * 2, '... /one\'s tried 2 times each (attempts=2)');
    is(scalar(reports_of(@three)), 2 * 4, '... /three\'s tried 4 times each (attempts=4)');
    my %attempts;
    $attempts{ $_->{attempts} }++ for values %$e;
    is_deeply(\%attempts, { 2 => 2, 4 => 2 }, '... the entries say attempts 2 (twice) and 4 (twice)')
        or diag(explain($e));
    for my $res (@one) {
        ok($srv->wait_log($mark, qr/TWW0451: entry [0-9a-f]{64} is dead after 2 attempt\(s\) \(last: 503; delivery \Q$res->{id}\E\)/),
           "... TWW0451: /one's delivery $res->{id} dead after 2 attempts");
    }
    for my $res (@three) {
        ok($srv->wait_log($mark, qr/TWW0451: entry [0-9a-f]{64} is dead after 4 attempt\(s\) \(last: 503; delivery \Q$res->{id}\E\)/),
           "... TWW0451: /three's delivery $res->{id} dead after 4 attempts");
    }
}

done_testing();
