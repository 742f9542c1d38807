# SPDX-License-Identifier: Apache-2.0
# A server fault: the spool directory is not writable (tw_badspool virtual
# host), so a body beyond the 64 KiB kept in memory cannot be stored: 500,
# logged at error, the downstream never runs. A body that fits in memory
# does not need the spool and is delivered.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use TwTest;

Apache::TestRequest::module('tw_badspool');
my $hostport = Apache::TestRequest::hostport();
Apache::TestRequest::module('default');

my $big = 'S' x (100 * 1024);
my $mark = log_mark();
my $res = tw_request(hostport => $hostport, path => '/badspool/report.cgi', body => $big,
                     signature => sign($big, $SECRET{a}));
TwTest::expect_fault($res->{id});
check_rejected($res, 500, 'TWW0402', 'cannot store the body (spool directory full or unwritable?)',
               $mark, '100 KiB body, spool directory not writable: 500, TWW0402 at error');

my $small = 's' x 1000;
$res = tw_request(hostport => $hostport, path => '/badspool/report.cgi', body => $small,
                  signature => sign($small, $SECRET{a}));
check_delivered($res, 'cgi', $small, { TW_WEBHOOK_VERIFIED => '1' },
                'a 1000-byte body is kept in memory and delivered');

done_testing();
