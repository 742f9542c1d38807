# SPDX-License-Identifier: Apache-2.0
# Exported JSON values never disagree with what the app's own parser reads
# from the same body. Where parsers differ (a repeated member name, \u0000
# in a name: json-c reads {"page":{"id":1,"id\u0000":2}} as id=2, PHP's
# json_decode as id=1; a lone surrogate), the body is ambiguous: refused
# under TwWebhookRequireJSON (400), and nothing is exported from it
# otherwise. For plain bodies, what is exported is what a standard parser
# (JSON::PP here, PHP's json_decode in the app) reads.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my @ambiguous = (
    [ 'a name holding \u0000', '{"page":{"id":1,"id\u0000":2}}' ],
    [ 'a repeated name', '{"page":{"id":1,"id":2}}' ],
    [ 'a repeated name spelled with an escape', '{"page":{"id":1,"\u0069d":2}}' ],
    [ 'a repeated object', '{"page":{"id":1},"page":{"id":2}}' ],
    [ 'a lone surrogate', '{"page":{"id":1,"title":"\ud800"}}' ],
);
# the reason as logged (httpd's error log doubles the backslash of "\u0000")
my $ambiguous = 'body is not one JSON document that every parser reads alike '
    . '(TwWebhookRequireJSON): JSON that parsers read differently (a repeated member name, '
    . '\\\\u0000 in a name, or a lone surrogate)';
for my $ds (downstreams()) {
    for my $c (@ambiguous) {
        my ($what, $body) = @$c;
        my $mark = log_mark();
        my $res = tw_request(path => url('json', $ds), body => $body,
                             signature => sign($body, $SECRET{a}));
        check_rejected($res, 400, 'TWW0117', $ambiguous, $mark,
                       "$ds: $what, under TwWebhookRequireJSON: 400 (the log line says why)");

        $res = tw_request(path => url('jsonx', $ds), body => $body,
                          signature => sign($body, $SECRET{a}));
        check_delivered($res, $ds, $body, { TW_WEBHOOK_VERIFIED => '1' },
                        "$ds: $what, without TwWebhookRequireJSON: delivered");
        is($res->{json} && $res->{json}{tw_env}{TW_PAGE_ID}, undef,
           "$ds: $what: nothing exported from it");
    }

    # Plain bodies: the export is what a standard parser reads.
    for my $body ('{"page":{"id":"12\u00e9","title":"x"}}',
                  '{"page":{"id":9007199254740993,"title":"\ud83d\ude00"}}',
                  '{"page":{"title":"T","id":-0.5e3},"id":7}',
                  '{"pages":[{"id":1}],"page":{"id":"last"}}') {
        my $res = tw_request(path => url('jsonx', $ds), body => $body,
                             signature => sign($body, $SECRET{a}));
        my $want = JSON::PP->new->decode($body)->{page};
        subtest "$ds: $body: exported as a standard parser reads it" => sub {
            is($res->{status}, 200, 'delivered') or diag(describe($res));
            my %env = %{ (($res->{json} || {})->{tw_env}) || {} };
            # the CGI reports its environment's bytes as they are, PHP as
            # characters: compare characters
            if ($ds eq 'cgi') { utf8::decode($_) for values %env }
            my $env = \%env;
            my $id = $want->{id};
            # numbers are exported as written, the same number JSON::PP read
            if ($id =~ /^-?[0-9.eE+-]+$/) {
                is($env->{TW_PAGE_ID} + 0, $id + 0, "TW_PAGE_ID is the number $id");
            }
            else {
                is($env->{TW_PAGE_ID}, $id, 'TW_PAGE_ID is the string the parser read');
            }
            is($env->{TW_PAGE_TITLE}, $want->{title}, 'TW_PAGE_TITLE too');
        };
    }
}

done_testing();
