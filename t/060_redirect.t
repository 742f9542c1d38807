# SPDX-License-Identifier: Apache-2.0
# Front controllers: a per-directory "RewriteRule ^ index.php" (or
# index.cgi) in a protected <Directory> makes an internal redirect; the
# front controller must see the body and the plain TW_WEBHOOK_* names.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $body = '{"event":"project.updated","project":{"id":99,"name":"Front"}}';
my %fc = (php => '/fc', cgi => '/fccgi');

for my $ds (downstreams()) {
    my $res = tw_request(path => "$fc{$ds}/hooks/teamwork", body => $body,
                         signature => sign($body, $SECRET{a}), event => 'project.updated');
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'project.updated',
                      TW_WEBHOOK_DELIVERY => $res->{id}, TW_WEBHOOK_SECRET_INDEX => '1' },
                    "$ds front controller: plain TW_WEBHOOK_* after the internal redirect");
    like($res->{json} && $res->{json}{SCRIPT_NAME} // '', qr/index\.$ds$/,
         "$ds: the request went through the rewrite to index.$ds");
    is($res->{json} && $res->{json}{REQUEST_URI}, "$fc{$ds}/hooks/teamwork",
       "$ds: REQUEST_URI is the original one");

    my $chunky = $body x 50;
    $res = tw_request(path => "$fc{$ds}/other", body => $chunky, chunked => 300,
                      signature => sign($chunky, $SECRET{a}));
    check_delivered($res, $ds, $chunky, { TW_WEBHOOK_VERIFIED => '1' },
                    "$ds front controller: chunked body, CONTENT_LENGTH after the redirect");

    $res = tw_request(path => "$fc{$ds}/index.$ds", body => $body,
                      signature => sign($body, $SECRET{a}));
    check_delivered($res, $ds, $body, { TW_WEBHOOK_VERIFIED => '1' },
                    "$ds front controller requested directly");

    my $mark = log_mark();
    $res = tw_request(path => "$fc{$ds}/hooks/teamwork", body => $body,
                      signature => sign($body, $SECRET{unknown}));
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   "$ds front controller: wrong signature refused before the rewrite");

    $mark = log_mark();
    $res = tw_request(path => "$fc{$ds}/hooks/teamwork", method => 'GET');
    check_rejected($res, 405, 'TWW0101', 'method GET not allowed', $mark,
                   "$ds front controller: GET refused");
}

done_testing();
