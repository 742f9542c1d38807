# SPDX-License-Identifier: Apache-2.0
# TwWebhookInbox and TwWebhookInboxHold (docs/inbox.md):
# every verified delivery handed to the app is recorded first and removed
# once the app answered 2xx; with Hold On a 5xx or an unreachable app
# (mod_proxy's 502/503) is answered 200 "accepted: held for redelivery"
# (what every sender counts as received); an inbox that cannot be
# written answers 503 without running the app; twwebhook-inbox lists,
# shows, redelivers and drops entries. Real downstreams: the CGI and
# php-fpm reports, mod_proxy_http to a closed loopback port, mod_proxy_fcgi
# to a php-fpm socket nobody listens on. Its own httpd (t/lib/TwFleet.pm),
# with the replay cache on, so a held delivery must still go through again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path);
use Test::More;
use Time::HiRes qw(sleep time);
use TwSys ();
use TwTest;
use TwFleet;

my $tool = TwFleet::inbox_tool_path();
ok(-x $tool, "twwebhook-inbox is built ($tool)") or BAIL_OUT('twwebhook-inbox not built');

my $closed = TwFleet::free_port();       # nothing listens here
my $base = TwTest::tw_vars()->{t_logs} . '/inbox-dirs';
my %dir = map { $_ => "$base/$_" } qw(off held unwritable);
make_path(values %dir);
chmod 0700, values %dir;
my $nofpm = "$base/no-php-fpm.sock";     # a socket path nobody listens on

my $srv = TwFleet->new(
    name => 'inbox', modules => [qw(socache_shmcb proxy_http)], routes => [qw(off held unw)],
    conf => <<"EOF");
TwWebhookReplayCache "shmcb:inbox-replay(131072)"
<Location /off>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$dir{off}"
</Location>
<Location /off/proxy>
    ProxyPass "http://127.0.0.1:$closed/"
</Location>
<Location /held>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$dir{held}"
    TwWebhookInboxHold On
</Location>
<Location /held/proxy>
    ProxyPass "http://127.0.0.1:$closed/"
</Location>
<Location /held/nofpm>
    SetHandler "proxy:unix:$nofpm|fcgi://localhost"
</Location>
<Location /unw>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$dir{unwritable}"
    TwWebhookInboxHold On
</Location>
EOF
TwFleet::start_or_exit($srv, 'an httpd with TwWebhookInbox starts on ' . $srv->hostport);
my $hp = $srv->hostport;
my $stamp = int(time * 1000) . "-$$";
my $n = 0;

# one line of "list" per entry: id received event delivery bytes attempts state status
sub entries {
    my ($d) = @_;
    my ($rc, $out) = TwFleet::inbox_tool('list', $d);
    my %e;
    for (split /\n/, $out) {
        my @f = split / /;
        $e{$f[0]} = { received => $f[1], event => $f[2], delivery => $f[3], bytes => $f[4],
                      attempts => $f[5], state => $f[6], status => $f[7] } if @f == 8;
    }
    return \%e;
}

# the entry id the module must use: hex of tw_replay_key(digest, scope),
# the digest being SHA-256 of what was signed (the Teamwork profile signs
# the body alone), never the MAC
sub entry_id { my ($body, $section) = @_; return TwFleet::replay_key_hex($body, $section) }

sub new_body { return sprintf '{"event":"page.updated","inbox":"%s-%d"}', $stamp, ++$n }

# the TWW0418 line of a delivery TwWebhookInbox $dir could not record
sub inbox_refused_re {
    my ($dir, $id) = @_;
    return rejection_re('TWW0418', 503, "cannot record the delivery in TwWebhookInbox $dir "
                        . '(disk full or not writable?): the app is not run', $id);
}

sub post {
    my ($path, $body, %a) = @_;
    my $sig = $a{signature} // sign($body, $SECRET{a});
    delete $a{signature};
    return TwFleet::retry_409(sub {
        tw_request(hostport => $hp, path => $path, body => $body, event => 'page.updated',
                   signature => $sig, %a) });
}

# --- delivered: nothing stays ----------------------------------------------------
for my $ds (qw(cgi php)) {
    my $body = new_body();
    my $res = post("/off/report.$ds", $body);
    check_delivered($res, $ds, $body, { TW_WEBHOOK_VERIFIED => '1' }, "$ds: delivered with an inbox");
    is(scalar keys %{ entries($dir{off}) }, 0, "$ds: ... and the inbox is empty again");
}

