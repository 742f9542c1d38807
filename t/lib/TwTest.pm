package TwTest;
# Shared helpers of the mod_twwebhook integration tests.
#
# Requests go over a raw socket (IO::Socket::INET), not LWP: the tests need
# exact control of what is sent (lying Content-Length, chunked bodies,
# Expect: 100-continue with the body held back, header spellings) and must
# see interim 1xx responses. Every request carries a unique X-Tw-Test-Id
# that both downstreams append to t/logs/downstream.log, so a test can tell
# whether the downstream ran for that very request.
use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Exporter 'import';
use Fcntl qw(:flock SEEK_SET);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use Test::More ();
use Time::HiRes qw(time sleep);

use Apache::Test ();
use Apache::TestRequest ();

use TwSecrets qw(%SECRET);

our @EXPORT = qw(%SECRET sign tw_request downstream_ran log_mark log_since
                 wait_log tw_vars downstreams url new_id record_sent
                 describe slurp check_delivered check_rejected spool_files spool_open
                 sha256_hex);

$SIG{PIPE} = 'IGNORE';

sub tw_vars { Apache::Test::vars() }

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    my $s = <$fh>;
    return defined $s ? $s : '';
}

# The two downstream applications behind every test prefix.
sub downstreams { return qw(cgi php) }

sub url {
    my ($prefix, $ds) = @_;
    return "/$prefix/report.$ds";
}

my $seq = 0;
sub new_id {
    return sprintf 'tw%d-%d-%d', $$, int(time * 1000) % 100000000, ++$seq;
}

# Every Signature value sent and every MAC the module computes from a body
# (the correct signature under each configured secret) is remembered, so
# that t/zz_error_log.t can check none of them was ever logged.
sub record_sent {
    my @values = grep { defined && length } @_;
    return unless @values;
    my $file = tw_vars()->{t_logs} . '/tw-sent-signatures.txt';
    open my $fh, '>>', $file or die "append $file: $!";
    flock $fh, LOCK_EX;
    print {$fh} "$_\n" for @values;
    close $fh;
}

# Request ids whose [twwebhook:error] lines a test provoked on purpose
# (t/zz_error_log.t tolerates those lines and no others).
sub expect_fault {
    my ($id) = @_;
    my $file = tw_vars()->{t_logs} . '/tw-expected-faults.txt';
    open my $fh, '>>', $file or die "append $file: $!";
    print {$fh} "$id\n";
    close $fh;
}

# Lowercase hex HMAC-SHA256 of $body under $secret.
sub sign {
    my ($body, $secret) = @_;
    croak 'sign: secret required' unless defined $secret;
    my $mac = hmac_sha256_hex($body, $secret);
    record_sent($mac);
    return $mac;
}

sub describe {
    my ($res) = @_;
    my $b = defined $res->{body} ? $res->{body} : '';
    $b = substr($b, 0, 300) . '...' if length $b > 300;
    return sprintf "status=%s error=%s body=%s", $res->{status} // 'none',
        $res->{error} // '', $b;
}

