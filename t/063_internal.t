# SPDX-License-Identifier: Apache-2.0
# Internal redirects, DirectoryIndex and subrequests
# (t/conf/protocols.conf.in). A transaction is verified once (one TWW0201
# line for its delivery, LogLevel twwebhook:debug), whatever redirects and
# subrequests follow, and nothing reaches a protected location around the
# check. (SetInputFilter DEFLATE and other input filters above the
# verified body: t/042_content_encoding.t.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $body = '{"event":"page.updated","page":{"id":31337,"title":"Internal"}}';

sub verified_once {
    my ($mark, $res, $name) = @_;
    # the line is written before the response; give slow logs a moment
    wait_log($mark, qr/TWW0201: .*\Q$res->{id}\E/);
    is(log_count($mark, qr/TWW0201: .*\Q$res->{id}\E/), 1, "$name: verified once (TWW0201)");
}

# (after check_rejected found its tagged line) no other rejection line for it
sub rejected_once {
    my ($mark, $res, $name) = @_;
    is(log_count($mark, qr/ TWW\d{4}: rejected with \d{3}: .*\Q$res->{id}\E/), 1,
       "$name: one rejection line");
    is(log_count($mark, qr/TWW0201: .*\Q$res->{id}\E/), 0, "$name: no TWW0201");
}

my %all_vars = (TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'page.updated',
                TW_WEBHOOK_SECRET_INDEX => '1');

# A POST of $req{body} (default $body) signed with $SECRET{a} to $path, with
# any other tw_request arguments in %req: delivered to $ds with every
# variable (the check named "$name: $what") and verified once. Returns the
# response.
sub delivered_once {
    my ($path, $ds, $name, $what, %req) = @_;
    my $sent = $req{body} // $body;
    my $mark = log_mark();
    my $res = tw_request(path => $path, signature => sign($sent, $SECRET{a}),
                         event => 'page.updated', %req, body => $sent);
    check_delivered($res, $ds, $sent, { %all_vars, TW_WEBHOOK_DELIVERY => $res->{id} },
                    "$name: $what");
    verified_once($mark, $res, $name);
    return $res;
}

# A POST of $body to $path signed with $sig (undef: unsigned): refused with
# 401 and the rejection $tag/$reason, in one rejection line and no TWW0201.
sub refused_once {
    my ($path, $name, $sig, $tag, $reason) = @_;
    my $mark = log_mark();
    my $res = tw_request(path => $path, body => $body, signature => $sig);
    check_rejected($res, 401, $tag, $reason, $mark, "$name: refused");
    rejected_once($mark, $res, $name);
}
my @forged = (sign($body, $SECRET{unknown}), 'TWW0110', 'signature mismatch');

# ---- front controllers (per-directory RewriteRule: an internal redirect) ----
for my $case ([ php => '/fc/hooks/teamwork' ], [ cgi => '/fccgi/hooks/teamwork' ]) {
    my ($ds, $path) = @$case;
    delivered_once($path, $ds, "$ds front controller", 'delivered after the internal redirect');
    refused_once($path, "$ds front controller, forged", @forged);
}

# ---- an internal redirect from an unprotected into a protected location ----
{
    my $res = delivered_once('/redir-in/hooks/teamwork', 'cgi', 'rewritten into /prot',
                             'verified there, delivered');
    is($res->{json} && $res->{json}{REQUEST_URI}, '/redir-in/hooks/teamwork',
       'rewritten into /prot: REQUEST_URI is the original one');

    # no bypass by redirect
    refused_once('/redir-in/hooks/teamwork', 'rewritten into /prot, forged', @forged);
    refused_once('/redir-in/hooks/teamwork', 'rewritten into /prot, unsigned', undef,
                 'TWW0102', 'signature header missing');
    my $mark = log_mark();
    $res = tw_request(path => '/redir-in/hooks/teamwork', method => 'GET');
    check_rejected($res, 405, 'TWW0101', 'method GET not allowed', $mark,
                   'rewritten into /prot, GET: 405');
}

# ---- DirectoryIndex in a protected directory -----------------------------------
for my $ds (downstreams()) {
    my $path = "/dirindex/$ds/";
    my $res = delivered_once($path, $ds, "DirectoryIndex index.$ds", 'POST to the directory delivered');
    like($res->{json} && $res->{json}{SCRIPT_NAME} // '', qr{/index\.$ds$},
         "DirectoryIndex index.$ds: answered by the index");
    # ~190 KB: spilled to disk
    delivered_once($path, $ds, "DirectoryIndex index.$ds, chunked", 'spilled body delivered',
                   body => $body x 3000, chunked => 7000);
    refused_once($path, "DirectoryIndex index.$ds, forged", @forged);
}

# ---- subrequests ------------------------------------------------------------------
# A verified SSI page including a protected URL under the same secret (let
# through), and one under other secrets that do not sign this body
# (refused: TWW0114, re-verification).
{
    my $mark = log_mark();
    my $res = tw_request(path => '/ssi-prot/page.shtml', body => $body,
                         signature => sign($body, $SECRET{a}), event => 'page.updated');
    is($res->{status}, 200, 'protected SSI page: 200') or diag(describe($res));
    my $out = $res->{body} // '';
    my ($first, $second) = $out =~ m{<p>before</p>\s*(.*?)\s*<p>middle</p>\s*(.*?)\s*<p>after</p>}s;
    my $inc = eval { JSON::PP->new->decode($first // '') } || {};
    is($inc->{downstream}, 'cgi', 'include of /prot/report.cgi: the CGI ran');
    is($inc->{test_id}, $res->{id}, '... for this request');
    is($inc->{TW_WEBHOOK_VERIFIED}, '1', '... with TW_WEBHOOK_VERIFIED');
    like($second // '', qr/an error occurred while processing this directive/,
         'include of /rotate/report.cgi (other secrets): refused');
    unlike($second // '', qr/body_sha256/, '... its CGI output is not there');
    verified_once($mark, $res, 'protected SSI page');
    ok(wait_log($mark, rejection_re('TWW0114', 401, 'signature mismatch under this '
                                    . "location's secrets (re-verification)", $res->{id})),
       'the /rotate subrequest: TWW0114 (re-verification failed)')
        or diag(log_since($mark));

    refused_once('/ssi-prot/page.shtml', 'protected SSI page, forged', @forged);
}
# A correctly signed POST to an UNprotected SSI page: its include of a
# protected URL is still refused, the page itself was never verified.
{
    my $mark = log_mark();
    my $res = tw_request(path => '/ssi/page.shtml', body => $body,
                         signature => sign($body, $SECRET{a}));
    is($res->{status}, 200, 'signed POST to the unprotected SSI page: 200')
        or diag(describe($res));
    like($res->{body} // '', qr/an error occurred while processing this directive/,
         '... its include of /prot/report.cgi is refused');
    is(downstream_ran($res->{id}), 0, '... the protected CGI never ran');
    ok(wait_log($mark, rejection_re('TWW0115', 401, 'subrequest into a protected location '
                                    . 'without a verified request', $res->{id})),
       '... TWW0115: subrequest without a verified request')
        or diag(log_since($mark));
    is(log_count($mark, qr/TWW0201: .*\Q$res->{id}\E/), 0, '... nothing was verified');
}

done_testing();
