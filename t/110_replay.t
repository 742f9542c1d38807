# SPDX-License-Identifier: Apache-2.0
# TwWebhookReplayCache (docs/reference.md): a body already handled with a 2xx within
# the window is acknowledged "200 duplicate" without running the app (logged
# TWW0204 at info), also under another Delivery or signature spelling; a
# body whose app failed can be retried; concurrent copies reach the app
# exactly once; a forged request never touches the cache; the window
# expires.
#
# The cache is server-wide (server config only), so it gets its own small
# httpds here (t/lib/TwFleet.pm): one with shmcb and the default-ish window,
# one with TwWebhookReplayWindow 2.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;

# An httpd whose /replay is protected, with a shmcb replay cache keeping
# deliveries for $window seconds.
sub replay_server {
    my ($name, $window) = @_;
    return TwFleet->new(
        name => $name, modules => ['socache_shmcb'], routes => ['replay'],
        conf => <<"EOF");
TwWebhookReplayCache "shmcb:replay-cache(131072)"
TwWebhookReplayWindow $window
<Location /replay>
    TwWebhookSecret "$SECRET{a}"
</Location>
EOF
}

my $srv = replay_server('replay', 3600);
TwFleet::start_or_exit($srv, 'an httpd with TwWebhookReplayCache shmcb starts on ' . $srv->hostport);
my $hostport = $srv->hostport;

sub post {
    my ($body, %a) = @_;
    my $q = delete $a{query};
    my $ds = delete $a{ds} // 'cgi';
    my $s = delete $a{server} // $srv;
    return tw_request(hostport => $s->hostport,
                      path => "/replay/report.$ds" . ($q ? "?$q" : ''),
                      body => $body, event => 'page.updated', %a);
}

# A copy that must be a duplicate: retried while 409 (see TwFleet::retry_409)
sub dup {
    my @a = @_;
    my $res = TwFleet::retry_409(sub { post(@a) });
    diag("a copy got 409 $res->{n409} time(s) first (delivery not yet settled)") if $res->{n409};
    return $res;
}
# 1 when no attempt of $res reached the app
sub none_ran { my ($res) = @_; return (grep { downstream_ran($_) } @{ $res->{ids} || [$res->{id}] }) ? 0 : 1 }

my $stamp = int(time * 1000) . "-$$";

# --- handled once, then a duplicate, whatever the Delivery or spelling -------
my $body = qq({"event":"page.updated","page":{"id":"$stamp"}});
my $sig = sign($body, $SECRET{a});
my $res = post($body, signature => $sig);
check_delivered($res, 'cgi', $body, { TW_WEBHOOK_VERIFIED => '1' }, 'first delivery: handled');

