package TwSys;

# SPDX-License-Identifier: Apache-2.0
# The system chores every test library needs, written once: reading and
# writing a file, a free loopback port, whether a process still runs, and
# waiting for a condition. t/TEST.PL, TwTest, TwFleet and the stress
# library (t/stress/lib/TwStress.pm) all take them from here.

use strict;
use warnings;

use Carp qw(croak);
use Exporter 'import';
use Fcntl qw(SEEK_SET);
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(slurp slurp_from spew free_port pid_alive wait_until fill_file_system);

# The bytes of $path from byte $offset on (all of it without one); undef
# when it cannot be opened, '' when there is nothing past $offset.
sub slurp_from {
    my ($path, $offset) = @_;
    open my $fh, '<:raw', $path or return undef;
    seek $fh, $offset, SEEK_SET if $offset;
    local $/;
    my $s = <$fh>;
    return $s // '';
}

sub slurp { return slurp_from($_[0], 0) }

# Writes $text to $path (raw bytes), then chmods it when $mode is given.
sub spew {
    my ($path, $text, $mode) = @_;
    open my $fh, '>:raw', $path or croak "write $path: $!";
    print {$fh} $text;
    close $fh or croak "close $path: $!";
    chmod $mode, $path if defined $mode;
}

# A loopback TCP port nothing listens on right now (bound, then released:
# the kernel's choice). A port once handed out is never handed out again
# by this process, so that two servers set up one after the other, before
# either binds, do not get the same one.
my %PORTS_GIVEN;
sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                      Proto => 'tcp', Listen => 1, ReuseAddr => 1)
            or croak "no free loopback port: $!";
        my $p = $s->sockport;
        close $s;
        return $p unless $PORTS_GIVEN{$p}++;
    }
    croak 'no free loopback port in 50 tries that was not handed out before';
}

# Whether $pid runs: a zombie (exited, not yet reaped) does not.
sub pid_alive {
    my ($pid) = @_;
    return 0 unless $pid && kill 0, $pid;
    my $stat = slurp("/proc/$pid/stat") // return 1;
    return $stat =~ /^\d+ \(.*\) Z/ ? 0 : 1;
}

# Calls $cond->() every $step seconds (0.05) until it returns true or
# $timeout seconds have passed; returns its last value.
# Fills the file system that holds $dir (a small tmpfs the harness
# mounted) with one file, "filler", until a write fails (ENOSPC).
sub fill_file_system {
    my ($dir) = @_;
    open my $fh, '>', "$dir/filler" or die "filler: $!";
    my $chunk = 'x' x 4096;
    1 while syswrite($fh, $chunk);
    close $fh;
}

sub wait_until {
    my ($cond, $timeout, $step) = @_;
    my $until = time + $timeout;
    while (1) {
        my $v = $cond->();
        return $v if $v || time >= $until;
        sleep($step // 0.05);
    }
}

1;
