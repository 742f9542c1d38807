# SPDX-License-Identifier: Apache-2.0
# TwWebhookSecret is not allowed in .htaccess: httpd answers 500 for every
# request under t/htdocs/htaccess/ and logs the file and the reason.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

for my $method (qw(GET POST)) {
    my $mark = log_mark();
    my $body = $method eq 'POST' ? '{}' : '';
    my $res = tw_request(path => '/htaccess/page.txt', method => $method, body => $body,
                         $method eq 'POST' ? (signature => sign($body, $SECRET{a})) : ());
    is($res->{status}, 500, "$method under a .htaccess with TwWebhookSecret: 500")
        or diag(describe($res));
    my $line = wait_log($mark, qr{\.htaccess: TwWebhookSecret not allowed here});
    ok($line, "$method: error_log names the .htaccess file and the directive")
        or diag(log_since($mark));
    like($line // '', qr{\Q$FindBin::Bin\E/htdocs/htaccess/\.htaccess},
         "$method: ... with the file's full path");
}

done_testing();
