# SPDX-License-Identifier: Apache-2.0
# The integration tests that can differ between MPMs, again under the
# other MPMs, inside this one Test::Harness run: the outer run uses TW_MPM
# (default event); this file runs the files of %MATRIX below under worker
# and prefork (whichever the outer run is not), each MPM in a copy of t/
# under t/logs/mpm-<mpm>/ with its own httpd, php-fpm, ports and logs,
# through t/TEST.PL with TW_MPM=<mpm>. Each nested test file becomes one
# test here ("worker: t/020_valid.t"), failing with its failures shown.
# Under prefork t/091_modphp.t (mod_php) must have run, not skipped.
#
# Every t/*.t is in exactly one of %MATRIX (with why the MPM matters to
# it) and %ONCE (with why it does not, or where it picks its MPMs itself):
# a new test file, or a renamed one, fails here until it is placed.
#
# TW_MPM_MATRIX="worker prefork" (the default: all but the outer MPM)
# picks the MPMs; TW_MPM_MATRIX=none skips this file (a quick local run
# only: scripts/test always runs the matrix).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cwd qw(abs_path);
use File::Basename qw(basename dirname);
use File::Find ();
use File::Path qw(remove_tree make_path);
use POSIX ();
use TAP::Parser;
use Test::More;
use Time::HiRes qw(time sleep);
use TwTest;

my $vars = tw_vars();
my $outer = $vars->{tw_mpm} // 'event';
my $t_dir = abs_path($FindBin::Bin);
my $top = dirname($t_dir);
my $want = $ENV{TW_MPM_MATRIX} // '';
plan skip_all => 'TW_MPM_MATRIX=none: the MPM matrix was not asked for' if $want eq 'none';
plan skip_all => 'inside a nested run of the matrix itself' if $ENV{TW_MPM_NESTED};
my @mpms = grep { $_ ne $outer } ($want ? split(' ', $want) : qw(event worker prefork));
for (@mpms) {
    die "t/900_mpm_matrix.t: unknown MPM \"$_\" in TW_MPM_MATRIX\n"
        unless /^(event|worker|prefork)$/;
}
plan skip_all => "TW_MPM_MATRIX=\"$want\" names only the outer run's MPM ($outer)" unless @mpms;

