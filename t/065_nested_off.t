# SPDX-License-Identifier: Apache-2.0
# "TwWebhook Off" in a location nested in a protected one lets unsigned
# requests through; the enclosing location stays protected; an
# unprotected location is untouched.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $body = '{"anything":"goes"}';

for my $ds (downstreams()) {
    my $res = tw_request(path => url('nest/open', $ds), body => $body);
    check_delivered($res, $ds, $body, { TW_WEBHOOK_VERIFIED => undef },
                    "$ds: unsigned POST under TwWebhook Off passes, unverified");

    $res = tw_request(path => url('nest/open', $ds), body => $body,
                      signature => 'not a signature at all', event => 'Not Plain!');
    check_delivered($res, $ds, $body, { TW_WEBHOOK_VERIFIED => undef },
                    "$ds: TwWebhook Off ignores Signature and Event entirely");

    $res = tw_request(path => url('nest/open', $ds), method => 'GET');
    is($res->{status}, 200, "$ds: GET under TwWebhook Off is not refused")
        or diag(describe($res));

    my $mark = log_mark();
    $res = tw_request(path => url('nest', $ds), body => $body);
    check_rejected($res, 401, 'TWW0102', 'signature header missing', $mark,
                   "$ds: the enclosing location is still protected");

    $res = tw_request(path => url('nest', $ds), body => $body,
                      signature => sign($body, $SECRET{a}));
    check_delivered($res, $ds, $body, { TW_WEBHOOK_VERIFIED => '1' },
                    "$ds: the enclosing location accepts a signed POST");

    $res = tw_request(path => url('open', $ds), body => $body);
    check_delivered($res, $ds, $body, { TW_WEBHOOK_VERIFIED => undef },
                    "$ds: unprotected location: unsigned POST passes");
    $res = tw_request(path => url('open', $ds), method => 'GET');
    is($res->{status}, 200, "$ds: unprotected location: GET passes") or diag(describe($res));
}

done_testing();
