# SPDX-License-Identifier: Apache-2.0
# Which bytes are verified, and that the app reads exactly those (issue 19,
# item 4). The signature covers the body as sent; the app must read the
# same bytes, with a CONTENT_LENGTH that matches them.
#  - A Content-Encoding other than identity is refused with 415 before the
#    body is read: under SetInputFilter DEFLATE (/inflate/) mod_deflate
#    would inflate the verified bytes above the module, and a CGI reading
#    CONTENT_LENGTH bytes (the compressed length) would act on a prefix of
#    the inflated body.
#  - An identity body passes DEFLATE unchanged, with its CONTENT_LENGTH.
#  - An input filter that changes bytes (mod_sed's Sed: /sed/, and /sed-in/
#    rewritten into the unprotected /sed-open/) sits above the verified
#    body: the app never runs (500, the filter named at error level), and
#    the replay cache and the inbox see it as not handled (own httpd).
# report.cgi?exact reads CONTENT_LENGTH bytes and no more (RFC 3875).
# Locations in t/conf/protocols.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use IO::Compress::Gzip qw(gzip $GzipError);
use TwTest;
use TwFleet;

my $plain = '{"event":"page.updated","page":{"id":42,"title":"a banana, a mango, an apple"}}';
gzip(\$plain => \my $gz) or die "gzip: $GzipError";

sub encoding_refused_re {
    my ($coding) = @_;
    return qr/Content-Encoding \Q$coding\E not supported: the signature covers the body as sent/;
}

