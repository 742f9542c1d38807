# SPDX-License-Identifier: Apache-2.0
# One replay key per signed message (docs/reference.md "TwWebhookReplayCache"): during
# a key rotation Stripe and Standard Webhooks sign each delivery with both
# secrets, and a location lists both. A captured delivery resent with only
# one of its signatures, either one, is the same message: a duplicate
# (200, the app does not run again), whichever key verifies it and in
# whichever order the location lists the keys. An inbox keeps one entry
# for it, not one per signature.
#
# The replay cache is server-wide, so this test has its own httpd
# (t/lib/TwFleet.pm). Signatures are built here in Perl from the providers'
# documented constructions, as t/080_profiles.t does, but with one v1
# entry per key.
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

my %key = (
    stripe => [ "stripe-rotation-old-$$", "stripe-rotation-new-$$" ],
    std    => [ map { 'whsec_' . encode_base64("std-rotation-$_-$$", '') } qw(old new) ],
);
my $inbox = TwTest::tw_vars()->{t_logs} . '/rotation-inbox';
make_path($inbox);
chmod 0700, $inbox;

# Each profile in two locations: the keys in one order, then the other.
my $conf = "TwWebhookReplayCache \"shmcb:rotation-cache(131072)\"\n";
for my $p ([ 'stripe', 'stripe' ], [ 'std', 'standard-webhooks' ]) {
    my ($short, $profile) = @$p;
    my ($k1, $k2) = @{ $key{$short} };
    $conf .= "<Location /$short-12>\n    TwWebhookProfile $profile\n"
           . "    TwWebhookSecret \"$k1\"\n    TwWebhookSecret \"$k2\"\n</Location>\n"
           . "<Location /$short-21>\n    TwWebhookProfile $profile\n"
           . "    TwWebhookSecret \"$k2\"\n    TwWebhookSecret \"$k1\"\n</Location>\n";
}
$conf .= <<"EOF";
<Location /stripe-inbox>
    TwWebhookProfile stripe
    TwWebhookSecret "$key{stripe}[0]"
    TwWebhookSecret "$key{stripe}[1]"
    TwWebhookInbox "$inbox"
</Location>
EOF
my $srv = TwFleet->new(name => 'rotation', modules => ['socache_shmcb'],
                       routes => [qw(stripe-12 stripe-21 std-12 std-21 stripe-inbox)],
                       conf => $conf);
TwFleet::start_or_exit($srv, 'an httpd with two secrets per location starts on ' . $srv->hostport);

# Headers of one delivery of $body at $ts, with one signature per key in
# @keys (in that order), as the provider sends them during a rotation.
sub stripe_headers {
    my ($body, $ts, @keys) = @_;
    my @sigs = map { hmac_sha256_hex("$ts.$body", $_) } @keys;
    record_sent(@sigs);
    return ('Stripe-Signature' => join(',', "t=$ts", map { "v1=$_" } @sigs));
}

sub std_headers {
    my ($body, $ts, $id, @keys) = @_;
    my @sigs = map {
        (my $raw = $_) =~ s/^whsec_//;
        encode_base64(hmac_sha256("$id.$ts.$body", decode_base64($raw)), '')
    } @keys;
    record_sent(@sigs);
    return ('webhook-id' => $id, 'webhook-timestamp' => $ts,
            'webhook-signature' => join(' ', map { "v1,$_" } @sigs));
}

sub post {
    my ($path, $body, @headers) = @_;
    return TwFleet::retry_409(sub {
        tw_request(hostport => $srv->hostport, path => $path, body => $body,
                   delivery => undef, headers => [@headers], content_type => 'application/json');
    });
}

# 1 when no attempt of $res reached the app (its own record, downstream.log)
sub none_ran { my ($res) = @_; return (grep { downstream_ran($_) } @{ $res->{ids} || [$res->{id}] }) ? 0 : 1 }

my $n = 0;
sub new_body { return sprintf '{"type":"invoice.paid","id":"evt_rot%d_%d","data":{}}', $$, ++$n }

# the headers of $body for location prefix $short, signed with @keys
sub headers_for {
    my ($short, $body, $ts, $id, @keys) = @_;
    return $short eq 'stripe' ? stripe_headers($body, $ts, @keys)
                              : std_headers($body, $ts, $id, @keys);
}

