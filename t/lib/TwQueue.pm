package TwQueue;
# SPDX-License-Identifier: Apache-2.0
# What the queue's tests (t/16x) share: a server with TwWebhookQueue on
# this run's MPM, what the apps reported (their answers go to the
# dispatcher, which drops them: each app appends its report and a "done"
# line to $TW_TEST_REPORTS, see t/cgi-bin/report.cgi), and the entries of
# an inbox directory as the files say them.
use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path);
use JSON::PP ();
use Time::HiRes qw(sleep time);

use TwFleet ();
use TwSecrets qw(%SECRET);
use TwSys qw(slurp);
use TwTest ();

our @EXPORT_OK = qw(queue_server post_signed reports report_of wait_report entries
                    wait_entries max_concurrent);

# queue_server(name, dirs => [names], conf => sub { my ($dir) = @_; text },
#              modules => [...], routes => [...], mpm_conf => text)
# -> ($server, {name => inbox dir}, $reports_file). The inbox directories
# are made (0700) under t/logs/<name>-inbox/; the watchdog ticks every
# 100 ms (WatchdogInterval) so the tests need not wait a second per try.
sub queue_server {
    my (%a) = @_;
    my $base = TwTest::tw_vars()->{t_logs} . "/$a{name}-inbox";
    my %dir = map { $_ => "$base/$_" } @{ $a{dirs} };
    make_path(values %dir);
    chmod 0700, values %dir;
    unlink glob "$_/*" for values %dir;
    my $reports = "$base/reports.log";
    unlink $reports;
    my $srv = TwFleet->new(
        name => $a{name}, mpm => TwTest::tw_vars()->{tw_mpm} // 'event',
        modules => [ 'socache_shmcb', @{ $a{modules} // [] } ], routes => $a{routes},
        mpm_conf => $a{mpm_conf},
        conf => "WatchdogInterval 100ms\nSetEnv TW_TEST_REPORTS \"$reports\"\n"
                . $a{conf}->(\%dir));
    return ($srv, \%dir, $reports);
}

# post_signed($hostport, $path, $body, %tw_request) -> the response, with
# took (seconds): a page.updated delivery of $body, signed with secret a
# unless a signature is given.
sub post_signed {
    my ($hostport, $path, $body, %a) = @_;
    my $sig = delete($a{signature}) // TwTest::sign($body, $SECRET{a});
    my $t0 = time;
    my $res = TwTest::tw_request(hostport => $hostport, path => $path, body => $body,
                                 event => 'page.updated', signature => $sig, %a);
    $res->{took} = time - $t0;
    return $res;
}

# Every report line (apps' reports, then their "done" lines merged in by id).
sub reports {
    my ($file) = @_;
    my (@r, %done);
    for my $line (split /\n/, slurp($file) // '') {
        my $h = eval { JSON::PP->new->decode($line) } or next;
        if (exists $h->{done}) { push @{ $done{ $h->{done} } }, $h->{t_end} }
        else { push @r, $h }
    }
    # the n-th report of an id ended with its n-th "done" line
    my %n;
    for my $h (@r) {
        my $id = $h->{test_id} // '-';
        $h->{t_end} = $done{$id}[ $n{$id}++ ] if $done{$id};
    }
    return @r;
}

# The reports about delivery $id (every time an app got it).
sub report_of {
    my ($file, $id) = @_;
    return grep { ($_->{test_id} // '') eq $id } reports($file);
}

# Waits up to $timeout s until an app reported delivery $id (and, with
# $done, finished with it); returns its first report or undef.
sub wait_report {
    my ($file, $id, $timeout, $done) = @_;
    my $until = time + ($timeout // 15);
    while (1) {
        my ($r) = report_of($file, $id);
        return $r if $r && (!$done || defined $r->{t_end} || $r->{downstream} eq 'backend');
        return undef if time >= $until;
        sleep 0.1;
    }
}

# The entries of an inbox directory: id -> {state, attempts, status, ...}
# from each entry file's metadata lines (tw/inbox.h, tw/store.h).
sub entries {
    my ($dir) = @_;
    my %e;
    for my $f (glob "$dir/*") {
        my ($id) = $f =~ m{/([0-9a-f]{64})$} or next;
        my $text = slurp($f) // next;
        my ($meta) = split /\n\n/, $text, 2;
        my %m;
        for (split /\n/, $meta) {
            my ($k, $v) = /^(\S+) (.*)$/ or next;
            $m{$k} = $v unless $k eq 'header';
        }
        $m{state} //= 'direct';
        $e{$id} = \%m;
    }
    return \%e;
}

# Waits up to $timeout s until $cond->(entries) holds; the last entries.
sub wait_entries {
    my ($dir, $cond, $timeout) = @_;
    my $until = time + ($timeout // 15);
    while (1) {
        my $e = entries($dir);
        return $e if $cond->($e) || time >= $until;
        sleep 0.1;
    }
}

# The most reports whose [t_start, t_end] overlap at one moment.
sub max_concurrent {
    my (@r) = @_;
    my @ev = sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] }
             map { ([$_->{t_start}, 1], [$_->{t_end} // 9e9, -1]) } grep { $_->{t_start} } @r;
    my ($now, $max) = (0, 0);
    for (@ev) { $now += $_->[1]; $max = $now if $now > $max }
    return $max;
}

1;