# tw_request(%args) -> response hashref
#   path       request target (required)
#   method     default POST
#   body       the body bytes (default '')
#   headers    [name => value, ...] sent in this order, after the defaults
#   id         the X-Tw-Test-Id (default: a new unique one)
#   signature  value of the Signature header (none if undef)
#   event      Event header value (none if undef)
#   delivery   Delivery header value; default the id, undef for none
#   content_type      default application/json
#   content_length    Content-Length to announce (default length of body)
#   no_content_length do not send Content-Length
#   chunked    send the body chunked, in pieces of this many bytes
#   expect     send "Expect: 100-continue" and hold the body back until a
#              100 Continue arrives (a final response instead ends it)
#   hold       seconds to wait for a 100 before sending the body anyway
#   timeout    overall seconds (default 30)
#   hostport   default the main server's
# Response: status, reason, headers (lowercased names, joined by ", "),
# body, interim (list of 1xx statuses), elapsed, id, json (200 + JSON body),
# body_sent (bytes of the body actually written), error.
sub tw_request {
    my %a = @_;
    my $path = $a{path} or croak 'tw_request: path required';
    my $method = $a{method} // 'POST';
    my $body = $a{body} // '';
    my $id = $a{id} // new_id();
    my $timeout = $a{timeout} // 30;
    my $hostport = $a{hostport} // Apache::TestRequest::hostport();

    my @h = ('Host' => $hostport, 'Connection' => 'close',
             'User-Agent' => 'tw-integration-test', 'X-Tw-Test-Id' => $id);
    push @h, 'Signature' => $a{signature} if defined $a{signature};
    push @h, 'Event' => $a{event} if defined $a{event};
    # by default the request id doubles as the Delivery, so that the
    # module's log line about this request can be found
    my $delivery = exists $a{delivery} ? $a{delivery} : $id;
    push @h, 'Delivery' => $delivery if defined $delivery;
    push @h, 'Content-Type' => $a{content_type} // 'application/json'
        if $method eq 'POST' || length $body;
    push @h, @{ $a{headers} } if $a{headers};
    record_sent($a{signature});
    my $wire_body = $body;
    if ($a{chunked}) {
        push @h, 'Transfer-Encoding' => 'chunked';
        my $n = $a{chunked};
        $wire_body = '';
        for (my $off = 0; $off < length $body; $off += $n) {
            my $piece = substr($body, $off, $n);
            $wire_body .= sprintf("%x\r\n", length $piece) . $piece . "\r\n";
        }
        $wire_body .= "0\r\n\r\n";
    }
    elsif (!$a{no_content_length}
           && ($method eq 'POST' || length $body || defined $a{content_length})) {
        push @h, 'Content-Length' => $a{content_length} // length $body;
    }
    push @h, 'Expect' => '100-continue' if $a{expect};

    my $head = "$method $path HTTP/1.1\r\n";
    for (my $i = 0; $i < @h; $i += 2) {
        $head .= "$h[$i]: $h[$i + 1]\r\n";
    }
    $head .= "\r\n";

    my $res = { id => $id, interim => [], body_sent => 0,
                delivery => $delivery };
    my $t0 = time;
    my $deadline = $t0 + $timeout;
    my $sock = IO::Socket::INET->new(PeerAddr => $hostport, Proto => 'tcp',
                                     Timeout => 10);
    unless ($sock) {
        $res->{error} = "connect $hostport: $!";
        return $res;
    }
    binmode $sock;
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);

    my $out = $head;
    my $body_pending = $a{expect} ? $wire_body : undef;
    $out .= $wire_body unless $a{expect};
    my $head_len = length $head;
    my $written = 0;
    my $in = '';
    my $eof = 0;
    my $write_ok = 1;
    my $expect_since;
    my $final;

    while (!$final && time < $deadline) {
        my $want_write = $write_ok && length $out;
        my ($r, $w) = IO::Select->select($sel, $want_write ? $sel : undef,
                                         undef, 0.2);
        if ($w && @$w) {
            my $n = syswrite($sock, $out, 65536);
            if (defined $n) {
                substr($out, 0, $n, '');
                $written += $n;
            }
            elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) {
                $write_ok = 0;   # server closed or reset: read what it said
                $res->{write_error} = "$!";
            }
        }
        if ($r && @$r) {
            my $n = sysread($sock, my $buf, 65536);
            if (defined $n && $n > 0) {
                $in .= $buf;
            }
            elsif (defined $n) {
                $eof = 1;
            }
            elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) {
                $res->{read_error} = "$!";
                $eof = 1;
            }
        }
        my ($interim, $resp) = _parse($in, $eof, $method eq 'HEAD');
        if (@$interim > @{ $res->{interim} }) {
            $res->{interim} = [ map { $_->{status} } @$interim ];
            $res->{interim_at} //= time - $t0;
        }
        if ($resp) {
            $final = $resp;
            last;
        }
        last if $eof;
        if (defined $body_pending && !length $out) {
            $expect_since //= time;
            if (@{ $res->{interim} } && $res->{interim}[0] == 100
                || (defined $a{hold} && time - $expect_since >= $a{hold})) {
                $out = $body_pending;
                $body_pending = undef;
            }
        }
    }
    $res->{elapsed} = time - $t0;
    $res->{body_sent} = $written > $head_len ? $written - $head_len : 0;
    $res->{body_sent} = 0 if defined $body_pending;
    close $sock;
    unless ($final) {
        $res->{error} //= $eof ? 'connection closed without a complete response'
                               : 'timeout';
        $res->{raw} = $in;
        return $res;
    }
    @$res{keys %$final} = values %$final;
    if ($res->{status} == 200 && ($res->{headers}{'content-type'} // '') =~ /json/) {
        $res->{json} = eval { JSON::PP->new->decode($res->{body}) };
        $res->{json_error} = $@ if $@;
    }
    return $res;
}

# Parses $buf into (\@interim_responses, $final_response or undef).
sub _parse {
    my ($buf, $eof, $head_only) = @_;
    my @interim;
    my $pos = 0;
    while (1) {
        my $end = index $buf, "\r\n\r\n", $pos;
        return (\@interim, undef) if $end < 0;
        my @lines = split /\r\n/, substr($buf, $pos, $end - $pos);
        $pos = $end + 4;
        my $status_line = shift @lines;
        my ($status, $reason) = $status_line =~ m{^HTTP/\d\.\d (\d{3}) ?(.*)$}
            or return (\@interim, { status => 0, error => "bad status line: $status_line" });
        my (%h, @list);
        for (@lines) {
            my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
            push @list, [$k, $v];
            $k = lc $k;
            $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
        }
        my $r = { status => $status, reason => $reason, headers => \%h,
                  header_list => \@list };
        if ($status >= 100 && $status < 200) {
            push @interim, $r;
            next;
        }
        if ($status == 204 || $status == 304 || $head_only) {
            $r->{body} = '';
            return (\@interim, $r);
        }
        if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
            my $body = '';
            my $p = $pos;
            while (1) {
                my $le = index $buf, "\r\n", $p;
                return (\@interim, undef) if $le < 0;
                my $size = hex((split /;/, substr($buf, $p, $le - $p))[0]);
                $p = $le + 2;
                if ($size == 0) {
                    $r->{body} = $body;
                    return (\@interim, $r);
                }
                return (\@interim, undef) if length($buf) < $p + $size + 2;
                $body .= substr($buf, $p, $size);
                $p += $size + 2;
            }
        }
        if (defined $h{'content-length'}) {
            return (\@interim, undef) if length($buf) - $pos < $h{'content-length'};
            $r->{body} = substr($buf, $pos, $h{'content-length'});
            return (\@interim, $r);
        }
        return (\@interim, undef) unless $eof;
        $r->{body} = substr($buf, $pos);
        return (\@interim, $r);
    }
}

