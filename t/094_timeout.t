# SPDX-License-Identifier: Apache-2.0
# A body that stops arriving: mod_reqtimeout (body=2 in the tw_slow virtual
# host) ends the read, the module answers 408 and logs it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use TwTest;

Apache::TestRequest::module('tw_slow');
my $hostport = Apache::TestRequest::hostport();
Apache::TestRequest::module('default');

my $body = '{"event":"page.updated","padding":"' . ('p' x 1000) . '"}';
my $sent = substr($body, 0, 100);

my $mark = log_mark();
my $res = tw_request(hostport => $hostport, path => '/slow/report.cgi',
                     body => $sent, content_length => length $body, timeout => 15,
                     signature => sign($body, $SECRET{a}));
check_rejected($res, 408, 'TWW0105', 'body read timed out', $mark,
               'body stalls after 100 of ' . length($body) . ' bytes: 408');
cmp_ok($res->{elapsed}, '<', 8, 'answered within the body timeout (2 s), not later');

# the same vhost serves a complete body normally
$res = tw_request(hostport => $hostport, path => '/slow/report.cgi', body => $body,
                  signature => sign($body, $SECRET{a}));
check_delivered($res, 'cgi', $body, { TW_WEBHOOK_VERIFIED => '1' },
                'tw_slow vhost: a complete body is delivered');

done_testing();
