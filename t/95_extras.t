# The documented extras beyond the core interface (README "Directives"):
# TwWebhook On without a secret, TwWebhookEvents, TwWebhookRequireJSON,
# TwWebhookExportJSON and the configurable header names.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

# --- TwWebhook On where no secret applies: fails closed ----------------------
for my $ds (downstreams()) {
    my $body = '{}';
    my $mark = log_mark();
    my $res = tw_request(path => url('onnosecret', $ds), body => $body,
                         signature => sign($body, $SECRET{a}));
    TwTest::expect_fault($res->{id});
    is($res->{status}, 500, "$ds: TwWebhook On without a secret: 500") or diag(describe($res));
    is(downstream_ran($res->{id}), 0, "$ds: ... no downstream ran");
    ok(wait_log($mark, qr/\[twwebhook:error\].* rejected with 500: .*\Q$res->{id}\E/),
       "$ds: ... logged at error") or diag(log_since($mark));
}

# --- TwWebhookEvents page.* comment.created *.deleted ---------------------------
for my $ds (downstreams()) {
    for my $event (qw(page.updated comment.created task.deleted)) {
        my $body = qq({"event":"$event"});
        my $res = tw_request(path => url('events', $ds), body => $body, event => $event,
                             signature => sign($body, $SECRET{a}));
        check_delivered($res, $ds, $body,
                        { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => $event },
                        "$ds: event $event matches TwWebhookEvents: delivered");
    }
    for my $event ('task.created', 'comment.updated', 'pages.updated', undef) {
        my $what = defined $event ? "event $event" : 'no Event header';
        my $body = '{"event":"other"}';
        my $res = tw_request(path => url('events', $ds), body => $body, event => $event,
                             signature => sign($body, $SECRET{a}));
        is($res->{status}, 200, "$ds: $what outside TwWebhookEvents: 200")
            or diag(describe($res));
        like($res->{body} // '', qr/^ignored: event not handled here/,
             "$ds: $what: answered \"ignored\" by the module");
        is(downstream_ran($res->{id}), 0, "$ds: $what: the app did not run");
    }
    my $body = '{"event":"task.created"}';
    my $mark = log_mark();
    my $res = tw_request(path => url('events', $ds), body => $body, event => 'task.created',
                         signature => sign($body, $SECRET{unknown}));
    check_rejected($res, 401, 'signature mismatch', $mark,
                   "$ds: an unwanted event with a wrong signature is still a 401");
}

# --- TwWebhookRequireJSON On, TwWebhookExportJSON --------------------------------
for my $ds (downstreams()) {
    my $body = qq({"page":{"id":42,"title":"T"},"space":{"code":"ENG"},"flags":[true,false]}\n);
    my $res = tw_request(path => url('json', $ds), body => $body,
                         headers => ['TW-PAGE-ID' => '999'],
                         signature => sign($body, $SECRET{a}));
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1' }, "$ds: JSON body delivered");
    is_deeply($res->{json} && { map { $_ => $res->{json}{tw_env}{$_} }
                                grep { !/^TW_WEBHOOK_/ } keys %{ $res->{json}{tw_env} } },
              { TW_PAGE_ID => '42', TW_SPACE_CODE => 'ENG', TW_FIRST_FLAG => 'true' },
              "$ds: TwWebhookExportJSON exported number, string and boolean, nothing else");

    $body = '{"page":{"id":null},"space":{"code":{"nested":1}},"flags":["a\u0001b"]}';
    $res = tw_request(path => url('json', $ds), body => $body,
                      headers => ['TW-PAGE-ID' => '999', 'TW_PAGE_ID' => '999'],
                      signature => sign($body, $SECRET{a}));
    is($res->{status}, 200, "$ds: null, object, control character: delivered")
        or diag(describe($res));
    is_deeply($res->{json} && [ grep { !/^TW_WEBHOOK_/ } sort keys %{ $res->{json}{tw_env} } ],
              [], "$ds: ... and none of them exported (headers cannot set them either)");

    for my $bad ('not json', '{"a":1}{"b":2}', '{"a":', '') {
        my $mark = log_mark();
        $res = tw_request(path => url('json', $ds), body => $bad,
                          signature => sign($bad, $SECRET{a}));
        check_rejected($res, 400, qr/./, $mark,
                       "$ds: TwWebhookRequireJSON On: body '$bad' refused with 400");
    }
}

# --- TwWebhookSignatureHeader / EventHeader / DeliveryHeader (GitHub's names) ---
for my $ds (downstreams()) {
    my $body = '{"action":"opened","number":1}';
    my $delivery = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
    my $res = tw_request(path => url('hdrs', $ds), body => $body, delivery => undef,
                         headers => ['X-Hub-Signature-256' => 'sha256=' . sign($body, $SECRET{a}),
                                     'X-GitHub-Event' => 'pull_request',
                                     'X-GitHub-Delivery' => $delivery]);
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'pull_request',
                      TW_WEBHOOK_DELIVERY => $delivery },
                    "$ds: X-Hub-Signature-256 / X-GitHub-Event / X-GitHub-Delivery");

    my $mark = log_mark();
    $res = tw_request(path => url('hdrs', $ds), body => $body, event => 'pull_request',
                      delivery => undef, signature => sign($body, $SECRET{a}));
    check_rejected($res, 401, 'signature header missing', $mark,
                   "$ds: the default Signature header does not count there");

    $mark = log_mark();
    $res = tw_request(path => url('hdrs', $ds), body => $body, delivery => undef,
                      headers => ['X-Hub-Signature-256' => 'sha256=' . sign($body, $SECRET{a}),
                                  'X-GitHub-Event' => 'Pull Request']);
    check_rejected($res, 400, 'Event header not plain', $mark,
                   "$ds: the configured Event header is validated");
}

done_testing();
