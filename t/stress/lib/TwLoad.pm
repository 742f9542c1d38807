package TwLoad;
# SPDX-License-Identifier: Apache-2.0
# A small HTTP/1.1 load generator for scripts/stress: CONNS keep-alive
# connections on loopback, each carrying one request at a time, every
# request and its answer accounted for (which wrk cannot tell: it does not
# say which request an answer belongs to).
#
#   my $stats = TwLoad::run(
#       hostport => '127.0.0.1:port', conns => 32, total => N,
#       next     => sub { my ($seq) = @_; return \%req },
#       done     => sub { my ($req, $res) = @_ },   # once per request
#       progress => sub { my ($completed) = @_ },   # after each completion
#       deadline => seconds);
#
# A request: {head => bytes, body => bytes (sent after head; with
# expect100 only once "100 Continue" arrived), expect100 => 1, close => 1
# (close the connection after it)}. A result: {status, body, headers,
# error, retries, latency}.
#
# A request whose reused keep-alive connection is closed by the server
# before a single byte of the answer arrived is sent again on a new
# connection (the server closed an idle connection as we wrote: the usual
# keep-alive race, e.g. during a graceful restart); that is counted in
# {retries}. Anything else without an answer is an error.
use strict;
use warnings;

use Errno qw(EAGAIN EWOULDBLOCK EINTR EINPROGRESS);
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);

use TwStress ();   # also puts t/lib on @INC
use TwHTTP ();

