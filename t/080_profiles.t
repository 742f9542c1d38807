# SPDX-License-Identifier: Apache-2.0
# TwWebhookProfile: every provider's signing scheme through the one
# verification path, against both downstreams. Each request is signed here
# in Perl from the provider's documented construction (not by the module's
# own core), and checked for: valid (with the facts each provider gives:
# TW_WEBHOOK_PROFILE, EVENT, DELIVERY, TIMESTAMP), wrong key, several
# candidates with only one right, stale, future and missing timestamps, a
# replay within the tolerance (duplicate), and header overrides. With
# TwWebhookInboxHold On, a delivery the app fails is answered exactly 200
# "accepted: held for redelivery" whatever the profile: the status every
# sender counts as received (docs/reference.md, Statuses).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::SHA qw(hmac_sha256 hmac_sha256_hex);
use File::Path qw(make_path);
use MIME::Base64 qw(encode_base64 decode_base64);
use Test::More;
use TwTest;
use TwFleet;

my $token = 'pr0file-t0ken-' . $$;
my $whsec = 'whsec_' . encode_base64('std-webhooks-key-' . $$, '');
my %secret = map { $_ => $token } qw(teamwork teamwork-projects teamwork-desk github stripe slack shopify);
$secret{'standard-webhooks'} = $whsec;
my @profiles = sort keys %secret;
# the second secret of each location (key rotation)
my %second = map { $_ => "another-$_-secret" } @profiles;
$second{'standard-webhooks'} = 'whsec_' . encode_base64("another-std-key-$$", '');

my $conf = "TwWebhookReplayCache \"shmcb:profiles-cache(131072)\"\n";
for my $p (@profiles) {
    $conf .= "<Location /p-$p>\n    TwWebhookProfile $p\n    TwWebhookSecret \"$secret{$p}\"\n"
           . "    TwWebhookSecret \"$second{$p}\"\n</Location>\n";
}
# one held location per profile, each with its own inbox
my $inbox_base = TwTest::tw_vars()->{t_logs} . '/profiles-inbox';
for my $p (@profiles) {
    make_path("$inbox_base/$p");
    chmod 0700, "$inbox_base/$p";
    $conf .= "<Location /h-$p>\n    TwWebhookProfile $p\n    TwWebhookSecret \"$secret{$p}\"\n"
           . "    TwWebhookInbox \"$inbox_base/$p\"\n    TwWebhookInboxHold On\n</Location>\n";
}
$conf .= <<"EOF";
<Location /p-stripe-tight>
    TwWebhookProfile stripe
    TwWebhookSecret "$token"
    TwWebhookTimestampTolerance 5
</Location>
<Location /p-projects-events>
    TwWebhookProfile teamwork-projects
    TwWebhookSecret "$token"
    TwWebhookEvents task.* milestone.created
</Location>
<Location /p-github-custom>
    TwWebhookProfile github
    TwWebhookSecret "$token"
    TwWebhookSignatureHeader X-Custom-Signature
    TwWebhookEventHeader X-Custom-Event
</Location>
EOF
my $srv = TwFleet->new(name => 'profiles', modules => ['socache_shmcb'],
                       routes => [ (map { ("p-$_", "h-$_") } @profiles), 'p-stripe-tight', 'p-github-custom',
                                   'p-projects-events' ],
                       conf => $conf);
TwFleet::start_or_exit($srv, 'an httpd with a location per profile starts on ' . $srv->hostport);

sub uuid { sprintf '%08x-%04x-4%03x-a%03x-%012x', rand(2**32), rand(2**16), rand(2**12), rand(2**12), rand(2**48) }
sub b64_hmac { encode_base64(hmac_sha256($_[0], $_[1]), '') }

