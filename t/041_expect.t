# SPDX-License-Identifier: Apache-2.0
# Expect: 100-continue. A request refused on its headers gets the final
# status at once and never "100 Continue" (its body is never asked for, so
# on a keep-alive connection the connection closes: discarding the body
# would ask for it); a well-signed one gets 100, then the downstream's
# answer.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $body = '{"event":"milestone.completed","milestone":{"id":3}}';

for my $ds (downstreams()) {
    my $res = tw_request(path => url('prot', $ds), body => $body, expect => 1,
                         hold => 5, signature => sign($body, $SECRET{a}),
                         event => 'milestone.completed');
    is_deeply($res->{interim}, [100], "$ds: valid signature: 100 Continue first");
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'milestone.completed' },
                    "$ds: valid signature with Expect: 100-continue");
}

# Refused on the headers: the body is held back for good (no hold), so only
# a final response sent without reading it can end the exchange.
my %refused = (
    'missing signature'   => [ {}, 401, 'TWW0102', 'signature header missing' ],
    'malformed signature' => [ { signature => 'sha256=xyz' }, 401,
                               'TWW0103', 'signature header malformed' ],
    'GET'                 => [ { method => 'GET', signature => sign($body, $SECRET{a}) },
                               405, 'TWW0101', 'method GET not allowed' ],
);
for my $what (sort keys %refused) {
    my ($args, $status, $tag, $reason) = @{ $refused{$what} };
    for my $ds (downstreams()) {
        my $mark = log_mark();
        my $res = tw_request(path => url('prot', $ds), body => $body, expect => 1,
                             timeout => 10, %$args);
        is_deeply($res->{interim}, [], "$ds: $what: no 100 Continue");
        is($res->{body_sent}, 0, "$ds: $what: the body was never sent");
        check_rejected($res, $status, $tag, $reason, $mark,
                       "$ds: $what with Expect: 100-continue");
    }
    # On a keep-alive connection too: reading the body to discard it would
    # make httpd send the 100, so it is left unread and the connection closes.
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', 'cgi'), body => $body, expect => 1,
                         timeout => 10, connection => undef, %$args);
    is_deeply($res->{interim}, [], "keep-alive: $what: no 100 Continue");
    is($res->{body_sent}, 0, "keep-alive: $what: the body was never sent");
    check_rejected($res, $status, $tag, $reason, $mark,
                   "keep-alive: $what with Expect: 100-continue");
    like($res->{headers}{connection} // '', qr/close/i, "keep-alive: $what: Connection: close");
    ok(wait_log($mark, qr/TWW0128: refused before its body was read: left unread \(Expect: 100-continue\), connection closes/),
       "keep-alive: $what: the body left unread") or diag(log_since($mark));
}

# Content-Length over the limit: 413 before any 100.
{
    my $big = 'b' x 5000;
    my $mark = log_mark();
    my $res = tw_request(path => url('small', 'cgi'), body => $big, expect => 1,
                         timeout => 10, signature => sign($big, $SECRET{a}));
    is_deeply($res->{interim}, [], 'over the limit: no 100 Continue');
    check_rejected($res, 413, 'TWW0104',
                   'body larger than TwWebhookMaxBodySize (by Content-Length)', $mark,
                   'Content-Length over the limit with Expect: 100-continue');
}

# Well-formed but wrong signature: the body must be read to know, so 100
# comes first, then 401.
{
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', 'cgi'), body => $body, expect => 1,
                         hold => 5, signature => sign($body, $SECRET{unknown}));
    is_deeply($res->{interim}, [100], 'wrong signature: 100 Continue (the body is needed)');
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   'wrong signature with Expect: 100-continue');
}

done_testing();
