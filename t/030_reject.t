# SPDX-License-Identifier: Apache-2.0
# Requests to a protected location without a good signature, or not POST,
# are refused before any downstream runs, with one info line in the log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

# A 405's Allow header lists POST and nothing else (TRACE aside: httpd adds it).
sub allows_only_post {
    my ($res, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my @allow = map { s/^\s+|\s+$//gr } split /,/, $res->{headers}{allow} // '';
    ok((grep { $_ eq 'POST' } @allow) && !(grep { $_ ne 'POST' && $_ ne 'TRACE' } @allow), $name)
        or diag('Allow: ' . ($res->{headers}{allow} // '(none)'));
}

my $body = '{"event":"task.updated","task":{"id":7}}';
my $good = sign($body, $SECRET{a});

for my $ds (downstreams()) {
    my $url = url('prot', $ds);
    my ($mark, $res);

    $mark = log_mark();
    $res = tw_request(path => $url, body => $body, event => 'task.updated',
                      signature => sign($body, $SECRET{unknown}));
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   "$ds: signed with a secret configured nowhere");

    $mark = log_mark();
    $res = tw_request(path => $url, body => "$body ", signature => $good);
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   "$ds: signature of another body (one byte added)");

    $mark = log_mark();
    $res = tw_request(path => $url, body => $body,
                      signature => sign('', $SECRET{a}));
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   "$ds: signature of the empty body for a non-empty one");

    $mark = log_mark();
    $res = tw_request(path => $url, body => $body);
    check_rejected($res, 401, 'TWW0102', 'signature header missing', $mark,
                   "$ds: no Signature header");

    $mark = log_mark();
    $res = tw_request(path => $url, body => $body, signature => '');
    check_rejected($res, 401, 'TWW0103', 'signature header malformed', $mark,
                   "$ds: empty Signature header");

    $mark = log_mark();
    $res = tw_request(path => $url, body => $body, signature => substr($good, 0, 63));
    check_rejected($res, 401, 'TWW0103', 'signature header malformed', $mark,
                   "$ds: 63 hex digits");
}

# The malformed forms, on the CGI downstream.
my %malformed = (
    '65 hex digits'                 => "${good}0",
    '64 characters, one not hex'    => substr($good, 0, 63) . 'g',
    'sha1= prefix'                  => "sha1=$good",
    'sha256: instead of sha256='    => "sha256:$good",
    'sha256= with nothing after'    => 'sha256=',
    'sha256= and 63 digits'         => 'sha256=' . substr($good, 0, 63),
    'space inside'                  => substr($good, 0, 32) . ' ' . substr($good, 32),
    'trailing junk'                 => "$good,x",
    'two signatures in one value'   => "$good $good",
    'base64 instead of hex'         => 'dGhpcyBpcyBub3QgYSBoZXggc2lnbmF0dXJlIGF0IGFsbCEhISE=',
    'sha256=sha256= twice'          => "sha256=sha256=$good",
);
for my $what (sort keys %malformed) {
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', 'cgi'), body => $body,
                         signature => $malformed{$what});
    check_rejected($res, 401, 'TWW0103', 'signature header malformed', $mark, "cgi: $what");
}

# Two Signature header lines: httpd joins them into one value ("a, b").
{
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', 'cgi'), body => $body,
                         signature => $good, headers => [Signature => $good]);
    check_rejected($res, 401, 'TWW0103', 'signature header malformed', $mark,
                   'cgi: two Signature header lines');
}

# Only POST is accepted: 405 with Allow: POST, before the signature counts.
for my $method (qw(GET HEAD PUT DELETE PATCH OPTIONS)) {
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', 'cgi'), method => $method,
                         body => $method =~ /^(PUT|PATCH)$/ ? $body : '',
                         signature => $method =~ /^(PUT|PATCH)$/ ? $good : undef);
    check_rejected($res, 405, 'TWW0101', "method $method not allowed", $mark,
                   "cgi: $method is refused");
    allows_only_post($res, "$method: Allow lists POST and no other method");
}
{
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', 'php'), method => 'GET');
    check_rejected($res, 405, 'TWW0101', 'method GET not allowed', $mark,
                   'php: GET is refused');
    allows_only_post($res, 'php: GET: Allow lists POST and no other method');
}

done_testing();
