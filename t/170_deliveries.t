# SPDX-License-Identifier: Apache-2.0
# The deliveries page (README "The deliveries page"; docs/reference.md
# TwWebhookDeliveriesLog, TwWebhookDeliveriesShowBody): after a mix of
# verified, forged, duplicate, ignored and held deliveries, the page (HTML
# in headless Chromium, and ?format=json) lists each with the right state
# and verdict, newest first; filters and ?delivery= find them; one
# delivery's view shows its headers with the signature redacted, the
# body's SHA-256 and (TwWebhookDeliveriesShowBody On) its body, never for
# a forged one. Attacker-controlled event, delivery id and path
# (<script>, "><img onerror>, control characters) render as text: the DOM
# Chromium builds holds no element they injected. Actions: POST only, with
# this start's nonce, from the page's own origin; anything else is 403,
# changes nothing and is logged (TWW0250); a drop from the page is logged
# with user and client (TWW0251). Security headers on every answer.
# Nothing secret (the secret, any signature sent, any MAC) in any answer
# of the page. server-status shows the ring's line. A graceful restart
# keeps the rows.
# The queue: a queued delivery's row follows its entry (the app fails
# twice, then succeeds: delivered after 3 tries; always fails: dead; one
# waiting for its next try: queued with the tries, the app's last status
# and when); Redeliver from the page of a held entry (TwWebhookInboxHold
# On, no TwWebhookQueue) is handed to the app by the dispatcher, leaves
# the inbox, and its row turns delivered. (A Redis inbox: t/171.)
#
# Its own httpd (t/lib/TwFleet.pm) under the run's MPM (t/900_mpm_matrix.t
# runs it under the others). Screenshots (laptop and phone width, the mix
# with the queue's states, one delivery, one queued delivery) are written
# to t/logs/deliveries/ for people to look at.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path remove_tree);
use JSON::PP ();
use MIME::Base64 ();
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(sleep time);
use TwTest;
use TwFleet;
use TwQueue qw(report_of);

my $vars = tw_vars();
my $mpm = $vars->{tw_mpm} // 'event';
my $dir = "$vars->{t_logs}/deliveries-inbox";
my $qdir = "$vars->{t_logs}/deliveries-queue";        # TwWebhookQueue, quick retries
my $qslow = "$vars->{t_logs}/deliveries-queue-slow";  # TwWebhookQueue, a try a minute
for my $d ($dir, $qdir, $qslow) {
    remove_tree($d);
    make_path($d);
    chmod 0700, $d;
}

my $reports = "$vars->{t_logs}/deliveries-reports.log";   # what the app got
unlink $reports;

my $htpasswd = "$vars->{t_logs}/deliveries-htpasswd";
system("htpasswd -bc '$htpasswd' operator page-pw 2>/dev/null") == 0
    or BAIL_OUT("htpasswd (apache2-utils) failed: $?");

my $srv = TwFleet->new(
    name => 'deliveries', mpm => $mpm,
    modules => [qw(status socache_shmcb authz_host authz_user auth_basic authn_core authn_file http2)],
    routes => ['dl', 'nb', 'sl', 'ns', 'q', 'qslow'],
    conf => <<"EOF");
Protocols h2c http/1.1
WatchdogInterval 100ms
SetEnv TW_TEST_REPORTS "$reports"
TwWebhookReplayCache "shmcb:deliveries-replay(131072)"
TwWebhookDeliveriesLog 60
<Location /dl>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookEvents page.* task.*
    TwWebhookInbox "$dir"
    TwWebhookInboxHold On
    TwWebhookDeliveriesShowBody On
</Location>
<Location /nb>
    TwWebhookSecret "$SECRET{a}"
</Location>
<Location /sl>
    TwWebhookProfile slack
    TwWebhookSecret "$SECRET{a}"
    TwWebhookDeliveriesShowBody On
</Location>
<Location /ns>
    TwWebhookProfile slack
    TwWebhookSecret "$SECRET{a}"
</Location>
<Location /q>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$qdir"
    TwWebhookQueue On
    TwWebhookQueueRetry attempts=3 base=100ms cap=200ms
</Location>
<Location /qslow>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$qslow"
    TwWebhookQueue On
    TwWebhookQueueRetry attempts=20 base=60s cap=120s
</Location>
<Location /deliveries>
    SetHandler twwebhook-deliveries
    Require ip 127.0.0.1
</Location>
<Location /deliveries-auth>
    SetHandler twwebhook-deliveries
    AuthType Basic
    AuthName "deliveries"
    AuthUserFile "$htpasswd"
    Require valid-user
</Location>
<Location /server-status>
    SetHandler server-status
</Location>
EOF
TwFleet::start_or_exit($srv, "an httpd ($mpm) with the deliveries page starts on " . $srv->hostport);
my $hp = $srv->hostport;
my $origin = "http://$hp";
my $stamp = int(time * 1000) . "-$$";
my $n = 0;
my @secrets = ($SECRET{a});     # never in an answer of the page
my @answers;                    # every answer of the page: [what, text]

sub new_body { return sprintf '{"event":"page.updated","n":"%s-%d"}', $stamp, ++$n }

