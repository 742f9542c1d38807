package TwTest;
# SPDX-License-Identifier: Apache-2.0
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
use Exporter 'import';
use Fcntl qw(:flock);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Test::More ();
use Time::HiRes qw(time sleep);

use Apache::Test ();
use Apache::TestRequest ();

use TwHTTP qw(parse_response read_some write_some);
use TwSecrets qw(%SECRET);
use TwSys qw(slurp slurp_from);

our @EXPORT = qw(%SECRET sign tw_request downstream_ran log_mark log_since
                 wait_log tw_vars downstreams url new_id record_sent
                 describe slurp check_delivered check_rejected rejection_re
                 spool_files spool_open sha256_hex build_request tw_exchange log_count handler_log
                 tw_curl tw_h2c_unsized vhost_base tw_nghttp backend_start backend_stop run_stress_step);

$SIG{PIPE} = 'IGNORE';

sub tw_vars { Apache::Test::vars() }

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
# that t/999_error_log.t can check none of them was ever logged.
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
# (t/999_error_log.t tolerates those lines and no others).
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

# build_request(%args) -> ($head, $wire_body, $id, $delivery): the bytes
# of one HTTP/1.1 request as tw_request sends it (same arguments), plus
#   connection  the Connection header (default "close"; undef: none, i.e.
#               HTTP/1.1 keep-alive)
sub build_request {
    my %a = @_;
    my $path = $a{path} or croak 'build_request: path required';
    my $method = $a{method} // 'POST';
    my $body = $a{body} // '';
    my $id = $a{id} // new_id();
    my $hostport = $a{hostport} // Apache::TestRequest::hostport();
    my $connection = exists $a{connection} ? $a{connection} : 'close';

    my @h = ('Host' => $a{host} // $hostport);
    push @h, 'Connection' => $connection if defined $connection;
    push @h, 'User-Agent' => 'tw-integration-test', 'X-Tw-Test-Id' => $id;
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
    return ($head, $wire_body, $id, $delivery);
}

# A non-blocking connection to $hostport and an IO::Select on it; an empty
# list, with $res->{error} saying why, when it cannot be made.
sub _connect {
    my ($hostport, $res) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $hostport, Proto => 'tcp', Timeout => 10);
    unless ($sock) {
        $res->{error} = "connect $hostport: $!";
        return;
    }
    binmode $sock;
    $sock->blocking(0);
    return ($sock, IO::Select->new($sock));
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
#   host       the Host header (default hostport)
# Response: status, reason, headers (lowercased names, joined by ", "),
# body, interim (list of 1xx statuses), elapsed, id, json (200 + JSON body),
# body_sent (bytes of the body actually written), error.
sub tw_request {
    my %a = @_;
    my $method = $a{method} // 'POST';
    my $timeout = $a{timeout} // 30;
    my $hostport = $a{hostport} // Apache::TestRequest::hostport();
    my ($head, $wire_body, $id, $delivery) = build_request(%a, hostport => $hostport);

    my $res = { id => $id, interim => [], body_sent => 0,
                delivery => $delivery };
    my $t0 = time;
    my $deadline = $t0 + $timeout;
    my ($sock, $sel) = _connect($hostport, $res) or return $res;

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
            my $n = write_some($sock, \$out, $res);
            if (defined $n) {
                $written += $n;
            }
            else {
                $write_ok = 0;   # server closed or reset: read what it said
            }
        }
        $eof = 1 if $r && @$r && read_some($sock, \$in, $res);
        my ($resp, undef, $interim) = parse_response($in, $eof, $method eq 'HEAD');
        undef $resp if $resp && $resp->{nostatus};   # no response: an error below
        if (@$interim > @{ $res->{interim} }) {
            $res->{interim} = [@$interim];
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
    decode_json_body($res);
    return $res;
}

# A JSON 200's body decoded into $res->{json} ($res->{json_error} if it
# does not parse).
sub decode_json_body {
    my ($res) = @_;
    return unless $res->{status} == 200 && ($res->{headers}{'content-type'} // '') =~ /json/;
    $res->{json} = eval { JSON::PP->new->decode($res->{body}) };
    $res->{json_error} = $@ if $@;
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
    return slurp_from(error_log_path(), $mark) // '';
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

# rejection_re($tag, $status, $reason, $delivery) -> the regex of the
# module's log line for one rejection (reject() in mod_twwebhook.c):
#   [twwebhook:LEVEL] ... TAG: rejected with STATUS: REASON (client ..., delivery D, event ...)
# $tag is the call site's TWWnnnn tag (croaks without one); its class says
# the level: TWW01nn client-caused (info), TWW04nn server faults (error).
# $reason is a string, the whole reason, or a regex matched from its start.
# $delivery, when given and plain (as loggable() leaves it), must be the
# line's delivery.
sub rejection_re {
    my ($tag, $status, $reason, $delivery) = @_;
    croak 'rejection_re: a TWWnnnn tag is required, not ' . ($tag // 'undef')
        unless defined $tag && $tag =~ /^TWW\d{4}\z/;
    my $level = $tag =~ /^TWW01/ ? 'info' : $tag =~ /^TWW04/ ? 'error'
        : croak "rejection_re: $tag is no rejection tag (TWW01nn or TWW04nn)";
    croak 'rejection_re: status and reason are required'
        unless defined $status && defined $reason;
    my $re = ref $reason ? $reason : qr/\Q$reason\E \(client /;
    my $d = defined $delivery && $delivery =~ /^[A-Za-z0-9_-]{1,128}$/
        ? qr/.*, delivery \Q$delivery\E, event / : qr//;
    return qr/\[twwebhook:$level\].* \Q$tag\E: rejected with $status: $re$d/;
}

# check_rejected($res, $status, $tag, $reason, $mark, $name): one subtest
# asserting the status, that no downstream ran for the request, and that
# the module logged its rejection line with this tag, status and reason
# after $mark (see rejection_re), for the request's Delivery id when it
# sent a plain one.
sub check_rejected {
    my ($res, $status, $tag, $reason, $mark, $name) = @_;
    my $re = rejection_re($tag, $status, $reason, $res->{delivery});
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::subtest($name => sub {
        Test::More::is($res->{status}, $status, "status $status")
            or Test::More::diag(describe($res));
        Test::More::is(downstream_ran($res->{id}), 0, 'no downstream ran');
        Test::More::ok(wait_log($mark, $re), "error_log: $tag: rejected with $status: $reason")
            or Test::More::diag("logged since the mark:\n" . log_since($mark));
    });
}

# ---- a scripts/stress step inside the suite --------------------------------

# run_stress_step($step, %env): runs t/stress/$step.pl once with short bounds
# (TW_STRESS_QUICK), its checks as TAP on this file's output, in a run
# directory of its own under t/logs (removed afterwards); %env adds the
# step's own settings. Exits with the step's verdict.
sub run_stress_step {
    my ($step, %env) = @_;
    require File::Temp;
    my $top = tw_vars()->{top_dir};
    my $logs = tw_vars()->{t_logs};
    mkdir $logs unless -d $logs;
    my $run = File::Temp::tempdir("stress-$step.XXXXXX", DIR => $logs, CLEANUP => 1);
    chmod 0755, $run;
    local @ENV{keys %env} = values %env;
    local $ENV{TW_STRESS_RUN} = $run;
    local $ENV{TW_STRESS_TOP} = $top;
    local $ENV{TW_STRESS_TAP} = 1;
    local $ENV{TW_STRESS_QUICK} = 1;
    my $rc = system($^X, "$top/t/stress/$step.pl");
    exit($rc == 0 ? 0 : 1);
}

# ---- several requests on one connection (keep-alive, pipelining) ------------

# _parse_next(\$buf, $eof) -> the first complete response in $buf (removed
# from it, with its interim 1xx statuses), or undef when more bytes are
# needed.
sub _parse_next {
    my ($bufref, $eof) = @_;
    my ($r, $used) = parse_response($$bufref, $eof, 0);
    return undef if !$r || $r->{nostatus};
    substr($$bufref, 0, $used, '');
    decode_json_body($r);
    return $r;
}

# tw_exchange(\@requests, %opt) -> { responses => [...], closed => 0|1,
#                                    leftover => bytes after the last one }
# Sends the requests (hashrefs of build_request arguments; Connection
# defaults to none, i.e. keep-alive) over ONE connection:
#   pipeline => 1   every request written at once, then the responses read
#   pipeline => 0   each request written after the previous response
# responses[i] answers requests[i] (HTTP/1.1 answers in order); it has
# status, headers, body, json (a JSON 200), id and delivery of its request;
# a request that got no answer has {error}. closed: the server closed the
# connection.
sub tw_exchange {
    my ($requests, %opt) = @_;
    my $hostport = $opt{hostport} // Apache::TestRequest::hostport();
    my $deadline = time + ($opt{timeout} // 60);
    my @wire;
    for my $rq (@$requests) {
        my %a = (connection => undef, %$rq);
        my ($head, $body, $id, $delivery) = build_request(%a, hostport => $hostport);
        push @wire, { bytes => $head . $body, id => $id, delivery => $delivery };
    }
    my $result = { responses => [], closed => 0, leftover => '' };
    my ($sock, $sel) = _connect($hostport, $result) or return $result;
    my $out = '';
    my $next = 0;    # the next request to queue
    if ($opt{pipeline}) {
        $out = join '', map { $_->{bytes} } @wire;
        $next = @wire;
    }
    else {
        $out = $wire[0]{bytes};
        $next = 1;
    }
    my ($in, $eof, $write_ok) = ('', 0, 1);
    my $responses = $result->{responses};
    while (@$responses < @wire && time < $deadline) {
        my ($r, $w) = IO::Select->select($sel, $write_ok && length $out ? $sel : undef,
                                         undef, 0.2);
        $write_ok = 0 if $w && @$w && !defined write_some($sock, \$out, $result);
        $eof = 1 if $r && @$r && read_some($sock, \$in, $result);
        while (@$responses < @wire && (my $res = _parse_next(\$in, $eof))) {
            my $w = $wire[@$responses];
            @$res{qw(id delivery)} = @$w{qw(id delivery)};
            push @$responses, $res;
            if (!$opt{pipeline} && $next < @wire) {
                $out .= $wire[$next++]{bytes};
            }
        }
        last if $eof;
    }
    # the server may close right after the last response: look briefly
    unless ($eof) {
        my $until = time + ($opt{linger} // 0.3);
        while (time < $until) {
            my ($r) = IO::Select->select($sel, undef, undef, 0.05);
            next unless $r && @$r;
            $eof = read_some($sock, \$in, $result);
            last if $eof;
        }
    }
    close $sock;
    $result->{closed} = $eof;
    $result->{leftover} = $in;
    for my $i (scalar @$responses .. $#wire) {
        push @$responses, { id => $wire[$i]{id}, delivery => $wire[$i]{delivery},
                            error => $eof ? 'connection closed before this response'
                                          : 'timeout' };
    }
    return $result;
}

# log_count($mark, $re): how many error-log lines after $mark match $re.
sub log_count {
    my ($mark, $re) = @_;
    return scalar grep { $_ =~ $re } split /\n/, log_since($mark);
}

# handler_log($id, $timeout) -> the t/logs/handler_log entry of the request
# with this X-Tw-Test-Id (t/conf/protocols.conf.in): { handler, status,
# protocol, framing } (framing: "cl=<Content-Length>;te=<Transfer-Encoding>"
# as the request arrived, before the module rewrote them). Written when the
# request ends, so waited for; undef if none came.
sub handler_log {
    my ($id, $timeout) = @_;
    my $file = tw_vars()->{t_logs} . '/handler_log';
    my $until = time + ($timeout // 3);
    while (1) {
        for (split /\n/, slurp($file) // '') {
            my ($lid, $handler, $status, $proto, $framing) = split / /;
            next unless defined $lid && $lid eq $id;
            return { handler => $handler, status => $status, protocol => $proto,
                     framing => $framing // '' };
        }
        return undef if time >= $until;
        sleep 0.1;
    }
}

# ---- HTTP/2 requests through curl --------------------------------------------

my $CURL;
sub _curl_bin {
    return $CURL if $CURL;
    for my $dir (split(/:/, $ENV{PATH} // ''), qw(/usr/bin /usr/local/bin)) {
        return $CURL = "$dir/curl" if -x "$dir/curl";
    }
    die "curl not found (Debian: apt-get install curl)\n";
}

# tw_curl(\@transfers, %opt) -> list of responses, in the order given.
# One curl run; with several transfers they go in parallel (-Z) as
# streams of one HTTP/2 connection. A transfer: hashref with
#   url        full URL (required)
#   body, signature, event, delivery (default the id), id, content_type,
#   headers ([name => value, ...], sent after those)
#   no_content_length  'stdin': the body streamed from stdin (-T -), at most
#              one transfer; 'chunked': --data-binary with "Transfer-Encoding:
#              chunked" (curl drops that header over HTTP/2). Either way
#              HTTP/2 DATA frames without a content-length, or an HTTP/1.1
#              chunked body.
# %opt: h2 => 'prior' (h2c, --http2-prior-knowledge) or 'tls' (ALPN h2,
# the test certificate trusted); timeout.
# Response: status, http_version, num_connects, headers, body, json, id,
# delivery, sent_content_length (what curl's verbose log shows it sent,
# undef for none), curl_rc, error.
sub tw_curl {
    my ($transfers, %opt) = @_;
    my $t_logs = tw_vars()->{t_logs};
    my $dir = "$t_logs/curl";
    mkdir $dir unless -d $dir;
    my @cmd = (_curl_bin(), '-sS');
    push @cmd, '-Z' if @$transfers > 1;
    my ($stdin, @meta);
    for my $i (0 .. $#$transfers) {
        my %t = %{ $transfers->[$i] };
        my $id = $t{id} // new_id();
        my $delivery = exists $t{delivery} ? $t{delivery} : $id;
        my $body = $t{body} // '';
        my $base = "$dir/$id";
        open my $bf, '>:raw', "$base.req" or die "write $base.req: $!";
        print {$bf} $body;
        close $bf;
        record_sent($t{signature});
        push @cmd, '--next' if $i;
        push @cmd, '-v', '--max-time', $opt{timeout} // 60,
            '-o', "$base.body", '-D', "$base.head",
            '-w', "%{http_code} %{http_version} %{num_connects} $id\\n",
            -H => "X-Tw-Test-Id: $id", -H => 'Expect:',
            -H => 'Content-Type: ' . ($t{content_type} // 'application/json');
        push @cmd, -H => "Signature: $t{signature}" if defined $t{signature};
        push @cmd, -H => "Event: $t{event}" if defined $t{event};
        push @cmd, -H => "Delivery: $delivery" if defined $delivery;
        my @extra = @{ $t{headers} // [] };
        push @cmd, -H => "$extra[$_]: $extra[$_ + 1]" for grep { $_ % 2 == 0 } 0 .. $#extra;
        if (($opt{h2} // '') eq 'prior') {
            push @cmd, '--http2-prior-knowledge';
        }
        elsif (($opt{h2} // '') eq 'tls') {
            push @cmd, '--http2', '--cacert', tw_vars()->{tw_tls_dir} . '/server.crt';
        }
        my $ncl = $t{no_content_length} // '';
        if ($ncl eq 'stdin') {
            croak 'tw_curl: only one transfer can read stdin' if defined $stdin;
            $stdin = "$base.req";
            push @cmd, '-X', 'POST', '-T', '-';
        }
        else {
            push @cmd, '--data-binary', "\@$base.req";
            push @cmd, -H => 'Transfer-Encoding: chunked' if $ncl eq 'chunked';
        }
        push @cmd, $t{url};
        push @meta, { id => $id, delivery => $delivery, base => $base };
    }
    my $tag = "$dir/" . $meta[0]{id};
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', $stdin // '/dev/null' or POSIX::_exit(120);
        open STDOUT, '>', "$tag.out" or POSIX::_exit(121);
        open STDERR, '>', "$tag.err" or POSIX::_exit(122);
        exec @cmd or POSIX::_exit(123);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    my $verbose = slurp("$tag.err") // '';
    my %w;
    for (split /\n/, slurp("$tag.out") // '') {
        my ($code, $ver, $conn, $id) = split / /;
        $w{$id} = [$code, $ver, $conn] if defined $id;
    }
    # what each transfer sent: curl -v shows the request head as "> " lines;
    # with parallel transfers they interleave, so match on X-Tw-Test-Id
    my %sent_cl;
    for my $block (split /\n(?=> (?:POST|GET|PUT) )/, $verbose) {
        my ($id) = $block =~ /^> x-tw-test-id: (\S+)/mi or next;
        my ($cl) = $block =~ /^> content-length: (\d+)/mi;
        $sent_cl{$id} = $cl;
    }
    my @res;
    for my $m (@meta) {
        my $r = { id => $m->{id}, delivery => $m->{delivery}, curl_rc => $rc,
                  sent_content_length => $sent_cl{$m->{id}},
                  sent_seen => exists $sent_cl{$m->{id}} ? 1 : 0 };
        if (my $w = $w{$m->{id}}) {
            @$r{qw(status http_version num_connects)} = @$w;
        }
        my %h;
        for (split /\r?\n/, slurp("$m->{base}.head") // '') {
            my ($k, $v) = /^([^:\s]+):\s*(.*?)\s*$/ or next;
            $h{lc $k} = $v;
        }
        $r->{headers} = \%h;
        $r->{body} = slurp("$m->{base}.body") // '';
        if (($r->{status} // 0) == 200 && ($h{'content-type'} // '') =~ /json/) {
            $r->{json} = eval { JSON::PP->new->decode($r->{body}) };
        }
        $r->{error} = "curl exit $rc: " . join(' | ', grep { /^curl: / } split /\n/, $verbose)
            if $rc;
        $r->{verbose} = $verbose;
        unlink "$m->{base}.req", "$m->{base}.body", "$m->{base}.head";
        push @res, $r;
    }
    unlink "$tag.out", "$tag.err";
    return @res;
}

# The base URL of one of t/conf's virtual hosts: "http://127.0.0.1:PORT",
# https for tw_h2tls (whose certificate names 127.0.0.1).
sub vhost_base {
    my ($vh) = @_;
    local $_;   # Apache::Test's config parser assigns to $_ (map's may be read-only)
    Apache::TestRequest::module($vh);
    my ($port) = Apache::TestRequest::hostport() =~ /:(\d+)$/;
    Apache::TestRequest::module('default');
    return ($vh eq 'tw_h2tls' ? 'https' : 'http') . "://127.0.0.1:$port";
}

# One POST over h2c (prior knowledge) to $path on tw_h2c, its body streamed
# from stdin so that no content-length is sent; %t as a tw_curl transfer.
# Checks that it went over HTTP/2 without a content-length (two checks
# named after $name) and returns the response.
sub tw_h2c_unsized {
    my ($path, $name, %t) = @_;
    my ($res) = tw_curl([{ %t, url => vhost_base('tw_h2c') . $path, no_content_length => 'stdin' }],
                        h2 => 'prior');
    Test::More::is($res->{http_version}, '2', "$name: answered over HTTP/2")
        or Test::More::diag($res->{error});
    Test::More::is($res->{sent_content_length}, undef, "$name: no content-length sent");
    return $res;
}

# tw_nghttp(%args) -> response { status, rst (error code of a RST_STREAM
# for the stream, if any), id, delivery, rc, error, verbose }: one POST over
# HTTP/2 with nghttp (nghttp2-client), for requests refused before their
# body is read. The server then answers and resets the stream with
# NO_ERROR (RFC 9113 8.1), which curl 7.88 reports as error 92; nghttp
# reads the response. Its body is only kept when it is a downstream's
# one-line JSON report (an error page made by report.php or report.cgi). Arguments: url, body, signature, event, delivery
# (default the id), id, headers ([name => value, ...], sent after those).
# nghttp always sends a content-length.
sub tw_nghttp {
    my %a = @_;
    my $bin;
    for my $dir (split(/:/, $ENV{PATH} // ''), qw(/usr/bin /usr/local/bin)) {
        $bin = "$dir/nghttp", last if -x "$dir/nghttp";
    }
    die "nghttp not found (Debian: apt-get install nghttp2-client)\n" unless $bin;
    my $dir = tw_vars()->{t_logs} . '/curl';
    mkdir $dir unless -d $dir;
    my $id = $a{id} // new_id();
    my $delivery = exists $a{delivery} ? $a{delivery} : $id;
    my $base = "$dir/$id";
    open my $bf, '>:raw', "$base.req" or die "write $base.req: $!";
    print {$bf} $a{body} // '';
    close $bf;
    record_sent($a{signature});
    my @cmd = ($bin, '-v', '-t', 30, '-d', "$base.req", -H => "x-tw-test-id: $id",
               -H => 'content-type: application/json');
    push @cmd, -H => "signature: $a{signature}" if defined $a{signature};
    push @cmd, -H => "event: $a{event}" if defined $a{event};
    push @cmd, -H => "delivery: $delivery" if defined $delivery;
    my @extra = @{ $a{headers} // [] };
    push @cmd, -H => lc($extra[$_]) . ": $extra[$_ + 1]" for grep { $_ % 2 == 0 } 0 .. $#extra;
    push @cmd, $a{url};
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null' or POSIX::_exit(120);
        open STDOUT, '>', "$base.out" or POSIX::_exit(121);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(122);
        exec @cmd or POSIX::_exit(123);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    my $out = slurp("$base.out") // '';
    unlink "$base.req", "$base.out";
    my $res = { id => $id, delivery => $delivery, rc => $rc, verbose => $out };
    ($res->{status}) = $out =~ /recv \(stream_id=\d+\) :status: (\d{3})/;
    # nghttp writes the response body among its frame log: a downstream's
    # one-line JSON report (see t/php/report.php) is found by its shape
    ($res->{body}) = $out =~ /^(\{".*\})$/m;
    ($res->{rst}) = $out =~ /recv RST_STREAM frame[^\n]*\n\s*\(error_code=(\w+)/;
    $res->{error} = "nghttp exit $rc" if $rc;
    return $res;
}

# ---- a loopback HTTP backend for mod_proxy_http ------------------------------

# backend_start($port) -> pid of a forked HTTP/1.1 server on 127.0.0.1:$port
# that answers every request with a JSON report of what reached it (like
# the downstreams' report): downstream "backend", test_id, body_sha256,
# body_length, CONTENT_LENGTH and TRANSFER_ENCODING as received,
# REQUEST_METHOD, REQUEST_URI and every header (lowercased names). It logs
# "backend <X-Tw-Test-Id>" to t/logs/downstream.log. One connection per
# request (it answers "Connection: close"). Dies if it cannot listen.
sub backend_start {
    my ($port) = @_;
    my $log = tw_vars()->{t_logs} . '/downstream.log';
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                    Proto => 'tcp', Listen => 32, ReuseAddr => 1)
        or die "backend: cannot listen on 127.0.0.1:$port: $!\n";
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $srv;
        return $pid;
    }
    $SIG{CHLD} = 'IGNORE';
    $SIG{TERM} = sub { POSIX::_exit(0) };
    while (1) {
        my $c = $srv->accept or next;
        my $kid = fork;
        if (defined $kid && !$kid) {
            close $srv;
            $SIG{TERM} = 'DEFAULT';
            _backend_serve($c, $log);
            POSIX::_exit(0);
        }
        close $c;
    }
}

sub _backend_read {
    my ($c, $bufref, $need_re_or_len, $deadline) = @_;
    my $sel = IO::Select->new($c);
    while (1) {
        if (ref $need_re_or_len) {
            return 1 if $$bufref =~ $need_re_or_len;
        }
        else {
            return 1 if length $$bufref >= $need_re_or_len;
        }
        return 0 if time > $deadline;
        next unless $sel->can_read(0.5);
        my $n = sysread($c, my $buf, 65536);
        return 0 unless $n;
        $$bufref .= $buf;
    }
}

sub _backend_serve {
    my ($c, $log) = @_;
    binmode $c;
    my $deadline = time + 30;
    my $in = '';
    _backend_read($c, \$in, qr/\r\n\r\n/, $deadline) or return;
    my $end = index $in, "\r\n\r\n";
    my ($line, @lines) = split /\r\n/, substr($in, 0, $end);
    $in = substr($in, $end + 4);
    my ($method, $uri) = split / /, $line;
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    my $body = '';
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            _backend_read($c, \$in, qr/\r\n/, $deadline) or return;
            my $le = index $in, "\r\n";
            my $size = hex((split /;/, substr($in, 0, $le))[0]);
            $in = substr($in, $le + 2);
            if (!$size) {
                _backend_read($c, \$in, qr/^(?:[^\r\n]+\r\n)*\r\n/, $deadline) or return;
                last;
            }
            _backend_read($c, \$in, $size + 2, $deadline) or return;
            $body .= substr($in, 0, $size);
            $in = substr($in, $size + 2);
        }
    }
    elsif (defined $h{'content-length'}) {
        _backend_read($c, \$in, $h{'content-length'}, $deadline) or return;
        $body = substr($in, 0, $h{'content-length'});
    }
    # a dispatch of the queue carries the stored headers: Delivery, no X-Tw-Test-Id
    my $id = $h{'x-tw-test-id'} // $h{delivery} // '-';
    if (open my $fh, '>>', $log) {
        flock $fh, LOCK_EX;
        print {$fh} "backend $id\n";
        close $fh;
    }
    my $json = JSON::PP->new->canonical->encode({
        downstream => 'backend', test_id => $id,
        body_sha256 => sha256_hex($body), body_length => length $body,
        CONTENT_LENGTH => $h{'content-length'},
        TRANSFER_ENCODING => $h{'transfer-encoding'},
        REQUEST_METHOD => $method, REQUEST_URI => $uri, headers => \%h,
    });
    # $TW_TEST_REPORTS, as the CGI and php-fpm reports (the queue's tests)
    if (my $reports = $ENV{TW_TEST_REPORTS}) {
        if (open my $fh, '>>', $reports) {
            flock $fh, LOCK_EX;
            print {$fh} "$json\n";
            close $fh;
        }
    }
    my $resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             . 'Content-Length: ' . length($json) . "\r\nConnection: close\r\n\r\n$json";
    while (length $resp) {
        my $n = syswrite($c, $resp);
        last unless $n;
        substr($resp, 0, $n, '');
    }
    close $c;
}

# backend_stop($pid): ends the backend started by backend_start.
sub backend_stop {
    my ($pid) = @_;
    return unless $pid;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

1;
