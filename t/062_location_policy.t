# SPDX-License-Identifier: Apache-2.0
# What a location says applies to every request handled there, however it
# arrived: a request verified under /pol (or the /polcgi directory, with
# its own copy of the secret) and internally redirected into /pol/strict
# gets /pol/strict's TwWebhookEvents, TwWebhookRequireJSON,
# TwWebhookExportJSON, TwWebhookMaxBodySize and TwWebhookEventHeader, and
# is still verified once (one TWW0201 for the transaction).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use TwTest;

my %entry = (php => '/pol/in/hook', cgi => '/polcgi/in/hook');

sub post {
    my ($ds, $body, %a) = @_;
    return tw_request(path => $entry{$ds}, body => $body,
                      signature => sign($body, $SECRET{a}), %a);
}

for my $ds (downstreams()) {
    my $body = '{"page":{"id":4242}}';
    my $mark = log_mark();
    my $res = post($ds, $body, event => 'task.created',
                   headers => [ 'X-Strict-Event' => 'page.updated' ]);
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'page.updated' },
                    "$ds: redirected into /pol/strict: its event header names the event");
    is($res->{json} && $res->{json}{tw_env}{TW_PAGE_ID}, '4242',
       "$ds: ... and its TwWebhookExportJSON applies");
    wait_log($mark, qr/TWW0201: .*\Q$res->{id}\E/);
    is(log_count($mark, qr/TWW0201: .*\Q$res->{id}\E/), 1, "$ds: ... verified once (TWW0201)");

    $res = post($ds, $body, event => 'page.updated',
                headers => [ 'X-Strict-Event' => 'task.created' ]);
    is($res->{status}, 200, "$ds: an event /pol/strict does not take: 200") or diag(describe($res));
    like($res->{body} // '', qr/^ignored: event not handled here/,
         "$ds: ... answered \"ignored\" by the module");
    is(downstream_ran($res->{id}), 0, "$ds: ... the app did not run");

    $res = post($ds, $body, event => 'page.updated');
    like($res->{body} // '', qr/^ignored: event not handled here/,
         "$ds: no event in /pol/strict's header: ignored (the Event header does not count there)");
    is(downstream_ran($res->{id}), 0, "$ds: ... the app did not run");

    $mark = log_mark();
    $res = post($ds, 'not json', headers => [ 'X-Strict-Event' => 'page.updated' ]);
    check_rejected($res, 400, 'TWW0117', 'body is not one JSON document that every parser '
                   . 'reads alike (TwWebhookRequireJSON): body is not one JSON document', $mark,
                   "$ds: /pol/strict's TwWebhookRequireJSON refuses a body that is not JSON");

    my $large = '{"page":{"id":1},"pad":"' . ('p' x 300) . '"}';
    $mark = log_mark();
    $res = post($ds, $large, headers => [ 'X-Strict-Event' => 'page.updated' ]);
    check_rejected($res, 413, 'TWW0119', "body larger than this location's TwWebhookMaxBodySize",
                   $mark, "$ds: /pol/strict's TwWebhookMaxBodySize applies after the redirect");

    $mark = log_mark();
    $res = post($ds, $body, signature => sign($body, $SECRET{unknown}),
                headers => [ 'X-Strict-Event' => 'page.updated' ]);
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   "$ds: forged: refused before the redirect");
}

# The same over HTTP/2 (h2c): the policy of the location the stream ends up in.
{
    my $h2c = vhost_base('tw_h2c');
    for my $ds (downstreams()) {
        my $body = '{"page":{"id":99}}';
        my ($res) = tw_curl([ { url => "$h2c$entry{$ds}", body => $body,
                                signature => sign($body, $SECRET{a}), event => 'page.updated',
                                headers => [ 'X-Strict-Event' => 'page.created' ] } ], h2 => 'prior');
        check_delivered($res, $ds, $body,
                        { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'page.created' },
                        "h2c, $ds: redirected into /pol/strict: its event header names the event");
        is($res->{json} && $res->{json}{tw_env}{TW_PAGE_ID}, '99', "h2c, $ds: ... its export applies");
        ($res) = tw_curl([ { url => "$h2c$entry{$ds}", body => $body,
                             signature => sign($body, $SECRET{a}),
                             headers => [ 'X-Strict-Event' => 'task.created' ] } ], h2 => 'prior');
        like($res->{body} // '', qr/^ignored: event not handled here/,
             "h2c, $ds: an event /pol/strict does not take: ignored");
        is(downstream_ran($res->{id}), 0, "h2c, $ds: ... the app did not run");
    }
}

done_testing();
