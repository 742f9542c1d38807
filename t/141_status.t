# SPDX-License-Identifier: Apache-2.0
# mod_status (docs/reference.md "mod_status"): with mod_status loaded, /server-status
# shows a mod_twwebhook table and ?auto the TwWebhook* lines, counted across
# all child processes. After N verified deliveries, M forged requests, K
# duplicates, L ignored events, P non-POSTs and Q unsafe Event headers the
# counters move by exactly what docs/reference.md says (Verified also counts the
# duplicates, ignored events and unsafe headers, whose signature matched),
# whichever child answered each request or the status page; a graceful
# restart keeps counting.
#
# Its own httpd (t/lib/TwFleet.pm) under the prefork MPM: one connection is
# one child, so parallel requests are answered by different processes (the
# access log's %P shows which).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use List::Util qw(sum0);
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;

my $srv = TwFleet->new(
    name => 'status', mpm => 'prefork', modules => [qw(status socache_shmcb)],
    routes => ['st'],
    mpm_conf => <<'EOF',
StartServers 6
MinSpareServers 6
MaxSpareServers 12
ServerLimit 16
MaxRequestWorkers 16
EOF
    conf => <<"EOF");
LogFormat "%{X-Tw-Test-Id}i %P %>s" pids
CustomLog "access_log" pids
TwWebhookReplayCache "shmcb:status-cache(65536)"
<Location /st>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookEvents page.*
</Location>
<Location /server-status>
    SetHandler server-status
</Location>
EOF
TwFleet::start_or_exit($srv, 'an httpd (prefork) with mod_status starts on ' . $srv->hostport);
my $hostport = $srv->hostport;

my @KEYS = qw(TwWebhookVerified TwWebhookDuplicates TwWebhookIgnoredEvents
              TwWebhookRejected400 TwWebhookRejected401 TwWebhookRejected405
              TwWebhookRejected408 TwWebhookRejected409 TwWebhookRejected413
              TwWebhookRejectedOther TwWebhookServerErrors TwWebhookBytesVerified);

sub parse_auto {
    my ($text) = @_;
    return undef unless defined $text;
    my %c = map { /^(TwWebhook\w+): (\d+)$/ ? ($1 => $2) : () } split /\n/, $text;
    return \%c;
}

