#!/usr/bin/perl
# check-handouts.pl [HANDOUT.md ...]: replay every transcript of every
# handout (default: labs/*/README.md) and compare what the programs print
# now with what the handout says they print.  `make check-handouts` runs it;
# `make test` runs it after the plain tests.
#
# A handout that shows output the program no longer prints teaches something
# false, and nobody notices: the programs change, the prose does not.  So a
# transcript is a test.  The rules (also in README.md, "Handouts"):
#
#   - A fenced block whose first line starts with "$ " is a transcript.  Each
#     "$ " line is a command, run from the repository root by bash: the whole
#     block in one shell, in order (so `echo $?` works), on a pseudo-terminal
#     (stdout and stderr interleave as a student sees them).  The lines up to
#     the next "$ " line or the end of the block are what it printed.
#   - Lines are compared by shape, in order (but the status that `echo $?`
#     prints is compared exactly): numbers (with sign, decimals,
#     exponent and a unit right after them: ns us µs ms s min k K M G B KiB
#     MiB GiB, or x for a ratio) are masked, so are hex numbers and paths
#     under the temporary directory; runs of blanks count as one; trailing
#     blanks are ignored, and a run of one bar character (# = * . -) counts
#     as one.  "elapsed 43.8 ms" matches "elapsed 1.2 s";
#     "OVERSOLD by 4" does not match "correct".
#   - A line "..." alone stands for zero or more lines.  A line that ends in
#     " ..." stands for any line that begins as it does (a state that varies
#     from run to run, after a fixed start).
#   - "<!-- transcript: unordered -->" right before the fence: each command's
#     lines are compared as a multiset (output of concurrent processes).
#   - "<!-- transcript: alone -->" right before the fence: the block runs on
#     its own, after the others, for output that depends on having the
#     machine's cores to itself (a speedup and the words that explain it).
#   - "<!-- transcript: skip REASON -->" right before the fence: the block is
#     not replayed, and the reason is printed.  For runs over ~10 s, runs that
#     need root, or a peer program that may be missing.
#
# Each block runs in a private TMPDIR (removed after, and a block that leaves
# a file there fails) within a time bound.  Exit status: 0 every transcript
# matched, 1 one did not (each mismatch names the handout, the line, what it
# expected and what the program printed), 2 usage.
use strict;
use warnings;
use File::Temp qw(tempdir);

my $BLOCK_SECONDS = $ENV{HANDOUT_BLOCK_SECONDS} // 60;
my $MARK = '@@check-handouts-command@@';

chdir(($0 =~ m{^(.*)/[^/]+$})[0] . '/..') or die "check-handouts: cd: $!\n";
my @handouts = @ARGV ? @ARGV : sort glob('labs/*/README.md');
for (@handouts) {
    -f $_ or do { print STDERR "check-handouts: no such handout: $_\n"; exit 2 };
}

