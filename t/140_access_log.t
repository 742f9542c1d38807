# SPDX-License-Identifier: Apache-2.0
# Access-log notes (docs/reference.md "Variables"): with
#   LogFormat "... %{twwebhook-outcome}n %{twwebhook-delivery}n"
# every request to a protected location is logged with its outcome
# (verified, duplicate, ignored, rejected-<status>) and its delivery id;
# requests elsewhere show "-". A Delivery value that is not plain never
# reaches the log line as sent. A front controller (an internal redirect
# after verification) is logged like any other delivery.
#
# Its own httpd (t/lib/TwFleet.pm): LogFormat/CustomLog and a replay cache.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use TwTest;
use TwFleet;

my $htdocs = TwFleet::t_dir() . '/htdocs';
my $srv = TwFleet->new(
    name => 'access-log', modules => [qw(socache_shmcb rewrite)],
    routes => [qw(al alsmall alopen)],
    conf => <<"EOF");
LogFormat "%{X-Tw-Test-Id}i %>s %{twwebhook-outcome}n %{twwebhook-delivery}n" twnotes
CustomLog "access_log" twnotes
TwWebhookReplayCache "shmcb:al-cache(65536)"
<Location /al>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookEvents page.* comment.created
</Location>
<Location /alsmall>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookMaxBodySize 100
</Location>
<Directory "$htdocs/fc">
    TwWebhookSecret "$SECRET{a}"
    RewriteEngine On
    RewriteRule ^index\\.php\$ - [L]
    RewriteRule ^ index.php [L]
</Directory>
EOF
TwFleet::start_or_exit($srv, 'an httpd logging the twwebhook notes starts on ' . $srv->hostport);

my $stamp = int(time * 1000) . "-$$";
my $n = 0;
sub req {
    my (%a) = @_;
    my $prefix = delete $a{prefix} // 'al';
    my $path = delete $a{path} // "/$prefix/report.cgi";
    return tw_request(hostport => $srv->hostport, path => $path, event => 'page.updated', %a);
}
sub fresh_body { return qq({"event":"page.updated","al":"$stamp-) . ++$n . '"}' }

# check($res, $status, $outcome, $delivery, $name): the access-log line of
# the request (found by its X-Tw-Test-Id) is "<id> <status> <outcome> <delivery>"
sub check {
    my ($res, $status, $outcome, $delivery, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    subtest $name => sub {
        is($res->{status}, $status, "status $status") or diag(describe($res));
        my $line = $srv->access_line($res->{id});
        ok(defined $line, 'the request was logged') or return;
        my @f = split / /, $line, -1;
        is(scalar @f, 4, 'four fields (nothing the client sent split the line)')
            or diag($line);
        is($f[1], $status, "%>s $status");
        is($f[2], $outcome, "%{twwebhook-outcome}n $outcome");
        is($f[3], $delivery, "%{twwebhook-delivery}n $delivery");
    };
}

# verified, then its duplicate
my $body = fresh_body();
my $sig = sign($body, $SECRET{a});
my $res = req(body => $body, signature => $sig);
check($res, 200, 'verified', $res->{id}, 'verified delivery');
is(downstream_ran($res->{id}), 1, '... the app ran');
# (a copy sent at once may find the delivery not yet settled: 409, retried;
# see TwFleet::retry_409)
$res = TwFleet::retry_409(sub { req(body => $body, signature => $sig) });
check($res, 200, 'duplicate', $res->{id}, 'its copy: duplicate');
$res = req(body => $body, signature => $sig, delivery => 'captured-and-renamed-1');
check($res, 200, 'duplicate', 'captured-and-renamed-1',
      'its copy under another Delivery: duplicate, logged with that Delivery');

# ignored event
$body = fresh_body();
$res = req(body => $body, signature => sign($body, $SECRET{a}), event => 'task.created');
check($res, 200, 'ignored', $res->{id}, 'event outside TwWebhookEvents: ignored');

# verified without a Delivery header
$body = fresh_body();
$res = req(body => $body, signature => sign($body, $SECRET{a}), delivery => undef);
check($res, 200, 'verified', '-', 'verified delivery without a Delivery header: "-"');

# rejections, each with a plain Delivery
$body = fresh_body();
$res = req(body => $body, signature => sign($body, $SECRET{unknown}));
check($res, 401, 'rejected-401', $res->{id}, 'wrong signature: rejected-401 with the delivery id');
$res = req(body => $body);
check($res, 401, 'rejected-401', $res->{id}, 'no signature: rejected-401 with the delivery id');
$res = req(method => 'GET');
check($res, 405, 'rejected-405', $res->{id}, 'GET: rejected-405 with the delivery id');
$res = req(body => $body, signature => sign($body, $SECRET{a}), event => 'Page Updated');
check($res, 400, 'rejected-400', $res->{id}, 'unsafe Event header: rejected-400 with the delivery id');
my $big = '{"pad":"' . ('x' x 200) . '"}';
$res = req(prefix => 'alsmall', body => $big, signature => sign($big, $SECRET{a}));
check($res, 413, 'rejected-413', $res->{id}, 'body over TwWebhookMaxBodySize: rejected-413 with the delivery id');
# a status the metrics group (rejected-4xx): the note still names it
$res = req(body => $body, signature => sign($body, $SECRET{a}), headers => [ 'Content-Encoding' => 'gzip' ]);
check($res, 415, 'rejected-415', $res->{id}, 'Content-Encoding gzip: rejected-415 (not the group 4xx)');

# a Delivery that is not plain is never logged as sent
$body = fresh_body();
$res = req(body => $body, signature => sign($body, $SECRET{a}), delivery => 'two words');
check($res, 400, 'rejected-400', '-', 'Delivery "two words": rejected-400, delivery "-"');
$res = req(body => $body, signature => sign($body, $SECRET{unknown}), delivery => 'x"y\\z');
check($res, 401, 'rejected-401', '-', 'Delivery with quote and backslash, forged: delivery "-"');

# unprotected location: no notes
$res = req(prefix => 'alopen', body => '{}');
check($res, 200, '-', '-', 'unprotected location: "-" "-"');

# front controller: verified, then an internal redirect to index.php
$body = fresh_body();
$res = req(path => '/fc/hooks/teamwork', body => $body, signature => sign($body, $SECRET{a}));
is($res->{json} && $res->{json}{TW_WEBHOOK_VERIFIED}, '1',
   'front controller: index.php got the verified request') or diag(describe($res));
check($res, 200, 'verified', $res->{id}, 'front controller (internal redirect): verified');

$srv->stop;
my $log = TwTest::slurp($srv->error_log) // '';
unlike($log, qr/exit signal|Segmentation fault/, 'no child crashed');

done_testing();
