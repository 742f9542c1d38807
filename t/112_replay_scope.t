# SPDX-License-Identifier: Apache-2.0
# Two webhooks, one token: Teamwork can send one event to two webhook URLs
# configured with the same token. The replay cache is scoped to the
# protected section (and virtual host), so each endpoint's app runs once,
# while the same body sent again to one endpoint, under any Delivery id,
# is a duplicate there.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use TwTest;
use TwFleet;

my $srv = TwFleet->new(
    name => 'scope', modules => ['socache_shmcb'],
    routes => [ 'scope-a', 'scope-b', 'scope-b/inner' ],
    conf => <<"EOF");
TwWebhookReplayCache "shmcb:scope-cache(131072)"
<Location /scope-a>
    TwWebhookSecret "$SECRET{a}"
</Location>
<Location /scope-b>
    TwWebhookSecret "$SECRET{a}"
</Location>
# a section without its own secret: the same scope as /scope-b
<Location /scope-b/inner>
    TwWebhookEvents *
</Location>
# the first virtual host of the address is its default: this server's name
<VirtualHost 127.0.0.1:*>
    ServerName localhost
</VirtualHost>
<VirtualHost 127.0.0.1:*>
    ServerName other.example
    <Location /scope-a>
        TwWebhookSecret "$SECRET{a}"
    </Location>
</VirtualHost>
EOF
TwFleet::start_or_exit($srv, 'an httpd with a replay cache and two locations starts on '
                        . $srv->hostport);

sub post {
    my ($path, $body, %a) = @_;
    return TwFleet::retry_409(sub {
        tw_request(hostport => $srv->hostport, path => $path, body => $body,
                   signature => sign($body, $SECRET{a}), event => 'page.updated', %a);
    });
}

my $body = '{"event":"page.updated","stamp":"' . int(time * 1000) . "-$$\"}";
my $res = post('/scope-a/report.cgi', $body);
check_delivered($res, 'cgi', $body, { TW_WEBHOOK_VERIFIED => '1' }, '/scope-a: delivered');
$res = post('/scope-b/report.php', $body);
check_delivered($res, 'php', $body, { TW_WEBHOOK_VERIFIED => '1' },
                '/scope-b, same token, same body: delivered too (not a duplicate)');

for my $path ('/scope-a/report.cgi', '/scope-b/report.php', '/scope-b/inner/report.cgi') {
    $res = post($path, $body, delivery => 'fresh-' . int(rand 1e9));
    is($res->{status}, 200, "$path again under a new Delivery: 200") or diag(describe($res));
    like($res->{body} // '', qr/^duplicate: already handled/, "$path: ... a duplicate");
    is(downstream_ran($res->{id}), 0, "$path: ... the app did not run");
}

# Another virtual host with the same location and token: its own scope.
$res = post('/scope-a/report.cgi', $body, host => 'other.example');
check_delivered($res, 'cgi', $body, { TW_WEBHOOK_VERIFIED => '1' },
                'the same location in another virtual host: delivered');
$res = post('/scope-a/report.cgi', $body, host => 'other.example',
            delivery => 'fresh-' . int(rand 1e9));
like($res->{body} // '', qr/^duplicate: already handled/,
     '... and a copy there is a duplicate there');

$srv->stop;
done_testing();
