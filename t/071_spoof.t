# SPDX-License-Identifier: Apache-2.0
# A client cannot make a downstream believe a request was verified: the
# TW_WEBHOOK_* variables come from the module only, never from headers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $body = '{"event":"task.deleted"}';
my @spoof = ('TW-WEBHOOK-VERIFIED' => '1', 'TW_WEBHOOK_VERIFIED' => '1',
             'Tw-Webhook-Event' => 'spoofed.event', 'TW_WEBHOOK_EVENT' => 'spoofed.event',
             'TW-WEBHOOK-SECRET-INDEX' => '9', 'TW_WEBHOOK_SECRET_INDEX' => '9',
             'TW-WEBHOOK-DELIVERY' => 'spoofed', 'Redirect-Tw-Webhook-Verified' => '1');

# every TW_WEBHOOK variable the downstream saw that does not come from a
# request header (HTTP_*)
sub non_header_vars {
    my ($res) = @_;
    my $vars = $res->{json} && $res->{json}{tw_vars} || {};
    return join ' ', map { "$_=$vars->{$_}" } grep { !/^HTTP_/ } sort keys %$vars;
}

for my $ds (downstreams()) {
    # unprotected location: nothing may be set
    my $res = tw_request(path => url('open', $ds), body => $body, headers => [@spoof]);
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => undef, TW_WEBHOOK_EVENT => undef,
                      TW_WEBHOOK_SECRET_INDEX => undef, TW_WEBHOOK_DELIVERY => undef,
                      REDIRECT_TW_WEBHOOK_VERIFIED => undef },
                    "$ds: spoofing headers on an unprotected location set nothing");
    is($res->{json} && $res->{json}{HTTP_TW_WEBHOOK_VERIFIED}, '1',
       "$ds: (the spoofing header did arrive, as HTTP_TW_WEBHOOK_VERIFIED)");
    is(non_header_vars($res), '', "$ds: no TW_WEBHOOK variable other than HTTP_*");

    # TwWebhook Off inside a protected location: same
    $res = tw_request(path => url('nest/open', $ds), body => $body, headers => [@spoof]);
    check_delivered($res, $ds, $body, { TW_WEBHOOK_VERIFIED => undef },
                    "$ds: spoofing headers under TwWebhook Off set nothing");
    is(non_header_vars($res), '', "$ds: TwWebhook Off: no TW_WEBHOOK variable other than HTTP_*");

    # protected location, bad signature: refused as always
    my $mark = log_mark();
    $res = tw_request(path => url('prot', $ds), body => $body, headers => [@spoof],
                      signature => sign($body, $SECRET{unknown}));
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   "$ds: spoofing headers do not help a wrong signature");

    # protected location, good signature: the module's values win
    $res = tw_request(path => url('prot', $ds), body => $body, headers => [@spoof],
                      signature => sign($body, $SECRET{a}), event => 'task.deleted');
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'task.deleted',
                      TW_WEBHOOK_SECRET_INDEX => '1', TW_WEBHOOK_DELIVERY => $res->{id} },
                    "$ds: verified request: the module's values, not the headers'");
}

done_testing();
