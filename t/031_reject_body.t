# SPDX-License-Identifier: Apache-2.0
# What a refused sender reads (docs/reference.md "Statuses"): the body of a 400, 401,
# 405 or 413 from the module is one short line saying what failed
# ("webhook rejected with 401: signature mismatch"), not httpd's stock page
# (whose 401 speaks of a browser and credentials), and never the secret,
# the signature sent or the MAC it should have been. A location with its
# own ErrorDocument for the status keeps it; so does one that inherits a
# server-wide ErrorDocument. The line says what the log line of the
# rejection says, whose tag names the call site that refused.
#
# Its own httpd (t/lib/TwFleet.pm), to set ErrorDocument freely.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;
use TwFleet;

my $srv = TwFleet->new(
    name => 'reject-body', routes => [qw(rb rbdoc rbsrv)],
    conf => <<"EOF");
<Location /rb>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookMaxBodySize 200
    TwWebhookRequireJSON On
</Location>
<Location /rbdoc>
    TwWebhookSecret "$SECRET{a}"
    ErrorDocument 401 "this location's own 401 text"
</Location>
<VirtualHost *:*>
    ServerName rb-default.test
</VirtualHost>
<VirtualHost *:*>
    ServerName rb-server-wide.test
    ErrorDocument 413 "server-wide 413 text"
    <Location /rbsrv>
        TwWebhookSecret "$SECRET{a}"
        TwWebhookMaxBodySize 10
    </Location>
</VirtualHost>
EOF
# (the first <VirtualHost> answers every request without the other's name)
TwFleet::start_or_exit($srv, 'an httpd starts on ' . $srv->hostport);

my $json = '{"event":"page.updated","page":{"id":7}}';
my $good = sign($json, $SECRET{a});
my $forged = sign($json, $SECRET{unknown});
my $not_json = 'not json at all';

sub req { return tw_request(hostport => $srv->hostport, host => 'rb-server-wide.test', @_) }

# [name, request, status, the log line's tag, the one line]
my @cases = (
    ['signature mismatch', [path => '/rbsrv/report.cgi', body => 'x', signature => sign('x', $SECRET{unknown})],
     401, 'TWW0110', 'webhook rejected with 401: signature mismatch'],
    ['no signature', [path => '/rbsrv/report.cgi', body => 'x'],
     401, 'TWW0102', 'webhook rejected with 401: signature header missing'],
    ['malformed signature', [path => '/rbsrv/report.cgi', body => 'x', signature => 'sha256=zz'],
     401, 'TWW0103', 'webhook rejected with 401: signature header malformed'],
    ['GET', [path => '/rbsrv/report.cgi', method => 'GET'],
     405, 'TWW0101', 'webhook rejected with 405: method GET not allowed'],
    ['an unsafe Event header', [path => '/rbsrv/report.cgi', body => 'x', signature => sign('x', $SECRET{a}),
                                event => 'Page Updated'],
     400, 'TWW0111', 'webhook rejected with 400: Event header not plain'],
);
my @default_host = (
    ['signature mismatch', [path => '/rb/report.cgi', body => $json, signature => $forged],
     401, 'TWW0110', 'webhook rejected with 401: signature mismatch'],
    ['too large by Content-Length', [path => '/rb/report.php', body => 'y' x 300, signature => $good],
     413, 'TWW0104',
     'webhook rejected with 413: body larger than TwWebhookMaxBodySize (by Content-Length)'],
    ['too large, chunked', [path => '/rb/report.cgi', body => 'y' x 300, chunked => 100,
                            signature => sign('y' x 300, $SECRET{a})],
     413, 'TWW0109', 'webhook rejected with 413: body larger than TwWebhookMaxBodySize'],
    ['not JSON', [path => '/rb/report.cgi', body => $not_json, signature => sign($not_json, $SECRET{a})],
     400, 'TWW0117', 'webhook rejected with 400: body is not one JSON document that every '
     . 'parser reads alike (TwWebhookRequireJSON): body is not one JSON document'],
    ['PUT', [path => '/rb/report.cgi', method => 'PUT', body => $json, signature => $good],
     405, 'TWW0101', 'webhook rejected with 405: method PUT not allowed'],
);

# one request of a case, sent by $send
sub check_body {
    my ($name, $send, $request, $status, $tag, $line) = @_;
    my $mark = $srv->log_mark;
    my $res = $send->(@$request);
    subtest "$name: $status with one line saying why" => sub {
        is($res->{status}, $status, "status $status") or diag(describe($res));
        is($res->{body}, "$line\n", "the body is \"$line\"");
        my $reason = $line =~ s/^webhook rejected with \d{3}: //r;
        ok($srv->wait_log($mark, rejection_re($tag, $status, $reason, $res->{delivery})),
           "the log line says the same, as $tag") or diag($srv->log_since($mark));
        unlike($res->{body} // '', qr/browser|credentials|<html|<title/i, "not httpd's stock page");
        for my $v ($SECRET{a}, $SECRET{unknown}, $good, $forged, sign('x', $SECRET{a}),
                   sign('x', $SECRET{unknown}), sign('y' x 300, $SECRET{a}),
                   sign($not_json, $SECRET{a})) {
            unlike($res->{body} // '', qr/\Q$v\E/i, 'no secret, signature or MAC in it');
        }
        is(downstream_ran($res->{id}), 0, 'no downstream ran');
    };
}

check_body("rb-server-wide.test: $_->[0]", \&req, @$_[1 .. 4]) for @cases;
check_body("default host: $_->[0]", sub { tw_request(hostport => $srv->hostport, @_) },
           @$_[1 .. 4]) for @default_host;

# ErrorDocument wins
{
    my $res = tw_request(hostport => $srv->hostport, path => '/rbdoc/report.cgi', body => $json,
                         signature => $forged);
    is($res->{status}, 401, "a location's own ErrorDocument 401: still 401");
    is($res->{body}, "this location's own 401 text", '... with its text');
    $res = tw_request(hostport => $srv->hostport, path => '/rbdoc/report.cgi', method => 'GET');
    is($res->{status}, 405, 'the same location, GET: 405');
    is($res->{body}, "webhook rejected with 405: method GET not allowed\n",
       '... with the module\'s line (no ErrorDocument 405 there)');
    $res = req(path => '/rbsrv/report.cgi', body => 'y' x 20, signature => sign('y' x 20, $SECRET{a}));
    is($res->{status}, 413, 'a server-wide ErrorDocument 413: still 413');
    is($res->{body}, 'server-wide 413 text', '... with its text');
}

$srv->stop;
done_testing();
