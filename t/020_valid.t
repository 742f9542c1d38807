# Correctly signed deliveries reach both downstreams (CGI through mod_cgid,
# PHP through php-fpm) byte for byte, with the TW_WEBHOOK_* variables.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $body = qq({"event":"page.updated","page":{"id":42,"title":"Caf\xc3\xa9 \\u00e9"}});

for my $ds (downstreams()) {
    my $sig = sign($body, $SECRET{a});
    my %ok = (TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'page.updated',
              TW_WEBHOOK_SECRET_INDEX => '1');

    my $res = tw_request(path => url('prot', $ds), body => $body,
                         signature => $sig, event => 'page.updated');
    check_delivered($res, $ds, $body, { %ok, TW_WEBHOOK_DELIVERY => $res->{id} },
                    "$ds: lowercase hex signature");

    $res = tw_request(path => url('prot', $ds), body => $body,
                      signature => uc $sig, event => 'page.updated');
    check_delivered($res, $ds, $body, { %ok, TW_WEBHOOK_DELIVERY => $res->{id} },
                    "$ds: uppercase hex signature");

    $res = tw_request(path => url('prot', $ds), body => $body,
                      signature => "sha256=$sig", event => 'page.updated');
    check_delivered($res, $ds, $body, { %ok, TW_WEBHOOK_DELIVERY => $res->{id} },
                    "$ds: sha256= prefixed signature");

    # mixed case hex digits
    (my $mixed = $sig) =~ s/([a-f])([0-9a-f])/\U$1\E$2/g;
    $res = tw_request(path => url('prot', $ds), body => $body,
                      signature => $mixed, event => 'page.updated');
    check_delivered($res, $ds, $body, { %ok, TW_WEBHOOK_DELIVERY => $res->{id} },
                    "$ds: mixed-case hex signature");

    # rotation: two secrets on /rotate, inline "old" first, file: second
    $res = tw_request(path => url('rotate', $ds), body => $body,
                      signature => sign($body, $SECRET{old}), event => 'task.created');
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_SECRET_INDEX => '1',
                      TW_WEBHOOK_EVENT => 'task.created', TW_WEBHOOK_DELIVERY => $res->{id} },
                    "$ds: first of two secrets (inline) gives SECRET_INDEX 1");

    $res = tw_request(path => url('rotate', $ds), body => $body,
                      signature => sign($body, $SECRET{file}), event => 'task.created');
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_SECRET_INDEX => '2',
                      TW_WEBHOOK_EVENT => 'task.created', TW_WEBHOOK_DELIVERY => $res->{id} },
                    "$ds: second of two secrets (file:, LF-terminated) gives SECRET_INDEX 2");

    # the trailing newline of a secret file is not part of the secret
    $res = tw_request(path => url('rotate', $ds), body => $body,
                      signature => sign($body, "$SECRET{file}\n"));
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', 0,
                   "$ds: the file secret's trailing LF is not part of the key");

    $res = tw_request(path => url('crlf', $ds), body => $body,
                      signature => sign($body, $SECRET{crlf}), event => 'comment.created');
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_SECRET_INDEX => '1',
                      TW_WEBHOOK_EVENT => 'comment.created', TW_WEBHOOK_DELIVERY => $res->{id} },
                    "$ds: file: secret with CRLF line end");

    # a secret of one location is no good on another
    my $mark = log_mark();
    $res = tw_request(path => url('prot', $ds), body => $body,
                      signature => sign($body, $SECRET{old}));
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   "$ds: /rotate's secret is refused on /prot");

    # Event and Delivery are optional
    $res = tw_request(path => url('prot', $ds), body => $body,
                      signature => $sig, delivery => undef);
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_SECRET_INDEX => '1',
                      TW_WEBHOOK_EVENT => undef, TW_WEBHOOK_DELIVERY => undef },
                    "$ds: no Event, no Delivery: accepted, variables not set");

    # the longest plain values and every allowed character
    my $event = join('', 'a' .. 'z', 0 .. 9, '._-') x 3;
    $event .= 'x' x (128 - length $event);
    my $delivery = join('', 'A' .. 'Z', 'a' .. 'z', 0 .. 9, '-') x 2;
    $delivery .= 'D' x (128 - length $delivery);
    $res = tw_request(path => url('prot', $ds), body => $body, signature => $sig,
                      event => $event, delivery => $delivery);
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => $event,
                      TW_WEBHOOK_DELIVERY => $delivery, TW_WEBHOOK_SECRET_INDEX => '1' },
                    "$ds: 128-character Event and Delivery");
}

# Accepted deliveries are logged at debug (LogLevel twwebhook:debug).
my $mark = log_mark();
my $res = tw_request(path => url('prot', 'cgi'), body => $body,
                     signature => sign($body, $SECRET{a}));
is($res->{status}, 200, 'one more accepted delivery');
ok(wait_log($mark, qr/\[twwebhook:debug\].*\Q$res->{id}\E/),
   'a [twwebhook:debug] line names the accepted delivery')
    or diag(log_since($mark));

done_testing();
