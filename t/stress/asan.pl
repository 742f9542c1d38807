#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# scripts/stress step "asan": the core's unit tests (t/unit/tw_unit) and
# the fuzz seed-corpus replay (fuzz/fuzz_run_inputs via fuzz/run-corpus) built
# with AddressSanitizer and UndefinedBehaviorSanitizer
# (-fsanitize=address,undefined -fno-sanitize-recover=all, LeakSanitizer
# on), out of tree: the sources are copied to a temporary directory that
# is configured with ../configure in a build/ subdirectory, so the build
# tree in use is not touched. CC: $TW_STRESS_ASAN_CC, else clang, else gcc.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TwStress;
use Time::HiRes qw(time);

my $top = top_dir();
my $dir = run_dir() . '/asan';
mkdir $dir;
my $src = "$dir/src";
my $build = "$src/build";
my $cc = $ENV{TW_STRESS_ASAN_CC}
    || (grep { system("command -v $_ >/dev/null 2>&1") == 0 } qw(clang gcc))[0];
unless ($cc) {
    check(0, 'a C compiler for the sanitizer build (clang or gcc)');
    exit done();
}
my $t0 = time;

# the sources (tracked and new files, not build output) plus the generated
# autotools files, so that no autoreconf is needed
my @extra = grep { -e "$top/$_" } qw(configure Makefile.in aclocal.m4 config.h.in build-aux m4);
my $list = qx(cd '$top' && { git ls-files -co --exclude-standard 2>/dev/null; });
my @files = grep { length && -f "$top/$_" } split /\n/, $list;
if (!@files) {   # not a git checkout: everything but the build output
    @files = map { s{^\Q$top\E/}{}r } grep { -f } split /\n/,
        qx(find '$top' -path '$top/.git' -prune -o -type f ! -name '*.o' ! -name '*.lo' ! -name '*.la' -print);
}
mkdir $src;
spew("$dir/files", join("\n", @files, @extra) . "\n");
my $rc = system("tar -C '$top' -cf - -T '$dir/files' | tar -C '$src' -xf -");
check($rc == 0, 'sources copied for an out-of-tree build');
mkdir $build;
my $flags = '-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all';
my $log = "$dir/build.log";
$rc = system("cd '$build' && ../configure CC='$cc' CFLAGS='$flags' LDFLAGS='-fsanitize=address,undefined' >'$log' 2>&1"
             . " && make -j2 t/unit/tw_unit fuzz/fuzz_run_inputs >>'$log' 2>&1");
my $build_ok = check($rc == 0, "configure and build with $cc -fsanitize=address,undefined",
                     "see $log", substr(slurp($log) // '', -1500));
my $nm = qx(nm '$build/t/unit/tw_unit' 2>/dev/null | grep -c '__asan_init\\|__ubsan_handle' );
check($build_ok && ($nm // 0) > 0, 't/unit/tw_unit is instrumented (ASan/UBSan symbols present)');
figure(sanitizer_build_seconds => sprintf('%.0f', time - $t0), cc => $cc);

if ($build_ok) {
    local $ENV{ASAN_OPTIONS} = 'detect_leaks=1:abort_on_error=0:halt_on_error=1';
    local $ENV{UBSAN_OPTIONS} = 'print_stacktrace=1:halt_on_error=1';
    # as scripts/test runs it: from the top of the (copied) source tree
    my $out = qx(cd '$src' && '$build/t/unit/tw_unit' 2>&1);
    my $urc = $? >> 8;
    my ($plan) = $out =~ /^1\.\.(\d+)/m;
    my $ok = () = $out =~ /^ok \d+/mg;
    my @not = grep { /^not ok/ } split /\n/, $out;
    my @san = grep { /ERROR: (?:Address|Leak)Sanitizer|runtime error:/ } split /\n/, $out;
    figure(unit_tests => $plan // 0, ok => $ok);
    check($urc == 0 && $plan && $ok == $plan && !@not && !@san,
          "unit tests under ASan/UBSan: $ok of " . ($plan // '?') . ' ok, no sanitizer report',
          @not[0 .. ($#not > 5 ? 5 : $#not)], @san[0 .. ($#san > 5 ? 5 : $#san)], "exit $urc",
          $urc ? substr($out, -2000) : ());

    $out = qx(cd '$src' && top_builddir='$build' top_srcdir='$src' sh fuzz/run-corpus 2>&1);
    my $frc = $? >> 8;
    ($plan) = $out =~ /^1\.\.(\d+)/m;
    $ok = () = $out =~ /^ok \d+/mg;
    @not = grep { /^not ok|^Bail out/ } split /\n/, $out;
    @san = grep { /ERROR: (?:Address|Leak)Sanitizer|runtime error:/ } split /\n/, $out;
    figure(corpus_files => $plan // 0, ok => $ok);
    check($frc == 0 && $plan && $ok == $plan && !@not && !@san,
          "fuzz seed corpora replayed under ASan/UBSan: $ok of " . ($plan // '?') . ' ok',
          @not[0 .. ($#not > 5 ? 5 : $#not)], @san[0 .. ($#san > 5 ? 5 : $#san)]);
}
exit done();