my $timeout = $ENV{TW_MPM_MATRIX_TIMEOUT} || 1200;   # seconds per MPM
# What the MPM changes: threads or processes per request (per-child state,
# shared memory, mod_php), and who owns a connection while it waits (the
# event MPM's listener parks keep-alive and lingering-close connections;
# worker and prefork hold a thread or a process).
my %MATRIX = (
    '123_replay_leases.t'  => 'a lease renewer thread in every child, prefork\'s too; children killed or frozen in the app',
    '010_setup.t'          => 'the nested server and both downstreams start under this MPM',
    '020_valid.t'          => 'the contract itself: the body captured and replayed to CGI and php-fpm',
    '031_reject_body.t'    => 'a refusal closes the connection instead of draining it (lingering close)',
    '041_expect.t'         => '100-continue is answered on the MPM\'s connection before the body',
    '050_spool.t'          => 'spool files of concurrent requests in one threaded or forked child',
    '061_unverified_paths.t' => 'error documents and redirects after a refusal, on a closed connection',
    '094_timeout.t'        => 'a body that stops arriving: a waiting thread or process, or the listener',
    '170_deliveries.t'     => 'one ring in shared memory written by every child (threads or processes), read by any',
    '171_deliveries_redis.t' => 'the page\'s Redis handle, shared by a child\'s threads under a lock (none under prefork)',
    '092_h2.t'            => 'mod_http2 runs its own workers beside the MPM\'s (h2c under prefork)',
    '090_proxy.t'         => 'mod_proxy keeps its backend connections per child and thread',
    '063_internal.t'      => 'redirects and subrequests in the same transaction, per thread',
    '093_keepalive.t'     => 'keep-alive and pipelining: the event MPM parks idle connections',
    '091_modphp.t'        => 'mod_php runs only under prefork',
    '160_queue.t'         => 'the dispatcher is a mod_watchdog singleton in one child: a thread beside the MPM\'s',
    '162_queue_forged.t'  => 'the dispatch key made in the parent, the same in every child (forked or threaded)',
    '999_error_log.t'      => 'no crash and no server fault in the nested server\'s error log',
);
my %ONCE = (
    '161_queue_retry.t'    => 'retry arithmetic, dead entries and concurrency: the dispatcher\'s own thread; 160 runs it under every MPM',
    '164_queue_locations.t' => 'limits per location: the dispatcher\'s own thread and the store; 160 runs it under every MPM',
    '163_queue_fleet.t'    => 'two servers and a redis-server killed, restarted and frozen: the Redis side of the queue; 160 runs the dispatcher under every MPM',
    '030_reject.t'         => 'refusals on headers alone: request processing, the same in every MPM',
    '040_body.t'           => 'body framing and limits: the core\'s input filters, not the MPM',
    '042_content_encoding.t' => 'request headers and the filter chain, checked per request',
    '060_redirect.t'       => 'policy per location: configuration merging',
    '062_location_policy.t' => 'policy per location: configuration merging',
    '070_json_parity.t'    => 'JSON parsing in the core',
    '112_replay_scope.t'   => 'its own servers (t/lib/TwFleet.pm)',
    '080_profiles.t'       => 'signing schemes in the core; its own servers',
    '071_spoof.t'          => 'environment variables set per request',
    '072_headers.t'        => 'header values checked per request',
    '065_nested_off.t'     => 'configuration merging',
    '051_spool_fault.t'    => 'an unwritable spool directory: the same error path everywhere',
    '066_htaccess.t'       => 'configuration parsing',
    '064_subrequest.t'     => 'subrequests per request (t/063_internal.t runs in the matrix)',
    '100_configtest.t'     => 'httpd -t on generated configurations: no server runs',
    '101_extras.t'         => 'directives beyond the core; its own servers',
    '110_replay.t'         => 'its own servers (t/lib/TwFleet.pm), shared-memory cache across children',
    '111_replay_restart.t' => 'its own servers: restarts of the replay cache',
    '120_fleet.t'          => 'its own servers: memcached and Redis claims',
    '121_fleet_race.t'     => 'its own servers: memcached and Redis claims',
    '113_replay_rotation.t' => 'its own servers (one without a replay cache); signatures, not MPMs',
    '122_replay_frozen.t'  => 'runs itself under event, worker and prefork (a frozen engine, warm pools)',
    '150_sign.t'           => 'a command-line tool',
    '140_access_log.t'     => 'its own servers: access-log notes',
    '141_status.t'         => 'its own server under prefork: counted across child processes',
    '130_inbox.t'          => 'its own servers: the inbox on disk',
    '131_inbox_kill.t'     => 'runs itself under event and prefork (children killed under load)',
    '132_inbox_http.t'     => 'twwebhook-inbox\'s HTTP client against its own listeners: no MPM in it',
    '136_inbox_states.t'   => 'twwebhook-inbox on entries it writes itself; its own httpd (an unreachable store)',
    '137_store_redis.t'    => 'the core\'s Redis engine against its own redis-server: no httpd',
    '142_metrics.t'        => 'its own server under prefork: counted across child processes',
    '143_outcomes.t'       => 'its own server: one outcome table, the same for every MPM',
    '900_mpm_matrix.t'    => 'this file',
    '200_stress_barrage.t' => 'its own server (t/stress): hostile requests, parsed per request',
    '201_stress_slow.t'   => 'its own server (t/stress) under event, as scripts/stress runs it',
    '001_core_unit.t'         => 'the httpd-free core',
    '002_core_fuzz_corpus.t'  => 'the httpd-free core',
);
my @all = map { basename($_) } glob "$t_dir/*.t";
my @unplaced = grep { !($MATRIX{$_} xor $ONCE{$_}) } @all;
my @missing = grep { !-f "$t_dir/$_" } sort(keys %MATRIX), sort(keys %ONCE);
die "t/900_mpm_matrix.t: place each test file in exactly one of %MATRIX and %ONCE: @unplaced\n"
    if @unplaced;
die "t/900_mpm_matrix.t: listed but not in t/: @missing\n" if @missing;
my @files = map { "t/$_" } sort keys %MATRIX;

# Generated by Apache::Test or t/TEST.PL: never copied (the nested run
# makes its own).
my @generated = map { "t/conf/$_" }
    qw(apache_test_config.pm httpd.conf base-httpd.conf mime.types),
    map { basename($_, '.in') } glob "$t_dir/conf/*.conf.in";
push @generated, qw(t/logs t/TEST t/state t/htdocs/index.html);