# The headers each provider sends for $body, signed with $key at $ts.
# %o: id (message or delivery id), event, sigs (extra candidate signatures
# to put before the right one), no_ts (leave the timestamp out).
sub signed_headers {
    my ($p, $key, $body, $ts, %o) = @_;
    my $id = $o{id} // uuid();
    my @wrong = @{ $o{sigs} // [] };
    if ($p eq 'teamwork') {
        return (Signature => hmac_sha256_hex($body, $key), Event => $o{event} // 'page.updated',
                Delivery => $id);
    }
    if ($p eq 'teamwork-projects') {
        return ('X-Projects-Signature' => hmac_sha256_hex($body, $key),
                'X-Projects-Event' => $o{event} // 'TASK.CREATED', 'X-Projects-Delivery' => $id);
    }
    if ($p eq 'teamwork-desk') {
        return ('X-Desk-Signature' => hmac_sha256_hex($body, $key),
                'X-Desk-Event' => $o{event} // 'ticket.created', 'X-Desk-Delivery' => $id);
    }
    if ($p eq 'github') {
        return ('X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body, $key),
                'X-GitHub-Event' => $o{event} // 'pull_request', 'X-GitHub-Delivery' => $id);
    }
    if ($p eq 'shopify') {
        return ('X-Shopify-Hmac-Sha256' => b64_hmac($body, $key),
                'X-Shopify-Topic' => $o{event} // 'orders/create', 'X-Shopify-Webhook-Id' => $id);
    }
    if ($p eq 'standard-webhooks') {
        (my $raw = $key) =~ s/^whsec_//;
        $id = $o{id} // 'msg_' . int(rand 1e12);
        my $sig = 'v1,' . b64_hmac("$id.$ts.$body", decode_base64($raw));
        return ('webhook-id' => $id, ($o{no_ts} ? () : ('webhook-timestamp' => $ts)),
                'webhook-signature' => join(' ', (map { "v1,$_" } @wrong), $sig));
    }
    if ($p eq 'stripe') {
        my $sig = hmac_sha256_hex("$ts.$body", $key);
        return ('Stripe-Signature' => join(',', ($o{no_ts} ? () : "t=$ts"),
                                           (map { "v1=$_" } @wrong), "v1=$sig", 'v0=ignored'));
    }
    if ($p eq 'slack') {
        return (($o{no_ts} ? () : ('X-Slack-Request-Timestamp' => $ts)),
                'X-Slack-Signature' => 'v0=' . hmac_sha256_hex("v0:$ts:$body", $key));
    }
    die "no such profile $p";
}

# A body in the provider's own shape; Stripe and Standard Webhooks carry
# the event (and Stripe the id) inside.
sub body_for {
    my ($p, $tag) = @_;
    return qq({"type":"payment_intent.succeeded","id":"evt_1N$tag","data":{}}) if $p eq 'stripe';
    return qq({"type":"invoice.paid","data":{"tag":"$tag"}}) if $p eq 'standard-webhooks';
    return "token=x&team_id=T1&command=%2Fhook&text=$tag" if $p eq 'slack';
    return qq({"task":{"id":$tag,"name":"Projects task"},"eventCreator":{"id":1}})
        if $p eq 'teamwork-projects';
    return qq({"tag":"$tag","event":"something"});
}

sub post {
    my ($path, $body, @headers) = @_;
    return TwFleet::retry_409(sub {
        tw_request(hostport => $srv->hostport, path => $path, body => $body,
                   delivery => undef, headers => [ @headers ],
                   content_type => $path =~ /slack/ ? 'application/x-www-form-urlencoded'
                                                    : 'application/json');
    });
}

sub check_refused {
    my ($res, $tag, $reason, $mark, $name) = @_;
    subtest $name => sub {
        is($res->{status}, 401, 'status 401') or diag(describe($res));
        is(downstream_ran($res->{id}), 0, 'no downstream ran');
        ok($srv->wait_log($mark, rejection_re($tag, 401, $reason)),
           "logged $tag: $reason") or diag($srv->log_since($mark));
    };
}

my %facts = (
    'teamwork'          => [ 'page.updated', 'header' ],
    'teamwork-projects' => [ 'TASK.CREATED', 'header' ],
    'teamwork-desk'     => [ 'ticket.created', 'header' ],
    'github'            => [ 'pull_request', 'header' ],
    'shopify'           => [ 'orders/create', 'header' ],
    'standard-webhooks' => [ 'invoice.paid', 'header' ],
    'stripe'            => [ 'payment_intent.succeeded', 'body' ],
    'slack'             => [ undef, 'none' ],
);
my $n = 0;
for my $p (@profiles) {
    my $timestamped = $p =~ /^(standard-webhooks|stripe|slack)$/;
    for my $ds (downstreams()) {
        my $path = "/p-$p/report.$ds";
        my $body = body_for($p, sprintf('%d%03d', $$, ++$n));
        my $now = time;
        my %h = signed_headers($p, $secret{$p}, $body, $now);
        my $res = post($path, $body, %h);
        my ($event) = @{ $facts{$p} };
        my $delivery = $p eq 'stripe' ? ($body =~ /"id":"([^"]+)"/)[0]
                     : $p eq 'slack' ? undef
                     : $h{Delivery} // $h{'X-Projects-Delivery'} // $h{'X-Desk-Delivery'}
                       // $h{'X-GitHub-Delivery'} // $h{'X-Shopify-Webhook-Id'} // $h{'webhook-id'};
        check_delivered($res, $ds, $body, {}, "$p, $ds: a valid delivery reaches the app");
        my $v = ($res->{json} || {})->{tw_vars} || {};
        subtest "$p, $ds: the verified facts" => sub {
            is($v->{TW_WEBHOOK_VERIFIED}, '1', 'TW_WEBHOOK_VERIFIED');
            is($v->{TW_WEBHOOK_PROFILE}, $p, "TW_WEBHOOK_PROFILE=$p");
            is($v->{TW_WEBHOOK_EVENT}, $event, 'TW_WEBHOOK_EVENT ' . ($event // 'absent'));
            is($v->{TW_WEBHOOK_DELIVERY}, $delivery, 'TW_WEBHOOK_DELIVERY ' . ($delivery // 'absent'));
            is($v->{TW_WEBHOOK_TIMESTAMP}, $timestamped ? $now : undef,
               'TW_WEBHOOK_TIMESTAMP ' . ($timestamped ? $now : 'absent'));
            is($v->{TW_WEBHOOK_SECRET_INDEX}, '1', 'TW_WEBHOOK_SECRET_INDEX=1');
        };

        # the same request again: a duplicate (within the tolerance, the
        # replay cache is what stops it)
        $res = post($path, $body, %h);
        is($res->{status}, 200, "$p, $ds: the same delivery again: 200") or diag(describe($res));
        like($res->{body} // '', qr/^duplicate: already handled/, "$p, $ds: ... a duplicate");
        is(downstream_ran($res->{id}), 0, "$p, $ds: ... the app did not run");

        my $mark = $srv->log_mark;
        $res = post($path, $body, signed_headers($p, 'the-wrong-key', $body, time));
        check_refused($res, 'TWW0110', 'signature mismatch', $mark, "$p, $ds: wrong key: 401");

        # the second configured secret signs too (key rotation)
        my $b2 = body_for($p, sprintf('%d%03d', $$, ++$n));
        $res = post($path, $b2, signed_headers($p, $second{$p}, $b2, time));
        is($res->{status}, 200, "$p, $ds: signed with the second secret: 200") or diag(describe($res));
        is((($res->{json} || {})->{tw_vars} || {})->{TW_WEBHOOK_SECRET_INDEX}, '2',
           "$p, $ds: ... TW_WEBHOOK_SECRET_INDEX=2");

        if ($p =~ /^(standard-webhooks|stripe)$/) {
            my $b3 = body_for($p, sprintf('%d%03d', $$, ++$n));
            my ($ts3, $id3) = (time, "msg_three$n");
            my @junk = $p eq 'stripe' ? ('0' x 64, 'f' x 64)
                                      : (encode_base64('x' x 32, ''), encode_base64('y' x 32, ''));
            $res = post($path, $b3, signed_headers($p, $secret{$p}, $b3, $ts3, sigs => \@junk,
                                                   id => $id3));
            check_delivered($res, $ds, $b3, {}, "$p, $ds: three candidates, only the last right");
            # other junk in front of the same signature: still that delivery
            # (the replay key comes from what was signed, not from the
            # candidates; t/113_replay_rotation.t: one signature per key)
            my @other = $p eq 'stripe' ? ('1' x 64) : (encode_base64('z' x 32, ''));
            $res = post($path, $b3, signed_headers($p, $secret{$p}, $b3, $ts3, sigs => \@other,
                                                   id => $id3));
            like($res->{body} // '', qr/^duplicate: already handled/,
                 "$p, $ds: the same signature behind other junk candidates: a duplicate");
            $mark = $srv->log_mark;
            $res = post($path, $b3, signed_headers($p, 'the-wrong-key', $b3, time, sigs => \@junk));
            check_refused($res, 'TWW0110', 'signature mismatch', $mark,
                          "$p, $ds: three candidates, none right: 401");
        }
        next unless $timestamped;
        # 10 s beyond the tolerance (300 s), not 1: the server reads its own
        # clock later, and a second boundary crossed in between would bring a
        # timestamp 301 s ahead to exactly 300, inside the tolerance. The
        # exact bounds are unit-tested (t/unit/test_scheme.c).
        for my $case ([ 'stale', -310, 'TWW0125',
                        'signed timestamp older than TwWebhookTimestampTolerance' ],
                      [ 'future', 310, 'TWW0126',
                        'signed timestamp further ahead than TwWebhookTimestampTolerance' ]) {
            my ($what, $delta, $tag, $reason) = @$case;
            my $b4 = body_for($p, sprintf('%d%03d', $$, ++$n));
            $mark = $srv->log_mark;
            $res = post($path, $b4, signed_headers($p, $secret{$p}, $b4, time + $delta));
            check_refused($res, $tag, $reason, $mark, "$p, $ds: a $what timestamp ($delta s): 401");
        }
        my $b5 = body_for($p, sprintf('%d%03d', $$, ++$n));
        $mark = $srv->log_mark;
        $res = post($path, $b5, signed_headers($p, $secret{$p}, $b5, time, no_ts => 1));
        check_refused($res, 'TWW0121', 'signed timestamp missing', $mark,
                      "$p, $ds: no timestamp: 401");
    }
}

# TwWebhookInboxHold On: the app answers 500 (or php-fpm 503), the module
# keeps the delivery and answers exactly 200 "accepted: held for
# redelivery", for every profile (Teamwork.com counts only 200 as
# received; the others any 2xx: docs/reference.md, Statuses).
for my $p (@profiles) {
    for my $ds (downstreams()) {
        my $body = body_for($p, sprintf('%d%03d', $$, ++$n));
        my $res = post("/h-$p/report.$ds?status=500", $body,
                       signed_headers($p, $secret{$p}, $body, time));
        subtest "$p, $ds: the app fails, TwWebhookInboxHold On: held, answered 200" => sub {
            is($res->{status}, 200, 'exactly 200') or diag(describe($res));
            is($res->{body}, "accepted: held for redelivery\n",
               '... the body "accepted: held for redelivery"');
            is(downstream_ran($res->{id}), 1, '... the app ran');
            my ($rc, $out) = TwFleet::inbox_tool('list', "$inbox_base/$p");
            like($out, qr/^[0-9a-f]{64} .* 500$/m, '... the entry is kept with status 500')
                or diag($out);
        };
        unlink glob "$inbox_base/$p/*";
    }
}

# TwWebhookTimestampTolerance 5: 10 s old is stale there, fresh is fine.
{
    my $body = body_for('stripe', "$$-tight");
    my $mark = $srv->log_mark;
    my $res = post('/p-stripe-tight/report.cgi', $body, signed_headers('stripe', $token, $body, time - 10));
    check_refused($res, 'TWW0125', 'signed timestamp older than TwWebhookTimestampTolerance',
                  $mark, 'TwWebhookTimestampTolerance 5: 10 s old is refused');
    $res = post('/p-stripe-tight/report.cgi', $body, signed_headers('stripe', $token, $body, time));
    check_delivered($res, 'cgi', $body, {}, 'TwWebhookTimestampTolerance 5: a fresh one is delivered');
}

# Teamwork Projects: upper-case events, matched by TwWebhookEvents without
# regard to case and exported as sent; JSON and form-encoded bodies.
for my $ds (downstreams()) {
    for my $case ([ 'TASK.CREATED', 'application/json',
                    '{"task":{"id":77,"name":"Write docs"},"eventCreator":{"id":5}}' ],
                  [ 'TASK.UPDATED', 'application/x-www-form-urlencoded',
                    'task%5Bid%5D=77&task%5Bname%5D=Write+docs&event=TASK.UPDATED' ],
                  [ 'MILESTONE.CREATED', 'application/json', '{"milestone":{"id":77}}' ]) {
        my ($event, $type, $body) = @$case;
        $body =~ s/77/77${$}$ds/g;   # one delivery per downstream (the replay cache)
        my $res = tw_request(hostport => $srv->hostport, path => "/p-projects-events/report.$ds",
                             body => $body, content_type => $type, delivery => undef,
                             headers => [ signed_headers('teamwork-projects', $token, $body, time,
                                                         event => $event, id => '4711') ]);
        check_delivered($res, $ds, $body, {}, "projects, $ds: $event ($type) delivered");
        my $v = ($res->{json} || {})->{tw_vars} || {};
        is($v->{TW_WEBHOOK_EVENT}, $event, "projects, $ds: TW_WEBHOOK_EVENT=$event, as sent");
        is($v->{TW_WEBHOOK_DELIVERY}, '4711', "projects, $ds: TW_WEBHOOK_DELIVERY from X-Projects-Delivery");
    }
    my $body = qq({"comment":{"id":1,"ds":"$ds"}});
    my $res = post("/p-projects-events/report.$ds", $body,
                   signed_headers('teamwork-projects', $token, $body, time, event => 'COMMENT.CREATED'));
    is($res->{status}, 200, "projects, $ds: COMMENT.CREATED outside TwWebhookEvents: 200");
    like($res->{body} // '', qr/^ignored: event not handled here/, "projects, $ds: ... ignored");
    is(downstream_ran($res->{id}), 0, "projects, $ds: ... the app did not run");
}

# The operator's header names win over the profile's.
{
    my $body = '{"custom":1}';
    my $res = post('/p-github-custom/report.php', $body,
                   'X-Custom-Signature' => 'sha256=' . hmac_sha256_hex($body, $token),
                   'X-Custom-Event' => 'push', 'X-GitHub-Event' => 'not-this-one',
                   'X-GitHub-Delivery' => 'd-1');
    check_delivered($res, 'php', $body, {}, 'github with TwWebhookSignatureHeader: delivered');
    my $v = ($res->{json} || {})->{tw_vars} || {};
    is($v->{TW_WEBHOOK_EVENT}, 'push', '... TwWebhookEventHeader names the event');
    is($v->{TW_WEBHOOK_DELIVERY}, 'd-1', "... the profile's delivery header still applies");
    my $mark = $srv->log_mark;
    $res = post('/p-github-custom/report.php', $body,
                'X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body, $token));
    check_refused($res, 'TWW0102', 'signature header missing', $mark,
                  "... the profile's own signature header no longer counts");
}

$srv->stop;
done_testing();