# 1 if a downstream logged this request id (it ran), else 0.
sub downstream_ran {
    my ($id) = @_;
    my $log = slurp(tw_vars()->{t_logs} . '/downstream.log') // '';
    return $log =~ /^\S+ \Q$id\E$/m ? 1 : 0;
}

sub error_log_path { tw_vars()->{t_logs} . '/error_log' }

# Byte offset of the end of the error log: log_since($mark) returns what was
# logged after it.
sub log_mark { return -s error_log_path() || 0 }

sub log_since {
    my ($mark) = @_;
    open my $fh, '<:raw', error_log_path() or return '';
    seek $fh, $mark, SEEK_SET;
    local $/;
    my $s = <$fh>;
    return defined $s ? $s : '';
}

# Waits (up to $timeout s) for a line matching $re after $mark; returns the
# matching line or undef. httpd writes a rejection's line before it sends
# the response, but lines written at request end (pool cleanups) may lag.
sub wait_log {
    my ($mark, $re, $timeout) = @_;
    my $until = time + ($timeout // 3);
    while (1) {
        my $s = log_since($mark);
        for my $line (split /\n/, $s) {
            return $line if $line =~ $re;
        }
        return undef if time >= $until;
        sleep 0.1;
    }
}

# The module's temporary files now in the spool directory: their names,
# and descriptors any process of ours (the httpd children) holds open on a
# twwebhook.* file there, removed name or not ("pid/fd -> target").
sub spool_files {
    my $dir = tw_vars()->{t_logs} . '/spool';
    return map { s{.*/}{}r } glob "$dir/twwebhook.*";
}

sub spool_open {
    my $dir = tw_vars()->{t_logs} . '/spool';
    my @open;
    for my $fd (glob '/proc/[0-9]*/fd/*') {
        my $target = readlink $fd;
        push @open, "$fd -> $target"
            if defined $target && index($target, "$dir/twwebhook.") == 0;
    }
    return @open;
}

# check_delivered($res, $ds, $body, \%vars, $name): one subtest asserting
# that the request reached downstream $ds (cgi|php) with $body byte for
# byte, a Content-Length equal to its length, and exactly the listed
# variables (undef: must be absent).
sub check_delivered {
    my ($res, $ds, $body, $vars, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::subtest($name => sub {
        Test::More::is($res->{status}, 200, 'status 200')
            or Test::More::diag(describe($res));
        my $j = $res->{json} || {};
        Test::More::is($j->{downstream}, $ds, "reached the $ds downstream");
        Test::More::is($j->{test_id}, $res->{id}, 'the report is about this request');
        Test::More::is($j->{body_length}, length $body, 'body length');
        Test::More::is($j->{body_sha256}, sha256_hex($body), 'body SHA-256');
        Test::More::is($j->{CONTENT_LENGTH}, length $body, 'CONTENT_LENGTH');
        Test::More::is($j->{REQUEST_METHOD}, 'POST', 'REQUEST_METHOD')
            if exists $vars->{TW_WEBHOOK_VERIFIED};
        for my $k (sort keys %$vars) {
            Test::More::is($j->{$k}, $vars->{$k}, "$k " .
                (defined $vars->{$k} ? "= $vars->{$k}" : 'absent'));
        }
    });
}

# check_rejected($res, $status, $reason, $mark, $name): one subtest
# asserting the status, that no downstream ran for the request, and that
# the module logged "rejected with <status>: <reason>" at info after $mark
# (for the request's Delivery id when it sent a plain one). $reason is a
# string (the start of the reason) or a regex.
sub check_rejected {
    my ($res, $status, $reason, $mark, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::subtest($name => sub {
        Test::More::is($res->{status}, $status, "status $status")
            or Test::More::diag(describe($res));
        Test::More::is(downstream_ran($res->{id}), 0, 'no downstream ran');
        my $re = ref $reason ? $reason : qr/\Q$reason\E/;
        my $d = $res->{delivery};
        my $line = wait_log($mark, defined $d && $d =~ /^[A-Za-z0-9-]{1,128}$/
            ? qr/\[twwebhook:info\].* rejected with $status: $re.*\Q$d\E/
            : qr/\[twwebhook:info\].* rejected with $status: $re/);
        Test::More::ok($line, "error_log: [twwebhook:info] rejected with $status: "
                              . (ref $reason ? "$reason" : $reason))
            or Test::More::diag("logged since the mark:\n" . log_since($mark));
    });
}

1;