# the environment scripts/test-integration gives the outer run, nothing
# of the outer harness or Apache::Test
sub nested_env {
    my ($mpm, $dir) = @_;
    my %env = (TW_MPM => $mpm, PERL_TEST_HARNESS_DUMP_TAP => "$dir/tap",
               TW_MPM_NESTED => 1);
    for (qw(PATH HOME TMPDIR LANG TERM APXS PHP_FPM APACHE_TEST_HTTPD)) {
        $env{$_} = $ENV{$_} if defined $ENV{$_};
    }
    return %env;
}

sub run_nested {
    my ($mpm, $dir, @args) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setpgid(0, 0);
        chdir $dir or POSIX::_exit(120);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/run.log" or POSIX::_exit(121);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(122);
        %ENV = nested_env($mpm, $dir);
        exec $^X, "$dir/t/TEST.PL", @args or POSIX::_exit(123);
    }
    my $deadline = time + $timeout;
    while (1) {
        my $r = waitpid $pid, POSIX::WNOHANG();
        return $? >> 8 if $r == $pid;
        if (time > $deadline) {
            kill 'TERM', -$pid;
            sleep 5;
            kill 'KILL', -$pid;
            waitpid $pid, 0;
            return 'timeout';
        }
        sleep 0.5;
    }
}

for my $mpm (@mpms) {
    my $dir = "$vars->{t_logs}/mpm-$mpm";
    remove_tree($dir);
    make_path($dir);
    # the build tree, by reference; t/ copied (the nested run writes in it)
    opendir my $dh, $top or die "opendir $top: $!";
    for my $e (readdir $dh) {
        next if $e =~ /^\.\.?$/ || $e eq 't' || $e eq '.git';
        symlink "$top/$e", "$dir/$e" or die "symlink $top/$e: $!";
    }
    closedir $dh;
    my $excl = join ' ', map { "--exclude='$_'" } @generated;
    system("tar -C '$top' -cf - $excl t | tar -C '$dir' -xf -") == 0
        or die "copying t/ to $dir failed\n";

    my $t0 = time;
    my $rc = run_nested($mpm, $dir, @files);
    if ($rc eq 'timeout') {
        run_nested($mpm, $dir, '-stop-httpd');   # httpd and php-fpm, if left
    }
    my $elapsed = time - $t0;
    my $log = slurp("$dir/run.log") // '';
    is($rc, 0, sprintf("%s: the nested run of %d test files exited 0 (%.0f s)",
                       $mpm, scalar @files, $elapsed))
        or diag("$mpm: see $dir/run.log; its end:\n"
                . join("\n", (split /\n/, $log)[-15 .. -1]));

    my $elog = slurp("$dir/t/logs/error_log") // '';
    like($elog, qr/\[mpm_\Q$mpm\E:notice\] .* configured -- resuming normal operations/,
         "$mpm: the nested httpd ran the $mpm MPM");

    # one test per nested file, from the TAP the nested harness kept
    my %tap;
    File::Find::find(sub { $tap{basename($File::Find::name)} = $File::Find::name if -f && /\.t$/ },
                     "$dir/tap") if -d "$dir/tap";
    for my $file (@files) {
        my $name = basename($file);
        my $path = $tap{$name};
        unless ($path) {
            fail("$mpm: $file ran");
            next;
        }
        my $tap = slurp($path) // '';
        my $p = TAP::Parser->new({ tap => $tap });
        my @bad;
        while (my $r = $p->next) {
            push @bad, $r->as_string if $r->is_test && !$r->is_ok;
        }
        my $ok = !$p->has_problems && ($p->tests_run > 0 || $p->skip_all);
        my $what = $p->skip_all ? 'skipped: ' . $p->skip_all
                                : sprintf('%d tests', $p->tests_run);
        ok($ok, "$mpm: $file ($what)") or do {
            # the kept TAP has no diagnostics (stderr): run.log has them
            my @lines = grep { /^\s*not ok/ } split /\n/, $tap;
            diag("$mpm: $file: " . scalar(@bad) . ' failed'
                 . ($p->parse_errors ? ', ' . join('; ', $p->parse_errors) : '')
                 . "; diagnostics in $dir/run.log\n"
                 . join("\n", @lines[0 .. ($#lines < 40 ? $#lines : 39)]));
        };
        if ($mpm eq 'prefork' && $name eq '091_modphp.t') {
            ok(!$p->skip_all && $p->tests_run > 0,
               'prefork: mod_php was tested (t/091_modphp.t ran, not skipped)');
        }
    }
}

done_testing();