# The 415 itself: the refusal line as its body, and which coding is taken.
sub check_415_answer {
    my ($res, $coding, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    like($res->{body} // '', qr/^webhook rejected with 415: Content-Encoding \Q$coding\E not supported/,
         "$name: the refusal line as the body");
    is($res->{headers}{'accept-encoding'}, 'identity', "$name: Accept-Encoding: identity (RFC 7694)");
}

# ---- gzip under SetInputFilter DEFLATE: refused before the body is read ----
# Bodies of several sizes: 64 B, 6.4 KB and 256 KiB inflated.
for my $ds (downstreams()) {
    for my $n (1, 100, 4096) {
        my $text = join('', map { sha256_hex("inflate-$ds-$_") } 1 .. $n);
        gzip(\$text => \my $packed) or die "gzip: $GzipError";
        my $name = "$ds: gzip, " . length($text) . ' bytes inflated (' . length($packed)
            . ' sent), under DEFLATE';
        for my $signed ([ 'as sent', $packed ], [ 'inflated', $text ]) {
            my $mark = log_mark();
            my $res = tw_request(path => "/inflate/report.$ds?exact", body => $packed,
                                 signature => sign($signed->[1], $SECRET{a}),
                                 event => 'page.updated',
                                 headers => [ 'Content-Encoding' => 'gzip' ]);
            check_rejected($res, 415, 'TWW0127', encoding_refused_re('gzip'), $mark,
                           "$name, signed $signed->[0]: 415");
            check_415_answer($res, 'gzip', "$name, signed $signed->[0]");
        }
    }
}

# Expect: 100-continue: refused on the headers, never asked for the body.
{
    my $mark = log_mark();
    my $res = tw_request(path => '/inflate/report.cgi?exact', body => $gz, expect => 1,
                         timeout => 10, signature => sign($gz, $SECRET{a}),
                         headers => [ 'Content-Encoding' => 'gzip' ]);
    is_deeply($res->{interim}, [], 'gzip with Expect: 100-continue: no 100 Continue');
    is($res->{body_sent}, 0, 'gzip with Expect: 100-continue: the body was never sent');
    check_rejected($res, 415, 'TWW0127', encoding_refused_re('gzip'), $mark,
                   'gzip with Expect: 100-continue: 415');
}

# Every content coding is refused, with or without DEFLATE in the location
# (the module's JSON rules and the app would see coded bytes): a list
# counts as coded as soon as one of its codings is not identity.
for my $coding ('gzip', 'x-gzip', 'deflate', 'br', 'compress', 'gzip, identity',
                'identity, gzip', 'identity,,gzip') {
    my $mark = log_mark();
    my $res = tw_request(path => '/prot/report.cgi?exact', body => $plain,
                         signature => sign($plain, $SECRET{a}),
                         headers => [ 'Content-Encoding' => $coding ]);
    check_rejected($res, 415, 'TWW0127', encoding_refused_re($coding), $mark,
                   "Content-Encoding \"$coding\" without DEFLATE: 415");
}
# two header lines: httpd joins them; the second one counts too
{
    my $mark = log_mark();
    my $res = tw_request(path => '/prot/report.cgi?exact', body => $plain,
                         signature => sign($plain, $SECRET{a}),
                         headers => [ 'Content-Encoding' => 'identity',
                                      'Content-Encoding' => 'gzip' ]);
    check_rejected($res, 415, 'TWW0127', encoding_refused_re('identity, gzip'), $mark,
                   'Content-Encoding identity and a second line gzip: 415');
}

# ---- identity bodies: delivered byte for byte, CONTENT_LENGTH right ---------
my %vars = (TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'page.updated');
for my $ds (downstreams()) {
    for my $coding (undef, 'identity', 'Identity', ' identity , identity') {
        my $what = defined $coding ? "Content-Encoding \"$coding\"" : 'no Content-Encoding';
        my $res = tw_request(path => "/inflate/report.$ds?exact", body => $plain,
                             signature => sign($plain, $SECRET{a}), event => 'page.updated',
                             headers => [ defined $coding ? ('Content-Encoding' => $coding) : () ]);
        check_delivered($res, $ds, $plain, { %vars, TW_WEBHOOK_DELIVERY => $res->{id} },
                        "$ds: $what under DEFLATE: delivered as sent");
    }
}
# chunked: the module sets the length, DEFLATE leaves it alone
{
    my $res = tw_request(path => '/inflate/report.cgi?exact', body => $plain, chunked => 7,
                         signature => sign($plain, $SECRET{a}), event => 'page.updated');
    check_delivered($res, 'cgi', $plain, { %vars, TW_WEBHOOK_DELIVERY => $res->{id} },
                    'cgi: chunked identity body under DEFLATE: delivered with its length');
}

# ---- an input filter that changes the body: the app never runs --------------
my $sed_reason = qr/input filter "sed" would change the verified body before the app reads it/;
for my $case ([ '/sed/report.cgi?exact', 'cgi: SetInputFilter Sed' ],
              [ '/sed/report.php', 'php: SetInputFilter Sed' ],
              [ '/sed-in/hooks/teamwork', 'SetInputFilter Sed after a redirect out of a protected directory' ]) {
    my ($path, $name) = @$case;
    my $mark = log_mark();
    my $res = tw_request(path => $path, body => $plain, signature => sign($plain, $SECRET{a}),
                         event => 'page.updated');
    TwTest::expect_fault($res->{id});
    check_rejected($res, 500, 'TWW0421', $sed_reason, $mark, "$name: 500");
    like(wait_log($mark, qr/TWW0421: .*\Q$res->{id}\E/) // '',
         qr/remove it from where the webhook is handled/, "$name: the log says what to do");
}

# ---- ... and nothing is settled as handled -----------------------------------
# Its own httpd (t/lib/TwFleet.pm): the replay cache and the inbox are on,
# and /cenc/sed/ is the section of /cenc/ with the filter. The 500 leaves
# the replay reservation and the inbox entry "not handled": the sender's
# retry, once the filter is gone (here: at /cenc/, same scope), reaches the
# app, and only then is the delivery a duplicate and the entry gone. With
# TwWebhookInboxHold On (/cenchold/) the 500 is held like an app's 5xx.
{
    my $base = TwTest::tw_vars()->{t_logs} . '/cenc-inbox';
    my ($inbox, $held) = ("$base/off", "$base/held");
    make_path($inbox, $held);
    chmod 0700, $inbox, $held;
    my $srv = TwFleet->new(
        name => 'cenc', modules => [qw(socache_shmcb sed)],
        routes => [qw(cenc cenc/sed cenchold)], conf => <<"EOF");
TwWebhookReplayCache "shmcb:cenc-replay(131072)"
<Location /cenc>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$inbox"
</Location>
<Location /cenc/sed>
    SetInputFilter Sed
    InputSed "s/a/b/g"
</Location>
<Location /cenchold>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox "$held"
    TwWebhookInboxHold On
    SetInputFilter Sed
    InputSed "s/a/b/g"
</Location>
EOF
    TwFleet::start_or_exit($srv, 'an httpd with TwWebhookReplayCache and TwWebhookInbox starts on '
                                 . $srv->hostport);
    my ($body, $sig) = TwFleet::signed_body('page', 'cenc');
    my %req = (hostport => $srv->hostport, body => $body, signature => $sig,
               event => 'page.updated');
    # one line of "twwebhook-inbox list" per entry: id received event delivery bytes attempts state status
    my $entries = sub {
        my (undef, $out) = TwFleet::inbox_tool('list', $_[0] // $inbox);
        return [ map { [ split / / ] } grep { /\S/ } split /\n/, $out ];
    };

    my $mark = $srv->log_mark;
    my $res = tw_request(%req, path => '/cenc/sed/report.cgi?exact');
    TwTest::expect_fault($res->{id});
    is($res->{status}, 500, 'replay cache and inbox, SetInputFilter Sed: 500') or diag(describe($res));
    is(downstream_ran($res->{id}), 0, '... the app never ran');
    ok($srv->wait_log($mark, qr/\[twwebhook:error\].* TWW0421: rejected with 500: $sed_reason/),
       '... TWW0421 logged at error') or diag($srv->log_since($mark));
    my $e = $entries->();
    is(scalar @$e, 1, '... one inbox entry is kept') or diag(explain($e));
    is($e->[0][7], 500, '... with status 500');
    is($e->[0][6], 'direct', '... state direct');

    $res = tw_request(%req, path => '/cenc/report.cgi?exact');
    check_delivered($res, 'cgi', $body, { TW_WEBHOOK_VERIFIED => '1' },
                    'the retry without the filter: delivered, not a duplicate');
    is(scalar @{ $entries->() }, 0, '... and the inbox entry is gone');

    $res = tw_request(%req, path => '/cenc/report.cgi?exact');
    is($res->{status}, 200, 'a copy after that: 200') or diag(describe($res));
    like($res->{body} // '', qr/^duplicate: already handled/, '... a duplicate, without the app');
    is(downstream_ran($res->{id}), 0, '... the app never ran');

    ($body, $sig) = TwFleet::signed_body('page', 'cenchold');
    $mark = $srv->log_mark;
    $res = tw_request(%req, body => $body, signature => $sig, path => '/cenchold/report.cgi');
    TwTest::expect_fault($res->{id});
    is($res->{status}, 200, 'TwWebhookInboxHold On, SetInputFilter Sed: held (200)')
        or diag(describe($res));
    is($res->{body}, "accepted: held for redelivery\n", '... "accepted: held for redelivery"');
    is(downstream_ran($res->{id}), 0, '... the app never ran');
    ok($srv->wait_log($mark, qr/TWW0421: rejected with 500: $sed_reason/),
       '... TWW0421 logged') or diag($srv->log_since($mark));
    $e = $entries->($held);
    is(scalar @$e, 1, '... one inbox entry is kept') or diag(explain($e));
    is($e->[0][7], 500, '... with status 500, for twwebhook-inbox redeliver');
    is($e->[0][6], 'held', '... state held');
    $srv->stop;
}

done_testing();