# --- Hold Off: the app's failure goes back; the entry stays, one per delivery ------
{
    my $body = new_body();
    my $sig = sign($body, $SECRET{a});
    my $id = entry_id($body, '/off');
    my $res = post('/off/report.cgi?status=500', $body, signature => $sig);
    is($res->{status}, 500, 'Hold Off, the CGI answers 500: the sender sees 500') or diag(describe($res));
    is(downstream_ran($res->{id}), 1, '... the app ran');
    my $e = entries($dir{off});
    ok($e->{$id}, '... the entry is kept, named by the hex of the replay key (not the MAC)')
        or diag(explain($e));
    is($e->{$id}{attempts}, 1, '... attempts 1');
    is($e->{$id}{status}, 500, '... last status 500');
    is($e->{$id}{state}, 'direct', '... state direct (the sender saw the failure)');
    is($e->{$id}{event}, 'page.updated', '... event');
    is($e->{$id}{delivery}, $res->{id}, '... delivery');
    is($e->{$id}{bytes}, length $body, '... bytes');
    $res = post('/off/report.php?status=503', $body, signature => $sig);
    is($res->{status}, 503, 'the retry (php, 503): the sender sees 503') or diag(describe($res));
    $e = entries($dir{off});
    is(scalar keys %$e, 1, '... still one entry for the delivery');
    is($e->{$id}{attempts}, 2, '... attempts 2');
    is($e->{$id}{status}, 503, '... last status 503');
    $res = post('/off/report.php', $body, signature => $sig);
    check_delivered($res, 'php', $body, { TW_WEBHOOK_VERIFIED => '1' },
                    'a later copy succeeds (not a duplicate: no 2xx before)');
    is(scalar keys %{ entries($dir{off}) }, 0, '... and the entry is gone');

    # unreachable, Hold Off: mod_proxy's 503 goes back as it is
    my $pbody = new_body();
    my $psig = sign($pbody, $SECRET{a});
    $res = post('/off/proxy/x', $pbody, signature => $psig);
    is($res->{status}, 503, 'Hold Off, proxy to a closed port: the sender sees 503') or diag(describe($res));
    $e = entries($dir{off});
    is($e->{ entry_id($pbody, '/off') }{status}, 503, '... the entry is kept with status 503');
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir{off},
                                         '--url', "http://$hp/off/report.cgi", '--all');
    is($rc, 0, 'redeliver --all to the CGI: exit 0') or diag($out);
    like($out, qr/^[0-9a-f]{64} 200 removed$/m, '... "<id> 200 removed"');
    is(scalar keys %{ entries($dir{off}) }, 0, '... the inbox is empty');
    is(downstream_ran($res->{id}), 1, '... the app got the delivery (by its Delivery id)');
}

# --- Hold On: 5xx and unreachable apps answer 200 "held"; redelivery works ---------------
my @held;
for my $case ([ 'the CGI answers 500', '/held/report.cgi?status=500', 500, 1 ],
              [ 'php-fpm answers 500', '/held/report.php?status=500', 500, 1 ],
              [ 'php-fpm answers 502', '/held/report.php?status=502', 502, 1 ],
              [ 'proxy to a closed port (backend refuses connections)', '/held/proxy/hook', 503, 0 ],
              [ 'php-fpm is not running (no socket)', '/held/nofpm/report.php', 503, 0 ]) {
    my ($what, $path, $app_status, $app_runs) = @$case;
    my $body = new_body();
    my $sig = sign($body, $SECRET{a});
    my $id = entry_id($body, '/held');
    my $mark = $srv->log_mark;
    my $res = post($path, $body, signature => $sig);
    subtest "Hold On, $what" => sub {
        is($res->{status}, 200, 'the sender gets 200 (a success for every sender)') or diag(describe($res));
        is($res->{body}, "accepted: held for redelivery\n", '... "accepted: held for redelivery"');
        is(downstream_ran($res->{id}), $app_runs, $app_runs ? '... the app ran' : '... no app ran');
        my $e = entries($dir{held});
        ok($e->{$id}, '... the entry is held') or diag(explain($e));
        is($e->{$id}{status}, $app_status, "... with the app's status $app_status");
        is($e->{$id}{state}, 'held', '... state held');
        ok($srv->wait_log($mark, qr/\[twwebhook:warn\].* TWW0206: the app answered $app_status: answered 200 and held.*\Q$res->{id}\E/),
           '... TWW0206 logged at warn') or diag($srv->log_since($mark));
    };
    push @held, [ $id, $body, $sig, $res->{id} ];
}