sub post_hook {
    my ($path, $body, %a) = @_;
    my $sig = exists $a{signature} ? delete $a{signature} : sign($body, $SECRET{a});
    push @secrets, $sig if defined $sig;
    push @secrets, sign($body, $SECRET{a});   # the MAC the module computes
    return TwFleet::retry_409(sub {
        tw_request(hostport => $hp, path => $path, body => $body,
                   event => $a{event} // 'page.updated', signature => $sig, %a) });
}

# A Slack delivery (a profile that signs "v0:TS:" before the body), signed
# now with secret a.
sub post_slack {
    my ($path, $body) = @_;
    my $ts = time() =~ s/\..*//r;
    my $sig = 'v0=' . hmac_sha256_hex("v0:$ts:$body", $SECRET{a});
    push @secrets, $sig;
    return TwFleet::retry_409(sub {
        tw_request(hostport => $hp, path => $path, body => $body,
                   delivery => undef, content_type => 'application/x-www-form-urlencoded',
                   headers => [ 'X-Slack-Request-Timestamp' => $ts, 'X-Slack-Signature' => $sig ]) });
}

sub page {
    my ($query, %a) = @_;
    $query //= '';
    my $res = tw_request(hostport => $hp, method => 'GET', delivery => undef,
                         path => '/deliveries' . ($query // ''), %a);
    push @answers, ["GET /deliveries$query", join("\n", map { "$_: $res->{headers}{$_}" }
                                                  keys %{ $res->{headers} || {} }) . "\n"
                                                  . ($res->{body} // '')];
    return $res;
}

sub page_json {
    my ($query) = @_;
    $query //= '';
    my $res = page('?format=json' . $query);
    is($res->{status}, 200, "JSON$query answered") or diag(describe($res));
    return $res->{json} // {};
}

sub by_delivery {
    my ($json, $delivery) = @_;
    return (grep { $_->{delivery} eq $delivery } @{ $json->{deliveries} || [] })[0];
}

# --- a mix of deliveries -----------------------------------------------------------
my %sent;   # what => delivery id
{
    my $body = new_body();
    my $res = post_hook('/dl/report.cgi', $body);
    is($res->{status}, 200, 'verified: delivered') or diag(describe($res));
    $sent{verified} = $res->{id};
    $sent{verified_body} = $body;
    $res = post_hook('/dl/report.cgi', $body);
    is($res->{status}, 200, 'the same body again: 200, a duplicate') or diag(describe($res));
    $sent{duplicate} = $res->{id};
}
{
    my $res = post_hook('/dl/report.cgi', new_body(), signature => 'f' x 64);
    is($res->{status}, 401, 'forged: 401') or diag(describe($res));
    $sent{forged} = $res->{id};
}
{
    my $res = post_hook('/dl/report.cgi', new_body(), event => 'comment.created');
    is($res->{status}, 200, 'an event not in TwWebhookEvents: 200') or diag(describe($res));
    $sent{ignored} = $res->{id};
}
{
    # fails this once: a redelivery (attempt 2) succeeds
    my $body = new_body();
    $sent{held_sha256} = TwTest::sha256_hex($body);
    my $res = post_hook('/dl/report.cgi?status=500&fail_until=1', $body);
    is($res->{status}, 200, 'the app fails with 500: held, 200') or diag(describe($res));
    like($res->{body} // '', qr/held for redelivery/, '... held for redelivery');
    $sent{held} = $res->{id};
}
# queued (TwWebhookQueue): what the dispatcher made of each is the row's
{
    my $res = post_hook('/q/report.cgi?status=500&fail_until=2', new_body());
    is($res->{body}, "accepted: queued\n", 'queued: answered 200 at once') or diag(describe($res));
    $sent{queued_ok} = $res->{id};
    $res = post_hook('/q/report.cgi?status=500', new_body());
    is($res->{body}, "accepted: queued\n", 'queued, for an app that always fails')
        or diag(describe($res));
    $sent{queued_dead} = $res->{id};
    $res = post_hook('/qslow/report.cgi?status=503', new_body());
    is($res->{body}, "accepted: queued\n", 'queued, tried again in 30-60 s')
        or diag(describe($res));
    $sent{queued_retry} = $res->{id};
    # until the dispatcher is done with the first two and tried the third
    my $until = time + 20;
    while (time < $until) {
        my $j = page_json();
        my @r = map { by_delivery($j, $sent{$_}) || {} } qw(queued_ok queued_dead queued_retry);
        last if ($r[0]{state} // '') eq 'delivered' && ($r[1]{state} // '') eq 'dead'
                && ($r[2]{app_status} // 0) == 503;
        sleep 0.2;
    }
}
# attacker-controlled values, on forged requests
my %xss = (
    script  => '<script>document.title="pwned"</script>',
    img     => '"><img src=x onerror=alert(1)>',
    # httpd refuses control characters in a field (400) but for HTAB, and
    # passes bytes that are not UTF-8 (obs-text)
    control => "evil\tred\xff\xfe",
);
{
    my $res = post_hook('/dl/report.cgi', new_body(), signature => '7e' x 32,
                        event => $xss{script}, delivery => $xss{img});
    is($res->{status}, 401, 'forged with <script> in Event and <img onerror> in Delivery: 401')
        or diag(describe($res));
    $sent{xss} = $xss{img};
    $res = post_hook('/dl/report.cgi', new_body(), signature => 'd' x 64,
                     event => $xss{control}, delivery => "ctl-$stamp");
    is($res->{status}, 401, 'forged with a tab and bytes that are not UTF-8 in Event: 401')
        or diag(describe($res));
    $sent{control} = "ctl-$stamp";
    $res = post_hook('/dl/"><script>alert(2)</script>', new_body(), signature => 'c' x 64,
                     delivery => "path-$stamp");
    is($res->{status}, 401, 'forged to a path with "><script>: 401') or diag(describe($res));
    $sent{path} = "path-$stamp";
}

# --- headless Chromium, for the DOM it builds and screenshots ---------------------------
my $chromium = '/usr/bin/chromium';
ok(-x $chromium, "headless Chromium is installed ($chromium; scripts/bootstrap --test)")
    or BAIL_OUT('chromium missing');
my $out = $srv->dir;
sub chromium {
    my (@args) = @_;
    my $profile = "$out/chromium-profile";
    make_path($profile);
    local $ENV{HOME} = $profile;
    my $cmd = join ' ', map { "'$_'" } ($chromium, qw(--headless --no-sandbox --disable-gpu
        --disable-background-networking --no-first-run --disable-dev-shm-usage
        --disable-extensions --hide-scrollbars), "--user-data-dir=$profile", @args);
    return scalar `timeout 90 $cmd 2>$out/chromium.log`;
}
# the mix, queued, held and dead ones among them (docs/deliveries.png is one of these)
chromium("--screenshot=$out/deliveries-mix.png", '--window-size=1280,1000', "$origin/deliveries");
ok(-s "$out/deliveries-mix.png", "a screenshot of the mix: $out/deliveries-mix.png");

# --- the JSON view: rows and states ------------------------------------------------
my $json = page_json();
my %want = (verified => ['delivered', 'verified', 200],
            duplicate => ['acknowledged', 'duplicate', 0],
            forged => ['refused', 'rejected-401', 0],
            ignored => ['acknowledged', 'ignored', 0],
            held => ['held', 'held', 500],
            queued_ok => ['delivered', 'queued', 200],
            queued_dead => ['dead', 'queued', 500],
            queued_retry => ['queued', 'queued', 503],
            xss => ['refused', 'rejected-401', 0],
            control => ['refused', 'rejected-401', 0],
            path => ['refused', 'rejected-401', 0]);
for my $what (sort keys %want) {
    my $row = by_delivery($json, $sent{$what});
    ok($row, "$what: listed") or next;
    is($row->{state}, $want{$what}[0], "$what: state $want{$what}[0]");
    is($row->{verdict}, $want{$what}[1], "$what: verdict $want{$what}[1]");
    is($row->{app_status}, $want{$what}[2], "$what: app status $want{$what}[2]");
    like($row->{reason}, qr/TWW\d{4}/, "$what: the reason names its log line ($row->{reason})")
        unless $row->{tag};
    like($row->{tag}, qr/^TWW01\d\d$/, "$what: the refusal's tag ($row->{tag})")
        if $want{$what}[0] eq 'refused';
}
{
    my $v = by_delivery($json, $sent{verified}) || {};
    is($v->{body_sha256}, TwTest::sha256_hex($sent{verified_body}),
       'verified: the body SHA-256');
    is($v->{body_size}, length $sent{verified_body}, 'verified: the body size');
    is($v->{location}, '/dl', 'verified: location /dl');
    is($v->{profile}, 'teamwork', 'verified: profile teamwork');
    is($v->{event}, 'page.updated', 'verified: event');
    ok($v->{app_time_ms} >= 0, 'verified: the time taken is known');
    my $f = by_delivery($json, $sent{forged}) || {};
    ok(!defined $f->{body_sha256}, 'forged: no SHA-256');
    is($f->{tag}, 'TWW0110', 'forged: TWW0110') or diag(explain($f));
    is($f->{reason}, 'signature mismatch', 'forged: "signature mismatch"');
    my @ids = map { $_->{id} } @{ $json->{deliveries} };
    is_deeply(\@ids, [sort { $b <=> $a } @ids], 'newest first');
    my ($sig_header) = grep { lc $_->{name} eq 'signature' } @{ $f->{headers} || [] };
    like($sig_header->{value} // '', qr/^\[redacted: 64 bytes\]$/, 'the Signature header is redacted');
    is((by_delivery($json, $sent{path}) || {})->{path}, '/dl/"><script>alert(2)</script>',
       'the path as sent (JSON)');
    is((by_delivery($json, $sent{control}) || {})->{event}, 'evil\x09red\xff\xfe',
       'a tab and bytes that are not UTF-8 kept as \xNN (JSON)');
    is($json->{counts}{held}, 1, 'counts: 1 held');
    is($json->{counts}{dead}, 1, 'counts: 1 dead');
    is($json->{counts}{queued}, 1, 'counts: 1 queued');
    my %q = map { $_ => by_delivery($json, $sent{$_}) || {} } qw(queued_ok queued_dead queued_retry);
    is($q{queued_ok}{attempts}, 3, 'queued, the app failed twice: delivered on attempt 3');
    like($q{queued_ok}{reason}, qr/TWW0230/, '... the reason says so') or diag($q{queued_ok}{reason});
    is($q{queued_dead}{attempts}, 3, 'queued, the app always failed: dead after 3 attempts');
    like($q{queued_dead}{reason}, qr/dead after 3 attempts.*TWW0451/, '... the reason says so')
        or diag($q{queued_dead}{reason});
    is($q{queued_retry}{attempts}, 1, 'queued, the app failed once: 1 attempt');
    ok(($q{queued_retry}{next_try_unix} // 0) > time + 5, '... the next try is ahead')
        or diag(explain($q{queued_retry}));
    like($q{queued_retry}{next_try} // '', qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
         '... in UTC');
    ok(!defined $q{queued_ok}{next_try}, 'a delivered row has no next try');
    is(scalar(grep { $_->{delivery} eq $sent{queued_ok} } @{ $json->{deliveries} }), 1,
       'the dispatches make no rows of their own: one row per delivery');

    ok($json->{counts}{refused} >= 2, 'counts: the refusals');
}
{
    my $one = page_json("&delivery=$sent{held}");
    is(scalar @{ $one->{deliveries} }, 1, '?delivery= finds the held delivery')
        or diag(explain($one));
    my $held = page_json('&state=held');
    is(join(',', map { $_->{delivery} } @{ $held->{deliveries} }), $sent{held},
       'state=held lists only it');
    my $rej = page_json('&verdict=rejected');
    ok(@{ $rej->{deliveries} } >= 2 && !grep({ $_->{state} ne 'refused' } @{ $rej->{deliveries} }),
       'verdict=rejected lists only refusals');
    my $ev = page_json('&event=comment.created');
    is(join(',', map { $_->{delivery} } @{ $ev->{deliveries} }), $sent{ignored},
       'event=comment.created lists only the ignored one');
}

# --- one delivery ------------------------------------------------------------------
{
    my $v = by_delivery($json, $sent{verified});
    my $one = page_json("&id=$v->{id}");
    is($one->{deliveries}[0]{body}, $sent{verified_body},
       'one verified delivery: its body (TwWebhookDeliveriesShowBody On)');
    my $f = by_delivery($json, $sent{forged});
    $one = page_json("&id=$f->{id}");
    ok(!defined $one->{deliveries}[0]{body}, 'one forged delivery: never its body');
    my $res = page("?id=$v->{id}");
    is($res->{status}, 200, 'the HTML view of one delivery');
    like($res->{body}, qr/\Q$v->{body_sha256}\E/, '... shows the SHA-256');
    like($res->{body}, qr/\[redacted: 64 bytes\]/, '... and the Signature redacted');
}

# --- what a row keeps, and its caps ----------------------------------------------
{
    my $body = new_body();
    my $res = post_hook('/nb/report.cgi', $body);
    is($res->{status}, 200, 'verified where TwWebhookDeliveriesShowBody is not set') or diag(describe($res));
    my $row = by_delivery(page_json(), $res->{id}) || {};
    my $one = page_json('&id=' . ($row->{id} // 0));
    ok($one->{deliveries}[0] && !defined $one->{deliveries}[0]{body},
       '... its body is not kept (Off by default)');
    is($one->{deliveries}[0]{body_sha256}, TwTest::sha256_hex($body), '... its SHA-256 is');

    # A profile that signs a prefix before the body (Slack: "v0:TS:"),
    # under the replay cache, whose message digest covers the prefix: the
    # row's SHA-256 is still the body's alone, never the digest's.
    my $sl_body = "token=x&team_id=T1&command=%2Fhook&text=$stamp";
    my $sl = post_slack('/sl/report.cgi', $sl_body);
    is($sl->{status}, 200, 'verified under a profile with a signed prefix (slack)') or diag(describe($sl));
    my ($sl_row) = grep { ($_->{path} // '') =~ m{^/sl/} } @{ page_json()->{deliveries} || [] };
    is(($sl_row || {})->{body_sha256}, TwTest::sha256_hex($sl_body),
       '... its row keeps the SHA-256 of the body alone, not of the signed prefix and body');

    # The same where TwWebhookDeliveriesShowBody is Off: nothing computed
    # the body's own SHA-256, and a second pass only for the page is not
    # made (issue 22); the row says so, never a wrong one.
    my $ns_body = "token=x&team_id=T1&command=%2Fhook&text=$stamp-ns";
    my $ns = post_slack('/ns/report.cgi', $ns_body);
    is($ns->{status}, 200, 'verified under slack where TwWebhookDeliveriesShowBody is Off') or diag(describe($ns));
    my ($ns_row) = grep { ($_->{path} // '') =~ m{^/ns/} } @{ page_json()->{deliveries} || [] };
    ok($ns_row && $ns_row->{verdict} eq 'verified' && !defined $ns_row->{body_sha256},
       '... its row has no SHA-256 (no second pass for the page alone)') or diag(explain($ns_row));
    like(page('?id=' . (($ns_row || {})->{id} // 0))->{body} // '',
         qr/not computed: no replay cache or inbox hashed this body, and TwWebhookDeliveriesShowBody is Off/,
         '... and its page says why');

    # A body over TwWebhookSpoolMemoryLimit (64 KiB) whose digest covers a
    # prefix: its SHA-256 would cost a second pass over a spooled body, so
    # the row says it was not computed (never a wrong one).
    my $big_body = "token=x&team_id=T1&command=%2Fhook&text=$stamp-big&pad=" . ('z' x 70000);
    my $big = post_slack('/sl/report.cgi?big', $big_body);
    is($big->{status}, 200, 'verified: a body of ' . length($big_body) . ' bytes, spooled to disk')
        or diag(describe($big));
    my ($big_row) = grep { ($_->{path} // '') eq '/sl/report.cgi?big' } @{ page_json()->{deliveries} || [] };
    ok($big_row && $big_row->{verdict} eq 'verified' && !defined $big_row->{body_sha256},
       '... its row has no SHA-256 (not computed for a spooled body)');
    my $big_page = page('?id=' . (($big_row || {})->{id} // 0));
    like($big_page->{body} // '', qr/not computed: the body was over TwWebhookSpoolMemoryLimit/,
         '... and its page says why');

    $body = '{"event":"page.updated","pad":"' . ('x' x 5000) . "\",\"n\":\"$stamp-big\"}";
    $res = post_hook('/dl/report.cgi', $body,
                     headers => [ 'X-Long' => 'y' x 300, map { ("X-Extra-$_" => $_) } 1 .. 12 ]);
    is($res->{status}, 200, 'a verified body of ' . length($body) . ' bytes, with many headers')
        or diag(describe($res));
    $row = by_delivery(page_json(), $res->{id}) || {};
    $one = (page_json('&id=' . ($row->{id} // 0))->{deliveries} || [])->[0] || {};
    my $kept = $one->{body} // '';
    is(length $kept, 4095, '... the body kept is cut at 4 KiB');
    is(substr($kept, -3), '...', '... visibly');
    is($kept, substr($body, 0, 4092) . '...', '... and is the start of the body');
    my ($long) = grep { $_->{name} eq 'X-Long' } @{ $one->{headers} || [] };
    is($long->{value}, ('y' x 156) . '...', 'a long header value is cut visibly');
    is(scalar @{ $one->{headers} || [] }, 16, '16 header lines are kept');
    ok(($one->{headers_left_out} // 0) > 0, '... the others are counted as left out');
}

# --- many writers at once: no torn row ------------------------------------------
{
    my @specs = map {
        my $body = new_body();
        push @secrets, sign($body, $SECRET{a});
        { hostport => $hp, path => '/dl/report.cgi', body => $body, event => 'page.updated',
          signature => ($_ % 2 ? sign($body, $SECRET{a}) : 'a' x 64), id => "burst$_-$stamp",
          headers => [ 'X-Burst' => "burst$_-$stamp" ] }
    } 1 .. 24;
    my @res = TwFleet::parallel_requests(@specs);
    is(scalar(grep { ($_->{status} // 0) == 200 || ($_->{status} // 0) == 401 } @res), 24,
       '24 deliveries at once (half forged) answered');
    my @rows = grep { $_->{delivery} =~ /^burst/ } @{ page_json()->{deliveries} };
    is(scalar @rows, 24, '... 24 rows');
    my @torn = grep {
        my $row = $_;
        my ($x) = grep { $_->{name} eq 'X-Burst' } @{ $row->{headers} };
        !$x || $x->{value} ne $row->{delivery}
            || ($row->{delivery} =~ /^burst(\d+)-/ && ($1 % 2 ? 'delivered' : 'refused') ne $row->{state})
    } @rows;
    is_deeply([ map { $_->{delivery} } @torn ], [], '... each row whole: its own headers and state');
}

# --- identical refusals in a row: one row counts them ------------------------------
{
    # A sender retrying what is refused, or a flood of one junk request:
    # counted in the newest row, so it cannot push the deliveries out.
    my $id = "repeat-$stamp";
    my $body = new_body();
    my $malformed = sub {
        post_hook('/nb/report.cgi', $body, signature => 'not-a-signature', id => $id)->{status} };
    is_deeply([ map { $malformed->() } 1 .. 5 ], [ (401) x 5 ],
              'five identical malformed signatures: 401 each');
    my @rows = grep { $_->{delivery} eq $id } @{ page_json()->{deliveries} || [] };
    is(scalar @rows, 1, '... one row counts them') or diag(explain(\@rows));
    is($rows[0]{count}, 5, '... count 5');
    is($rows[0]{attempts}, 5, '... tries: the 5 copies of the delivery id');
    is($rows[0]{tag}, 'TWW0103', '... the refusal\'s tag');
    ok(($rows[0]{last_time} // '') ge ($rows[0]{time} // 'z'), '... the last one at or after the first');
    like(page("?delivery=$id")->{body} // '', qr/&times;5 in a row, the last /,
         '... the list says so');
    like(page("?id=$rows[0]{id}")->{body} // '', qr/&times;5 in a row, the last /,
         '... and the delivery\'s own page');

    # Any other row in between starts a new one: a different refusal of
    # the same delivery id (a wrong signature), then the first again.
    is(post_hook('/nb/report.cgi', $body, signature => sign($body, 'not-the-secret'), id => $id)->{status}, 401,
       'then a wrong signature: 401');
    is($malformed->(), 401, 'then the malformed one again: 401');
    is($malformed->(), 401, '... twice');
    @rows = grep { $_->{delivery} eq $id } @{ page_json()->{deliveries} || [] };
    is_deeply([ map { [ $_->{tag}, $_->{count} ] } @rows ],
              [ [ 'TWW0103', 2 ], [ 'TWW0110', 1 ], [ 'TWW0103', 5 ] ],
              '... three rows, newest first: never counted in an older row')
        or diag(explain(\@rows));
    is($rows[0]{attempts}, 8, '... the newest row\'s tries: all 8 copies');

    # Another client, path or delivery id is another refusal.
    is(post_hook('/nb/report.cgi?other', $body, signature => 'not-a-signature', id => $id)->{status},
       401, 'the same to another path: 401');
    @rows = grep { $_->{delivery} eq $id } @{ page_json()->{deliveries} || [] };
    is_deeply([ map { $_->{count} } @rows ], [ 1, 2, 1, 5 ], '... a row of its own');
}

# --- the same over HTTP/2 (h2c): each stream a request of its own ----------------
{
    # Refused before its body is read, each stream is answered and reset
    # (t/092_h2.t); nghttp reads the answer. Three connections, one row.
    my $id = "repeat-h2-$stamp";
    my $body = new_body();
    my @res = map {
        tw_nghttp(url => "http://$hp/nb/report.cgi", body => $body, event => 'page.updated',
                  signature => 'not-a-signature', id => $id)
    } 1 .. 3;
    is_deeply([ map { $_->{status} // $_->{error} } @res ], [ (401) x 3 ],
              'three identical malformed signatures over h2c: 401 each')
        or diag($res[0]{verbose});
    like($res[0]{verbose}, qr/recv SETTINGS frame/, '... spoken as HTTP/2');
    my @rows = grep { $_->{delivery} eq $id } @{ page_json()->{deliveries} || [] };
    is(scalar @rows, 1, '... one row counts them') or diag(explain(\@rows));
    is($rows[0]{count}, 3, '... count 3');
    is($rows[0]{method}, 'POST', '... the request line as sent: POST');
    is($rows[0]{path}, '/nb/report.cgi', '... and the path');
}

# --- the HTML page: headers, escaping ----------------------------------------------
{
    my $res = page('');
    is($res->{status}, 200, 'the page answers 200');
    my $h = $res->{headers};
    like($h->{'content-security-policy'} // '', qr/default-src 'none'; style-src 'nonce-[0-9a-f]{32}'/,
         'Content-Security-Policy: default-src none, a style nonce');
    unlike($h->{'content-security-policy'} // '', qr/script-src/, '... and no script source');
    is($h->{'x-frame-options'}, 'DENY', 'X-Frame-Options: DENY');
    is($h->{'cache-control'}, 'no-store', 'Cache-Control: no-store');
    is($h->{'x-content-type-options'}, 'nosniff', 'X-Content-Type-Options: nosniff');
    like($h->{'content-type'}, qr{^text/html; charset=utf-8}, 'text/html; charset=utf-8');
    like($res->{body}, qr/<meta name="viewport"/, 'a viewport for phones');
    unlike($res->{body}, qr/<script|<img/i, 'no markup from a request in the HTML');
    like($res->{body}, qr/&lt;script&gt;document.title=&quot;pwned&quot;&lt;\/script&gt;/,
         'the <script> event is shown escaped');
    like($res->{body}, qr/evil\\x09red\\xff\\xfe/, 'a tab and bytes not UTF-8 are shown as \\xNN');
    my ($nonce) = $res->{body} =~ /<style nonce="([0-9a-f]{32})">/;
    ok($nonce && ($h->{'content-security-policy'} // '') =~ /'nonce-\Q$nonce\E'/,
       'the style sheet carries the header\'s nonce');
}

# --- in a browser --------------------------------------------------------------------
{
    my $dom = chromium('--dump-dom', "$origin/deliveries");
    like($dom, qr/Webhook deliveries/, 'Chromium renders the page') or diag(`tail -20 $out/chromium.log`);
    push @answers, ['the DOM Chromium built', $dom];
    unlike($dom, qr/<script|<img/i, 'the DOM holds no <script> or <img> element');
    unlike($dom, qr/<title>pwned/, '... and no script ran (the title is the page\'s)');
    for my $what (qw(verified duplicate forged ignored held)) {
        my $d = quotemeta $sent{$what};
        like($dom, qr/<td[^>]*class="mono delivery">$d<\/td>/, "the DOM lists $what");
    }
    like($dom, qr/class="badge s-held">held</, 'a held badge with its word');
    like($dom, qr/class="badge s-refused">refused</, 'a refused badge with its word');
    like($dom, qr/class="badge s-delivered">delivered</, 'a delivered badge with its word');
    like($dom, qr/<tr class="row"(?:(?!<\/tr>).)*class="badge s-dead">dead</s,
         'a dead badge with its word in the list');
    like($dom, qr/class="badge s-queued">queued<\/span><br><small>next try in \d+ (?:s|min)</,
         'a queued badge with its word and the next try');
    like($dom, qr/<td data-label="Tries" class="num">3<\/td>/, 'the tries of a queued delivery');
    like($dom, qr/<td[^>]*class="mono delivery">"&gt;&lt;img src=x onerror=alert\(1\)&gt;<\/td>/,
         'the "><img onerror> delivery id is text in its cell');
    like($dom, qr/<td[^>]*class="mono event">&lt;script&gt;document.title="pwned"&lt;\/script&gt;<\/td>/,
         'the <script> event is text in its cell');
    my $p = by_delivery($json, $sent{path}) || {};
    my $one = chromium('--dump-dom', "$origin/deliveries?id=" . ($p->{id} // 0));
    push @answers, ['the DOM of one delivery', $one];
    like($one, qr{<dd class="mono">POST /dl/"&gt;&lt;script&gt;alert\(2\)&lt;/script&gt;</dd>},
         'one delivery: the path with "><script> is text');
    unlike($one, qr/<script|<img/i, '... and its DOM holds no injected element');
    like($dom, qr/\d+ s ago|\d+ min ago/, 'times say how long ago');
    like($dom, qr/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/, 'times in UTC');
    chromium("--screenshot=$out/deliveries.png", '--window-size=1280,900', "$origin/deliveries");
    ok(-s "$out/deliveries.png", "a screenshot: $out/deliveries.png");
    chromium("--screenshot=$out/deliveries-phone.png", '--window-size=390,844',
             "$origin/deliveries");
    ok(-s "$out/deliveries-phone.png", "a phone-width screenshot: $out/deliveries-phone.png");
    my $held = by_delivery($json, $sent{held}) || {};
    chromium("--screenshot=$out/delivery-one.png", '--window-size=1280,1100',
             "$origin/deliveries?id=" . ($held->{id} // 0));
    ok(-s "$out/delivery-one.png", "a screenshot of one delivery: $out/delivery-one.png");
    my $q = by_delivery($json, $sent{queued_retry}) || {};
    my $qdom = chromium('--dump-dom', "$origin/deliveries?id=" . ($q->{id} // 0));
    like($qdom, qr{<dt>Tries</dt><dd>\d+ · last by the queue \d{4}-\d\d-\d\d [\d:]+ UTC \(\d+ s ago\) · next try \d{4}-\d\d-\d\d [\d:]+ UTC \(in \d+ (?:s|min)\)</dd>},
         'one queued delivery: its tries, the last and the next') or diag($qdom);
    chromium("--screenshot=$out/delivery-queued.png", '--window-size=1280,1100',
             "$origin/deliveries?id=" . ($q->{id} // 0));
    ok(-s "$out/delivery-queued.png", "a screenshot of one queued delivery: $out/delivery-queued.png");
}

# --- actions: the inbox, CSRF --------------------------------------------------------
# the /dl inbox's entries (the queues' inboxes are listed too)
sub inbox_entries {
    my $j = page_json();
    my ($inbox) = grep { $_->{store} eq $dir } @{ $j->{inbox} || [] };
    return @{ ($inbox || {})->{entries} || [] };
}
is((page_json()->{inbox}[0] || {})->{store}, $dir, 'the inboxes in the order of the configuration');
# a second held entry, whose app always fails: the one dropped below
{
    my $res = post_hook('/dl/report.cgi?status=500', new_body());
    is($res->{status}, 200, 'a second delivery held (its app always fails)') or diag(describe($res));
    $sent{held2} = $res->{id};
}
my @entries = inbox_entries();
is(scalar @entries, 2, 'the inbox lists the two held entries') or diag(explain(\@entries));
my ($held_entry) = grep { $_->{path} =~ /fail_until/ } @entries;
my ($drop_entry) = grep { $_->{path} !~ /fail_until/ } @entries;
is($_->{state}, 'held', "... $_->{path} as held") for grep { defined } $held_entry, $drop_entry;
my $entry = ($drop_entry || {})->{id} // 'none';
my ($nonce) = (page('')->{body} // '') =~ /name="nonce" value="([0-9a-f]{32})"/;
ok($nonce, 'the page\'s forms carry a nonce');

sub action {
    my ($form, @headers) = @_;
    my $res = tw_request(hostport => $hp, path => '/deliveries', delivery => undef,
                         content_type => 'application/x-www-form-urlencoded', body => $form,
                         headers => \@headers);
    push @answers, ["POST $form", $res->{body} // ''];
    return $res;
}
my $drop = "store=0&entry=$entry&action=drop";
for my $case (['no nonce', "$drop", Origin => $origin],
              ['a wrong nonce', "nonce=" . ('0' x 32) . "&$drop", Origin => $origin],
              ['a foreign Origin', "nonce=$nonce&$drop", Origin => 'http://evil.example'],
              ['Origin null', "nonce=$nonce&$drop", Origin => 'null'],
              ['a foreign Referer', "nonce=$nonce&$drop", Referer => 'http://evil.example/deliveries'],
              ['a Referer on another port', "nonce=$nonce&$drop",
               Referer => 'http://127.0.0.1:1/deliveries'],
              ['neither Origin nor Referer', "nonce=$nonce&$drop"]) {
    my ($what, $form, @h) = @$case;
    my $mark = $srv->log_mark;
    my $res = action($form, @h);
    is($res->{status}, 403, "drop with $what: 403") or diag(describe($res));
    like($srv->log_since($mark), qr/\[twwebhook:notice\].*TWW0250: deliveries page: action refused/,
         '... logged at notice (TWW0250)');
}
{
    my $mark = $srv->log_mark;
    my $res = page("?nonce=$nonce&$drop");
    is($res->{status}, 403, 'a GET carrying the action: 403');
    like($srv->log_since($mark), qr/TWW0250: .*GET/, '... logged');
    is(scalar(grep { $_->{id} eq $entry } inbox_entries()), 1,
       'after all of these the entry is still there');
}
# Redeliver: a held entry (TwWebhookInboxHold On, no TwWebhookQueue here)
# is queued again and the dispatcher hands it to the app, whose 2xx ends it.
{
    my $held = ($held_entry || {})->{id} // 'none';
    my $mark = $srv->log_mark;
    my $res = action("nonce=$nonce&store=0&entry=$held&action=redeliver", Origin => $origin);
    is($res->{status}, 303, 'Redeliver from the page (nonce, own origin): 303 back to the page')
        or diag(describe($res));
    like($srv->log_since($mark),
         qr/\[twwebhook:notice\].*TWW0251: deliveries page: redeliver of $held in the inbox \Q$dir\E by user -, client 127\.0\.0\.1: 1 done, 0 failed/,
         '... logged at notice with user, client and what');
    my $until = time + 15;
    my @got;
    until ((@got = grep { ($_->{TW_WEBHOOK_ATTEMPT} // '') eq '2' } report_of($reports, $sent{held}))
           || time > $until) { sleep 0.1 }
    is(scalar @got, 1, '... the dispatcher delivers it: the app gets it once, as attempt 2')
        or diag(explain([ report_of($reports, $sent{held}) ]));
    is($got[0]{body_sha256}, $sent{held_sha256}, '... the body byte for byte') if @got;
    $until = time + 10;
    sleep 0.1 while grep({ $_->{id} eq $held } inbox_entries()) && time < $until;
    is(scalar(grep { $_->{id} eq $held } inbox_entries()), 0, '... and it leaves the inbox');
    my $row = by_delivery(page_json(), $sent{held}) || {};
    is($row->{state}, 'delivered', '... its row says delivered') or diag(explain($row));
    is($row->{attempts}, 2, '... on attempt 2');
    is($row->{app_status}, 200, '... the app answered 200');
}
{
    my $mark = $srv->log_mark;
    my $res = action("nonce=$nonce&store=0&entry=$entry&action=drop", Origin => $origin,
                     Referer => "$origin/deliveries");
    is($res->{status}, 303, 'Drop from the page (nonce, own origin): 303 back to the page')
        or diag(describe($res));
    like($res->{headers}{location} // '', qr{^\Q$origin\E/deliveries\?done=1&failed=0$},
         '... to the page, saying one was done');
    like($srv->log_since($mark),
         qr/\[twwebhook:notice\].*TWW0251: deliveries page: drop of $entry in the inbox \Q$dir\E by user -, client 127\.0\.0\.1: 1 done/,
         '... logged at notice with user, client and what');
    is(scalar(inbox_entries()), 0, '... and the entry is gone');
}

{
    my $mark = $srv->log_mark;
    my $res = tw_request(hostport => $hp, path => '/deliveries-auth', delivery => undef,
                         content_type => 'application/x-www-form-urlencoded',
                         body => "nonce=$nonce&store=0&entry=all&action=drop",
                         headers => [ Authorization => 'Basic ' . MIME::Base64::encode_base64('operator:page-pw', ''),
                                      Referer => "$origin/deliveries-auth" ]);
    push @secrets, 'page-pw', MIME::Base64::encode_base64('operator:page-pw', '');
    push @answers, ['POST /deliveries-auth', $res->{body} // ''];
    is($res->{status}, 303, 'Drop all behind a login (Referer of the page, no Origin): 303')
        or diag(describe($res));
    like($srv->log_since($mark), qr/TWW0251: deliveries page: drop of all in the inbox \Q$dir\E by user operator, client 127\.0\.0\.1: 0 done, 0 failed/,
         '... logged with the user who logged in');
}

# --- server-status ----------------------------------------------------------------------
{
    my $res = tw_request(hostport => $hp, method => 'GET', delivery => undef,
                         path => '/server-status?auto');
    like($res->{body} // '', qr/^TwWebhookDeliveriesKept: \d+$/m, 'server-status?auto: the ring\'s line');
    $res = tw_request(hostport => $hp, method => 'GET', delivery => undef, path => '/server-status');
    like($res->{body} // '', qr/recent deliveries \(twwebhook-deliveries\)<\/td><td>\d+ kept of 60: /,
         'server-status: a one-line summary');
}

# --- a graceful restart keeps the rows --------------------------------------------------
{
    my @before = map { $_->{id} . ' ' . $_->{delivery} } @{ page_json()->{deliveries} };
    ok($srv->graceful, 'graceful restart') or diag($srv->why);
    my @after = map { $_->{id} . ' ' . $_->{delivery} } @{ page_json()->{deliveries} };
    is_deeply(\@after, \@before, '... the same rows after it');
    my $res = action("nonce=$nonce&store=0&entry=all&action=drop", Origin => $origin);
    is($res->{status}, 403, '... and the last start\'s nonce is refused');

    # fewer rows: the newest are kept
    $srv->replace_conf('TwWebhookDeliveriesLog 60', 'TwWebhookDeliveriesLog 5');
    ok($srv->graceful, 'graceful restart with TwWebhookDeliveriesLog 5') or diag($srv->why);
    my @five = map { $_->{id} . ' ' . $_->{delivery} } @{ page_json()->{deliveries} };
    is_deeply(\@five, [ @after[0 .. 4] ], '... the newest 5 rows are kept');
    my $res2 = post_hook('/dl/report.cgi', new_body());
    my $j = page_json();
    is($j->{deliveries}[0]{delivery}, $res2->{id}, '... a new delivery comes first');
    is(scalar @{ $j->{deliveries} }, 5, '... and the ring holds 5');
}

# --- nothing secret in any answer --------------------------------------------------------
{
    my @leaks;
    for my $a (@answers) {
        for my $s (grep { defined && length } @secrets) {
            push @leaks, "$a->[0]: " . substr($s, 0, 8) . '...' if index($a->[1], $s) >= 0;
        }
    }
    ok(@answers > 20, scalar(@answers) . ' answers of the page looked at');
    is_deeply(\@leaks, [], 'no secret, signature or MAC in any of them');
}

done_testing();
