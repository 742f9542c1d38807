# SPDX-License-Identifier: Apache-2.0
# A reverse-proxied downstream (mod_proxy_http), configured as docs/reference.md's
# recipe: the verified facts travel as X-Webhook-* request headers set from
# TW_WEBHOOK_* ("RequestHeader set ... env=..."), after any such header the
# client sent was removed ("RequestHeader unset ... early"). The backend is
# a small HTTP server this test starts on loopback (TwTest::backend_start):
# it reports the body's SHA-256 and length and the headers it got.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::TestRequest ();
use TwTest;

my $port = tw_vars()->{tw_backend_port};
my $backend = eval { backend_start($port) };
unless ($backend) {
    fail("the backend listens on 127.0.0.1:$port: $@");
    done_testing();
    exit 1;
}
END { backend_stop($backend) if $backend }

# checks a delivery through the proxy: body and Content-Length as sent
# (or as stored, for chunked/HTTP/2), and exactly the verified headers
sub check_proxied {
    my ($res, $body, $want, $name) = @_;
    check_delivered($res, 'backend', $body, {}, "$name: delivered");
    my $j = $res->{json} || {};
    my $h = $j->{headers} || {};
    subtest "$name: what the backend got" => sub {
        is($j->{REQUEST_METHOD}, 'POST', 'method POST');
        like($j->{REQUEST_URI} // '', qr{^/(?:prot|open)/}, 'through the ProxyPass mapping');
        is($j->{TRANSFER_ENCODING}, undef, 'no Transfer-Encoding (a Content-Length instead)');
        for my $k (qw(x-webhook-verified x-webhook-event x-webhook-delivery)) {
            is($h->{$k}, $want->{$k}, "$k " . (defined $want->{$k} ? "= $want->{$k}" : 'absent'));
        }
        is($h->{'x-tw-test-id'}, $res->{id}, 'the other request headers pass');
    };
}

my $small = '{"event":"task.created","task":{"id":4242,"name":"Proxy me"}}';
my $big = join '', map { sha256_hex("proxy-$_") } 1 .. 3 * 1024 * 1024 / 64;   # 3 MiB

# verified, small; the client's own X-Webhook-* values are gone
{
    my $mark = log_mark();
    my $res = tw_request(path => '/proxy-prot/hooks/teamwork', body => $small,
                         signature => sign($small, $SECRET{a}), event => 'task.created',
                         headers => [ 'X-Webhook-Verified' => 'forged-by-client',
                                      'X-Webhook-Event' => 'forged.event',
                                      'X-Webhook-Delivery' => 'forged-delivery' ]);
    check_proxied($res, $small, { 'x-webhook-verified' => '1',
                                  'x-webhook-event' => 'task.created',
                                  'x-webhook-delivery' => $res->{id} },
                  'verified, with client-sent X-Webhook-* headers');
    is(log_count($mark, qr/TWW0201: .*\Q$res->{id}\E/), 1, 'verified once (TWW0201)');
}

# no Event header: no X-Webhook-Event, whatever the client sent
{
    my $res = tw_request(path => '/proxy-prot/hooks/teamwork', body => $small,
                         signature => sign($small, $SECRET{a}),
                         headers => [ 'X-Webhook-Event' => 'forged.event' ]);
    check_proxied($res, $small, { 'x-webhook-verified' => '1',
                                  'x-webhook-delivery' => $res->{id} },
                  'verified, no Event header');
}

# 3 MiB, chunked: spilled to disk, replayed with a Content-Length
{
    my $mark = log_mark();
    my $res = tw_request(path => '/proxy-prot/big', body => $big, chunked => 100_000,
                         signature => sign($big, $SECRET{a}), event => 'task.updated');
    check_proxied($res, $big, { 'x-webhook-verified' => '1',
                                'x-webhook-event' => 'task.updated',
                                'x-webhook-delivery' => $res->{id} },
                  '3 MiB chunked');
    like(wait_log($mark, qr/TWW0201: .*\Q$res->{id}\E/) // '', qr/spooled to disk/,
         '3 MiB chunked: spooled to disk');
}

# HTTP/2 (h2c) without a content-length, to the proxy
{
    my $res = tw_h2c_unsized('/proxy-prot/h2', 'HTTP/2 to the proxy', body => $big,
                             signature => sign($big, $SECRET{a}), event => 'task.updated');
    check_proxied($res, $big, { 'x-webhook-verified' => '1',
                                'x-webhook-event' => 'task.updated',
                                'x-webhook-delivery' => $res->{id} },
                  'HTTP/2, 3 MiB, no content-length');
}

# forged: 401, the backend never sees it
for my $case ([ 'forged signature', sign($small, $SECRET{unknown}),
                'TWW0110', 'signature mismatch' ],
              [ 'no signature', undef, 'TWW0102', 'signature header missing' ]) {
    my ($what, $sig, $tag, $reason) = @$case;
    my $mark = log_mark();
    my $res = tw_request(path => '/proxy-prot/hooks/teamwork', body => $small,
                         signature => $sig,
                         headers => [ 'X-Webhook-Verified' => '1' ]);
    check_rejected($res, 401, $tag, $reason, $mark, "proxy, $what: 401, backend not reached");
}

# the unprotected twin: a forged request shows no X-Webhook-* at all
{
    my $res = tw_request(path => '/proxy-open/hooks/teamwork', body => $small,
                         signature => sign($small, $SECRET{unknown}), event => 'task.created',
                         headers => [ 'X-Webhook-Verified' => '1',
                                      'X-Webhook-Event' => 'task.created',
                                      'X-Webhook-Delivery' => 'forged-delivery' ]);
    check_proxied($res, $small, {}, 'unprotected twin, forged X-Webhook-* headers');
}

# the recipe confined to the <Location>: a plain "RequestHeader unset"
# before the set lines (an "early" one would be ignored there)
{
    my $res = tw_request(path => '/proxy-loc/hooks/teamwork', body => $small,
                         signature => sign($small, $SECRET{a}),
                         headers => [ 'X-Hook-Verified' => 'forged-by-client',
                                      'X-Hook-Event' => 'forged.event' ]);
    check_delivered($res, 'backend', $small, {},
                    'recipe inside <Location>, no Event header: delivered');
    my $h = ($res->{json} || {})->{headers} || {};
    is($h->{'x-hook-verified'}, '1', 'recipe inside <Location>: X-Hook-Verified = 1');
    is($h->{'x-hook-event'}, undef,
       'recipe inside <Location>: the client\'s X-Hook-Event is gone (no Event header sent)');
}

done_testing();
