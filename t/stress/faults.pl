#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# scripts/stress step "faults":
#   fpm       php-fpm stopped in the middle of a load run: the PHP location
#             answers 503 (mod_proxy_fcgi), the module keeps verifying and
#             the CGI location keeps delivering; once php-fpm is back, PHP
#             requests are delivered again.
#   spool     the spool directory full (a 1 MiB tmpfs; needs root) or not
#             writable: a clean 500 with a [twwebhook:error] line, the app
#             never sees a partial body, nothing is left on the disk.
#   graceful  "apache2 -k graceful" repeatedly under load: no request lost
#             or answered wrongly, each valid one delivered exactly once.
#   rotate    a new secret written to the secret file: still the old one
#             until a graceful restart, then the new one only.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TwStress;
use TwLoad;
use POSIX ();
use Time::HiRes qw(time sleep);

my $QUICK = quick();
my $srand = srand(4242);
my $run = sprintf '%x', time;

# A mixed load (valid to php and cgi, forged) with accounting.
sub mixed_load {
    my (%o) = @_;
    my $h = $o{server};
    my (%sent, @res);
    my $phase_of = $o{phase} // sub { 'run' };
    my $body_for = sub {
        my ($seq) = @_;
        return sprintf('{"event":"page.updated","seq":%d,"pad":"%s"}', $seq, 'p' x (50 + int rand 3000));
    };
    my $stats = TwLoad::run(
        hostport => $h->{hostport}, conns => $o{conns} // 32, total => $o{total},
        deadline => $o{deadline} // 300,
        next => sub {
            my ($seq) = @_;
            my $r = rand;
            my ($kind, $ds) = $r < 0.55 ? ('valid', 'php') : $r < 0.80 ? ('valid', 'cgi')
                            : $r < 0.92 ? ('forged', 'php') : ('forged', 'cgi');
            my $body = $body_for->($seq);
            my $delivery = "$o{tag}-$run-$seq";
            my $bytes = build_request(path => "/hook/rec.$ds", body => $body, close => $o{close},
                headers => ['Signature' => sign($body, $kind eq 'valid' ? $SECRET : $WRONG_SECRET),
                            'Event' => 'page.updated', 'Delivery' => $delivery,
                            'X-Stress-Id' => $seq]);
            my $split = index($bytes, "\r\n\r\n") + 4;
            $sent{$delivery} = { kind => $kind, ds => $ds, sha => sha256_hex($body),
                                 len => length $body, seq => $seq };
            return { head => substr($bytes, 0, $split), body => substr($bytes, $split),
                     close => $o{close},
                     seq => $seq, delivery => $delivery, kind => $kind, ds => $ds,
                     phase_start => $phase_of->() };
        },
        done => sub {
            my ($req, $res) = @_;
            my $s = $sent{$req->{delivery}};
            $s->{status} = $res->{status} || 'none';
            $s->{error} = $res->{error};
            $s->{body} = $res->{body};
            $s->{phase_start} = $req->{phase_start};
            $s->{phase_end} = $phase_of->();
        },
        progress => $o{progress});
    return ($stats, \%sent);
}

# Checks the recorder log against what was sent: delivered once with the
# exact body when answered 200, never otherwise.
#
# $cgid_cut (graceful restarts only): a CGI request answered 503 may have
# been recorded with less than its body: mod_cgid lost the connection to
# its daemon, restarting, after the script had started (AH10246 "failed
# reading PID from cgi daemon"); the script then reads a short stdin,
# fewer bytes than CONTENT_LENGTH. Those are returned in @$cgid_cut.
sub audit {
    my ($h, $sent, $cgid_cut) = @_;
    my $recs = read_records($h->{downstream_log});
    my (%n, @wrong);
    for my $r (@$recs) {
        my $s = $sent->{$r->{delivery}} or next;   # other phases' requests
        $n{$r->{delivery}}++;
        push @wrong, "$r->{delivery} ($s->{kind}) delivered" if $s->{kind} ne 'valid';
        if ($cgid_cut && $s->{ds} eq 'cgi' && $s->{status} eq '503' && $r->{length} < $s->{len}
            && $r->{content_length} eq $s->{len}) {
            push @$cgid_cut, "$r->{delivery}: the script read $r->{length} of $s->{len} bytes, answered 503";
            next;
        }
        push @wrong, "$r->{delivery}: body differs (answered $s->{status})"
            if $r->{sha256} ne $s->{sha} || $r->{length} != $s->{len};
        push @wrong, "$r->{delivery}: variables" if $r->{verified} ne '1' || $r->{content_length} ne $s->{len};
    }
    for my $d (keys %$sent) {
        my $s = $sent->{$d};
        my $c = $n{$d} // 0;
        note("$d ($s->{ds}): the app ran, but the client was answered $s->{status}")
            if $c && $s->{status} ne '200' && !($cgid_cut && grep { /^\Q$d\E:/ } @$cgid_cut);
        push @wrong, "$d: delivered $c times" if $c > 1;
        push @wrong, "$d: answered 200 but not delivered" if $s->{kind} eq 'valid' && $s->{status} eq '200' && !$c;
    }
    return @wrong;
}

