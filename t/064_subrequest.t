# SPDX-License-Identifier: Apache-2.0
# A subrequest into a protected location whose top request was not verified
# is refused (here: an unprotected SSI page including a protected CGI).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $mark = log_mark();
my $res = tw_request(path => '/ssi/page.shtml', method => 'GET');
is($res->{status}, 200, 'the unprotected SSI page itself is served') or diag(describe($res));
like($res->{body} // '', qr/before.*after/s, 'its own content is there');
unlike($res->{body} // '', qr/downstream|body_sha256/, 'the protected CGI output is not included');
like($res->{body} // '', qr/an error occurred while processing this directive/,
     'mod_include reports the refused include');
is(downstream_ran($res->{id}), 0, 'the protected CGI never ran');
ok(wait_log($mark, rejection_re('TWW0115', 401, 'subrequest into a protected location without '
                                . 'a verified request', $res->{id})),
   'error_log: TWW0115: rejected with 401: subrequest into a protected location without a '
   . 'verified request')
    or diag(log_since($mark));

done_testing();
