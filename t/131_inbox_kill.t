# SPDX-License-Identifier: Apache-2.0
# TwWebhookInbox is crash-safe (docs/inbox.md): under load,
# httpd children killed with SIGKILL while the app runs, or graceful
# restarts, lose no verified delivery. Each delivery is sent by a client
# that behaves like Teamwork (retries a delivery that got no answer or a
# retryable error, here 3 times, 0.3 s apart); every fifth one hits an app
# answering 500, which TwWebhookInboxHold On turns into 200 "accepted: held
# for redelivery" (a success for the sender, told apart by its body). Afterwards
# twwebhook-inbox redeliver --all delivers what the inbox holds. Counted:
#   sent, delivered (the app's 200 to the sender), held (the held 200), unanswered (neither,
#   after the retries), in the inbox, redelivered (200 from the app for the
#   inbox's entries), twice (delivered and still in the inbox: the child
#   died between the app's 2xx and the removal), taken unanswered (the app
#   finished it with its 200, but the child died before the sender read
#   the answer: the entry was removed on the app's 2xx; a sender retries
#   later), never recorded (every try was cut off before the module wrote
#   it to the inbox: the module never took it on, and a sender retries
#   later) and lost, which must be 0: recorded (a TWW0208 line, or the app
#   started it, which the module allows only once it is recorded), yet
#   neither finished by the app with a 2xx nor redelivered from the inbox.
# Under the event and the prefork MPM, each with its own httpd. No replay
# cache here: a killed child's reservation would hold its delivery in 409
# for 5 minutes (docs/inbox.md), longer than a test should wait.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path);
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;

my $tool = TwFleet::inbox_tool_path();
my $N = $ENV{TW_INBOX_KILL_DELIVERIES} || 60;
my $ROUNDS = $ENV{TW_INBOX_KILL_ROUNDS} || 5;   # kills (graceful restarts: 3)
# (scripts/test-integration passes both through: TW_INBOX_KILL_ROUNDS=40 hunts rare outcomes)
my $CLIENTS = 6;
my $stamp = int(time * 1000) . "-$$";

# Every fifth delivery goes to an app that answers 500 (held, with
# TwWebhookInboxHold On); the others to one that answers 200.
sub app_fails { my ($k) = @_; return $k % 5 == 4 }

my %mpm_conf = (
    event   => "StartServers 2\nServerLimit 4\nThreadsPerChild 5\nMaxRequestWorkers 20\n"
             . "MinSpareThreads 5\nMaxSpareThreads 20\n",
    prefork => "StartServers 4\nMinSpareServers 2\nMaxSpareServers 10\nServerLimit 16\n"
             . "MaxRequestWorkers 16\n",
);