for my $variant ([ 'same request again', signature => $sig ],
                 [ 'the captured body and signature under a fresh Delivery',
                   signature => $sig, delivery => 'fresh-delivery-' . int(rand 1e9) ],
                 [ 'no Delivery header at all', signature => $sig, delivery => undef ],
                 [ 'uppercase signature', signature => uc $sig ],
                 [ 'sha256= prefix', signature => "sha256=$sig" ],
                 [ 'through the PHP downstream', signature => $sig, ds => 'php' ]) {
    my ($what, %a) = @$variant;
    my $mark = $srv->log_mark;
    $res = dup($body, %a);
    subtest "replay ($what)" => sub {
        is($res->{status}, 200, 'status 200') or diag(describe($res));
        like($res->{body} // '', qr/^duplicate: already handled/, '"duplicate: already handled"');
        ok(none_ran($res), 'the app did not run');
        my $d = $res->{delivery};
        my $re = defined $d
            ? qr/\[twwebhook:info\].* TWW0204: duplicate of a body already handled.*delivery \Q$d\E/
            : qr/\[twwebhook:info\].* TWW0204: duplicate of a body already handled.*delivery -/;
        ok($srv->wait_log($mark, $re), 'logged TWW0204 at info'
                                       . (defined $d ? " with delivery $d" : ''))
            or diag($srv->log_since($mark));
    };
}

# the same through PHP: first delivery, then a duplicate
{
    my $pbody = qq({"event":"page.updated","php":"$stamp"});
    my $psig = sign($pbody, $SECRET{a});
    $res = post($pbody, signature => $psig, ds => 'php');
    check_delivered($res, 'php', $pbody, { TW_WEBHOOK_VERIFIED => '1' },
                    'php: first delivery handled');
    $res = dup($pbody, signature => $psig, ds => 'php', delivery => 'another-one');
    is($res->{status}, 200, 'php: the copy gets 200') or diag(describe($res));
    like($res->{body} // '', qr/^duplicate: already handled/, 'php: ... "duplicate"');
    ok(none_ran($res), 'php: ... the app did not run');
}

# --- a forged request never touches the cache ---------------------------------
$res = post($body, signature => sign($body, $SECRET{unknown}));
is($res->{status}, 401, 'wrong signature on a handled body: 401 (not "duplicate")')
    or diag(describe($res));
{
    my $fbody = qq({"event":"page.updated","forged-first":"$stamp"});
    my $fsig = sign($fbody, $SECRET{a});
    for my $forged ([ 'another secret', sign($fbody, $SECRET{unknown}) ],
                    [ 'a flipped digit', substr($fsig, 0, 63) . (substr($fsig, 63) eq '0' ? '1' : '0') ]) {
        my $mark = $srv->log_mark;
        $res = post($fbody, signature => $forged->[1]);
        is($res->{status}, 401, "forged copy ($forged->[0]) of a new body: 401")
            or diag(describe($res));
        is(downstream_ran($res->{id}), 0, '... the app did not run');
        ok($srv->wait_log($mark, rejection_re('TWW0110', 401, 'signature mismatch',
                                              $res->{delivery})),
           '... logged as a signature mismatch (TWW0110)') or diag($srv->log_since($mark));
    }
    $res = post($fbody, signature => $fsig);
    check_delivered($res, 'cgi', $fbody, { TW_WEBHOOK_VERIFIED => '1' },
                    'the valid request after forged copies of its body: delivered');
    $res = dup($fbody, signature => $fsig);
    like($res->{body} // '', qr/^duplicate: already handled/, '... and its own copy is a duplicate');
}

# --- the app failed (500): retries go through until it succeeds ---------------
my $body2 = qq({"event":"page.updated","retry":"$stamp"});
my $sig2 = sign($body2, $SECRET{a});
$res = post($body2, signature => $sig2, query => 'status=500');
is($res->{status}, 500, 'the app fails with 500') or diag(describe($res));
is(downstream_ran($res->{id}), 1, '... after running');
# (each retry is sent as soon as the previous answer arrived, which may be
# before the module has released the failed attempt's reservation: such a
# 409 is retried, see dup(); none of those attempts may reach the app)
$res = dup($body2, signature => $sig2, query => 'status=503');
is($res->{status}, 503, 'the retry reaches the app again (503)') or diag(describe($res));
is(downstream_ran($res->{id}), 1, '... it ran');
is(scalar(grep { downstream_ran($_) } @{ $res->{ids} }), 1, '... once');
$res = dup($body2, signature => $sig2, query => 'status=404');
is($res->{status}, 404, 'a 4xx from the app is no success either: the retry runs (404)')
    or diag(describe($res));
is(downstream_ran($res->{id}), 1, '... it ran');
$res = dup($body2, signature => $sig2);
check_delivered($res, 'cgi', $body2, { TW_WEBHOOK_VERIFIED => '1' }, 'the next retry succeeds (200)');
$res = dup($body2, signature => $sig2);
like($res->{body} // '', qr/^duplicate: already handled/, 'after the success: duplicate');
ok(none_ran($res), '... the app did not run');
$res = post($body2, signature => $sig2, query => 'status=500');
is($res->{status}, 200, 'a copy after the success is a duplicate even where the app would fail')
    or diag(describe($res));
is(downstream_ran($res->{id}), 0, '... the app did not run');

# --- 40 concurrent copies of a new body (the app sleeps 1 s): one delivery ------
my $body3 = qq({"event":"page.updated","race":"$stamp"});
my $sig3 = sign($body3, $SECRET{a});
my $copies = 40;
my @ids = map { new_id() } 1 .. $copies;
my $go = time + 0.5;   # every copy starts at once, on its own connection
my %kid;
for my $i (0 .. $copies - 1) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        sleep($go - time) if $go > time;
        my $r = post($body3, signature => $sig3, id => $ids[$i], query => 'sleep=1');
        my $code = !$r->{status} ? 9
                 : $r->{status} == 200 && ($r->{body} // '') =~ /^duplicate: already handled/ ? 2
                 : $r->{status} == 200 && ($r->{json} && ($r->{json}{test_id} // '') eq $ids[$i]) ? 1
                 : $r->{status} == 409 ? 3 : 8;
        POSIX::_exit($code);
    }
    $kid{$pid} = $i;
}
my %outcome;
while ((my $pid = wait) > 0) {
    $outcome{$? >> 8}++;
}
my $ran = grep { downstream_ran($_) } @ids;
my ($app, $dup, $busy) = map { $outcome{$_} // 0 } 1, 2, 3;
is($ran, 1, "$copies concurrent copies of one body: the app ran exactly once");
is($app, 1, 'exactly one answered by the app (200 with its report)') or diag(explain(\%outcome));
is($app + $dup + $busy, $copies,
   "the split adds up: 1 delivered + $busy answered 409 (in progress) + $dup 200 duplicate = $copies")
    or diag(explain(\%outcome));
cmp_ok($busy, '>', 0, 'copies that overlapped the slow delivery got 409') or diag(explain(\%outcome));
{
    my $re = rejection_re('TWW0118', 409,
                          'the same body is being handled by another request right now');
    my $n409 = grep { $_ =~ $re } split /\n/, $srv->log_since(0);
    cmp_ok($n409, '>=', $busy, "the 409s are logged (TWW0118 at info): $n409");
}
$res = dup($body3, signature => $sig3);
like($res->{body} // '', qr/^duplicate: already handled/, 'after the race: a further copy is a duplicate');

$srv->stop;

# --- the window expires: TwWebhookReplayWindow 2 --------------------------------
my $win = replay_server('replay-window', 2);
if (ok($win->start, 'an httpd with TwWebhookReplayWindow 2 starts')) {
    my $wbody = qq({"event":"page.updated","window":"$stamp"});
    my $wsig = sign($wbody, $SECRET{a});
    $res = post($wbody, signature => $wsig, server => $win);
    check_delivered($res, 'cgi', $wbody, { TW_WEBHOOK_VERIFIED => '1' }, 'window 2 s: delivered');
    $res = dup($wbody, signature => $wsig, server => $win);
    like($res->{body} // '', qr/^duplicate: already handled/, 'window 2 s: at once, a duplicate');
    ok(none_ran($res), '... the app did not run');
    sleep 3;
    $res = post($wbody, signature => $wsig, server => $win);
    check_delivered($res, 'cgi', $wbody, { TW_WEBHOOK_VERIFIED => '1' },
                    'window 2 s: 3 s later the same body is delivered again');
    $res = dup($wbody, signature => $wsig, server => $win);
    like($res->{body} // '', qr/^duplicate: already handled/, '... and then is a duplicate again');
    ok(none_ran($res), '... the app did not run');
    $win->stop;
}
else {
    diag($win->why);
}

# --- the replay servers' logs -------------------------------------------------------
for my $s ($srv, $win) {
    my $log = TwTest::slurp($s->error_log) // '';
    my $n = $s->name;
    unlike($log, qr/\Q$SECRET{a}\E/, "$n: its error log holds no secret");
    unlike($log, qr/\Q$_\E/i, "$n: its error log holds no signature") for $sig, $sig2, $sig3;
    unlike($log, qr/exit signal|Segmentation fault/, "$n: no child crashed");
    unlike($log, qr/\[twwebhook:(?:error|crit|alert|emerg)\]/, "$n: no server fault logged");
}

done_testing();
