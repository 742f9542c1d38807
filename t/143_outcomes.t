# SPDX-License-Identifier: Apache-2.0
# One outcome, counted once, read by both pages (issue 23, item 2): a
# delivery held for redelivery (TwWebhookInboxHold On, the app answers 5xx,
# the sender gets 200 "accepted: held for redelivery") is counted as held, not as verified, in
# /metrics (outcome="held") and in server-status (TwWebhookHeld); a
# delivery the app took is counted as verified (TwWebhookHandedToApp), and
# server-status and /metrics agree, being one table.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path);
use Test::More;
use Time::HiRes qw(time);
use TwTest;
use TwFleet;

my $dir = TwTest::tw_vars()->{t_logs} . '/outcome-inbox';
make_path($dir);
chmod 0700, $dir;

my $srv = TwFleet->new(
    name => 'outcomes', modules => [qw(status)], routes => ['oh'],
    conf => <<"EOF");
<Location /oh>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$dir"
    TwWebhookInboxHold On
</Location>
<Location /metrics>
    SetHandler twwebhook-metrics
</Location>
<Location /server-status>
    SetHandler server-status
</Location>
EOF
TwFleet::start_or_exit($srv, 'an httpd with TwWebhookInboxHold, metrics and mod_status starts on '
                             . $srv->hostport);
my $hp = $srv->hostport;
my $stamp = int(time * 1000) . "-$$";
my $n = 0;

sub page {
    my ($path) = @_;
    my ($text) = TwFleet::http_get_many($hp, $path, 1);
    return $text // '';
}

sub counts {
    my $metrics = page('/metrics');
    my %m = map { /^twwebhook_requests_total\{[^}]*location="\/oh",outcome="([a-z0-9-]+)"\} (\d+)$/
                  ? ($1 => $2) : () } split /\n/, $metrics;
    my %s = map { /^(TwWebhook\w+): (\d+)$/ ? ($1 => $2) : () } split /\n/, page('/server-status?auto');
    return (\%m, \%s, $metrics);
}

sub deliver {
    my ($query) = @_;
    my $body = sprintf '{"event":"page.updated","outcome":"%s-%d"}', $stamp, ++$n;
    return tw_request(hostport => $hp, path => "/oh/report.cgi$query", body => $body,
                      event => 'page.updated', signature => sign($body, $SECRET{a}));
}

my ($m0, $s0, $text0) = counts();
ok(exists $m0->{verified}, 'twwebhook_requests_total has the /oh series') or diag($text0);

my $res = deliver('');
is($res->{status}, 200, 'a delivery the app takes: 200') or diag(describe($res));
$res = deliver('?status=500');
is($res->{status}, 200, 'a delivery the app fails with 500: 200, held') or diag(describe($res));
is($res->{body}, "accepted: held for redelivery\n", '... "accepted: held for redelivery"');

my ($m1, $s1, $text1) = counts();
is(($m1->{verified} // 0) - ($m0->{verified} // 0), 1,
   '/metrics: outcome="verified" +1 (the delivery the app took, not the held one)')
    or diag($text1);
is(($m1->{held} // 0) - ($m0->{held} // 0), 1, '/metrics: outcome="held" +1') or diag($text1);
is(($s1->{TwWebhookHandedToApp} // 0) - ($s0->{TwWebhookHandedToApp} // 0), 1,
   'server-status: TwWebhookHandedToApp +1');
is(($s1->{TwWebhookHeld} // 0) - ($s0->{TwWebhookHeld} // 0), 1, 'server-status: TwWebhookHeld +1');
is(($s1->{TwWebhookVerified} // 0) - ($s0->{TwWebhookVerified} // 0), 2,
   'server-status: TwWebhookVerified (signatures matched) +2');
is($s1->{TwWebhookHeld} // 'absent', $m1->{held} // 'none',
   'server-status and /metrics read one table: held agrees');
is($s1->{TwWebhookHandedToApp} // 'absent', $m1->{verified} // 'none', '... and so does verified');

$srv->stop;
my $log = TwTest::slurp($srv->error_log) // '';
unlike($log, qr/exit signal|Segmentation fault/, 'no child crashed');

done_testing();
