# SPDX-License-Identifier: Apache-2.0
# Correctly signed deliveries reach both downstreams (CGI through mod_cgid,
# PHP through php-fpm) byte for byte, with the TW_WEBHOOK_* variables.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $body = qq({"event":"page.updated","page":{"id":42,"title":"Caf\xc3\xa9 \\u00e9"}});

# The longest plain Event and Delivery values, with every allowed character.
my $long_event = join('', 'a' .. 'z', 0 .. 9, '._-') x 3;
$long_event .= 'x' x (128 - length $long_event);
my $long_delivery = join('', 'A' .. 'Z', 'a' .. 'z', 0 .. 9, '-') x 2;
$long_delivery .= 'D' x (128 - length $long_delivery);

for my $ds (downstreams()) {
    my $sig = sign($body, $SECRET{a});
    (my $mixed = $sig) =~ s/([a-f])([0-9a-f])/\U$1\E$2/g;   # mixed-case hex digits

    # what, prefix, signature, Event, SECRET_INDEX expected, and the Delivery
    # header when it is not the request id (undef: none sent)
    my @accepted = (
        [ 'lowercase hex signature', 'prot', $sig, 'page.updated', 1 ],
        [ 'uppercase hex signature', 'prot', uc $sig, 'page.updated', 1 ],
        [ 'sha256= prefixed signature', 'prot', "sha256=$sig", 'page.updated', 1 ],
        [ 'mixed-case hex signature', 'prot', $mixed, 'page.updated', 1 ],
        # rotation: two secrets on /rotate, inline "old" first, file: second
        [ 'first of two secrets (inline) gives SECRET_INDEX 1', 'rotate',
          sign($body, $SECRET{old}), 'task.created', 1 ],
        [ 'second of two secrets (file:, LF-terminated) gives SECRET_INDEX 2', 'rotate',
          sign($body, $SECRET{file}), 'task.created', 2 ],
        [ 'file: secret with CRLF line end', 'crlf', sign($body, $SECRET{crlf}), 'comment.created', 1 ],
        # Event and Delivery are optional
        [ 'no Event, no Delivery: accepted, variables not set', 'prot', $sig, undef, 1, undef ],
        [ '128-character Event and Delivery', 'prot', $sig, $long_event, 1, $long_delivery ],
    );
    for my $case (@accepted) {
        my ($what, $prefix, $signature, $event, $index, @delivery) = @$case;
        my $res = tw_request(path => url($prefix, $ds), body => $body, signature => $signature,
                             event => $event, @delivery ? (delivery => $delivery[0]) : ());
        check_delivered($res, $ds, $body,
                        { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_SECRET_INDEX => "$index",
                          TW_WEBHOOK_EVENT => $event,
                          TW_WEBHOOK_DELIVERY => @delivery ? $delivery[0] : $res->{id} },
                        "$ds: $what");
    }

    for my $case (
        # the trailing newline of a secret file is not part of the secret
        [ "the file secret's trailing LF is not part of the key", 'rotate',
          sign($body, "$SECRET{file}\n") ],
        # a secret of one location is no good on another
        [ "/rotate's secret is refused on /prot", 'prot', sign($body, $SECRET{old}) ]) {
        my ($what, $prefix, $signature) = @$case;
        my $mark = log_mark();
        my $res = tw_request(path => url($prefix, $ds), body => $body, signature => $signature);
        check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark, "$ds: $what");
    }
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