# ---- fpm: php-fpm stopped mid-run -----------------------------------------------------------
{
    note('fault: php-fpm stopped in the middle of a load run');
    my $fpm = TwStress::Fpm->new(name => 'faults-fpm', children => 6)->start;
    my $h = stress_server(name => 'faults-fpm-httpd', fpm => $fpm, threads => 32);
    $h->start;
    my $total = $ENV{TW_STRESS_FAULTS_TOTAL} || ($QUICK ? 2000 : 12000);
    my $phase = 'before';
    my $step = int($total / 3);
    my ($stats, $sent) = mixed_load(server => $h, total => $total, tag => 'fpm',
        phase => sub { $phase },
        progress => sub {
            my ($n) = @_;
            if ($n == $step) {
                $phase = 'stopping';
                $fpm->stop;
                $phase = 'down';
            }
            elsif ($n == 2 * $step) {
                $phase = 'starting';
                $fpm->start;
                $phase = 'after';
            }
        });
    my (%fig, @bad);
    for my $d (sort keys %$sent) {
        my $s = $sent->{$d};
        my $ph = $s->{phase_start} eq $s->{phase_end} ? $s->{phase_start} : 'transition';
        $fig{"$ph/$s->{kind}/$s->{ds}"}{$s->{status}}++;
        my @want = $s->{kind} eq 'forged' ? (401)
                 : $s->{ds} eq 'cgi' ? (200)
                 : $ph eq 'down' ? (503)
                 : $ph eq 'transition' ? (200, 502, 503)
                 : (200);
        push @bad, "$d ($ph $s->{kind} $s->{ds}): answered $s->{status}"
            . ($s->{error} ? " ($s->{error})" : '') unless grep { $_ eq $s->{status} } @want;
    }
    figure(fpm_requests => $stats->{completed}, retries => $stats->{retries});
    note("retried: $_") for @{ $stats->{retry_log} // [] };
    for my $k (sort keys %fig) {
        figure(phase => $k, statuses => join(',', map { "$_:$fig{$k}{$_}" } sort keys %{ $fig{$k} }));
    }
    check($stats->{completed} == $total, "php-fpm outage: all $total requests answered");
    check(!@bad, 'php-fpm outage: PHP 503 while down, 200 before and after; CGI 200 and forged 401 throughout',
          @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
    my $n_down = 0;
    $n_down += $fig{"down/valid/php"}{503} // 0;
    check($n_down > 0, "requests did reach the PHP location while php-fpm was down ($n_down x 503)");
    my @wrong = audit($h, $sent);
    check(!@wrong, 'php-fpm outage: each 200 delivered exactly once with its body, nothing else delivered',
          @wrong[0 .. ($#wrong > 9 ? 9 : $#wrong)]);
    my @crash = $h->crash_lines;
    check(!@crash, 'php-fpm outage: no child crashed', @crash);
    my @err = grep { /\[twwebhook:(?:error|crit)\]/ } split /\n/, $h->error_log_text;
    check(!@err, 'php-fpm outage: no [twwebhook:error] line (the module was not at fault)', @err[0 .. 2]);
    $h->stop;
    $fpm->stop;
}

# ---- spool: full and unwritable ---------------------------------------------------------------
{
    note('fault: spool directory full (1 MiB tmpfs) and not writable');
    my $dir = run_dir() . '/faults-spool';
    mkdir $dir;
    my $mnt = "$dir/tmpfs";
    mkdir $mnt;
    my $mounted = 0;
    if ($> == 0) {
        if (system('mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tw-stress-spool', $mnt) == 0) {
            $mounted = 1;
            spew(run_dir() . '/mounts', "$mnt\n");
            TwStress::at_exit(sub { system('umount', $mnt) if system("mountpoint -q '$mnt'") == 0 });
        }
    }
    if (my $user = run_user()) {
        my (undef, undef, $uid, $gid) = getpwnam($user);
        chown $uid, $gid, $mnt;
    }
    my $h = stress_server(name => 'faults-spool-httpd', spool => $mnt);
    $h->start;
    my $hp = $h->{hostport};
    my $post = sub {
        my ($body, $id) = @_;
        return http_exchange(hostport => $hp, timeout => 60,
            data => build_request(path => '/big/rec.cgi', body => $body,
                headers => ['Signature' => sign($body, $SECRET), 'Delivery' => $id,
                            'X-Stress-Id' => $id]));
    };
    my $delivered = sub {
        my ($id) = @_;
        return grep { $_->{delivery} eq $id } @{ read_records($h->{downstream_log}) };
    };
    if ($mounted) {
        my $mark = length $h->error_log_text;
        my $big = join '', map { chr(65 + $_ % 26) } 1 .. 3 * 1024 * 1024;
        my $r = $post->($big, 'full-3m');
        my $elog = substr($h->error_log_text, $mark);
        check($r->{status} == 500, 'spool full: a 3 MiB body on a 1 MiB tmpfs gets 500', "status $r->{status}");
        check($elog =~ /\[twwebhook:error\].*rejected with 500: cannot store the body/,
              'spool full: one [twwebhook:error] line says the body could not be stored', $elog);
        check(!$delivered->('full-3m'), 'spool full: the app never ran');

        my $ok = 'k' x (300 * 1024);
        $r = $post->($ok, 'fits-300k');
        my ($rec) = $delivered->('fits-300k');
        check($r->{status} == 200 && $rec && $rec->{sha256} eq sha256_hex($ok),
              'spool full: then a 300 KiB body fits and is delivered intact', "status $r->{status}");

        # four 600 KiB bodies at once on 1 MiB: some fit, some do not; none
        # may reach the app incomplete
        my %kid;
        for my $i (1 .. 4) {
            my $pid = fork // die;
            if (!$pid) {
                my $b = sprintf('%d', $i) x (600 * 1024);
                my $rr = $post->($b, "par-$i");
                spew("$dir/par-$i", "$rr->{status}\n");
                POSIX::_exit(0);
            }
            $kid{$pid} = 1;
        }
        waitpid($_, 0) for keys %kid;
        my (@st, @bad);
        for my $i (1 .. 4) {
            my $st = (slurp("$dir/par-$i") // 'none') =~ s/\s+//gr;
            push @st, $st;
            my @recs = $delivered->("par-$i");
            my $b = sprintf('%d', $i) x (600 * 1024);
            if ($st eq '200') {
                push @bad, "par-$i: 200 but delivered " . scalar(@recs) . " times" unless @recs == 1;
                push @bad, "par-$i: body differs" if @recs && $recs[0]{sha256} ne sha256_hex($b);
            }
            elsif ($st eq '500') {
                push @bad, "par-$i: 500 but delivered" if @recs;
            }
            else {
                push @bad, "par-$i: status $st";
            }
        }
        figure(parallel_600k_on_1m => join(',', @st));
        check(!@bad && scalar(grep { $_ eq '500' } @st),
              'spool full: 4 parallel 600 KiB bodies: each 200 (delivered intact) or 500 (not delivered), at least one 500',
              @bad, "statuses @st");
        sleep 0.5;
        my $df = qx(df -k --output=used "$mnt" 2>/dev/null);
        my ($used) = $df =~ /(\d+)\s*$/;
        my @files = glob "$mnt/*";
        check(!@files && defined $used && $used == 0, 'spool full: the tmpfs is empty again (no file, 0 KiB used)',
              "files: @files", "used: " . ($used // '?'));
    }
    else {
        skip_check('spool full on a 1 MiB tmpfs', $> == 0 ? 'mount -t tmpfs failed' : 'needs root');
    }

    # not writable: the same server, the directory made read-only
    chmod 0555, $mnt;
    my $mark = length $h->error_log_text;
    my $body = 'u' x (100 * 1024);
    my $r = $post->($body, 'ro-100k');
    my $elog = substr($h->error_log_text, $mark);
    check($r->{status} == 500 && $elog =~ /\[twwebhook:error\].*rejected with 500/,
          'spool not writable: a 100 KiB body gets 500 with a [twwebhook:error] line', "status $r->{status}", $elog);
    check(!$delivered->('ro-100k'), 'spool not writable: the app never ran');
    my $small = 's' x 60000;
    $r = $post->($small, 'ro-60k');
    check($r->{status} == 200 && $delivered->('ro-60k'), 'spool not writable: a 60 KiB body (memory only) is delivered',
          "status $r->{status}");
    chmod 0755, $mnt;
    my @crash = $h->crash_lines;
    check(!@crash, 'spool faults: no child crashed', @crash);
    $h->stop;
    if ($mounted) {
        system('umount', $mnt) == 0 and unlink run_dir() . '/mounts';
    }
}

# ---- graceful restarts under load -------------------------------------------------------------
# Twice: over keep-alive connections (a request written just as httpd
# closes an idle connection of an old generation gets no answer at all;
# TwLoad then sends it again on a new connection, as HTTP clients do, and
# counts it; the audit would show a request delivered twice), and with a
# new connection per request (no retry at all is allowed).
for my $mode ('keep-alive', 'connection-close') {
    note("fault: graceful restarts under load ($mode)");
    my $fpm = TwStress::Fpm->new(name => "faults-graceful-fpm-$mode", children => 6)->start;
    my $h = stress_server(name => "faults-graceful-httpd-$mode", fpm => $fpm, threads => 32);
    $h->start;
    my $total = $ENV{TW_STRESS_FAULTS_TOTAL} || ($QUICK ? 2000 : 15000);
    my $every = int($total / 5);
    my $n_graceful = 0;
    my @graceful_rc;
    my ($stats, $sent) = mixed_load(server => $h, total => $total, tag => 'gr',
        close => ($mode eq 'connection-close' ? 1 : 0),
        progress => sub {
            my ($n) = @_;
            if ($n % $every == 0 && $n < $total) {
                my ($rc, $out) = $h->graceful;
                push @graceful_rc, $rc;
                $n_graceful++;
            }
        });
    sleep 1;
    my (%st, @bad, $cgi503);
    for my $d (sort keys %$sent) {
        my $s = $sent->{$d};
        $st{"$s->{kind}/$s->{ds}"}{$s->{status}}++;
        my $want = $s->{kind} eq 'valid' ? 200 : 401;
        # mod_cgid's own loss during a graceful restart, counted below
        if ($s->{kind} eq 'valid' && $s->{ds} eq 'cgi' && $s->{status} eq '503') {
            $cgi503++;
            next;
        }
        push @bad, "$d ($s->{kind} $s->{ds}): $s->{status}" . ($s->{error} ? " ($s->{error})" : '')
            if $s->{status} ne $want || ($want == 200 && ($s->{body} // '') ne "ok $s->{seq}\n");
    }
    figure(mode => $mode, graceful_restarts => $n_graceful, requests => $stats->{completed},
           seconds => sprintf('%.1f', $stats->{seconds}), connections => $stats->{connections},
           retries => $stats->{retries});
    for my $k (sort keys %st) {
        figure(kind => $k, statuses => join(',', map { "$_:$st{$k}{$_}" } sort keys %{ $st{$k} }));
    }
    check($n_graceful == 4 && !grep({ $_ } @graceful_rc), "$mode: 4 graceful restarts issued during the run");
    my $elog = $h->error_log_text;
    my $seen = () = $elog =~ /AH00493: SIGUSR1 received/g;
    check($seen == 4, "$mode: httpd logged 4 graceful restarts (AH00493)", "found $seen");
    check($stats->{completed} == $total && !@bad,
          "$mode: all $total answered right (valid 200 by the app, forged 401; "
          . "valid CGI: 200, or mod_cgid's 503)",
          @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
    # mod_cgid's daemon restarting: the request was handed to the old one
    # (AH10246 "failed reading PID from cgi daemon") or found no socket
    # while the new one was starting (AH02833 "ScriptSock ... No such file")
    my $cgid_lost = () = $elog =~ /\[cgid:error\].*(?:AH10246: .*failed reading PID from cgi daemon|AH02833: .*ScriptSock)/g;
    $cgi503 //= 0;
    figure(mode => $mode, cgid_503 => $cgi503, cgid_daemon_lost_lines => $cgid_lost);
    check($cgi503 <= $cgid_lost,
          "$mode: each CGI 503 ($cgi503) is mod_cgid losing its restarting daemon "
          . "(AH10246/AH02833 lines: $cgid_lost)");
    check($mode eq 'keep-alive' || $stats->{retries} == 0, "$mode: no request needed a retry",
          "retries: $stats->{retries}");
    my @cut;
    my @wrong = audit($h, $sent, \@cut);
    check(!@wrong, "$mode: every valid request answered 200 was delivered exactly once, intact; no forged one",
          @wrong[0 .. ($#wrong > 9 ? 9 : $#wrong)]);
    figure(mode => $mode, cgid_short_stdin => scalar @cut);
    note("mod_cgid ran the script with a cut stdin (client told 503): $_") for @cut;
    my @crash = $h->crash_lines;
    check(!@crash, "$mode: no child crashed", @crash);
    $h->stop;
    $fpm->stop;
}

# ---- secret rotation with a graceful restart ---------------------------------------------------
{
    note('fault: secret file rotated, then a graceful restart');
    my $old = 'rotate-OLD-' . sprintf('%x', rand 2**32);
    my $new = 'rotate-NEW-' . sprintf('%x', rand 2**32);
    my $h = stress_server(name => 'faults-rotate-httpd', secret => $old);
    $h->start;
    my $i = 0;
    my $try = sub {
        my ($secret) = @_;
        my $body = '{"event":"page.updated","n":' . ++$i . '}';
        my $r = http_exchange(hostport => $h->{hostport},
            data => build_request(path => '/hook/rec.cgi', body => $body, close => 1,
                headers => ['Signature' => sign($body, $secret), 'Delivery' => "rot-$i",
                            'X-Stress-Id' => "rot-$i"]));
        return $r->{status};
    };
    check($try->($old) == 200 && $try->($new) == 401, 'before: the old secret is accepted, the new one refused');
    spew($h->{secret_file}, "$new\n", 0600);
    check($try->($old) == 200 && $try->($new) == 401,
          'secret file rewritten, no restart yet: still the old secret (read at start-up)');
    my @before = $h->children;
    my $gens = () = $h->error_log_text =~ /resuming normal operations/g;
    my ($rc) = $h->graceful;
    # the new generation: a new "resuming" line and none of the old children
    my $ok = wait_until(sub {
        my $g = () = $h->error_log_text =~ /resuming normal operations/g;
        my %old = map { $_ => 1 } @before;
        my @now = $h->children;
        $g > $gens && @now && !grep { $old{$_} } @now;
    }, 20, 0.1);
    check($rc == 0 && $ok, 'graceful restart done (new generation of children)');
    my @after = map { [ $try->($new), $try->($old) ] } 1 .. 10;
    check(!grep({ $_->[0] != 200 || $_->[1] != 401 } @after),
          'after it: the new secret accepted, the old one refused (10 times each)',
          join ' ', map { "$_->[0]/$_->[1]" } @after);
    my ($rec) = grep { $_->{delivery} eq "rot-$i" || 1 } reverse grep { $_->{secret_index} ne '-' } @{ read_records($h->{downstream_log}) };
    check($rec && $rec->{secret_index} eq '1', 'the app saw TW_WEBHOOK_SECRET_INDEX 1 (the one configured secret)');
    my @crash = $h->crash_lines;
    check(!@crash, 'rotation: no child crashed', @crash);
    $h->stop;
}

exit done();
