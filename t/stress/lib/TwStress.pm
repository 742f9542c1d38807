package TwStress;
# SPDX-License-Identifier: Apache-2.0
# Shared pieces of the scripts/stress steps (t/stress/*.pl): the run
# directory, throwaway httpd and php-fpm instances built from generated
# configurations, a raw-socket HTTP client, the downstream record log, and
# the "ok N - name" / "not ok N - name" lines scripts/stress counts.
#
# Every process started here is written to $RUN/pids ("pid kind") so that
# scripts/stress can end it even if a step is killed outright; a step that
# ends normally (or by INT/TERM/HUP) stops its own processes in END.
#
# Environment (set by scripts/stress):
#   TW_STRESS_RUN   the run directory (mode 0755, removed by scripts/stress)
#   TW_STRESS_TOP   the build tree (its .libs/mod_twwebhook.so is loaded)
#   TW_STRESS_USER  the unprivileged user httpd's children and php-fpm's
#                   workers run as, when scripts/stress runs as root
#   TW_STRESS_QUICK 1 under --quick
#   TW_STRESS_TAP   1 when a t/*.t file runs the step inside the suite's
#                   Test::Harness run (figures become comments, a plan ends it)
use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use Exporter 'import';
use Fcntl qw(:flock);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Socket qw(SOL_SOCKET SO_LINGER IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time sleep);
use lib dirname(__FILE__) . '/../../lib';   # t/lib: TwApxs, shared with t/TEST.PL
use TwApxs ();
use TwHTTP ();
use TwSys qw(slurp spew free_port pid_alive wait_until);

our @EXPORT = qw(check note figure skip_check done quick run_dir top_dir
                 run_user slurp spew sign sha256_hex hmac_sha256_hex
                 free_port http_exchange build_request read_records
                 wait_until stress_server $SECRET $WRONG_SECRET);

# The secret the stress servers are configured with (a test value only),
# and one they do not know.
our $SECRET = 'str3ss-Secret-5f0c9a1e7b2d4c86-only-for-tests';
our $WRONG_SECRET = 'n0t-the-Secret-2b9e4d7c1a3f5e60';

$SIG{PIPE} = 'IGNORE';

# ---- reporting ---------------------------------------------------------------

my ($N, $PASS, $FAIL) = (0, 0, 0);
$| = 1;

# check($ok, $name, @diag): one counted check; the diagnostics are printed
# only when it fails.
sub check {
    my ($ok, $name, @diag) = @_;
    $N++;
    if ($ok) {
        $PASS++;
        print "ok $N - $name\n";
    }
    else {
        $FAIL++;
        print "not ok $N - $name\n";
        for my $d (@diag) {
            next unless defined $d;
            print "    # $_\n" for split /\n/, $d;
        }
    }
    return $ok;
}

sub note { print "# $_\n" for map { split /\n/ } @_ }

# figure(key => value, ...): a measured figure, printed as "  figure: k=v".
sub figure {
    my @kv = @_;
    my @parts;
    while (@kv) {
        my ($k, $v) = splice @kv, 0, 2;
        push @parts, "$k=$v";
    }
    print $ENV{TW_STRESS_TAP} ? "# figure: @parts\n" : "  figure: @parts\n";
}

# A check that cannot run here (printed, not counted as passed or failed).
sub skip_check {
    my ($name, $why) = @_;
    if ($ENV{TW_STRESS_TAP}) {
        $N++;
        print "ok $N # skip $name ($why)\n";
        return;
    }
    print "skip - $name ($why)\n";
}

# The exit status of a step; under TW_STRESS_TAP=1 (a t/*.t wrapper) it
# also prints the TAP plan, at the end.
sub done {
    print "1..$N\n" if $ENV{TW_STRESS_TAP};
    return $FAIL ? 1 : 0;
}

