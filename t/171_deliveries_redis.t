# SPDX-License-Identifier: Apache-2.0
# The deliveries page's inbox on Redis (README "The deliveries page";
# issue 21, "with Redis the view is the whole fleet's"): two httpd share
# one redis-server (started here as docs/inbox.md asks: appendonly yes,
# appendfsync always, noeviction) as their TwWebhookInbox. Each server's
# page lists the entries the other one took in; Redeliver on one server's
# page of an entry the other held hands it to the app (a dispatcher of
# the fleet takes it; the locations have no TwWebhookQueue) and it leaves
# the store; Drop on the other's page removes an entry the first held.
# The recent deliveries stay each server's own (its shared memory).
#
# Its own httpd pair (t/lib/TwFleet.pm) under this run's MPM (t/900 runs
# it under the others: the page's store handle is shared by a child's
# threads under a lock).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;
use TwQueue qw(report_of);

my $vars = tw_vars();
my $mpm = $vars->{tw_mpm} // 'event';
my $reports = "$vars->{t_logs}/deliveries-redis-reports.log";   # what the apps got
unlink $reports;

my $redis = TwFleet::RedisDurable->new(log => "$vars->{t_logs}/deliveries-redis.log",
                                       dir => "$vars->{t_logs}/deliveries-redis");
TwFleet::start_or_exit($redis, 'redis-server (AOF, appendfsync always) starts on '
                               . $redis->hostport);
my $spec = 'redis:' . $redis->hostport;

my %srv;
for my $name (qw(a b)) {
    $srv{$name} = TwFleet->new(
        name => "deliveries-redis-$name", mpm => $mpm, modules => [qw(authz_host)],
        routes => ['rh'], conf => <<"EOF");
WatchdogInterval 100ms
SetEnv TW_TEST_REPORTS "$reports"
TwWebhookDeliveriesLog 20
<Location /rh>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox $spec
    TwWebhookInboxHold On
</Location>
<Location /deliveries>
    SetHandler twwebhook-deliveries
    Require ip 127.0.0.1
</Location>
EOF
    TwFleet::start_or_exit($srv{$name}, "httpd $name ($mpm), its inbox on $spec, starts on "
                                        . $srv{$name}->hostport);
}
my $stamp = int(time * 1000) . "-$$";

sub held {
    my ($name, $query) = @_;
    my $body = sprintf '{"event":"page.updated","redis":"%s-%s"}', $stamp, $name;
    my $res = tw_request(hostport => $srv{$name}->hostport, path => "/rh/report.cgi?$query",
                         body => $body, event => 'page.updated',
                         signature => sign($body, $SECRET{a}));
    is($res->{status}, 200, "httpd $name: the app fails, the delivery is held (200)")
        or diag(describe($res));
    like($res->{body} // '', qr/held for redelivery/, '... held for redelivery');
    return { id => $res->{id}, sha256 => TwTest::sha256_hex($body) };
}

sub page_json {
    my ($name) = @_;
    my $res = tw_request(hostport => $srv{$name}->hostport, method => 'GET', delivery => undef,
                         path => '/deliveries?format=json');
    is($res->{status}, 200, "httpd $name: the page's JSON") or diag(describe($res));
    return $res->{json} // {};
}

# the Redis inbox's entries as server $name's page lists them: path -> entry
sub redis_entries {
    my ($name) = @_;
    my ($inbox) = grep { $_->{store} eq $spec } @{ page_json($name)->{inbox} || [] };
    return { map { $_->{path} => $_ } @{ ($inbox || {})->{entries} || [] } };
}

# held on a: fails once, then succeeds; held on b: always fails
my $ha = held('a', 'status=500&fail_until=1');
my $hb = held('b', 'status=500');
my $pa = '/rh/report.cgi?status=500&fail_until=1';
my $pb = '/rh/report.cgi?status=500';

for my $name (qw(a b)) {
    my $e = redis_entries($name);
    is(join(' ', map { "$_=" . ($e->{$_}{state} // '-') } sort keys %$e),
       "$pb=held $pa=held", "httpd ${name}'s page lists both held entries, its own and the other's")
        or diag(explain($e));
}
{
    my %rows = map { $_ => { map { $_->{delivery} => $_ } @{ page_json($_)->{deliveries} || [] } } }
               qw(a b);
    ok($rows{a}{ $ha->{id} } && !$rows{a}{ $hb->{id} },
       'the recent deliveries stay each server\'s own (a)');
    ok($rows{b}{ $hb->{id} } && !$rows{b}{ $ha->{id} }, '... (b)');
    is(($rows{a}{ $ha->{id} } || {})->{state}, 'held', '... a\'s row of its delivery says held');
}

# an action from server $name's own page: its nonce, its origin
sub action {
    my ($name, $entry, $what) = @_;
    my $hp = $srv{$name}->hostport;
    my $page = tw_request(hostport => $hp, method => 'GET', delivery => undef,
                          path => '/deliveries');
    my ($nonce) = ($page->{body} // '') =~ /name="nonce" value="([0-9a-f]{32})"/;
    my ($index) = ($page->{body} // '') =~ /name="store" value="(\d+)"/;
    ok($nonce && defined $index, "httpd $name: the page's forms carry its nonce and the store");
    my $mark = $srv{$name}->log_mark;
    my $res = tw_request(hostport => $hp, path => '/deliveries', delivery => undef,
                         content_type => 'application/x-www-form-urlencoded',
                         body => "nonce=$nonce&store=" . ($index // 0) . "&entry=$entry&action=$what",
                         headers => [ Origin => "http://$hp" ]);
    is($res->{status}, 303, "httpd $name: $what from the page: 303") or diag(describe($res));
    like($srv{$name}->log_since($mark),
         qr/TWW0251: deliveries page: $what of $entry in the inbox \Q$spec\E by user -, client 127\.0\.0\.1: 1 done, 0 failed/,
         '... done, and logged at notice');
}

# Redeliver on b's page the entry a held
{
    my $entry = (redis_entries('b')->{$pa} || {})->{id} // 'none';
    action('b', $entry, 'redeliver');
    my $until = time + 15;
    my @got;
    until ((@got = grep { ($_->{TW_WEBHOOK_ATTEMPT} // '') eq '2' } report_of($reports, $ha->{id}))
           || time > $until) { sleep 0.1 }
    is(scalar @got, 1, '... a dispatcher of the fleet hands it to the app, once, as attempt 2')
        or diag(explain([ report_of($reports, $ha->{id}) ]));
    is($got[0]{body_sha256}, $ha->{sha256}, '... the body byte for byte') if @got;
    $until = time + 10;
    sleep 0.1 while redis_entries('a')->{$pa} && time < $until;
    ok(!redis_entries('a')->{$pa}, '... and it leaves the store: a\'s page no longer lists it');
}

# Drop on a's page the entry b held
{
    my $entry = (redis_entries('a')->{$pb} || {})->{id} // 'none';
    action('a', $entry, 'drop');
    is(scalar(keys %{ redis_entries('b') }), 0, '... b\'s page lists nothing left in the store');
    is(scalar(grep { ($_->{TW_WEBHOOK_ATTEMPT} // '') ne '1' } report_of($reports, $hb->{id})), 0,
       '... and the dropped one never reached the app again');
}

$_->stop for values %srv;
$redis->stop;
done_testing();