sub run_load {
    my ($mpm, $disturb) = @_;
    my $dir = TwTest::tw_vars()->{t_logs} . "/inbox-$disturb-$mpm-dir";
    make_path($dir);
    chmod 0700, $dir;
    unlink glob "$dir/*";
    my $srv = TwFleet->new(
        name => "inbox-$disturb-$mpm", mpm => $mpm, mpm_conf => $mpm_conf{$mpm},
        routes => ['load'], conf => <<"EOF");
<Location /load>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$dir"
    TwWebhookInboxHold On
    SetEnv TW_TEST_REPORTS "$dir.reports"
</Location>
LogFormat "%{Delivery}i %P %>s %{twwebhook-outcome}n %D" tries
CustomLog "$dir.access_log" tries
EOF
    unless (ok($srv->start, "$mpm: an httpd with an inbox starts")) {
        diag($srv->why);
        return;
    }
    my $hp = $srv->hostport;
    my $results = "$dir.results";
    unlink $results, "$dir.reports";

    # the clients: each sends its share, one after the other, Teamwork-like
    my @pids;
    for my $c (0 .. $CLIENTS - 1) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            open my $out, '>>', "$results.$c" or POSIX::_exit(1);
            for (my $k = $c; $k < $N; $k += $CLIENTS) {
                my $id = "k$mpm-$disturb-$stamp-$k";
                my $body = qq({"event":"page.updated","load":"$id"});
                my $sig = sign($body, $SECRET{a});
                my $ds = $k % 2 ? 'php' : 'cgi';
                my $q = app_fails($k) ? 'status=500&sleep=0.2' : 'sleep=0.2';
                my ($st, $tries, $cut, @trail) = (0, 0, 0);
                while ($tries++ < 4) {
                    my $res = tw_request(hostport => $hp, path => "/load/report.$ds?$q",
                                         body => $body, signature => $sig, id => $id,
                                         event => 'page.updated', timeout => 15);
                    $st = $res->{status} // 0;
                    # the app's answer (its JSON report) or the module's
                    # held 200; a 200 that is neither is no answer
                    if ($st == 200) {
                        $st = ($res->{body} // '') eq "accepted: held for redelivery\n" ? 'held'
                            : (($res->{json} // {})->{test_id}) ? 200 : 0;
                    }
                    $cut++ if !$st;   # no answer: the connection died under it
                    push @trail, $res->{status} // 'none';
                    last if $st eq '200' || $st eq 'held';
                    sleep 0.3;
                }
                print {$out} "$id $st $cut " . join(',', @trail) . "\n";
            }
            close $out;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }

    # the disturbance, while they run
    my ($killed, $restarts) = (0, 0);
    sleep 0.6;
    for my $round (1 .. $ROUNDS) {
        if ($disturb eq 'kill') {
            # a child in the middle of a request (waited for up to 1 s)
            my @kids;
            my $until = time + 1;
            until (@kids || time > $until) {
                @kids = $srv->busy_children;
                sleep 0.02 unless @kids;
            }
            if (@kids) {
                my $victim = $kids[int rand @kids];
                $killed++ if kill 'KILL', $victim;   # our own httpd's child
            }
            sleep 0.5;
        }
        else {
            last if $round > 3;
            $restarts++ if $srv->graceful;
            sleep 0.6;
        }
    }
    waitpid $_, 0 for @pids;
    sleep 1;   # answers still on their way settle their entries

    my (%final, %cuts, @ids);
    my $cut = 0;
    for my $c (0 .. $CLIENTS - 1) {
        for (split /\n/, TwTest::slurp("$results.$c") // '') {
            my ($id, $st, $c, $trail) = split / /;
            $final{$id} = $st;
            $cuts{$id} = "$c ($trail)";
            $cut += $c // 0;
            push @ids, $id;
        }
    }
    # before redeliver adds its own
    my ($started, $taken) = app_reports("$dir.reports");
    my %recorded = map { $_ => 1 }
        (TwTest::slurp($srv->error_log) // '') =~ /TWW0208: recorded in the inbox .*delivery (\S+)\)$/mg;
    $recorded{$_} = 1 for keys %$started;
    my %inbox;   # delivery id -> entry id
    my ($rc, $out) = TwFleet::inbox_tool('list', $dir);
    for (split /\n/, $out) {
        my @f = split / /;
        $inbox{ $f[3] } = $f[0] if @f == 8;
    }
    ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir,
                                      '--url', "http://$hp/load/report.php", '--all');
    my %redelivered = map { $_ => 1 } $out =~ /^([0-9a-f]{64}) 2\d\d removed$/mg;
    my ($rc2, $left) = TwFleet::inbox_tool('list', $dir);

    my $sent = @ids;
    my $delivered = grep { $final{$_} eq '200' } @ids;
    my $held = grep { $final{$_} eq 'held' } @ids;
    my $unanswered = $sent - $delivered - $held;
    my $in_inbox = keys %inbox;
    my $redelivered = grep { $inbox{$_} && $redelivered{ $inbox{$_} } } @ids;
    my $twice = grep { $final{$_} eq '200' && $inbox{$_} } @ids;
    my @unseen = grep { $final{$_} ne '200' && $taken->{$_} && !$inbox{$_} } @ids;
    my @unrecorded = grep { $final{$_} ne '200' && $final{$_} ne 'held' && !$recorded{$_} } @ids;
    my @lost = grep { $final{$_} ne '200' && $recorded{$_} && !$taken->{$_}
                      && !($inbox{$_} && $redelivered{ $inbox{$_} }) } @ids;
    my $what = $disturb eq 'kill' ? "$killed children killed with SIGKILL"
                                  : "$restarts graceful restarts";
    diag("$mpm, $what: sent $sent, cut off mid-request $cut (then retried), delivered $delivered, held $held, unanswered $unanswered, "
         . "in the inbox $in_inbox, redelivered $redelivered, twice $twice, taken unanswered "
         . scalar(@unseen) . ", never recorded " . scalar(@unrecorded) . ", lost " . scalar(@lost));
    diag(lost_story($srv, $dir, [ @unseen, @unrecorded ], \%final, \%cuts))
        if @unseen || @unrecorded;
    is($sent, $N, "$mpm/$disturb: every client reported every delivery");
    cmp_ok($disturb eq 'kill' ? $killed : $restarts, '>', 0, "$mpm/$disturb: $what");
    cmp_ok($cut, '>', 0, "$mpm/$disturb: some requests were cut off mid-delivery")
        if $disturb eq 'kill';
    is($rc, 0, "$mpm/$disturb: redeliver --all succeeded") or diag($out);
    is($left, '', "$mpm/$disturb: the inbox is empty afterwards") or diag($left);
    is(scalar @lost, 0, "$mpm/$disturb: lost 0") or diag(lost_story($srv, $dir, \@lost, \%final, \%cuts));
    cmp_ok($held, '>', 0, "$mpm/$disturb: some were held (the app answered 500)");
    for my $id (grep { $final{$_} eq 'held' } @ids) {
        ok($inbox{$id}, "$mpm/$disturb: held $id was in the inbox") or last;
    }
    $srv->stop;
    my $log = TwTest::slurp($srv->error_log) // '';
    unlike($log, qr/Segmentation fault|exit signal (?!Killed)/, "$mpm/$disturb: no child crashed on its own");
    unlike($log, qr/\[twwebhook:(?:error|crit)\]/, "$mpm/$disturb: no server fault logged");
    # (httpd does not log children that died of SIGKILL, so
    # t/999_error_log.t's crash check still holds for this log)
}

# From the app's reports (t/php/report.php and t/cgi-bin/report.cgi): the
# deliveries it started, and those it finished and answered 200 (not
# those app_fails names): its "done" line comes after the sleep, before the
# answer.
sub app_reports {
    my ($reports) = @_;
    my (%started, %done);
    for (split /\n/, TwTest::slurp($reports) // '') {
        my $line = eval { JSON::PP::decode_json($_) } or next;
        $started{ $line->{test_id} } = 1 if defined $line->{test_id};
        my $id = $line->{done} // next;
        $done{$id} = 1 unless $id =~ /-(\d+)$/ && app_fails($1);
    }
    return (\%started, \%done);
}

# What became of each delivery named: its last answer, how many of its tries
# were cut off, and what the logs say about it.
sub lost_story {
    my ($srv, $dir, $lost, $final, $cuts) = @_;
    my $log = TwTest::slurp($srv->error_log) // '';
    my $access = TwTest::slurp("$dir.access_log") // '';
    return join "\n", map {
        my $id = $_;
        "$id: last answer '$final->{$id}', tries cut off: $cuts->{$id}",
        grep({ index($_, $id) >= 0 } split /\n/, $log . $access);
    } @$lost;
}

ok(-x $tool, 'twwebhook-inbox is built');
for my $mpm (qw(event prefork)) {
    run_load($mpm, 'kill');
    run_load($mpm, 'graceful');
}
done_testing();