sub quick { return ($ENV{TW_STRESS_QUICK} // '') eq '1' }

sub run_dir {
    my $d = $ENV{TW_STRESS_RUN} or croak 'TW_STRESS_RUN is not set (run scripts/stress)';
    return $d;
}

sub top_dir {
    my $d = $ENV{TW_STRESS_TOP} or croak 'TW_STRESS_TOP is not set (run scripts/stress)';
    return $d;
}

# The user httpd's children run as ('' when not root: the current user).
sub run_user { return $> == 0 ? ($ENV{TW_STRESS_USER} || 'twtest') : '' }

sub sign {
    my ($body, $secret) = @_;
    return hmac_sha256_hex($body, $secret);
}

# ---- process registry and cleanup ----------------------------------------------

my @CLEANUPS;       # code refs, run last-in first-out at exit
my $MAIN_PID = $$;

sub register_pid {
    my ($pid, $kind) = @_;
    my $f = run_dir() . '/pids';
    open my $fh, '>>', $f or die "append $f: $!\n";
    flock $fh, LOCK_EX;
    print {$fh} "$pid $kind\n";
    close $fh;
}

sub at_exit { push @CLEANUPS, $_[0] }

sub run_cleanups {
    return unless $$ == $MAIN_PID;
    while (my $c = pop @CLEANUPS) {
        eval { $c->(); 1 } or print "# cleanup: $@";
    }
}

for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { print "# interrupted by SIG$sig\n"; run_cleanups(); POSIX::_exit(130) };
}
END {
    my $rc = $?;
    run_cleanups();
    $? = $rc;
}

# ---- the raw-socket HTTP client ----------------------------------------------------

# build_request(%a) -> the request bytes
#   method (POST), path, host, headers => [name => value, ...] (after Host),
#   body, chunked => piece size (body sent chunked), no_length => 1
#   (neither Content-Length nor chunked), content_length => value to announce,
#   close => 1 (Connection: close)
sub build_request {
    my %a = @_;
    my $method = $a{method} // 'POST';
    my $body = $a{body} // '';
    my @h = ('Host' => $a{host} // '127.0.0.1');
    push @h, 'Connection' => 'close' if $a{close};
    push @h, @{ $a{headers} } if $a{headers};
    my $wire = $body;
    if ($a{chunked}) {
        push @h, 'Transfer-Encoding' => 'chunked';
        $wire = '';
        for (my $off = 0; $off < length $body; $off += $a{chunked}) {
            my $piece = substr($body, $off, $a{chunked});
            $wire .= sprintf("%x\r\n", length $piece) . $piece . "\r\n";
        }
        $wire .= "0\r\n\r\n";
    }
    elsif (!$a{no_length}) {
        push @h, 'Content-Length' => $a{content_length} // length $body;
    }
    my $head = "$method $a{path} HTTP/1.1\r\n";
    for (my $i = 0; $i < @h; $i += 2) {
        $head .= "$h[$i]: $h[$i + 1]\r\n";
    }
    return "$head\r\n" . $wire;
}

# http_exchange(%a) -> result hashref: one connection, one request.
#   hostport   "127.0.0.1:port" (required)
#   data       the bytes to send; or
#   plan       [ [bytes, pause_after_seconds], ... ] sent in order
#   then       what to do once everything is written:
#              'read' (default), 'shutdown' (half-close, then read),
#              'close' (close at once, read nothing), 'reset' (RST at once)
#   stop_reading_after_response  (default 1)
#   timeout    overall seconds (default 20)
# Result: status (0 when none), headers, body, nostatus (HTTP/0.9-style
# answer), closed (the server closed the connection), error, elapsed,
# written (bytes), interim, raw (what was read).
sub http_exchange {
    my %a = @_;
    my $timeout = $a{timeout} // 20;
    my @plan = $a{plan} ? @{ $a{plan} } : ([ $a{data} // '', 0 ]);
    my $then = $a{then} // 'read';
    my $first = $a{plan} ? ($a{plan}[0][0] // '') : ($a{data} // '');
    $a{head_only} //= $first =~ /^HEAD / ? 1 : 0;
    my $res = { status => 0, written => 0, interim => [] };
    my $t0 = time;
    my $deadline = $t0 + $timeout;
    my $sock = IO::Socket::INET->new(PeerAddr => $a{hostport}, Proto => 'tcp', Timeout => 5);
    unless ($sock) {
        $res->{error} = "connect $a{hostport}: $!";
        return $res;
    }
    binmode $sock;
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my $in = '';
    my $eof = 0;
    my $write_ok = 1;
    my $final;
    my ($out, $pause_until) = ('', 0);
    my $finished_sending = 0;

    my $next_piece = sub {
        while (!length $out && @plan && time >= $pause_until) {
            my $step = shift @plan;
            $out = $step->[0];
            $pause_until = 0;
            if (!length $out) {   # a pure pause
                $pause_until = time + ($step->[1] // 0);
                next;
            }
            $step->[2] = 1;
            $a{_pending_pause} = $step->[1] // 0;
        }
    };
    while (time < $deadline) {
        $next_piece->();
        if (!$finished_sending && !length $out && !@plan && time >= $pause_until) {
            $finished_sending = 1;
            if ($then eq 'close') {
                close $sock;
                $res->{elapsed} = time - $t0;
                $res->{error} = 'closed by the client';
                return $res;
            }
            if ($then eq 'reset') {
                setsockopt($sock, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
                close $sock;
                $res->{elapsed} = time - $t0;
                $res->{error} = 'reset by the client';
                return $res;
            }
            shutdown($sock, 1) if $then eq 'shutdown';
        }
        my $want_write = $write_ok && length $out;
        my $wait = 0.1;
        if ($pause_until > time) {
            my $left = $pause_until - time;
            $wait = $left if $left < $wait;
        }
        my ($r, $w) = IO::Select->select($sel, $want_write ? $sel : undef, undef, $wait);
        if ($w && @$w) {
            my $n = TwHTTP::write_some($sock, \$out, $res);
            if (!defined $n) {
                $write_ok = 0;
                $out = '';
                @plan = ();
            }
            elsif ($n) {
                $res->{written} += $n;
                if (!length $out && $a{_pending_pause}) {
                    $pause_until = time + $a{_pending_pause};
                    $a{_pending_pause} = 0;
                }
            }
        }
        $eof = 1 if $r && @$r && TwHTTP::read_some($sock, \$in, $res);
        my ($resp) = TwHTTP::parse_response($in, $eof, $a{head_only});
        if ($resp && !$final) {
            $final = $resp;
            $res->{answered_at} = time - $t0;
            last if $a{stop_reading_after_response} // 1;
        }
        last if $eof;
    }
    # a few more milliseconds to see whether the server closes
    if ($final && !$eof) {
        my $until = time + ($a{close_wait} // 0);
        while (time < $until) {
            my ($r) = IO::Select->select($sel, undef, undef, 0.05);
            next unless $r && @$r;
            if (TwHTTP::read_some($sock, \$in, {})) {
                $eof = 1;
                last;
            }
        }
    }
    $res->{elapsed} = time - $t0;
    $res->{closed} = $eof;
    $res->{raw} = $in;
    close $sock;
    if ($final) {
        @$res{keys %$final} = values %$final;
    }
    else {
        $res->{error} //= $eof ? (length $in ? 'incomplete response' : 'closed without a response')
                               : 'timeout';
    }
    return $res;
}

# ---- the downstream record log -----------------------------------------------------

# Lines "<ds> <delivery> <sha256> <length> <verified> <event> <secret_index>
# <content_length> <id>" (fields URL-escaped, "-" when absent), one per run
# of a recorder downstream (t/stress/downstream/rec.php, rec.cgi).
sub read_records {
    my ($path) = @_;
    my @recs;
    my $text = slurp($path) // '';
    for my $line (split /\n/, $text) {
        my @f = split / /, $line;
        my %r;
        @r{qw(ds delivery sha256 length verified event secret_index content_length id)} =
            map { my $v = $_ // '-'; $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $v } @f;
        $r{line} = $line;
        push @recs, \%r;
    }
    return \@recs;
}

# stress_server(name => ..., fpm => TwStress::Fpm or undef, max_body => N,
#               extra => "more configuration", secret => value, httpd options)
# An httpd whose prefixes /hook (TwWebhookMaxBodySize max_body, default
# 128 KiB) and /big (16 MiB) are protected by the secret read from the
# file <dir>/secret.txt, and /open is not; each has rec.cgi (mod_cgid) and,
# with an fpm, rec.php. Both recorders append to <dir>/downstream.log.
sub stress_server {
    my (%o) = @_;
    my $name = $o{name} or croak 'stress_server: name';
    my $dir = run_dir() . "/$name";
    make_path("$dir/app");
    my $src = top_dir() . '/t/stress/downstream';
    spew("$dir/app/rec.cgi", slurp("$src/rec.cgi"), 0755);
    spew("$dir/app/rec.php", slurp("$src/rec.php"), 0644);
    my $secret_file = "$dir/secret.txt";
    spew($secret_file, ($o{secret} // $SECRET) . "\n", 0600);
    my $log = "$dir/downstream.log";
    spew($log, '', 0644);
    if (my $user = run_user()) {
        my (undef, undef, $uid, $gid) = getpwnam($user);
        chown $uid, $gid, $log;
    }
    my $max_body = $o{max_body} // 131072;
    my $fpm = $o{fpm};
    my $extra = $o{extra} // '';
    my $conf = sub {
        my ($self) = @_;
        my $more = ref $extra eq 'CODE' ? $extra->($self) : $extra;
        my $php = !$fpm ? '' : <<"EOF";
<Proxy "unix:$fpm->{socket}|fcgi://localhost">
    ProxySet retry=0
</Proxy>
<FilesMatch "\\.php\$">
    SetHandler "proxy:unix:$fpm->{socket}|fcgi://localhost"
</FilesMatch>
EOF
        return <<"EOF";
SetEnv TW_STRESS_LOG "$log"
ScriptAliasMatch "^/(hook|big|open)/rec\\.cgi\$" "$dir/app/rec.cgi"
AliasMatch "^/(hook|big|open)/rec\\.php\$" "$dir/app/rec.php"
<Directory "$dir/app">
    Require all granted
</Directory>
$php
<Location /hook>
    TwWebhookSecret "file:$secret_file"
    TwWebhookMaxBodySize $max_body
</Location>
<Location /big>
    TwWebhookSecret "file:$secret_file"
    TwWebhookMaxBodySize 16777216
</Location>
$more
EOF
    };
    delete @o{qw(fpm max_body extra secret)};
    my $h = TwStress::Httpd->new(%o, conf => $conf);
    $h->{secret_file} = $secret_file;
    $h->{downstream_log} = $log;
    return $h;
}

# ---- php-fpm --------------------------------------------------------------------------

package TwStress::Fpm;
use Time::HiRes qw(time sleep);

sub fpm_binary {
    return TwApxs::php_fpm_binary() || die "php-fpm not found (Debian: apt-get install php-fpm)\n";
}

# TwStress::Fpm->new(name => ..., children => N)
sub new {
    my ($class, %o) = @_;
    my $dir = TwStress::run_dir() . "/$o{name}";
    mkdir $dir unless -d $dir;
    my $self = bless { %o, dir => $dir, socket => "$dir/fpm.sock",
                       conf => "$dir/php-fpm.conf", log => "$dir/php-fpm.log" }, $class;
    TwStress::at_exit(sub { $self->stop });
    return $self;
}

sub start {
    my ($self) = @_;
    my $user = TwStress::run_user();
    my $children = $self->{children} // 6;
    my $owner = $user ? "user = $user\ngroup = $user\nlisten.owner = $user\nlisten.group = $user\n" : '';
    TwStress::spew($self->{conf}, <<"EOF");
; generated by t/stress: a throwaway php-fpm for scripts/stress
[global]
error_log = $self->{log}
daemonize = no

[stress]
${owner}listen = $self->{socket}
listen.mode = 0600
listen.backlog = 511
pm = static
pm.max_children = $children
@{[ TwApxs::php_fpm_app_settings() ]}
EOF
    unlink $self->{socket};
    my $bin = fpm_binary();
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log};
        open STDERR, '>&', \*STDOUT;
        exec $bin, '-n', '-y', $self->{conf} or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    TwStress::register_pid($pid, 'php-fpm');
    my $ok = TwStress::wait_until(sub { -S $self->{socket} }, 10);
    die "php-fpm did not create $self->{socket}; see $self->{log}\n" unless $ok;
    return $self;
}

sub running { my ($self) = @_; return $self->{pid} && TwStress::pid_alive($self->{pid}) }

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    my $until = time + 10;
    while (time < $until) {
        my $w = waitpid($pid, POSIX::WNOHANG());
        last if $w == $pid || $w < 0;
        sleep 0.05;
    }
    if (TwStress::pid_alive($pid)) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    unlink $self->{socket};
}

# ---- httpd ------------------------------------------------------------------------------

package TwStress::Httpd;
use Time::HiRes qw(time sleep);

# TwStress::Httpd::binary(): the httpd to run, TW_STRESS_HTTPD or the one
# apxs names (Debian's /usr/sbin/apache2). Asked when first needed, so that
# the steps without an httpd run without apxs.
my $HTTPD;
sub binary { return $HTTPD //= $ENV{TW_STRESS_HTTPD} || TwApxs::httpd_binary() }

# TwStress::Httpd->new(name => ..., conf => sub { my ($self) = @_; "text" },
#                      modules => [...], mpm => 'event', servers => 2,
#                      threads => 25, max_workers => 50, spool => dir,
#                      loglevel => 'info twwebhook:info')
sub new {
    my ($class, %o) = @_;
    my $dir = TwStress::run_dir() . "/$o{name}";
    for my $d ($dir, "$dir/logs", "$dir/run", "$dir/spool") {
        mkdir $d unless -d $d;
    }
    my $self = bless { mpm => 'event', servers => 2, threads => 25, %o,
                       dir => $dir }, $class;
    $self->{port} //= TwStress::free_port();
    $self->{hostport} = "127.0.0.1:$self->{port}";
    $self->{conf_file} = "$dir/httpd.conf";
    $self->{pid_file} = "$dir/run/httpd.pid";
    $self->{error_log} = "$dir/logs/error_log";
    $self->{spool} //= "$dir/spool";
    my $user = TwStress::run_user();
    if ($user) {
        my (undef, undef, $uid, $gid) = getpwnam($user);
        chown $uid, $gid, "$dir/logs", $self->{spool} if defined $uid;
        chown $uid, $gid, "$dir/run" if defined $uid;
    }
    TwStress::at_exit(sub { $self->stop });
    return $self;
}

sub write_conf {
    my ($self) = @_;
    my $lib = TwApxs::apxs_q('LIBEXECDIR');
    my $top = TwStress::top_dir();
    my $user = TwStress::run_user();
    my @mods = ("mpm_$self->{mpm}", qw(authz_core alias cgid env reqtimeout proxy
                proxy_fcgi log_config mime status), @{ $self->{modules} // [] });
    my $httpd = binary();
    my %seen = map { /^\s*mod_(\S+)\.c\s*$/ ? ($1 => 1) : () } qx("$httpd" -l);
    my $load = join '', map { "LoadModule ${_}_module \"$lib/mod_$_.so\"\n" }
        grep { !$seen{$_}++ } @mods;
    my $threads = $self->{threads};
    my $servers = $self->{servers};
    my $max = $self->{max_workers} // $servers * $threads;
    my $mpmconf = $self->{mpm} eq 'prefork'
        ? "StartServers $servers\nMinSpareServers 1\nMaxSpareServers $servers\nServerLimit $servers\nMaxRequestWorkers $servers\n"
        : "ServerLimit @{[ 2 * $servers ]}\nStartServers $servers\nThreadsPerChild $threads\n"
          . "ThreadLimit $threads\nMaxRequestWorkers $max\nMinSpareThreads 1\n"
          . "MaxSpareThreads $max\nMaxConnectionsPerChild 0\n";
    my $dir = $self->{dir};
    my $who = $user ? "User $user\nGroup $user\n" : '';
    my $extra = $self->{conf} ? $self->{conf}->($self) : '';
    my $loglevel = $self->{loglevel} // 'info twwebhook:info';
    my $reqtimeout = $self->{reqtimeout} // 'header=10-20,MinRate=500 body=10,MinRate=500';
    TwStress::spew($self->{conf_file}, <<"EOF");
# generated by t/stress ($self->{name}): a throwaway httpd for scripts/stress
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$self->{port}
PidFile "$self->{pid_file}"
DefaultRuntimeDir "$dir/run"
Mutex file:$dir/run default
ScoreBoardFile "$dir/run/scoreboard"
ErrorLog "$self->{error_log}"
LogLevel $loglevel
${who}$load
LoadModule twwebhook_module "$top/.libs/mod_twwebhook.so"
$mpmconf
Timeout 30
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 15
RequestReadTimeout $reqtimeout
LogFormat "%h %>s %X %{twwebhook-outcome}n %{twwebhook-delivery}n \\"%r\\" %B %D" stress
CustomLog "$dir/logs/access_log" stress
ScriptSock "$dir/run/cgisock"
TypesConfig /dev/null
DocumentRoot "$dir"
TwWebhookSpoolDir "$self->{spool}"
<Directory />
    Require all denied
    AllowOverride None
</Directory>
$extra
EOF
}

sub run_httpd {
    my ($self, @args) = @_;
    my $httpd = binary();
    my $out = qx("$httpd" -f "$self->{conf_file}" @args 2>&1);
    return ($? >> 8, $out);
}

sub pid {
    my ($self) = @_;
    my $s = TwStress::slurp($self->{pid_file}) // return 0;
    my ($pid) = $s =~ /(\d+)/;
    return $pid // 0;
}

sub start {
    my ($self) = @_;
    $self->write_conf;
    my ($rc, $out) = $self->run_httpd('-k', 'start');
    die "httpd ($self->{name}) failed to start: $out\n" . (TwStress::slurp($self->{error_log}) // '')
        if $rc;
    my $pid = TwStress::wait_until(sub { $self->pid }, 10);
    die "httpd ($self->{name}) wrote no pid file\n" unless $pid;
    TwStress::register_pid($pid, 'apache2');
    $self->{parent} = $pid;
    my $up = TwStress::wait_until(sub {
        IO::Socket::INET->new(PeerAddr => $self->{hostport}, Timeout => 1) }, 10);
    die "httpd ($self->{name}) does not listen on $self->{hostport}\n" unless $up;
    TwStress::wait_until(sub { my @k = $self->children; @k >= $self->{servers} }, 10);
    return $self;
}

sub graceful {
    my ($self) = @_;
    my ($rc, $out) = $self->run_httpd('-k', 'graceful');
    return ($rc, $out);
}

# $pid is still this server's parent (not a reused PID): alive, and its
# command line names this server's configuration file.
sub ours {
    my ($self, $pid) = @_;
    return 0 unless TwStress::pid_alive($pid);
    my $cmd = TwStress::slurp("/proc/$pid/cmdline") // return 0;
    return index($cmd, $self->{conf_file}) >= 0;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{parent} or return;
    $self->run_httpd('-k', 'stop') if $self->ours($pid);
    my $until = time + 15;
    sleep 0.05 while $self->ours($pid) && time < $until;
    if ($self->ours($pid)) {
        kill 'KILL', $pid;
        sleep 0.2;
    }
}

# Worker children of the parent (the mod_cgid daemon, also a child, has a
# single thread and is left out; under prefork every child counts).
sub children {
    my ($self) = @_;
    my $parent = $self->{parent} || $self->pid or return ();
    my @kids;
    for my $st (glob '/proc/[0-9]*/status') {
        my $s = TwStress::slurp($st) // next;
        my ($ppid) = $s =~ /^PPid:\s+(\d+)/m or next;
        next unless $ppid == $parent;
        my ($threads) = $s =~ /^Threads:\s+(\d+)/m;
        my ($name) = $s =~ /^Name:\s+(\S+)/m;
        next unless ($name // '') =~ /apache2|httpd/;
        next if $self->{mpm} ne 'prefork' && ($threads // 1) < 2;
        my ($pid) = $st =~ m{/proc/(\d+)/};
        push @kids, $pid;
    }
    my @sorted = sort { $a <=> $b } @kids;
    return @sorted;
}

sub rss_kb {
    my ($pid) = @_;
    my $s = TwStress::slurp("/proc/$pid/status") // return 0;
    my ($kb) = $s =~ /^VmRSS:\s+(\d+)/m;
    return $kb // 0;
}

# Open descriptors of a process: (count, [targets of spool files]).
sub fds {
    my ($pid, $spool) = @_;
    my @fds = glob "/proc/$pid/fd/*";
    my @spool;
    for my $fd (@fds) {
        my $t = readlink($fd) // next;
        push @spool, $t if defined $spool && index($t, "$spool/twwebhook.") == 0;
    }
    return (scalar @fds, \@spool);
}

sub error_log_text { TwStress::slurp($_[0]{error_log}) // '' }

# Lines showing a child crashed.
sub crash_lines {
    my ($self) = @_;
    return grep { /exit signal|Segmentation fault|AH00052|AH00051|dumped core|AddressSanitizer/ }
        split /\n/, $self->error_log_text;
}

1;
