# SPDX-License-Identifier: Apache-2.0
# Several webhooks on one HTTP/1.1 connection, one after the other
# (keep-alive) and all written at once (pipelining): every response is
# about its own request and reports its own body, so the replay filter
# never hands one request's body to the next, nor swallows the next
# request's bytes. Rejections in the middle: a 401 after the body was read
# (signature mismatch) keeps the connection and the requests after it are
# answered right. A refusal on the headers alone (no or a malformed
# signature, a method other than POST) whose body is within the location's
# TwWebhookMaxBodySize discards that body unread by anyone and keeps the
# connection: the request after it is answered, its app sees only its own
# body. One whose body is larger (announced, or chunked and crossing the
# bound as it arrives), or a 413 on the Content-Length, closes the
# connection after answering instead of reading the rest of the body, so
# the requests after it get no answer and never run; a chunked body is
# never read past the bound plus one byte.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

sub body_of {
    my ($n, $tag) = @_;
    my $s = qq({"event":"page.updated","tag":"$tag","pad":");
    my $i = 0;
    $s .= sha256_hex("$tag-" . $i++) while length($s) < $n - 2;
    return substr($s, 0, $n - 2) . '"}';
}

# [downstream, prefix, size, chunked, signing secret or undef, method,
#  more headers]
# ("ssi": the protected SSI page, whose handler never reads the body:
# httpd discards it through the replay filter after the response)
my @valid_mix = (
    [ cgi => 'prot',     120,        0 ],
    [ php => 'big',      200 * 1024, 0 ],
    [ cgi => 'big',      150 * 1024, 9000 ],
    [ ssi => 'ssi-prot', 100 * 1024, 0 ],
    [ php => 'prot',     300,        77 ],
    [ cgi => 'open',     90,         0 ],   # unprotected, between verified ones
    [ php => 'big',      70 * 1024,  0 ],
    [ ssi => 'ssi-prot', 500,        3000 ],
    [ cgi => 'prot',     64 * 1024,  0 ],
);
sub path_of {
    my ($ds, $prefix) = @_;
    return $ds eq 'ssi' ? "/$prefix/page.shtml" : url($prefix, $ds);
}

sub requests_of {
    my ($tag, @mix) = @_;
    my (@req, @bodies);
    for my $i (0 .. $#mix) {
        my ($ds, $prefix, $size, $chunked, $secret, $method, $headers) = @{ $mix[$i] };
        my $body = body_of($size, "$tag-$i");
        $secret //= $SECRET{a} if $prefix ne 'open';
        my %r = (path => path_of($ds, $prefix), body => $body, event => 'page.updated');
        $r{chunked} = $chunked if $chunked;
        $r{signature} = ref $secret ? $$secret : sign($body, $secret) if defined $secret;
        $r{method} = $method if $method;
        $r{headers} = $headers if $headers;
        push @req, \%r;
        push @bodies, $body;
    }
    return (\@req, \@bodies);
}

sub check_all_delivered {
    my ($result, $mix, $bodies, $name, $mark) = @_;
    my $resp = $result->{responses};
    is(scalar(grep { !$_->{error} } @$resp), scalar @$mix,
       "$name: every request answered on the one connection");
    for my $i (0 .. $#$mix) {
        my ($ds, $prefix, $size, $chunked) = @{ $mix->[$i] };
        my $what = "$name, #$i: $ds /$prefix, $size bytes" . ($chunked ? ', chunked' : '');
        my $vars = $prefix eq 'open'
            ? { TW_WEBHOOK_VERIFIED => undef }
            : { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_DELIVERY => $resp->[$i]{id} };
        if ($ds eq 'ssi') {
            my $r = $resp->[$i];
            my ($inc) = ($r->{body} // '') =~ m{<p>before</p>\s*(.*?)\s*<p>middle</p>}s;
            my $j = eval { JSON::PP->new->decode($inc // '') } || {};
            subtest "$what: the page, its handler never reading the body" => sub {
                is($r->{status}, 200, 'status 200') or diag(describe($r));
                like($r->{body} // '', qr{<p>after</p>}, 'the whole page');
                is($j->{test_id}, $r->{id}, 'its include ran for this request');
                is($j->{TW_WEBHOOK_VERIFIED}, '1', '... verified');
            };
        }
        else {
            check_delivered($resp->[$i], $ds, $bodies->[$i], $vars, $what);
        }
        next if $prefix eq 'open';
        wait_log($mark, qr/TWW0201: .*\Q$resp->[$i]{id}\E/);
        is(log_count($mark, qr/TWW0201: .*\Q$resp->[$i]{id}\E/), 1, "$what: verified once");
    }
    is(scalar(grep { ($_->{headers}{connection} // '') =~ /close/i } @$resp), 0,
       "$name: the server never said Connection: close");
    ok(!$result->{closed}, "$name: the connection is still open after the last answer");
}

# ---- all valid -------------------------------------------------------------------
for my $pipeline (0, 1) {
    my $name = $pipeline ? 'pipelined' : 'keep-alive';
    my ($req, $bodies) = requests_of($name, @valid_mix);
    my $mark = log_mark();
    my $result = tw_exchange($req, pipeline => $pipeline);
    check_all_delivered($result, \@valid_mix, $bodies, $name, $mark);
}

# ---- rejections in the middle ---------------------------------------------------------
# [ ..., expected status, log tag, log reason ]
my @reject_mix = (
    [ [ cgi => 'prot', 200,        0 ] ],
    [ [ php => 'prot', 150 * 1024, 0, $SECRET{unknown} ], 401, 'TWW0110', 'signature mismatch' ],
    [ [ cgi => 'big',  100 * 1024, 0 ] ],
    [ [ cgi => 'prot', 500,        0 ] ],
    [ [ php => 'big',  90 * 1024,  5000 ] ],
    [ [ cgi => 'prot', 200 * 1024, 8000, $SECRET{unknown} ],   # chunked
      401, 'TWW0110', 'signature mismatch' ],
    [ [ php => 'prot', 400,        0 ] ],
);
for my $pipeline (0, 1) {
    my $name = ($pipeline ? 'pipelined' : 'keep-alive') . ' with rejections';
    my @mix = map { $_->[0] } @reject_mix;
    my ($req, $bodies) = requests_of($name, @mix);
    # the empty "signature" means none at all
    for (@$req) { delete $_->{signature} if defined $_->{signature} && $_->{signature} eq '' }
    my $mark = log_mark();
    my $result = tw_exchange($req, pipeline => $pipeline);
    my $resp = $result->{responses};
    is(scalar(grep { !$_->{error} } @$resp), scalar @mix,
       "$name: every request answered on the one connection");
    for my $i (0 .. $#reject_mix) {
        my (undef, $status, $tag, $reason) = @{ $reject_mix[$i] };
        my ($ds, $prefix, $size, $chunked, $secret, $method, $headers) = @{ $mix[$i] };
        my $what = "$name, #$i: $ds /$prefix, $size bytes" . ($chunked ? ', chunked' : '');
        if ($status) {
            check_rejected($resp->[$i], $status, $tag, $reason, $mark, "$what: $status");
        }
        else {
            check_delivered($resp->[$i], $ds, $bodies->[$i],
                            { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_DELIVERY => $resp->[$i]{id} },
                            "$what: delivered");
        }
    }
    ok(!$result->{closed}, "$name: the connection is still open after the last answer");
}

# ---- refused before the body is read, within the bound: discarded, kept -----------
# [ the refused request, status, log tag, log reason, bytes discarded ]
my @refused_small = (
    [ [ php => 'prot',  80 * 1024, 0, \'' ], 401, 'TWW0102', 'signature header missing',
      80 * 1024 ],
    [ [ cgi => 'prot',  300,       0, \'sha256=zz' ], 401,
      'TWW0103', 'signature header malformed', 300 ],
    [ [ cgi => 'prot',  100,       0, undef, 'PUT' ], 405, 'TWW0101', 'method PUT not allowed',
      100 ],
    [ [ cgi => 'small', 4096,      700, \'' ], 401, 'TWW0102', 'signature header missing',
      4096 ],   # chunked, exactly the bound
    [ [ cgi => 'prot',  2000,      0, undef, undef, [ 'Content-Encoding' => 'gzip' ] ], 415,
      'TWW0127', 'Content-Encoding gzip not supported: the signature covers the body as sent, '
      . 'without a content coding', 2000 ],
    # chunked where LimitRequestBody (1000) is below TwWebhookMaxBodySize:
    # held to LimitRequestBody as it arrives, so HTTP_IN never answers 413
    [ [ cgi => 'limit', 600,       100, \'' ], 401, 'TWW0102', 'signature header missing',
      600 ],
);
# A delivery, the refused request, another delivery, on one connection
# (pipelined or one after another): the first is delivered and the second
# refused as the case says. Returns the name, the exchange, its responses,
# the bodies sent and the log mark, for the checks of what follows.
sub refused_between_two {
    my ($refused, $status, $tag, $reason, $pipeline) = @_;
    my $name = ($pipeline ? 'pipelined' : 'keep-alive') . " with a $status ($reason, "
        . "$refused->[2] bytes" . ($refused->[3] ? ', chunked' : '') . ')';
    my @mix = ([ cgi => 'prot', 200, 0 ], $refused, [ php => 'prot', 300, 0 ]);
    my ($req, $bodies) = requests_of($name, @mix);
    for (@$req) { delete $_->{signature} if defined $_->{signature} && $_->{signature} eq '' }
    my $mark = log_mark();
    my $result = tw_exchange($req, pipeline => $pipeline);
    my $resp = $result->{responses};
    check_delivered($resp->[0], 'cgi', $bodies->[0],
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_DELIVERY => $resp->[0]{id} },
                    "$name, #0: delivered");
    check_rejected($resp->[1], $status, $tag, $reason, $mark, "$name, #1: $status before the body");
    return ($name, $result, $resp, $bodies, $mark);
}

for my $case (@refused_small) {
    my ($refused, $status, $tag, $reason, $discarded) = @$case;
    for my $pipeline (0, 1) {
        my ($name, $result, $resp, $bodies, $mark)
            = refused_between_two($refused, $status, $tag, $reason, $pipeline);
        unlike($resp->[1]{headers}{connection} // '', qr/close/i,
               "$name, #1: no Connection: close");
        ok(wait_log($mark, qr/TWW0128: refused before its body was read: \Q$discarded\E bytes discarded unread, connection kept/),
           "$name, #1: its body discarded ($discarded bytes)")
            or diag(log_since($mark));
        check_delivered($resp->[2], 'php', $bodies->[2],
                        { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_DELIVERY => $resp->[2]{id} },
                        "$name, #2: answered on the same connection, its own body only");
        ok(!$result->{closed}, "$name: the connection is still open after the last answer");
    }
}

# ---- refused before the body is read, over the bound: answered, then closed ----------
# [ the refused request, status, log tag, log reason, why left unread ]
my @refused_unread = (
    [ [ cgi => 'small', 5000,      0 ], 413,
      'TWW0104', 'body larger than TwWebhookMaxBodySize (by Content-Length)',
      qr/the status closes the connection/ ],
    [ [ cgi => 'small', 5000,      0, \'' ], 401, 'TWW0102', 'signature header missing',
      qr/Content-Length over TwWebhookMaxBodySize/ ],
    [ [ cgi => 'small', 5000,      0, undef, 'PUT' ], 405, 'TWW0101', 'method PUT not allowed',
      qr/Content-Length over TwWebhookMaxBodySize/ ],
    [ [ cgi => 'small', 200 * 1024, 1000, \'' ], 401, 'TWW0102', 'signature header missing',
      qr/4097 bytes read, over TwWebhookMaxBodySize/ ],   # chunked: bound + 1 read
    # chunked, crossing LimitRequestBody 1000: never a byte past it (HTTP_IN
    # would answer 413 after the module's 401)
    [ [ cgi => 'limit', 5000, 700, \'' ], 401, 'TWW0102', 'signature header missing',
      qr/1000 bytes read, over LimitRequestBody/ ],
);
for my $case (@refused_unread) {
    my ($refused, $status, $tag, $reason, $why) = @$case;
    for my $pipeline (0, 1) {
        my ($name, $result, $resp, $bodies, $mark)
            = refused_between_two($refused, $status, $tag, $reason, $pipeline);
        like($resp->[1]{headers}{connection} // '', qr/close/i, "$name, #1: Connection: close");
        ok(wait_log($mark, qr/TWW0128: refused before its body was read: .*$why.*connection closes/),
           "$name, #1: its body not read past the bound")
            or diag(log_since($mark));
        ok($result->{closed}, "$name: the server closed the connection");
        ok($resp->[2]{error}, "$name, #2: no answer on this connection");
        is(downstream_ran($resp->[2]{id}), 0, "$name, #2: never ran (the client must send it again)");
    }
}

# ---- refused before the body, whose chunked framing is broken ---------------------
# Discarding it, HTTP_IN refuses the framing and answers 400 itself: that is
# the one answer (the module's 401 is not sent after it), and the connection
# closes, so what follows the broken chunk is never taken for a request.
for my $pipeline (0, 1) {
    my $name = ($pipeline ? 'pipelined' : 'keep-alive') . ' with a broken chunked body';
    my ($req, $bodies) = requests_of($name, [ cgi => 'prot', 200, 0 ], [ php => 'prot', 300, 0 ]);
    my $good = $bodies->[1];
    my $bad = { path => url('prot', 'cgi'), no_content_length => 1,
                headers => [ 'Transfer-Encoding' => 'chunked' ],
                body => "zz\r\n" . $good . "\r\n0\r\n\r\n" };
    my $mark = log_mark();
    my $result = tw_exchange([ $req->[0], $bad, $req->[1] ], pipeline => $pipeline);
    my $resp = $result->{responses};
    check_delivered($resp->[0], 'cgi', $bodies->[0],
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_DELIVERY => $resp->[0]{id} },
                    "$name, #0: delivered");
    is($resp->[1]{status}, 400, "$name, #1: 400 from httpd") or diag(describe($resp->[1]));
    is(downstream_ran($resp->[1]{id}), 0, "$name, #1: no downstream ran");
    ok(wait_log($mark, qr/TWW0128: refused before its body was read: discarding failed .*framing.*connection closes/),
       "$name, #1: discarding stopped at the framing") or diag(log_since($mark));
    ok($result->{closed}, "$name: the server closed the connection");
    ok($resp->[2]{error}, "$name, #2: no answer on this connection");
    is($result->{leftover}, '', "$name: nothing more was answered");
    is(downstream_ran($resp->[2]{id}), 0, "$name, #2: never ran");
}

done_testing();
