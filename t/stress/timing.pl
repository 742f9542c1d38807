#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# scripts/stress step "timing": is a wrong signature that shares a long
# prefix with the right one answered later than one that shares nothing?
#
# Two kinds of forged request for the same body, both 64 lowercase hex
# digits: "long" has the right signature's first 63 digits (31.5 of 32
# bytes equal), "none" differs from it in every digit. N of each (2,000)
# are sent in a random interleaved order over one keep-alive connection
# (so drift and background noise hit both kinds alike), after a warm-up,
# and each round trip is timed with the monotonic clock.
#
# Compared: medians and 10 % trimmed means; a bootstrap (2,000 resamples,
# --quick 1,000)
# 99 % confidence interval of the difference of medians (long - none); a
# permutation test (as many shuffles) of the same difference. Pass: the
# upper end of that interval is below the tolerance, max(10 us, 10 % of the
# median round trip). If noise left the interval too wide to decide, up to
# two more batches are added (more samples narrow it); it fails only if
# "long" is still measurably slower.
#
# What this can and cannot show: the resolution is the interval's width
# (microseconds over loopback HTTP). A byte-by-byte compare would differ by
# nanoseconds, far below it: the constant-time property rests on
# CRYPTO_memcmp in tw_hmac.c; this check rules out anything gross (work
# proportional to the matching prefix, early exits before the HMAC).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TwStress;
use TwHTTP ();
use List::Util qw(shuffle sum);
use POSIX ();
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC sleep);
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);

my $N = $ENV{TW_STRESS_TIMING_N} || 2000;
my $RESAMPLES = quick() ? 1000 : 2000;   # bootstrap resamples and permutations
my $h = stress_server(name => 'timing', loglevel => 'warn');
$h->start;

my $body = '{"event":"page.updated","page":{"id":77,"title":"timing"}}';
my $right = sign($body, $SECRET);
my $long = substr($right, 0, 63) . (substr($right, 63, 1) eq '0' ? '1' : '0');
my $none = join '', map { sprintf '%x', (hex($_) + 8) % 16 } split //, $right;
die "bad construction" if $none =~ /[^0-9a-f]/ || length $none != 64;
my $shared_none = grep { substr($none, $_, 1) eq substr($right, $_, 1) } 0 .. 63;
my $shared_long = grep { substr($long, $_, 1) eq substr($right, $_, 1) } 0 .. 63;

my %req = map {
    my ($k, $sig) = @$_;
    ($k => build_request(path => '/hook/rec.cgi', body => $body,
                         headers => ['Signature' => $sig, 'Delivery' => "timing-$k"]))
} ([long => $long], [none => $none]);

my $sock;
sub connect_server {
    $sock = IO::Socket::INET->new(PeerAddr => $h->{hostport}, Proto => 'tcp', Timeout => 5)
        or die "connect: $!";
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    binmode $sock;
}
# one request, one 401 answer on the kept-alive connection; seconds
sub one {
    my ($kind) = @_;
    my $t0 = clock_gettime(CLOCK_MONOTONIC);
    my $data = $req{$kind};
    my $off = 0;
    while ($off < length $data) {
        my $w = syswrite($sock, $data, length($data) - $off, $off);
        die "write: $!" unless defined $w;
        $off += $w;
    }
    my $in = '';
    while (1) {
        my $n = sysread($sock, my $buf, 65536);
        die "read: " . (defined $n ? 'closed' : $!) unless $n;
        $in .= $buf;
        my ($res, $used) = TwHTTP::parse_response($in, 0);
        if ($res) {
            my $t = clock_gettime(CLOCK_MONOTONIC) - $t0;
            die "unexpected status $res->{status}" unless $res->{status} == 401;
            connect_server() if ($res->{headers}{connection} // '') =~ /close/i;
            return $t;
        }
    }
}

sub median {
    my @s = sort { $a <=> $b } @_;
    my $n = @s;
    return $n % 2 ? $s[$n / 2] : ($s[$n / 2 - 1] + $s[$n / 2]) / 2;
}
sub trimmed {
    my @s = sort { $a <=> $b } @_;
    my $k = int(@s * 0.10);
    @s = @s[$k .. $#s - $k];
    return sum(@s) / @s;
}

connect_server();
one($_) for map { ('long', 'none') } 1 .. 200;   # warm-up

my (%t, @batches);
my ($verdict, $upper, $tol);
for my $batch (1 .. 3) {
    my @order = shuffle(('long') x $N, ('none') x $N);
    for my $k (@order) {
        push @{ $t{$k} }, one($k);
    }
    my @L = @{ $t{long} };
    my @M = @{ $t{none} };
    my $mL = median(@L);
    my $mN = median(@M);
    my $diff = $mL - $mN;
    # bootstrap of the difference of medians
    my @boot;
    for (1 .. $RESAMPLES) {
        my @bl = map { $L[rand @L] } 1 .. @L;
        my @bn = map { $M[rand @M] } 1 .. @M;
        push @boot, median(@bl) - median(@bn);
    }
    @boot = sort { $a <=> $b } @boot;
    my ($lo, $hi) = ($boot[int(0.005 * $#boot)], $boot[int(0.995 * $#boot)]);
    # permutation test (two-sided) on the same statistic
    my @all = (@L, @M);
    my $extreme = 0;
    for (1 .. $RESAMPLES) {
        my @p = shuffle(@all);
        my $d = median(@p[0 .. $#L]) - median(@p[@L .. $#p]);
        $extreme++ if abs($d) >= abs($diff);
    }
    my $p = ($extreme + 1) / ($RESAMPLES + 1);
    $tol = 10e-6 > 0.10 * $mN ? 10e-6 : 0.10 * $mN;
    $upper = $hi;
    my $us = sub { sprintf '%.1f', 1e6 * $_[0] };
    figure(batch => $batch, n_each => scalar @L, median_long_us => $us->($mL),
           median_none_us => $us->($mN), trimmed_long_us => $us->(trimmed(@L)),
           trimmed_none_us => $us->(trimmed(@M)), diff_us => $us->($diff),
           ci99_us => '[' . $us->($lo) . ',' . $us->($hi) . ']', permutation_p => sprintf('%.3f', $p),
           tolerance_us => $us->($tol));
    if ($hi < $tol) {
        $verdict = 'pass';
        last;
    }
    if ($lo > $tol) {   # clearly slower: no need for more samples
        $verdict = 'slower';
        last;
    }
    note("batch $batch: the interval reaches the tolerance; adding a batch");
}
figure(digits_shared_long => $shared_long, digits_shared_none => $shared_none);
check(($verdict // '') eq 'pass',
      'a signature sharing 63 of 64 hex digits is not answered measurably later than one sharing none',
      sprintf('upper end of the 99%% interval %.1f us, tolerance %.1f us', 1e6 * $upper, 1e6 * $tol));
my @crash = $h->crash_lines;
check(!@crash, 'no child crashed', @crash);
exit done();
