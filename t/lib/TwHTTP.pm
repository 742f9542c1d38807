package TwHTTP;
# SPDX-License-Identifier: Apache-2.0
# The HTTP/1 wire for every test client (t/lib/TwTest.pm, t/lib/TwFleet.pm,
# t/stress): one response parser and the non-blocking socket steps. The
# clients differ in what they send and when (a body held for 100-continue,
# pauses, pipelining, thousands of connections); what a response is, and how
# bytes go in and out, is here once.
use strict;
use warnings;

use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Exporter 'import';

our @EXPORT_OK = qw(parse_response read_some write_some);

# parse_response($buf, $eof, $head_only)
#   -> (\%response or undef, $bytes_used, \@interim_statuses)
# The first final response in $buf, after its 1xx responses. undef (and 0
# bytes used) while more bytes are needed; the interim statuses seen so far
# are returned all the same (a client holding its body for 100-continue
# needs them first). A response has status, reason, headers (names in
# lower case, repeated ones joined with ", "), header_list ([name, value]
# as sent), interim and body. At the end of the connection ($eof) bytes that
# are not a response come back as { status => 0, nostatus => 1, body }
# (truncated => 1 when a head had begun). A head whose status line does
# not parse is { status => 0, error }. $head_only: the answer to a HEAD,
# with no body whatever its headers say.
sub parse_response {
    my ($buf, $eof, $head_only) = @_;
    my $pos = 0;
    my @interim;
    while (1) {
        if (length($buf) - $pos >= 5 && substr($buf, $pos, 5) ne 'HTTP/') {
            return (undef, 0, \@interim) unless $eof;
            return ({ status => 0, nostatus => 1, body => substr($buf, $pos),
                      interim => \@interim }, length $buf, \@interim);
        }
        my $end = index $buf, "\r\n\r\n", $pos;
        if ($end < 0) {
            return (undef, 0, \@interim) unless $eof && length($buf) > $pos;
            return ({ status => 0, nostatus => 1, truncated => 1, body => substr($buf, $pos),
                      interim => \@interim }, length $buf, \@interim);
        }
        my @lines = split /\r\n/, substr($buf, $pos, $end - $pos);
        my $body_at = $end + 4;
        my $status_line = shift @lines;
        my ($status, $reason) = $status_line =~ m{^HTTP/\d\.\d (\d{3}) ?(.*)$}
            or return ({ status => 0, error => "bad status line: $status_line",
                         interim => \@interim }, length $buf, \@interim);
        my (%h, @list);
        for (@lines) {
            my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
            push @list, [$k, $v];
            $k = lc $k;
            $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
        }
        if ($status >= 100 && $status < 200) {
            push @interim, $status;
            $pos = $body_at;
            next;
        }
        my $r = { status => $status, reason => $reason, headers => \%h,
                  header_list => \@list, interim => \@interim };
        my $used = _body($r, $buf, $body_at, $eof, $head_only);
        return defined $used ? ($r, $used, \@interim) : (undef, 0, \@interim);
    }
}

# Fills $r->{body} from $buf at $at; returns where the response ends, or
# undef while it is incomplete.
sub _body {
    my ($r, $buf, $at, $eof, $head_only) = @_;
    my $h = $r->{headers};
    if ($r->{status} == 204 || $r->{status} == 304 || $head_only) {
        $r->{body} = '';
        return $at;
    }
    if (($h->{'transfer-encoding'} // '') =~ /chunked/i) {
        my $body = '';
        my $p = $at;
        while (1) {
            my $le = index $buf, "\r\n", $p;
            return undef if $le < 0;
            my $size = hex((split /;/, substr($buf, $p, $le - $p))[0]);
            $p = $le + 2;
            last if $size == 0;
            return undef if length($buf) < $p + $size + 2;
            $body .= substr($buf, $p, $size);
            $p += $size + 2;
        }
        # trailers, then the empty line
        my $te = index $buf, "\r\n", $p;
        while ($te >= 0 && $te != $p) {
            $p = $te + 2;
            $te = index $buf, "\r\n", $p;
        }
        return undef if $te < 0;
        $r->{body} = $body;
        return $te + 2;
    }
    if (defined $h->{'content-length'}) {
        return undef if length($buf) - $at < $h->{'content-length'};
        $r->{body} = substr($buf, $at, $h->{'content-length'});
        return $at + $h->{'content-length'};
    }
    return undef unless $eof;   # delimited by the end of the connection
    $r->{body} = substr($buf, $at);
    return length $buf;
}

# write_some($sock, \$out, \%res) -> bytes written (0 when the socket
# would block), or undef when the peer closed or reset: then
# $res->{write_error} says why and the caller reads what the server said.
sub write_some {
    my ($sock, $outref, $res) = @_;
    my $n = syswrite($sock, $$outref, 65536);
    if (defined $n) {
        substr($$outref, 0, $n, '');
        return $n;
    }
    return 0 if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
    $res->{write_error} = "$!";
    return undef;
}

# read_some($sock, \$in, \%res) -> 1 at the end of the connection (or on a
# read error, in $res->{read_error}), else 0; what arrived is appended to
# $in.
sub read_some {
    my ($sock, $inref, $res) = @_;
    my $n = sysread($sock, my $buf, 65536);
    if (defined $n) {
        return 1 if $n == 0;
        $$inref .= $buf;
        return 0;
    }
    return 0 if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
    $res->{read_error} = "$!";
    return 1;
}

1;