# ---- Shape: what must stay the same between the handout and a run --------
my $UNIT = qr/(?:KiB|MiB|GiB|min|ns|us|µs|ms|s|k|K|M|G|B|x)/;
sub shape {
    my ($line, $tmp) = @_;
    $line =~ s/\r//g;
    $line =~ s{\Q$tmp\E}{/tmp}g if defined $tmp;
    $line =~ s{/tmp/[^\s'",:;)\]]*}{<tmp>}g;
    $line =~ s/0x[0-9a-fA-F]+/<hex>/g;
    $line =~ s/[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?(?:\s?$UNIT)?(?!\w)/#/g;
    $line =~ s/\d+/#/g;      # digits inside words: worker-2, E7, x86_64
    $line =~ s/([#=*.-])\1+/$1/g;   # bars and timelines: ####, ====, ....
    $line =~ s/\s+/ /g;
    $line =~ s/ $//;
    return $line;
}

# ---- Reading the handouts ------------------------------------------------
# Returns the transcript blocks of one handout: {line, skip, unordered,
# commands => [{line, text, expected => [[line, text], ...]}]}.
sub transcripts {
    my ($file) = @_;
    open my $in, '<:encoding(UTF-8)', $file or die "check-handouts: $file: $!\n";
    my @lines = <$in>;
    close $in;
    chomp @lines;
    my (@blocks, $block, @notes);
    for (my $i = 0; $i < @lines; $i++) {
        my $text = $lines[$i];
        if (!$block && $text =~ /^```/) {
            my $first = $lines[$i + 1] // '';
            if ($first =~ /^\$ /) {
                $block = {line => $i + 1, commands => [], notes => [@notes]};
            } else {    # not a transcript: skip to its closing fence
                $i++ while $i + 1 < @lines && $lines[$i + 1] !~ /^```/;
                $i++;
            }
            @notes = ();
            next;
        }
        if ($block && $text =~ /^```/) {
            for (@{$block->{notes}}) {
                $block->{skip} = $1 if /^skip\s*(.*)$/;
                $block->{unordered} = 1 if /^unordered$/;
                $block->{alone} = 1 if /^alone$/;
            }
            push @blocks, $block;
            $block = undef;
            next;
        }
        if ($block) {
            if ($text =~ /^\$ (.*)$/) {
                push @{$block->{commands}}, {line => $i + 1, text => $1, expected => []};
            } else {
                push @{$block->{commands}[-1]{expected}}, [$i + 1, $text];
            }
            next;
        }
        if ($text =~ /^<!--\s*transcript:\s*(.*?)\s*-->\s*$/) {
            push @notes, $1;
        } elsif ($text =~ /\S/) {
            @notes = ();
        }
    }
    return @blocks;
}

# ---- Replaying one block -------------------------------------------------
# Returns one list of output lines per command, or an error text.
sub replay {
    my ($block) = @_;
    my $tmp = tempdir('handout-XXXXXX', TMPDIR => 1);
    my $script = "$tmp.sh";
    open my $out, '>', $script or die "check-handouts: $script: $!\n";
    # A student's shell is not inside make: a `make grade` in a transcript
    # must not see make test's MAKEFLAGS (it would say "Entering directory").
    print $out "exec </dev/null\nunset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES\n"
             . "export TMPDIR='$tmp' LC_ALL=C PYTHONUNBUFFERED=1\n";
    # The marker must not reset $?: a block's `echo $?` reports the command
    # before it, as in a shell.
    for my $command (@{$block->{commands}}) {
        print $out "__status=\$?; printf '%s\\n' '$MARK'; (exit \$__status)\n$command->{text}\n";
    }
    close $out;
    # script(1) gives the block a terminal, as a student's shell has.
    my $output = `timeout -k 5 $BLOCK_SECONDS script -qec 'bash $script' /dev/null 2>&1`;
    my $status = $? >> 8;
    unlink $script;
    my @left = glob("$tmp/* $tmp/.[!.]*");
    system('rm', '-rf', $tmp);
    return "did not finish within $BLOCK_SECONDS s" if $status == 124 || $status == 137;
    return "left files in its TMPDIR: @left" if @left;
    my @parts = split /^\Q$MARK\E\r?\n/m, $output, -1;
    shift @parts;    # whatever bash printed before the first command
    return 'could not split its output (' . scalar(@parts) . ' parts)'
        if @parts != @{$block->{commands}};
    return [map { [map { s/\r$//r } split /\n/, $_] } @parts], $tmp;
}

# ---- Comparing ------------------------------------------------------------
# In order, with "..." matching any run of lines.  Returns undef on a match,
# or [expected line number or undef, expected text, actual text].
sub compare_ordered {
    my ($expected, $actual, $tmp) = @_;
    my @want = map { [$_->[0], $_->[1], $_->[1] =~ /^\s*\.\.\.\s*$/ ? undef : shape(strip_open($_->[1])),
                      is_open($_->[1])] } @$expected;
    my @got = map { shape($_, $tmp) } @$actual;
    # The report names the furthest handout line that failed to match a
    # concrete program line: that is where the two part ways.
    my ($best_w, $best_g) = (-1, 0);
    my %seen;
    my $match;
    $match = sub {
        my ($w, $g) = @_;
        return 1 if $w == @want && $g == @got;
        return 0 if $seen{"$w,$g"}++;
        if ($w == @want) {
            ($best_w, $best_g) = ($w, $g) if $w > $best_w;
            return 0;
        }
        if (!defined $want[$w][2]) {
            for my $skip ($g .. scalar @got) {
                return 1 if $match->($w + 1, $skip);
            }
            return 0;
        }
        return 1 if $g < @got && same($want[$w], $got[$g]) && $match->($w + 1, $g + 1);
        ($best_w, $best_g) = ($w, $g) if $w > $best_w;
        return 0;
    };
    return undef if $match->(0, 0);
    my ($w, $g) = ($best_w, $best_g);
    return [$w < @want ? $want[$w][0] : undef,
            $w < @want ? $want[$w][1] : '(end of output)',
            $g < @$actual ? $actual->[$g] : '(end of output)'];
}

sub compare_exact {
    my ($expected, $actual) = @_;
    my @want = map { $_->[1] =~ s/\s+$//r } @$expected;
    my @got = map { s/\s+$//r } @$actual;
    for my $i (0 .. ($#want > $#got ? $#want : $#got)) {
        my $w = $want[$i] // '(end of output)';
        my $g = $got[$i] // '(end of output)';
        return [$i < @$expected ? $expected->[$i][0] : undef, $w, $g] if $w ne $g;
    }
    return undef;
}

# A handout line that ends in " ..." is open: it matches any line that
# begins with the same shape.
sub is_open { return $_[0] =~ /\S\s+\.\.\.\s*$/ ? 1 : 0 }
sub strip_open { my $t = shift; $t =~ s/\s+\.\.\.\s*$// if is_open($t); return $t }
sub same {
    my ($want, $got) = @_;
    return $want->[3] ? index($got, $want->[2]) == 0 : $want->[2] eq $got;
}

sub compare_unordered {
    my ($expected, $actual, $tmp) = @_;
    my %got;
    $got{shape($_, $tmp)}++ for @$actual;
    my $open = grep { $_->[1] =~ /^\s*\.\.\.\s*$/ } @$expected;
    for my $want (@$expected) {
        next if $want->[1] =~ /^\s*\.\.\.\s*$/;
        my $key = shape(strip_open($want->[1]));
        if (is_open($want->[1])) {   # any one line that begins so
            ($key) = grep { $got{$_} > 0 && index($_, $key) == 0 } sort keys %got;
            return [$want->[0], $want->[1], '(no line begins so, in any order)'] unless defined $key;
        }
        return [$want->[0], $want->[1], '(no such line in any order)'] unless $got{$key};
        $got{$key}--;
    }
    my @extra = grep { $got{$_} > 0 } sort keys %got;
    return [undef, '(no more lines)', $extra[0]] if @extra && !$open;
    return undef;
}

# ---- Main --------------------------------------------------------------------
# Blocks run several at a time: most of them wait (for a child, a lock, a
# stall to be seen) rather than compute.  Results print in handout order.
sub check_block {
    my ($file, $block) = @_;
    my $where = "$file:$block->{line}";
    my $started = time;
    my ($outputs, $tmp) = replay($block);
    return "FAIL  $where: the block $outputs" unless ref $outputs;
    for my $k (0 .. $#{$block->{commands}}) {
        my $command = $block->{commands}[$k];
        my $compare = $block->{unordered} ? \&compare_unordered : \&compare_ordered;
        # An exit status is the one number that must match exactly.
        $compare = \&compare_exact if $command->{text} =~ /^echo \$\?\s*$/;
        my $diff = $compare->($command->{expected}, $outputs->[$k], $tmp);
        next unless $diff;
        my $line = $diff->[0] // $command->{line};
        return "FAIL  $file:$line: \$ $command->{text}\n"
             . "    handout: $diff->[1]\n"
             . "    program: $diff->[2]";
    }
    return sprintf "ok    %s (%d command%s, %d s)", $where, scalar @{$block->{commands}},
        @{$block->{commands}} == 1 ? '' : 's', time - $started;
}

my $cores = `nproc 2>/dev/null` || 1;
my $jobs = $ENV{HANDOUT_JOBS} // 2 * $cores;
my $results = tempdir('handout-results-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my (@work, %running);
for my $file (@handouts) {
    push @work, [$file, $_] for transcripts($file);
}
# Blocks that need the machine to themselves run last, one at a time.
my @order = ((grep { !$work[$_][1]{alone} } 0 .. $#work),
             (grep { $work[$_][1]{alone} } 0 .. $#work));
for my $k (@order) {
    my ($file, $block) = @{$work[$k]};
    next if defined $block->{skip};
    my $limit = $block->{alone} ? 1 : $jobs;
    while (keys %running >= $limit) {
        my $done = wait;
        delete $running{$done};
    }
    my $pid = fork // die "check-handouts: fork: $!\n";
    if ($pid == 0) {
        my $verdict = check_block($file, $block);
        open my $out, '>', "$results/$k" or die "check-handouts: $results/$k: $!\n";
        print $out "$verdict\n";
        close $out;
        exit 0;
    }
    $running{$pid} = 1;
}
1 while wait != -1;

my ($passed, $failed, $skipped) = (0, 0, 0);
for my $k (0 .. $#work) {
    my ($file, $block) = @{$work[$k]};
    if (defined $block->{skip}) {
        print "skip  $file:$block->{line} ($block->{skip})\n";
        $skipped++;
        next;
    }
    my $verdict = -f "$results/$k" ? do { local (@ARGV, $/) = "$results/$k"; <> }
                                   : "FAIL  $file:$block->{line}: the checker itself failed\n";
    print $verdict;
    $verdict =~ /^ok/ ? $passed++ : $failed++;
}
print "handouts: $passed passed, $failed failed, $skipped skipped\n";
exit($failed ? 1 : 0);