sub run {
    my %o = @_;
    my $conns = $o{conns} // 32;
    my $total = $o{total};
    my $deadline = time + ($o{deadline} // 600);
    my $req_timeout = $o{request_timeout} // 60;
    my $seq = 0;
    my $completed = 0;
    my @retry_queue;
    my %st = (retries => 0, errors => 0, connections => 0, started => time);
    my @c = map { { id => $_ } } 0 .. $conns - 1;

    my $open = sub {
        my ($c) = @_;
        my $s = IO::Socket::INET->new(PeerAddr => $o{hostport}, Proto => 'tcp', Timeout => 10);
        unless ($s) {
            return 0;
        }
        setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
        $s->blocking(0);
        binmode $s;
        $c->{sock} = $s;
        $c->{fileno} = fileno $s;
        $c->{used} = 0;
        $st{connections}++;
        return 1;
    };
    my $close = sub {
        my ($c) = @_;
        close $c->{sock} if $c->{sock};
        delete @$c{qw(sock fileno)};
    };
    my $start = sub {
        my ($c) = @_;
        my $req;
        if (@retry_queue) {
            $req = shift @retry_queue;
        }
        elsif ($seq < $total) {
            $req = $o{next}->($seq++);
        }
        else {
            return 0;
        }
        if (!$c->{sock}) {
            unless ($open->($c)) {
                $st{connect_errors}++;
                push @retry_queue, $req;
                return 1;
            }
        }
        $c->{req} = $req;
        $c->{out} = $req->{head} . ($req->{expect100} ? '' : ($req->{body} // ''));
        $c->{held} = $req->{expect100} ? ($req->{body} // '') : undef;
        $c->{in} = '';
        $c->{t0} //= time;
        $req->{t_first} //= time;
        $c->{t0} = time;
        $c->{resp} = undef;
        $c->{server_closing} = 0;
        return 1;
    };
    my $finish = sub {
        my ($c, $res) = @_;
        my $req = delete $c->{req};
        $res->{retries} = $req->{retries} // 0;
        $res->{latency} = time - $req->{t_first};
        $st{errors}++ if $res->{error};
        $o{done}->($req, $res);
        $completed++;
        $o{progress}->($completed) if $o{progress};
        $c->{used}++;
        $close->($c) if $res->{error} || $req->{close} || $c->{server_closing};
    };
    my $fail_or_retry = sub {
        my ($c, $why) = @_;
        my $req = $c->{req};
        if ($c->{used} > 0 && !length($c->{in}) && ($req->{retries} // 0) < 3) {
            # a reused connection closed under us before any answer
            $req->{retries}++;
            $st{retries}++;
            push @{ $st{retry_log} }, sprintf('request %s on a connection that carried %d: %s',
                                               $req->{seq} // '?', $c->{used}, $why)
                if @{ $st{retry_log} // [] } < 20;
            delete $c->{req};
            $close->($c);
            push @retry_queue, $req;
            return;
        }
        $c->{server_closing} = 1;
        $finish->($c, { status => 0, error => $why, raw => $c->{in} });
    };

    $start->($_) for @c;
    while ($seq < $total or @retry_queue or grep { $_->{req} } @c) {
        if (time > $deadline) {
            for my $c (grep { $_->{req} } @c) {
                $c->{server_closing} = 1;
                $finish->($c, { status => 0, error => 'run deadline' });
            }
            $st{deadline_hit} = 1;
            last;
        }
        for my $c (@c) {
            $start->($c) if !$c->{req};
        }
        my ($rin, $win) = ('', '');
        for my $c (@c) {
            next unless $c->{req} && defined $c->{fileno};
            vec($rin, $c->{fileno}, 1) = 1;
            vec($win, $c->{fileno}, 1) = 1 if length $c->{out};
        }
        my ($rout, $wout);
        my $n = select($rout = $rin, $wout = $win, undef, 0.2);
        next if $n <= 0 && !grep { $_->{req} && time - $_->{t0} > $req_timeout } @c;
        for my $c (@c) {
            next unless $c->{req} && defined $c->{fileno};
            my $fn = $c->{fileno};
            if (length $c->{out} && vec($wout, $fn, 1)) {
                my $w = syswrite($c->{sock}, $c->{out}, 262144);
                if (defined $w) {
                    substr($c->{out}, 0, $w, '');
                }
                elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) {
                    # the server stopped reading: it may still have answered
                    $c->{out} = '';
                    $c->{write_error} = "$!";
                    $c->{server_closing} = 1;
                }
            }
            if (vec($rout, $fn, 1)) {
                my $r = sysread($c->{sock}, my $buf, 262144);
                if (defined $r && $r > 0) {
                    $c->{in} .= $buf;
                }
                elsif (defined $r || ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR)) {
                    # EOF or reset
                    my ($resp) = TwHTTP::parse_response($c->{in}, 1);
                    if ($resp && $resp->{status}) {
                        $c->{server_closing} = 1;
                        $finish->($c, $resp);
                    }
                    else {
                        $fail_or_retry->($c, defined $r ? 'closed without a complete answer'
                                                         : "read: $!");
                    }
                    next;
                }
            }
            # an interim 100 releases a held body
            if (defined $c->{held} && $c->{in} =~ /\AHTTP\/1\.\d 100[^\r\n]*\r\n\r\n/) {
                $c->{in} = substr($c->{in}, $+[0]);
                $c->{out} .= $c->{held};
                $c->{held} = undef;
                $c->{got100} = 1;
            }
            if (length $c->{in} && !$c->{resp}) {
                my ($resp, $used) = TwHTTP::parse_response($c->{in}, 0);
                if ($resp) {
                    $resp->{raw_len} = $used;
                    $c->{resp} = $resp;
                    my $conn = lc($resp->{headers}{connection} // '');
                    $c->{server_closing} = 1 if $conn =~ /close/;
                    if (defined $c->{held}) {
                        # a final answer instead of 100: the body is never sent
                        $c->{held} = undef;
                        $c->{server_closing} = 1;
                    }
                }
            }
            if ($c->{resp}) {
                # done once the answer is in and the request is out (or the
                # server is closing, and reads no more of it)
                if (!length $c->{out} || $c->{server_closing}) {
                    $c->{out} = '';
                    $finish->($c, delete $c->{resp});
                }
            }
            elsif ($c->{req} && time - $c->{t0} > $req_timeout) {
                $c->{server_closing} = 1;
                $finish->($c, { status => 0, error => 'request timeout', raw => $c->{in} });
            }
        }
    }
    $close->($_) for @c;
    $st{seconds} = time - $st{started};
    $st{completed} = $completed;
    return \%st;
}

1;