# show, show --body
{
    my ($id, $body, $sig, $delivery) = @{ $held[0] };
    my ($rc, $out) = TwFleet::inbox_tool('show', $dir{held}, $id);
    is($rc, 0, 'show: exit 0');
    like($out, qr{^path: /held/report\.cgi\?status=500$}m, '... the path it came in on');
    like($out, qr/^header: Signature: \Q$sig\E$/m, '... the Signature header (the sender\'s own)');
    like($out, qr/^header: Delivery: \Q$delivery\E$/m, '... Delivery');
    like($out, qr/^header: Content-Type: application\/json$/m, '... Content-Type');
    like($out, qr/^header: User-Agent: tw-integration-test$/m, '... User-Agent');
    unlike($out, qr/X-Tw-Test-Id/i, '... no header the scheme does not read');
    like($out, qr/^attempts: 1$/m, '... attempts 1');
    like($out, qr/^state: held$/m, '... state: held');
    like($out, qr/^secret index: 1$/m, '... the secret that verified it');
    like($out, qr{^scope: localhost /held$}m, '... the scope: virtual host and section');
    ($rc, $out) = TwFleet::inbox_tool('show', $dir{held}, $id, '--body');
    is($rc, 0, 'show --body: exit 0');
    is($out, $body, '... the body, byte for byte');
    my $all = join '', map { TwTest::slurp($_) // '' } glob "$dir{held}/*";
    unlike($all, qr/\Q$SECRET{a}\E/, 'no entry file holds the token');
}

# a held delivery is not "handled" for the replay cache: the sender's own
# retry goes through to the app (not "duplicate")
{
    my ($id, $body, $sig) = @{ $held[1] };
    my $res = post('/held/report.php', $body, signature => $sig);
    check_delivered($res, 'php', $body, { TW_WEBHOOK_VERIFIED => '1' },
                    'a copy of a held delivery reaches the app (the replay cache did not count the held 200)');
    ok(!entries($dir{held})->{$id}, '... and its entry is gone');
    $res = post('/held/report.php', $body, signature => $sig);
    like($res->{body} // '', qr/^duplicate: already handled/, '... then it is a duplicate');
}

# redeliver: a failing target keeps the entries and exits non-zero
{
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir{held},
                                         '--url', "http://127.0.0.1:$closed", '--all');
    isnt($rc, 0, 'redeliver to a closed port: non-zero exit');
    like($out, qr/failed: cannot connect/, '... says it cannot connect');
    is(scalar keys %{ entries($dir{held}) }, 4, '... all four held entries are kept');
    ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir{held},
                                      '--url', "http://$hp/held/report.php?status=500", $held[2][0]);
    isnt($rc, 0, 'redeliver to an app still failing: non-zero exit');
    like($out, qr/^\Q$held[2][0]\E 200 kept$/m, '... "<id> 200 kept" (held again: the entry decides, not the 200)');
    is(entries($dir{held})->{ $held[2][0] }{attempts}, 2, '... the module counted the attempt');
    is(entries($dir{held})->{ $held[2][0] }{state}, 'held', '... still held');
    ($rc, $out) = TwFleet::inbox_tool('drop', $dir{held}, $held[4][0]);
    is($rc, 0, 'drop: exit 0') or diag($out);
    ok(!entries($dir{held})->{ $held[4][0] }, '... the entry is gone');
    ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir{held},
                                      '--url', "http://$hp/held/report.php", '--all');
    is($rc, 0, 'redeliver --all to the working app: exit 0') or diag($out);
    is(scalar(() = $out =~ /^[0-9a-f]{64} 200 removed$/mg), 3, '... three removed') or diag($out);
    is(scalar keys %{ entries($dir{held}) }, 0, '... the inbox is empty');
    for my $h (@held[2, 3]) {
        ok(downstream_ran($h->[3]), "redelivered $h->[3]: the app got it");
    }
    ok(!downstream_ran($held[4][3]), 'the dropped one never reached the app');
    ($rc, $out) = TwFleet::inbox_tool('drop', $dir{held}, 'f' x 64);
    isnt($rc, 0, 'drop of an unknown id: non-zero exit');
    ($rc, $out) = TwFleet::inbox_tool('--help');
    is($rc, 0, '--help: exit 0');
    like($out, qr/^Usage: twwebhook-inbox list/m, '... usage');
}