for my $short (qw(stripe std)) {
    my ($k1, $k2) = @{ $key{$short} };
    for my $order (qw(12 21)) {
        my $path = "/$short-$order/report.cgi";
        my ($body, $ts, $id) = (new_body(), time, "msg_rot${$}_$n");
        my $res = post($path, $body, headers_for($short, $body, $ts, $id, $k1, $k2));
        check_delivered($res, 'cgi', $body, {},
                        "$short, keys in order $order: signed with both keys, the app runs");
        for my $only ([ 'the first signature only', $k1 ], [ 'the second signature only', $k2 ]) {
            my ($what, $k) = @$only;
            my $mark = $srv->log_mark;
            $res = post($path, $body, headers_for($short, $body, $ts, $id, $k));
            subtest "$short, keys in order $order: resent with $what: a duplicate" => sub {
                is($res->{status}, 200, 'status 200') or diag(describe($res));
                like($res->{body} // '', qr/^duplicate: already handled/, '"duplicate: already handled"');
                ok(none_ran($res), 'the app did not run again');
                ok($srv->wait_log($mark, qr/\[twwebhook:info\].* TWW0204: duplicate of a body already handled/),
                   'logged TWW0204') or diag($srv->log_since($mark));
            };
        }
    }
}

# --- the inbox: one entry per message, whichever signature came ---------------
{
    my ($k1, $k2) = @{ $key{stripe} };
    my ($body, $ts) = (new_body(), time);
    my $res = post('/stripe-inbox/report.cgi?status=500', $body, stripe_headers($body, $ts, $k1, $k2));
    is($res->{status}, 500, 'inbox: signed with both keys, the app fails (500)') or diag(describe($res));
    is(downstream_ran($res->{id}), 1, '... after running');
    $res = post('/stripe-inbox/report.cgi?status=500', $body, stripe_headers($body, $ts, $k2));
    is($res->{status}, 500, 'inbox: resent with the second signature only: the retry reaches the app')
        or diag(describe($res));
    my ($rc, $out) = TwFleet::inbox_tool('list', $inbox);
    is($rc, 0, 'twwebhook-inbox list: exit 0') or diag($out);
    my @entries = grep { /^[0-9a-f]{64} / } split /\n/, $out;
    is(scalar @entries, 1, '... one entry for the message, not one per signature') or diag($out);
    like($entries[0] // '', qr/ 2 direct 500$/, '... tried twice, direct, last status 500')
        or diag($out);
    # named by tw_replay_key over the digest of what Stripe signs ("<t>.<body>")
    my $want = TwFleet::replay_key_hex("$ts.$body", '/stripe-inbox');
    like($entries[0] // '', qr/^\Q$want\E /, '... its id: the replay key of SHA-256("<t>.<body>")')
        or diag($out);
}

# --- no replay cache, an inbox reached by an internal redirect ------------------
# The first request's location keys nothing, so its HMAC pass computes no
# digest; the location the redirect reaches has an inbox and computes it
# from the stored body. Still one entry per message, under the same id.
my $inbox2 = TwTest::tw_vars()->{t_logs} . '/rotation-inbox-redirect';
make_path($inbox2);
chmod 0700, $inbox2;
my $srv2 = TwFleet->new(
    name => 'rotation-redirect', modules => ['rewrite'], routes => ['rot/inbox'],
    conf => <<"EOF");
<Location /rot>
    TwWebhookProfile stripe
    TwWebhookSecret "$key{stripe}[0]"
    TwWebhookSecret "$key{stripe}[1]"
</Location>
<Location /rot/inbox>
    TwWebhookInbox "$inbox2"
</Location>
<Location /rot/fwd>
    RewriteEngine On
    RewriteRule ^ /rot/inbox/report.cgi?status=500 [L]
</Location>
EOF
TwFleet::start_or_exit($srv2, 'an httpd without a replay cache starts on ' . $srv2->hostport);
{
    my ($k1, $k2) = @{ $key{stripe} };
    my ($body, $ts) = (new_body(), time);
    for my $sent ([ 'both keys', $k1, $k2 ], [ 'the second key only', $k2 ]) {
        my ($what, @keys) = @$sent;
        my $res = tw_request(hostport => $srv2->hostport, path => '/rot/fwd/hook', body => $body,
                             delivery => undef, headers => [ stripe_headers($body, $ts, @keys) ],
                             content_type => 'application/json');
        is($res->{status}, 500, "redirect into an inbox, signed with $what: the app ran (500)")
            or diag(describe($res));
        is(downstream_ran($res->{id}), 1, '... by its own record');
    }
    my ($rc, $out) = TwFleet::inbox_tool('list', $inbox2);
    my @entries = grep { /^[0-9a-f]{64} / } split /\n/, $out;
    is(scalar @entries, 1, 'redirect into an inbox: one entry for the message') or diag($out);
    my $want = TwFleet::replay_key_hex("$ts.$body", '/rot');
    like($entries[0] // '', qr/^\Q$want\E .* 2 direct 500$/,
         '... named by the replay key of SHA-256("<t>.<body>") in the scope /rot, tried twice')
        or diag($out);
}

done_testing();
