# SPDX-License-Identifier: Apache-2.0
# The test server is what the other tests assume: both downstreams answer
# on an unprotected location and the module is loaded. A missing piece
# (mod_cgid, php-fpm, mod_proxy_fcgi...) fails here rather than being
# skipped anywhere.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test qw(plan ok have_module);
use Apache::TestUtil qw(t_cmp);
use TwTest;

my @mods = qw(cgid proxy proxy_fcgi rewrite include reqtimeout env alias);
plan tests => @mods + 2 * 3 + 1;

ok t_cmp(have_module($_) ? 1 : 0, 1, "mod_$_ is loaded") for @mods;

for my $ds (downstreams()) {
    my $body = qq({"ping":"$ds"});
    my $res = tw_request(path => url('open', $ds), body => $body);
    ok t_cmp($res->{status}, 200, "$ds downstream answers on /open: " . describe($res));
    ok t_cmp($res->{json} && $res->{json}{downstream}, $ds, "$ds reports as $ds");
    ok t_cmp($res->{json} && $res->{json}{body_sha256}, TwTest::sha256_hex($body),
             "$ds sees the body");
}

# the module is active: an unsigned POST to a protected location is refused
my $res = tw_request(path => url('prot', 'cgi'), body => '{}');
ok t_cmp($res->{status}, 401, 'mod_twwebhook refuses an unsigned POST on /prot');