# --- the inbox cannot be written: 503, the app does not run ----------------------
{
    chmod 0500, $dir{unwritable};
    my $body = new_body();
    my $mark = $srv->log_mark;
    my $id = new_id();
    TwTest::expect_fault($id);
    my $res = post('/unw/report.php', $body, id => $id);
    chmod 0700, $dir{unwritable};
    is($res->{status}, 503, 'inbox not writable (chmod 0500): 503') or diag(describe($res));
    is(downstream_ran($id), 0, '... the app did not run');
    like($srv->wait_log($mark, inbox_refused_re($dir{unwritable}, $id)) // '',
         qr/\(13\)Permission denied: /,
         '... one TWW0418 line at error says why (Permission denied)') or diag($srv->log_since($mark));
    is(scalar(() = $srv->log_since($mark) =~ /TWW04/g), 1, '... exactly one line');
    is(scalar keys %{ entries($dir{unwritable}) }, 0, '... nothing recorded');
    $res = post('/unw/report.php', $body);
    check_delivered($res, 'php', $body, { TW_WEBHOOK_VERIFIED => '1' },
                    'writable again: the sender\'s retry is delivered');
}

# --- disk full: a tiny tmpfs made by scripts/test-integration as root -------------
SKIP: {
    my $full = $ENV{TW_TEST_FULL_FS};
    skip 'no small file system to fill (TW_TEST_FULL_FS: scripts/test-integration '
         . 'mounts one when run as root)', 5 unless $full && -d $full && -w $full;
    my $fs = TwFleet->new(name => 'inbox-full', routes => ['full'], conf => <<"EOF");
<Location /full>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$full"
</Location>
EOF
    ok($fs->start, 'an httpd with its inbox on a tiny tmpfs starts') or diag($fs->why);
    TwSys::fill_file_system($full);
    my $body = '{"event":"page.updated","big":"' . ('y' x 20000) . '"}';
    my $id = new_id();
    TwTest::expect_fault($id);
    my $mark = $fs->log_mark;
    my $res = tw_request(hostport => $fs->hostport, path => '/full/report.cgi', body => $body,
                         signature => sign($body, $SECRET{a}), id => $id);
    is($res->{status}, 503, 'disk full (ENOSPC): 503') or diag(describe($res));
    is(downstream_ran($id), 0, '... the app did not run');
    like($fs->wait_log($mark, inbox_refused_re($full, $id)) // '',
         qr/\(28\)No space left on device: /, '... TWW0418 says "No space left on device"')
        or diag($fs->log_since($mark));
    unlink "$full/filler";
    $res = tw_request(hostport => $fs->hostport, path => '/full/report.cgi', body => $body,
                      signature => sign($body, $SECRET{a}));
    is($res->{status}, 200, 'space again: delivered') or diag(describe($res));
    $fs->stop;
}

# --- configtest: the directory must exist and be writable -------------------------
{
    my $httpd = TwTest::tw_vars()->{httpd};
    for my $case ([ 'missing', "$base/does-not-exist", qr/TWW0805: .*TwWebhookInbox .*does-not-exist is not an existing directory/ ],
                  [ 'read-only', "$base/readonly", qr/TWW0806: .*TwWebhookInbox .*readonly is not writable by/ ]) {
        my ($what, $d, $re) = @$case;
        if ($what eq 'read-only') { make_path($d); chmod 0500, $d; }
        my $ct = TwFleet->new(name => "inbox-ct-$what", conf => <<"EOF");
<Location /x>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$d"
</Location>
EOF
        my $out = qx("$httpd" -t -f "${\ $ct->conf_file }" 2>&1);
        isnt($? >> 8, 0, "configtest with a $what inbox directory fails");
        like($out, $re, '... and says why') or diag($out);
    }
    my $ok = TwFleet->new(name => 'inbox-ct-ok', conf => <<"EOF");
<Location /x>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox inbox
</Location>
EOF
    make_path($ok->dir . '/inbox');
    chmod 0700, $ok->dir . '/inbox';   # as docs/reference.md asks: no TWW0811 warning
    my $out = qx("$httpd" -t -f "${\ $ok->conf_file }" 2>&1);
    is($? >> 8, 0, 'configtest with a relative directory (from ServerRoot) passes') or diag($out);
    chmod 0700, "$base/readonly";
}

$srv->stop;
my $log = TwTest::slurp($srv->error_log) // '';
unlike($log, qr/\Q$SECRET{a}\E/, 'the error log holds no secret');
unlike($log, qr/exit signal|Segmentation fault/, 'no child crashed');
done_testing();