# ?auto read on $n connections at once (n different children); all must agree
my $sid = 0;
sub counters {
    my ($n, $what, $any_child) = @_;
    my (@texts, @c, @pids, %pids);
    # on a busy machine a child may be slow to accept: read again (at most
    # 3 times) until several children answered
    for my $try (1 .. 3) {
        my $id = 'status' . ++$sid . "-$$";
        @texts = TwFleet::http_get_many($hostport, '/server-status?auto', $n, $id);
        @c = map { parse_auto($_) } @texts;
        @pids = map { my $l = $srv->access_line("$id-$_"); $l && (split / /, $l)[1] } 0 .. $n - 1;
        %pids = map { $_ => 1 } grep { defined } @pids;
        last if $any_child || keys %pids >= 2;
    }
    subtest "?auto $what, read by " . scalar(keys %pids) . " child(ren)" => sub {
        is(scalar(grep { defined } @c), $n, "$n status reads answered") or return;
        for my $k (@KEYS) {
            ok(defined $c[0]{$k}, "$k present") or diag($texts[0]);
        }
        is_deeply($c[$_], $c[0], "child " . ($pids[$_] // '?') . " shows the same counters as child "
                                 . ($pids[0] // '?'))
            for 1 .. $n - 1;
        cmp_ok(scalar(keys %pids), '>=', 2, 'the status page was answered by several children')
            unless $any_child;
    };
    return $c[0] // {};
}

my $before = counters(4, 'before');

my $stamp = int(time * 1000) . "-$$";
my @ids;
my (%expect, $bytes);
$expect{$_} = 0 for @KEYS;

sub body_for { my ($what, $i) = @_; return qq({"event":"page.updated","st":"$what-$i-$stamp"}) }
sub spec {
    my (%a) = @_;
    my $q = delete $a{query};
    return { hostport => $hostport, path => '/st/report.cgi' . ($q ? "?$q" : ''),
             event => 'page.updated', id => new_id(), %a };
}

# N verified deliveries (the app takes 0.5 s: they overlap, so several
# children answer)
my $N = 6;
my @deliver = map { body_for('deliver', $_) } 1 .. $N;
my @res = TwFleet::parallel_requests(
    map { spec(body => $_, signature => sign($_, $SECRET{a}), query => 'sleep=0.5') } @deliver);
is(scalar(grep { $_->{status} == 200 && $_->{json} } @res), $N, "$N verified deliveries: 200 from the app")
    or diag(explain([ map { describe($_) } @res ]));
push @ids, map { $_->{id} } @res;
$expect{TwWebhookVerified} += $N;
$bytes += sum0(map { length } @deliver);

# K duplicates of them (after a pause: the module records a delivery in the
# log_transaction hook, after its response has left)
sleep 1;
my $K = 4;
@res = TwFleet::parallel_requests(
    map { spec(body => $_, signature => sign($_, $SECRET{a})) } @deliver[0 .. $K - 1]);
is(scalar(grep { $_->{status} == 200 && ($_->{body} // '') =~ /^duplicate/ } @res), $K,
   "$K copies: 200 duplicate") or diag(explain([ map { describe($_) } @res ]));
push @ids, map { $_->{id} } @res;
$expect{TwWebhookVerified} += $K;
$expect{TwWebhookDuplicates} += $K;
$bytes += sum0(map { length } @deliver[0 .. $K - 1]);

# L ignored events
my $L = 3;
my @ignored = map { body_for('ignored', $_) } 1 .. $L;
@res = TwFleet::parallel_requests(
    map { spec(body => $_, signature => sign($_, $SECRET{a}), event => 'task.created') } @ignored);
is(scalar(grep { $_->{status} == 200 && ($_->{body} // '') =~ /^ignored/ } @res), $L,
   "$L events outside TwWebhookEvents: 200 ignored") or diag(explain([ map { describe($_) } @res ]));
push @ids, map { $_->{id} } @res;
$expect{TwWebhookVerified} += $L;
$expect{TwWebhookIgnoredEvents} += $L;
$bytes += sum0(map { length } @ignored);

# M forged: wrong secret, no signature, malformed signature
my @forged = map { body_for('forged', $_) } 1 .. 3;
my @fspecs = ((map { spec(body => $_, signature => sign($_, $SECRET{unknown})) } @forged),
              spec(body => $forged[0]),
              spec(body => $forged[1], signature => 'not-a-signature'));
my $M = @fspecs;
@res = TwFleet::parallel_requests(@fspecs);
is(scalar(grep { $_->{status} == 401 } @res), $M, "$M forged requests: 401")
    or diag(explain([ map { describe($_) } @res ]));
push @ids, map { $_->{id} } @res;
$expect{TwWebhookRejected401} += $M;

# P non-POSTs, Q unsafe Event headers (verified first, then refused)
my $P = 2;
@res = TwFleet::parallel_requests(map { spec(method => 'GET') } 1 .. $P);
is(scalar(grep { $_->{status} == 405 } @res), $P, "$P GETs: 405");
push @ids, map { $_->{id} } @res;
$expect{TwWebhookRejected405} += $P;
my $Q = 2;
my @unsafe = map { body_for('unsafe', $_) } 1 .. $Q;
@res = TwFleet::parallel_requests(
    map { spec(body => $_, signature => sign($_, $SECRET{a}), event => 'Page Updated') } @unsafe);
is(scalar(grep { $_->{status} == 400 } @res), $Q, "$Q unsafe Event headers: 400");
push @ids, map { $_->{id} } @res;
$expect{TwWebhookVerified} += $Q;
$expect{TwWebhookRejected400} += $Q;
$bytes += sum0(map { length } @unsafe);
$expect{TwWebhookBytesVerified} = $bytes;

# which children answered
my %pids;
for my $id (@ids) {
    my $line = $srv->access_line($id);
    $pids{(split / /, $line)[1]}++ if $line;
}
cmp_ok(scalar(keys %pids), '>=', 2,
       'the counted requests were answered by ' . scalar(keys %pids) . ' different children')
    or diag(explain(\%pids));

my $after = counters(4, 'after');
subtest 'the counters moved by exactly what was sent' => sub {
    for my $k (@KEYS) {
        is(($after->{$k} // 0) - ($before->{$k} // 0), $expect{$k},
           "$k +$expect{$k}");
    }
};

# the HTML page
{
    my ($html) = TwFleet::http_get_many($hostport, '/server-status', 1);
    ok(defined $html, 'the HTML status page answers') or $html = '';
    like($html, qr{<h2>mod_twwebhook</h2>\s*<table>}, 'it shows the mod_twwebhook table');
    like($html, qr{<tr><td>verified deliveries</td><td>\Q$after->{TwWebhookVerified}\E</td></tr>},
         "... with the verified deliveries ($after->{TwWebhookVerified})");
    like($html, qr{<tr><td>duplicates answered without the app</td><td>\Q$after->{TwWebhookDuplicates}\E</td></tr>},
         '... and the duplicates');
    like($html, qr{<tr><td>rejected 401 \(signature missing, malformed or wrong\)</td><td>\Q$after->{TwWebhookRejected401}\E</td></tr>},
         '... and the 401s');
}

# a graceful restart keeps counting
ok($srv->graceful, 'graceful restart') or diag($srv->log_since(0));
# (prefork starts the new generation's children gradually: any may answer)
my $kept = counters(4, 'after a graceful restart', 1);
is_deeply($kept, $after, 'the counters survived the graceful restart');
{
    my $b = body_for('after-graceful', 1);
    my $r = tw_request(hostport => $hostport, path => '/st/report.cgi', body => $b,
                       signature => sign($b, $SECRET{a}), event => 'page.updated');
    is($r->{status}, 200, 'a delivery after the restart') or diag(describe($r));
    my $c = counters(3, 'after one more delivery', 1);
    is(($c->{TwWebhookVerified} // 0) - ($after->{TwWebhookVerified} // 0), 1,
       'TwWebhookVerified went on counting from where it was');
    is(($c->{TwWebhookBytesVerified} // 0) - ($after->{TwWebhookBytesVerified} // 0), length $b,
       'TwWebhookBytesVerified too');
}

$srv->stop;
my $log = TwTest::slurp($srv->error_log) // '';
unlike($log, qr/exit signal|Segmentation fault/, 'no child crashed');
unlike($log, qr/TWW0601/, 'the counters got their shared memory (no TWW0601)');

done_testing();
